import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { dbYaml, spawnDbee, workspaceWith, type TestWorkspace } from '../runner/helpers';
import { SHOP_V1 } from '../runner/shop';
import { assertCatalogAsFresh, assertLedgerInvariants } from './invariants';
import { generatedWorkspace, seeded, terminateLockAt } from './lock-termination';

let workspaces: TestWorkspace[] = [];
afterAll(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});
const keep = (w: TestWorkspace) => (workspaces.push(w), w);

/** Shop v1 with a slow migration V2 and a quick V3 after it, and another project `crm`. */
const FILES = {
  ...SHOP_V1,
  'shop/migrations/V2__slow.sql': 'SELECT pg_sleep(3);\n',
  'shop/migrations/V2__slow.rollback.sql': 'SELECT 0;\n',
  'shop/migrations/V3__after.sql': 'CREATE TABLE shop.after_slow (id int);\n',
  'shop/migrations/V3__after.rollback.sql': 'DROP TABLE shop.after_slow;\n',
  'crm/db.yaml': dbYaml('crm'),
  'crm/s.sql': 'CREATE SCHEMA crm;\nCREATE TABLE crm.notes (id int);\n',
};

type Row = {
  id: number;
  project: string;
  status: string;
  error: string | null;
  started_at: Date;
  finished_at: Date | null;
};
const deployments = (w: TestWorkspace) =>
  w.target.query<Row>(
    'SELECT id::int, project, status, error, started_at, finished_at FROM dbee.deployments ORDER BY id',
  );

describe('fault: the deployment lock is lost mid-deployment [postgres]', () => {
  it('the lock session terminated (pg_terminate_backend): the deployment stops before its next step, is recorded aborted: lock lost, exits 2; the next one waits for it and never overlaps', async () => {
    const w = keep(await workspaceWith('postgres', FILES));
    const db = new URL(w.target.vars.DBEE_RUNNER_URL!).pathname.slice(1);
    const a = await spawnDbee(w.root, ['deploy', 'shop'], w.target.vars);
    await a.waitFor('migrate migration:shop/V2');
    const killed = await w.target.query<{ pid: number }>(
      `SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'dbee %'`,
      [db],
    );
    expect(killed).toHaveLength(1);
    // Another deployment now gets the advisory lock at once, but must wait for the first one's working session.
    const b = await run(w.root, 'deploy', { project: 'crm', waitForLock: 60 }, w.target.vars);
    expect(await a.exit).toBe(2);
    expect(a.output().stderr).toMatch(
      /^error: lock lost: the lock's session ended \(.*terminating connection due to administrator command.*\); the deployment stopped before its next step/m,
    );
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    expect(b.stdout).toMatch(/waiting up to 60s for the deployment lock held by \S+@\S+ \(pid \d+\)/);
    expect(b.stdout).not.toContain('interrupted');

    const rows = await deployments(w);
    expect(rows.map((r) => [r.project, r.status])).toEqual([
      ['shop', 'aborted'],
      ['crm', 'succeeded'],
    ]);
    expect(rows[0]!.error).toMatch(/^lock lost: /);
    // Never overlapping: the second started after the first had ended.
    expect(new Date(rows[1]!.started_at).getTime()).toBeGreaterThanOrEqual(new Date(rows[0]!.finished_at!).getTime());
    // Nothing committed after the lock was lost: V2, running when the lock's session ended, rolled back (the lock's
    // guard runs before its COMMIT), and V3 did not run.
    expect(await w.target.query("SELECT to_regclass('shop.after_slow') IS NULL AS absent")).toEqual([{ absent: true }]);
    expect(await w.target.query('SELECT version FROM dbee.migrations ORDER BY version')).toEqual([{ version: '1' }]);

    // The next run resumes with what the aborted one did not commit.
    const c = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/shop: deploying 2 steps/);
    await assertLedgerInvariants(w.target);
    await assertCatalogAsFresh(w, FILES, ['shop', 'crm']);
  });

  it('idle_session_timeout on the database does not cut the lock session: a second deployment is refused while the first runs', async () => {
    const w = keep(await workspaceWith('postgres', FILES));
    const db = new URL(w.target.vars.DBEE_RUNNER_URL!).pathname.slice(1);
    await w.target.query(`ALTER DATABASE ${db} SET idle_session_timeout = '1s'`);
    const a = await spawnDbee(w.root, ['deploy', 'shop'], w.target.vars);
    await a.waitFor('migrate migration:shop/V2');
    // Longer than the idle timeout: an idle lock session would have been cut by now.
    await new Promise((r) => setTimeout(r, 1_500));
    const b = await run(w.root, 'deploy', { project: 'crm', waitForLock: 1 }, w.target.vars);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/another deployment holds the lock on deploy: \S+@\S+ \(pid \d+\)/);
    expect(await a.exit).toBe(0);
    expect((await deployments(w)).map((r) => [r.project, r.status])).toEqual([['shop', 'succeeded']]);
    await assertLedgerInvariants(w.target);
  });

  it('the holder named is the one deploying to this database, not to another database of the server', async () => {
    const w = keep(await workspaceWith('postgres', FILES));
    const other = keep(await workspaceWith('postgres', FILES));
    // A session holding the same advisory lock key in ANOTHER database of the same server.
    const id = (await import('@dbee/postgres')).advisoryLockId('deploy');
    const { Client } = await import('pg');
    const elsewhere = new Client({
      connectionString: other.target.vars.DBEE_RUNNER_URL,
      application_name: 'dbee someone@elsewhere 4242 2026-01-01T00:00:00.000Z',
    });
    await elsewhere.connect();
    await elsewhere.query('SELECT pg_advisory_lock($1::bigint)', [id]);
    const a = await spawnDbee(w.root, ['deploy', 'shop'], w.target.vars);
    try {
      await a.waitFor('migrate migration:shop/V2');
      const b = await run(w.root, 'deploy', { project: 'crm', waitForLock: 1 }, w.target.vars);
      expect(b.code).toBe(1);
      expect(b.stderr).toContain(`(pid ${a.child.pid})`);
      expect(b.stderr).not.toContain('elsewhere');
      expect(await a.exit).toBe(0);
    } finally {
      await elsewhere.end();
    }
  });
});

