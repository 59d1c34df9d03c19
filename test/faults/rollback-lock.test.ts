import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { dbYaml, snapshot, spawnDbee, workspaceWith, type TestWorkspace } from '../runner/helpers';

let workspaces: TestWorkspace[] = [];
afterAll(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

const files = (version: 1 | 2) => {
  const f: Record<string, string> = {
    'app/db.yaml': dbYaml('app'),
    'app/schema.sql': 'CREATE SCHEMA app;\n',
    'app/items.sql': 'CREATE TABLE app.items (id bigint PRIMARY KEY, qty integer NOT NULL);\n',
  };
  for (let i = 1; i <= 4; i++)
    f[`app/v${i}.sql`] =
      `CREATE OR REPLACE VIEW app.v${i} AS SELECT id, qty FROM app.items WHERE qty > ${i * version};\n`;
  return f;
};

/**
 * A rollback sends each step's statements and ledger rows in one request, the rows evaluating the lock's guard instead of
 * a lock check before the next step: a lock lost while a step runs must still stop it, name the lock, and leave nothing
 * of the rollback (one transaction).
 */
describe('fault: the deployment lock is lost in the middle of a rollback [postgres]', () => {
  it('the lock session terminated while a step runs: the rollback fails naming the lost lock, and nothing of it stays', async () => {
    const w = await workspaceWith('postgres', files(1));
    workspaces.push(w);
    expect((await run(w.root, 'deploy', { project: 'app' }, w.target.vars)).code).toBe(0);
    for (const [path, text] of Object.entries(files(2))) w.write(path, text);
    expect((await run(w.root, 'deploy', { project: 'app' }, w.target.vars)).code).toBe(0);
    const deployed = (await snapshot(w.target, { withLedger: false })).catalog;
    // The step undone second waits (a statement put before its recorded reverse): the rollback is in it when the lock goes.
    const [slow] = await w.target.query<{ step_order: number }>(
      `UPDATE dbee.steps SET reverse_statements = jsonb_build_array('SELECT pg_sleep(5)') || reverse_statements
        WHERE deployment_id = 2 AND step_order = (SELECT max(step_order) - 1 FROM dbee.steps WHERE deployment_id = 2)
        RETURNING step_order`,
    );
    expect(slow).toBeDefined();
    const db = new URL(w.target.vars.DBEE_RUNNER_URL!).pathname.slice(1);
    const r = await spawnDbee(w.root, ['rollback', 'app', '-y'], w.target.vars);
    for (let i = 0; i < 400; i++) {
      const sleeping = await w.target.query(
        `SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND state = 'active' AND query LIKE '%pg_sleep(5)%' AND pid <> pg_backend_pid()`,
        [db],
      );
      if (sleeping.length) break;
      await new Promise((done) => setTimeout(done, 50));
    }
    const killed = await w.target.query<{ pid: number }>(
      `SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'dbee %'`,
      [db],
    );
    expect(killed).toHaveLength(1);
    expect(await r.exit).toBe(2);
    expect(r.output().stderr).toMatch(/^error: .*lock lost: the lock's session ended/m);
    // One transaction: the steps undone before the slow one rolled back with it.
    expect((await snapshot(w.target, { withLedger: false })).catalog).toEqual(deployed);
    const rows = await w.target.query<{ kind: string; status: string }>(
      'SELECT kind, status FROM dbee.deployments ORDER BY id',
    );
    expect(rows.map((x) => [x.kind, x.status])).toEqual([
      ['deploy', 'succeeded'],
      ['deploy', 'succeeded'],
      ['rollback', 'failed'],
    ]);
  });
});
