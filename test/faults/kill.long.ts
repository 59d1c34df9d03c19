import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateProject } from '../../tools/bench/generate';
import { run } from '../support/run';
import { snapshot, spawnDbee, workspaceWith, type TestWorkspace } from '../runner/helpers';
import { assertLedgerInvariants } from './invariants';

// Long fault cases (npm run test:faults only): the dbee process killed (SIGKILL) at each phase of a large
// deployment. After each kill, the next run finishes the deployment, the ledger's invariants hold, and the catalog
// equals the same sources deployed undisturbed to a fresh database.

let workspaces: TestWorkspace[] = [];
afterAll(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

/** A generated project `big` of about 440 objects (tables with foreign keys and indexes, views, routines, triggers). */
async function bigWorkspace(smoke = ''): Promise<{ w: TestWorkspace; steps: number }> {
  const w = await workspaceWith('postgres', smoke ? { 'big/smoke/slow.yaml': smoke } : {});
  workspaces.push(w);
  generateProject(join(w.root, 'big'), { name: 'big', objects: 440 });
  const plan = await run(w.root, 'deploy', { project: 'big', dryRun: true }, w.target.vars);
  expect(plan.code, plan.stderr).toBe(0);
  const steps = Number(/-- step 1\/(\d+):/.exec(plan.stdout)?.[1]);
  expect(steps).toBeGreaterThan(300);
  return { w, steps };
}

/** The catalog a fresh, undisturbed deployment of the same sources builds (computed once). */
let expected: string[] | null = null;
async function freshCatalog(): Promise<string[]> {
  if (expected) return expected;
  const fresh = await workspaceWith('postgres', {});
  try {
    generateProject(join(fresh.root, 'big'), { name: 'big', objects: 440 });
    const r = await run(fresh.root, 'deploy', { project: 'big' }, fresh.target.vars);
    expect(r.code, r.stderr).toBe(0);
    expected = (await snapshot(fresh.target, { withLedger: false })).catalog;
    return expected;
  } finally {
    await fresh.remove();
  }
}

/** After a kill: the next run exits 0, the ledger holds its invariants, the schema is the fresh one. */
async function recovers(w: TestWorkspace): Promise<string> {
  const r = await run(w.root, 'deploy', { project: 'big' }, w.target.vars);
  expect(r.stderr).not.toContain('error:');
  expect(r.code).toBe(0);
  await assertLedgerInvariants(w.target);
  expect((await snapshot(w.target, { withLedger: false })).catalog).toEqual(await freshCatalog());
  // Converged: nothing left to do.
  const again = await run(w.root, 'deploy', { project: 'big' }, w.target.vars);
  expect(again.code).toBe(0);
  expect(again.stdout).toContain('nothing to deploy');
  return r.stdout + r.stderr;
}

const dbName = (w: TestWorkspace) => new URL(w.target.vars.DBEE_RUNNER_URL!).pathname.slice(1);

describe('fault: the dbee process killed (SIGKILL) during a large deployment [postgres]', () => {
  it('right after taking the lock and planning, before or at its first step: the next run deploys everything', async () => {
    const { w } = await bigWorkspace();
    const a = await spawnDbee(w.root, ['deploy', 'big'], w.target.vars);
    await a.waitFor('dbee deploy big ->');
    a.child.kill('SIGKILL');
    await a.exit;
    const out = await recovers(w);
    expect(out).not.toMatch(/deploying 0 step/);
  });

  it('mid-steps (step 150): the committed steps stay, the next run resumes with the rest', async () => {
    const { w, steps } = await bigWorkspace();
    const a = await spawnDbee(w.root, ['deploy', 'big'], w.target.vars);
    await a.waitFor(`[150/${steps}]`);
    a.child.kill('SIGKILL');
    await a.exit;
    const applied = await w.target.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM dbee.steps WHERE status = 'applied'",
    );
    expect(applied[0]!.n).toBeGreaterThan(100);
    expect(applied[0]!.n).toBeLessThan(steps);
    const out = await recovers(w);
    expect(out).toMatch(/did not finish .*marked interrupted|interrupted/);
    // Resumed: fewer steps than the whole plan.
    const resumed = Number(/big: deploying (\d+) step/.exec(out)?.[1]);
    expect(resumed).toBeLessThan(steps);
  });

  it('while its ledger write waits (the step and its record share a transaction): neither is kept', async () => {
    const { w, steps } = await bigWorkspace();
    const db = dbName(w);
    const blocker = await w.target.connect();
    try {
      const a = await spawnDbee(w.root, ['deploy', 'big'], w.target.vars);
      await a.waitFor(`[100/${steps}]`);
      await blocker.execute('BEGIN');
      await blocker.execute('LOCK TABLE dbee.steps IN ACCESS EXCLUSIVE MODE');
      // The dbee session now waits on the ledger, its step's statements run but not committed.
      let waiting = false;
      for (let i = 0; i < 600 && !waiting; i++) {
        const r = await w.target.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'dbee-run %' AND wait_event_type = 'Lock' AND query ILIKE '%dbee.steps%'`,
          [db],
        );
        waiting = r[0]!.n > 0;
        if (!waiting) await new Promise((res) => setTimeout(res, 50));
      }
      expect(waiting).toBe(true);
      a.child.kill('SIGKILL');
      await a.exit;
      await blocker.execute('ROLLBACK');
      // The server ends the dead client's session and rolls its transaction back: the waiting step did not happen.
      for (let i = 0; i < 200; i++) {
        const left = await w.target.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'dbee%'`,
          [db],
        );
        if (left[0]!.n === 0) break;
        await new Promise((res) => setTimeout(res, 50));
      }
      const recorded = await w.target.query<{ step_order: number; status: string }>(
        'SELECT step_order, status FROM dbee.steps ORDER BY step_order',
      );
      expect(recorded.length).toBeGreaterThan(0);
      expect(recorded.length).toBeLessThan(steps);
      // Steps go many to a request, each in its own transaction: those before the waiting one committed with their
      // records (a prefix of the plan), the waiting one and those after it left nothing.
      expect(recorded.map((r) => `${r.step_order} ${r.status}`)).toEqual(recorded.map((_, i) => `${i + 1} applied`));
      // Neither kept: the tables and views that exist are exactly those the ledger records (no statement without its
      // record, no record without its statement).
      const relations = await w.target.query<{ key: string }>(
        `SELECT CASE WHEN c.relkind = 'v' THEN 'view:' ELSE 'table:' END || n.nspname || '.' || c.relname AS key
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'p', 'v') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'dbee') AND n.nspname NOT LIKE 'pg\\_%'
          ORDER BY 1`,
      );
      const objects = await w.target.query<{ key: string }>(
        `SELECT object_key AS key FROM dbee.objects WHERE object_key ~ '^(table|view):' ORDER BY 1`,
      );
      expect(relations.map((r) => r.key)).toEqual(objects.map((o) => o.key));
    } finally {
      await blocker.close();
    }
    await recovers(w);
  });

  it('during its smoke checks (every step applied): the next run marks it interrupted and has nothing to apply', async () => {
    const { w } = await bigWorkspace('checks:\n  - name: slow\n    query: SELECT pg_sleep(5)\n    timeout: 60s\n');
    const a = await spawnDbee(w.root, ['deploy', 'big'], w.target.vars);
    await a.waitFor('big: smoke checks');
    a.child.kill('SIGKILL');
    await a.exit;
    const r = await run(w.root, 'deploy', { project: 'big' }, w.target.vars);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/did not finish .*marked interrupted/);
    expect(r.stdout).toContain('nothing to deploy');
    await assertLedgerInvariants(w.target);
    expect((await snapshot(w.target, { withLedger: false })).catalog).toEqual(await freshCatalog());
  });
});

