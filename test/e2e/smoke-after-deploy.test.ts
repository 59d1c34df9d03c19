import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { PgliteConnection } from '@dbee/postgres';
import { tempWorkspace } from '../support/workspace';
import { run } from '../support/run';
import { queryUrl, scratchDatabase } from '../support/pg';

const WS = (autoRollback: boolean) => `version: 1
defaultEnvironment: local
deploy: { autoRollback: ${autoRollback} }
environments:
  local:
    engine: postgres
    connection: { embedded: .dbee/local }
  server:
    engine: postgres
    connection: { url: "\${SMOKE_TEST_URL}" }
`;
const V1 = {
  'a/db.yaml': 'version: 1\nname: a\nengine: postgres\nschemas: [a]\n',
  'a/t.sql': 'CREATE SCHEMA a;\nCREATE TABLE a.t (id int PRIMARY KEY);',
};
const V2 = {
  'a/v.sql': 'CREATE VIEW a.v AS SELECT count(*)::int AS n FROM a.t;',
  'a/smoke/v.yaml': 'checks:\n  - name: the table is seeded\n    query: SELECT n FROM a.v\n    rows: [{ n: 1 }]\n',
};

describe.each([
  ['pglite', 'local'],
  ['postgres', 'server'],
])('smoke checks after deploy [%s]', (_name, env) => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  async function setup(autoRollback: boolean) {
    const w = tempWorkspace({ 'dbee.yaml': WS(autoRollback), ...V1 });
    cleanups.push(w.remove);
    let vars: NodeJS.ProcessEnv = {};
    let query: (sql: string) => Promise<Record<string, unknown>[]>;
    if (env === 'server') {
      const db = await scratchDatabase();
      cleanups.push(db.drop);
      vars = { SMOKE_TEST_URL: db.url };
      query = (sql) => queryUrl(db.url, sql);
    } else {
      query = async (sql) => {
        const c = await PgliteConnection.open(join(w.root, '.dbee', 'local'), 't');
        try {
          return (await c.query(sql)).rows;
        } finally {
          await c.close();
        }
      };
    }
    expect((await run(w.root, 'deploy', { project: 'a', env }, vars)).code).toBe(0);
    for (const [f, t] of Object.entries(V2)) w.write(f, t);
    return { w, vars, query };
  }

  it('a failing smoke check exits 3 and, with autoRollback, leaves the schema as it was', async () => {
    const { w, vars, query } = await setup(true);
    const r = await run(w.root, 'deploy', { project: 'a', env }, vars);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('FAIL  the table is seeded');
    expect(r.stderr).toContain('smoke check failed after deploying');
    expect(await query("SELECT count(*)::int AS n FROM pg_views WHERE schemaname = 'a' AND viewname = 'v'")).toEqual([
      { n: 0 },
    ]);
    const last = await query('SELECT status FROM dbee.deployments ORDER BY id DESC LIMIT 1');
    expect(last).toEqual([{ status: 'rolled-back' }]);
  });

  it('without autoRollback the deployment stays applied, marked failed, and exits 3', async () => {
    const { w, vars, query } = await setup(false);
    const r = await run(w.root, 'deploy', { project: 'a', env }, vars);
    expect(r.code).toBe(3);
    expect(await query("SELECT count(*)::int AS n FROM pg_views WHERE schemaname = 'a' AND viewname = 'v'")).toEqual([
      { n: 1 },
    ]);
    expect(await query('SELECT status FROM dbee.deployments ORDER BY id DESC LIMIT 1')).toEqual([{ status: 'failed' }]);
    const smoke = await query("SELECT check_name, status FROM dbee.smoke_results WHERE status <> 'passed'");
    expect(smoke).toEqual([{ check_name: 'the table is seeded', status: 'failed' }]);
  });
});
