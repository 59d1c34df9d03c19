/**
 * The option schemas of every command (zod with them), loaded with `require` when a command's options are not ones
 * `validOptions` (option-values.ts) knows the schema accepts. Vitest replaces this module with
 * test/support/option-schemas.ts (static imports of the sources, one module graph: a second copy of @dbee/core's
 * errors would not be recognised by `instanceof`), see vitest.config.ts.
 */
export const optionSchemas = () => require('@dbee/core/options') as typeof import('@dbee/core/options');