// The embedded engine: PGlite writes its files from the dbee process itself, so a kill stops the database too.
describe('fault: the dbee process killed (SIGKILL) mid-steps of a large deployment [pglite]', () => {
  it('the data folder opens again, the committed steps stay, and the next run resumes and converges', async () => {
    const w = await workspaceWith('pglite', {});
    workspaces.push(w);
    generateProject(join(w.root, 'big'), { name: 'big', objects: 440 });
    const a = await spawnDbee(w.root, ['deploy', 'big'], w.target.vars);
    await a.waitFor('[150/');
    a.child.kill('SIGKILL');
    await a.exit;
    const applied = await w.target.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM dbee.steps WHERE status = 'applied'",
    );
    expect(applied[0]!.n).toBeGreaterThan(100);
    const r = await run(w.root, 'deploy', { project: 'big' }, w.target.vars);
    expect(r.stderr).not.toContain('error:');
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/marked interrupted/);
    expect(Number(/big: deploying (\d+) step/.exec(r.stdout)?.[1])).toBeLessThan(400);
    await assertLedgerInvariants(w.target);
    const fresh = await workspaceWith('pglite', {});
    try {
      generateProject(join(fresh.root, 'big'), { name: 'big', objects: 440 });
      expect((await run(fresh.root, 'deploy', { project: 'big' }, fresh.target.vars)).code).toBe(0);
      expect((await snapshot(w.target, { withLedger: false })).catalog).toEqual(
        (await snapshot(fresh.target, { withLedger: false })).catalog,
      );
    } finally {
      await fresh.remove();
    }
  });
});
