import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import type { TestWorkspace } from '../runner/helpers';
import { deployedShop } from '../runner/shop';
import { assertLedgerInvariants } from './invariants';

let workspaces: TestWorkspace[] = [];
afterAll(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

// Another session holding ACCESS EXCLUSIVE on a table: a server matter (PGlite is one session).
describe('fault: planning reads the catalog under the lock timeout [postgres]', () => {
  it('a table the change alters is locked by another session: exit 1 naming the table and the session, nothing applied, the deployment lock released', async () => {
    const w = workspaces[workspaces.push(await deployedShop('postgres', 'deploy:\n  lockTimeout: 500ms')) - 1]!;
    const db = new URL(w.target.vars.DBEE_RUNNER_URL!).pathname.slice(1);
    // A changed table: this project is planned by a diff of the live schema.
    w.write(
      'shop/customers.sql',
      'CREATE TABLE shop.customers (id int PRIMARY KEY, name text NOT NULL, email text);\n',
    );
    const holder = await w.target.connect();
    try {
      await holder.execute('BEGIN');
      await holder.execute('LOCK TABLE shop.customers IN ACCESS EXCLUSIVE MODE');
      const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const r = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
      expect(r.stderr).toContain('canceling statement due to lock timeout');
      expect(r.stderr).toContain(`shop.customers: AccessExclusiveLock held by pid ${holderPid}`);
      expect(r.code).toBe(1);
      // Nothing applied, nothing recorded; no dbee session left behind (the deployment lock is released).
      expect(await w.target.query('SELECT count(*)::int AS n FROM dbee.deployments')).toEqual([{ n: 1 }]);
      expect(
        await w.target.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'dbee%'`,
          [db],
        ),
      ).toEqual([{ n: 0 }]);
    } finally {
      await holder.execute('ROLLBACK');
      await holder.close();
    }
    const again = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    await assertLedgerInvariants(w.target);
  });
});
