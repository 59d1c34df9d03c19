import { join } from 'node:path';
import { PgliteConnection } from '@dbee/postgres';
import { queryUrl, scratchDatabase } from '../support/pg';

export type Query = (sql: string) => Promise<Record<string, unknown>[]>;

/** Where a suite deploys: the environment to pass to commands, its variables, and a way to look inside. */
export interface Target {
  env: string;
  vars: NodeJS.ProcessEnv;
  query: Query;
  done(): Promise<void>;
}

/**
 * The two PostgreSQL transports every suite runs on. `pglite` expects the workspace's environment `local` to be
 * `embedded: .dbee/local`; `postgres` creates a scratch database and passes its URL as `DBEE_TEST_URL` to the
 * environment `test` (`url: ${DBEE_TEST_URL}`). The server suites fail, never skip, when the server is down.
 */
export const TARGETS: [string, (root: () => string) => Promise<Target>][] = [
  [
    'pglite',
    async (root) => ({
      env: 'local',
      vars: {},
      // Open the embedded database only between commands: PGlite allows one opener at a time.
      query: async (sql) => {
        const c = await PgliteConnection.open(join(root(), '.dbee', 'local'), 'test');
        try {
          return (await c.query(sql)).rows;
        } finally {
          await c.close();
        }
      },
      done: async () => {},
    }),
  ],
  [
    'postgres',
    async () => {
      const db = await scratchDatabase('dbee_smoke');
      return { env: 'test', vars: { DBEE_TEST_URL: db.url }, query: (sql) => queryUrl(db.url, sql), done: db.drop };
    },
  ],
];
