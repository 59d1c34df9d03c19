import * as config from '../../packages/core/src/config/schema';
import type * as Production from '../../packages/core/src/lazy-schemas';
import * as smoke from '../../packages/core/src/smoke/smoke-schema';

/**
 * Vitest's stand-in for packages/core/src/lazy-schemas.ts (aliased in vitest.config.ts): Node's `require` there would
 * not resolve the TypeScript sources, nor share Vitest's module graph.
 */
export const configSchemas: typeof Production.configSchemas = () => config;

export const smokeSchemas: typeof Production.smokeSchemas = () => smoke;
