import { defineConfig } from 'vitest/config';
import base from '../../vitest.config';

/**
 * The live Teradata suite (`npm run test:teradata-live`, tools/teradata-live.js): files named `*.live.ts`, which the
 * main config's `*.test.ts` never picks up, so `npm test` does not run them. The main config's aliases (tests run on
 * the sources), one file at a time (they share a system), generous timeouts (a real system's DDL is slow).
 */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/teradata-live/**/*.live.ts'],
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
