import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { queryUrl } from '../support/pg';
import { spawnDbee, workspaceWith, workspaceYaml, type TestWorkspace } from './helpers';
import { deployedShop, SHOP_V1 } from './shop';

let workspaces: TestWorkspace[] = [];
afterEach(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

// Timeouts need another session holding a lock, or a clock interrupting a statement: a server matter
// (PGlite is one session in one process).
describe('session timeouts per environment [postgres]', () => {
  it('lockTimeout aborts a step that waits on a lock held by another session; the failure is recorded (exit 2)', async () => {
    const w = await deployedShop('postgres', 'deploy:\n  lockTimeout: 500ms');
    workspaces.push(w);
    w.write('shop/recent.sql', 'CREATE VIEW shop.recent AS SELECT id, name FROM shop.customers;\n');
    const holder = await w.target.connect();
    try {
      await holder.execute('BEGIN');
      await holder.execute('LOCK TABLE shop.customers IN ACCESS EXCLUSIVE MODE');
      const t0 = Date.now();
      const r = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('canceling statement due to lock timeout');
      const steps = await w.target.query<{ object_key: string; status: string; error: string }>(
        'SELECT object_key, status, error FROM dbee.steps WHERE deployment_id = 2',
      );
      expect(steps.map((s) => [s.object_key, s.status])).toEqual([['view:shop.recent', 'failed']]);
    } finally {
      await holder.execute('ROLLBACK');
      await holder.close();
    }
    const again = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(again.code).toBe(0);
  });

  it('statementTimeout cancels a step that runs too long', async () => {
    const w = await deployedShop('postgres', 'deploy:\n  statementTimeout: 300ms');
    workspaces.push(w);
    w.write('shop/migrations/V2__slow.sql', 'SELECT pg_sleep(5);\n');
    w.write('shop/migrations/V2__slow.rollback.sql', 'SELECT 0;\n');
    const t0 = Date.now();
    const r = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(Date.now() - t0).toBeLessThan(4_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('canceling statement due to statement timeout');
  });

  it('a deploy planned by a diff: its catalog reads wait no longer than lockTimeout, and a killed one leaves no backend holding the lock (issue #56)', async () => {
    // A CHECK constraint: reading the live schema deparses it (pg_get_expr), which opens the table.
    const files = {
      ...SHOP_V1,
      'shop/customers.sql': 'CREATE TABLE shop.customers (id int PRIMARY KEY CHECK (id > 0), name text NOT NULL);\n',
    };
    const yaml = (lockTimeout: string) =>
      workspaceYaml('postgres', { environment: `deploy:\n  lockTimeout: ${lockTimeout}` });
    const w = await workspaceWith('postgres', { ...files, 'dbee.yaml': yaml('1s') });
    workspaces.push(w);
    const url = w.target.vars.DBEE_RUNNER_URL!;
    expect((await run(w.root, 'deploy', { project: 'shop' }, w.target.vars)).code).toBe(0);
    // A changed table: the project is planned by a diff of the live schema.
    w.write(
      'shop/customers.sql',
      'CREATE TABLE shop.customers (id int PRIMARY KEY CHECK (id > 0), name text NOT NULL, email text);\n',
    );
    const holder = await w.target.connect();
    const dbeeBackends = async () =>
      queryUrl<{ pid: number; wait: string | null }>(
        url,
        `SELECT pid, wait_event_type AS wait FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'dbee%'`,
      );
    try {
      await holder.execute('BEGIN');
      await holder.execute('LOCK TABLE shop.customers IN ACCESS EXCLUSIVE MODE');
      const bounded = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
      expect(bounded.code).toBe(1);
      expect(bounded.stderr).toContain('canceling statement due to lock timeout');

      // A lock timeout far beyond the test: only the server's own check of the client frees the killed one's backends.
      w.write('dbee.yaml', yaml('600s'));
      const a = await spawnDbee(w.root, ['deploy', 'shop'], w.target.vars);
      while (!(await dbeeBackends()).some((b) => b.wait === 'Lock')) await new Promise((r) => setTimeout(r, 100));
      a.child.kill('SIGKILL');
      await a.exit;
      // Every backend of the killed process ends while the table lock is still held.
      while ((await dbeeBackends()).length) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await holder.execute('ROLLBACK');
      await holder.close();
    }
    const again = await run(w.root, 'deploy', { project: 'shop', waitForLock: 1 }, w.target.vars);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
  }, 120_000);
});
