import { join } from 'node:path';
import { expect } from 'vitest';
import { generateProject } from '../../tools/bench/generate';
import { run } from '../support/run';
import { spawnDbee, workspaceWith, type TestWorkspace } from '../runner/helpers';
import { assertLedgerInvariants } from './invariants';

/** A small seeded generator (mulberry32): a failing run prints its seed, and `DBEE_FAULT_SEED` replays it. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A workspace with one generated project `big` of about `objects` objects, and its step count (from a dry run). */
export async function generatedWorkspace(objects: number): Promise<{ w: TestWorkspace; steps: number }> {
  const w = await workspaceWith('postgres', {});
  generateProject(join(w.root, 'big'), { name: 'big', objects });
  const plan = await run(w.root, 'deploy', { project: 'big', dryRun: true }, w.target.vars);
  expect(plan.code, plan.stderr).toBe(0);
  const steps = Number(/-- step 1\/(\d+):/.exec(plan.stdout)?.[1]);
  expect(steps).toBeGreaterThan(objects / 2);
  return { w, steps };
}

const dbName = (w: TestWorkspace) => new URL(w.target.vars.DBEE_RUNNER_URL!).pathname.slice(1);

/** A step committed after the lock's session had ended: its end by the server's clock, and the termination's. */
export interface LateStep {
  step_order: number;
  ended: string;
  killed: string;
}

/**
 * Deploy `big` and terminate the deployment lock's session (pg_terminate_backend, waiting until the backend is
 * gone) once `at` steps have committed. Returns the steps recorded `applied` that ended after the termination by the
 * server's clock (their `started_at` + `duration_ms`, against `clock_timestamp()` read right after the backend
 * exited; 1 ms allowed for the rounding of `duration_ms`): none may. Also checks that the run stopped with exit 2 as
 * `lock lost`, its deployment `aborted`, the ledger's invariants hold, and the next deployment completes the project.
 */
export async function terminateLockAt(w: TestWorkspace, at: number): Promise<{ late: LateStep[]; applied: number }> {
  const db = dbName(w);
  const child = await spawnDbee(w.root, ['deploy', 'big'], w.target.vars);
  let exited = false;
  void child.exit.then(() => (exited = true));
  let killed: string | null = null;
  for (;;) {
    expect(
      exited,
      `the deployment ended before ${at} steps committed:\n${child.output().stdout}\n${child.output().stderr}`,
    ).toBe(false);
    const n = await w.target
      .query<{ n: number }>(`SELECT count(*)::int AS n FROM dbee.steps WHERE status = 'applied'`)
      .then((r) => r[0]!.n)
      .catch(() => 0);
    if (n >= at) {
      const ended = await w.target.query<{ ok: boolean }>(
        `SELECT pg_terminate_backend(pid, 30000) AS ok FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'dbee %'`,
        [db],
      );
      expect(ended).toEqual([{ ok: true }]);
      killed = (await w.target.query<{ t: string }>(`SELECT clock_timestamp()::text AS t`))[0]!.t;
      break;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const code = await child.exit;
  const { stdout, stderr } = child.output();
  expect(stderr, stdout).toMatch(/^error: lock lost: /m);
  expect(code).toBe(2);
  const late = await w.target.query<LateStep>(
    `SELECT step_order, (started_at + duration_ms * interval '1 ms')::text AS ended, $1::text AS killed FROM dbee.steps
      WHERE status = 'applied' AND started_at + duration_ms * interval '1 ms' > $1::timestamptz + interval '1 ms' ORDER BY step_order`,
    [killed],
  );
  const applied = (
    await w.target.query<{ n: number }>(`SELECT count(*)::int AS n FROM dbee.steps WHERE status = 'applied'`)
  )[0]!.n;
  expect(await w.target.query(`SELECT status FROM dbee.deployments ORDER BY id`)).toEqual([{ status: 'aborted' }]);
  await assertLedgerInvariants(w.target);
  const resumed = await run(w.root, 'deploy', { project: 'big' }, w.target.vars);
  expect(resumed.stderr).toBe('');
  expect(resumed.code).toBe(0);
  await assertLedgerInvariants(w.target);
  return { late, applied };
}
