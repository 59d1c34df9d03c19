import type { Engine, EngineName } from '@dbee/core/run';

/**
 * The engine packages, loaded with `require` on first use of `engine: <name>` (never at start-up): `dbee --help` and
 * a PostgreSQL user's commands load no other engine, and libpg-query, pg and PGlite load only with @dbee/postgres.
 * Vitest replaces this module with test/support/engine-packages.ts (static imports of the sources, one module
 * graph), see vitest.config.ts.
 */
export const ENGINE_PACKAGES: Record<EngineName, { module: string; install: string; load: () => () => Engine }> = {
  postgres: {
    module: '@dbee/postgres',
    install: 'npm install -D @dbee/postgres',
    // The engine's own entry point, not the package's index (which also loads PGlite, the parser and the extractor).
    load: () => (require('@dbee/postgres/engine') as typeof import('@dbee/postgres/engine')).createPostgresEngine,
  },
  teradata: {
    module: '@dbee/teradata',
    install: 'npm install -D @dbee/teradata teradatasql',
    load: () => (require('@dbee/teradata') as { createTeradataEngine: () => Engine }).createTeradataEngine,
  },
};