describe('fault: the lock session terminated in the middle of a request of many steps [postgres]', () => {
  // The long version (20 terminations of a 1,000-object deployment) is test/faults/lock-terminate.long.ts.
  it('terminated at a random step, twice: no step commits after the termination (ledger step times against the server clock)', async () => {
    const seed = Number(process.env.DBEE_FAULT_SEED ?? Date.now() % 1_000_000);
    const random = seeded(seed);
    for (let i = 0; i < 2; i++) {
      const { w, steps } = await generatedWorkspace(300);
      keep(w);
      const at = 5 + Math.floor(random() * (steps * 0.7));
      const { late, applied } = await terminateLockAt(w, at);
      expect(late, `seed ${seed}: terminated after ${at} of ${steps} steps; steps that committed after it`).toEqual([]);
      expect(applied).toBeGreaterThanOrEqual(at);
      expect(applied).toBeLessThan(steps);
    }
  });
});

// The embedded lock is a file (the server's lock session is covered above).
describe('fault: the lock is taken over mid-deployment [pglite]', () => {
  it('a lock file taken over by another owner: the deployment stops before its next step, aborted: lock lost, exit 2', async () => {
    const w = keep(await workspaceWith('pglite', FILES));
    const a = await spawnDbee(w.root, ['deploy', 'shop'], w.target.vars);
    await a.waitFor('migrate migration:shop/V2');
    writeFileSync(
      join(w.root, '.dbee', 'db.lock'),
      JSON.stringify({ user: 'intruder', host: 'elsewhere', pid: 1, since: new Date().toISOString() }),
    );
    expect(await a.exit).toBe(2);
    expect(a.output().stderr).toMatch(
      /^error: lock lost: the lock file .* now belongs to intruder@elsewhere \(pid 1\)/m,
    );
    const rows = await deployments(w);
    expect(rows.map((r) => [r.project, r.status])).toEqual([['shop', 'aborted']]);
    expect(await w.target.query('SELECT version FROM dbee.migrations ORDER BY version')).toEqual([
      { version: '1' },
      { version: '2' },
    ]);
    await assertLedgerInvariants(w.target);
  });
});
