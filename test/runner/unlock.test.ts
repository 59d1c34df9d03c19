import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { advisoryLockId } from '@dbee/postgres';
import { run } from '../support/run';
import { workspaceWith, type TestWorkspace } from './helpers';
import { SHOP_V1 } from './shop';

let workspaces: TestWorkspace[] = [];
afterAll(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

describe('dbee unlock on PostgreSQL (#64): the advisory lock is named, never cleared', () => {
  it('nothing held: says so (exit 0); held: names the session to end (exit 1), changes nothing', async () => {
    const w = await workspaceWith('postgres', SHOP_V1);
    workspaces.push(w);
    const free = await run(w.root, 'unlock', { project: 'shop' }, w.target.vars);
    expect(free.code, free.stderr).toBe(0);
    expect(free.stdout).toMatch(/no deployment lock is held; nothing to clear/);

    const holder = new pg.Client({ connectionString: w.target.vars.DBEE_RUNNER_URL, application_name: 'someone' });
    await holder.connect();
    try {
      const pid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await holder.query('SELECT pg_advisory_lock($1::bigint)', [advisoryLockId('deploy')]);
      const held = await run(w.root, 'unlock', { project: 'shop', assumeYes: true }, w.target.vars);
      expect(held.code).toBe(1);
      expect(held.stdout).toMatch(/the deployment lock is held by \S+@/);
      expect(held.stderr).toContain(`pg_terminate_backend(${pid})`);
      // Still held: nothing was cleared.
      const still = await holder.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()",
      );
      expect(Number(still.rows[0]!.n)).toBe(1);
    } finally {
      await holder.end();
    }
  });
});
