/**
 * The zod schemas a command loads only when it validates something with them: dbee.yaml's and db.yaml's when a file is
 * not kept validated in `.dbee/cache` (config/workspace.ts), a YAML smoke file's when a project has one
 * (smoke/smoke-file.ts). Loaded with `require` on first use; Vitest replaces this module with
 * test/support/lazy-schemas.ts (static imports of the sources, one module graph), see vitest.config.ts.
 */
export const configSchemas = () => require('./config/schema') as typeof import('./config/schema');

export const smokeSchemas = () => require('./smoke/smoke-schema') as typeof import('./smoke/smoke-schema');
