import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from '@dbee/core';
import { PgliteConnection } from '@dbee/postgres';
import { queryUrl, scratchDatabase } from '../support/pg';

const REPO = join(__dirname, '..', '..');

/** The example workspace (core and sales, the repository's dbee.yaml) in a new temporary folder. */
export function copyExamples(prefix = 'dbee-diff-'): string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  for (const p of ['core', 'sales']) cpSync(join(REPO, 'examples', p), join(root, 'examples', p), { recursive: true });
  cpSync(join(REPO, 'dbee.yaml'), join(root, 'dbee.yaml'));
  return root;
}

/** The database an example workspace deploys to in a test, and a way to reach it beside dbee. */
export interface Target {
  env: string;
  vars: NodeJS.ProcessEnv;
  /** Run statements on it. */
  exec(sql: string): Promise<void>;
  /** The rows of one query on it. */
  query(sql: string): Promise<Record<string, unknown>[]>;
  done(): Promise<void>;
}

/** The workspace's embedded environment `local`, opened only while a statement runs on it (dbee holds it between). */
async function embedded(root: string): Promise<Target> {
  const on = async <T>(fn: (c: Connection) => Promise<T>) => {
    const c = await PgliteConnection.open(join(root, '.dbee', 'local'), 'test');
    try {
      return await fn(c);
    } finally {
      await c.close();
    }
  };
  return {
    env: 'local',
    vars: {},
    exec: (sql) => on((c) => c.execute(sql)),
    query: (sql) => on(async (c) => (await c.query(sql)).rows as Record<string, unknown>[]),
    done: async () => {},
  };
}

/** The environment `test`, on a scratch database of the test server. */
async function server(): Promise<Target> {
  const db = await scratchDatabase();
  return {
    env: 'test',
    vars: { DBEE_TEST_URL: db.url },
    exec: async (sql) => void (await queryUrl(db.url, sql)),
    query: async (sql) => (await queryUrl(db.url, sql)) as Record<string, unknown>[],
    done: db.drop,
  };
}

/** The two back ends the command suites run on, for `describe.each`. */
export const TARGETS: [string, (root: string) => Promise<Target>][] = [
  ['pglite', embedded],
  ['postgres', server],
];
