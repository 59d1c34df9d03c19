import type { Engine } from '@dbee/core';
import { createPostgresEngine } from '@dbee/postgres';
import { createTeradataEngine } from '@dbee/teradata';
import type { ENGINE_PACKAGES as Production } from '../../packages/cli/src/engine-packages';

/**
 * Vitest's stand-in for packages/cli/src/engine-packages.ts (aliased in vitest.config.ts): Node's `require` there would
 * bypass Vitest's module graph and its aliases to the sources, and load a second copy of @dbee/core whose error
 * classes `instanceof` would not recognise. Only test files that import @dbee/cli's engines load these.
 */
export const ENGINE_PACKAGES: typeof Production = {
  postgres: {
    module: '@dbee/postgres',
    install: 'npm install -D @dbee/postgres',
    load: () => createPostgresEngine as () => Engine,
  },
  teradata: {
    module: '@dbee/teradata',
    install: 'npm install -D @dbee/teradata teradatasql',
    load: () => createTeradataEngine as () => Engine,
  },
};
