import { describe, expect, it } from 'vitest';
import { DbeeError, ExitCode } from '../errors';
import type { Connection } from '../engine/engine';
import { executePlan, transactionGroups, type BatchMode, type PlanHooks, type StepEffect } from './execute';
import type { Reporter } from './reporter';

/** A step of a made-up plan: one statement. */
interface S {
  order: number;
  transactional: boolean;
  project: string;
  sql: string;
  passive?: boolean;
  recreates?: string;
}

const steps = (n: number, extra: (i: number) => Partial<S> = () => ({})): S[] =>
  Array.from({ length: n }, (_, i) => ({
    order: i + 1,
    transactional: true,
    project: 'p',
    sql: `S${i + 1}`,
    ...extra(i + 1),
  }));

/** A connection that logs every round trip (a request of statements) and fails the statement `failOn`. */
function fakeConnection(failOn: string | null, batches: boolean) {
  const trips: string[][] = [];
  const conn = {
    description: 'fake',
    query: async () => ({ rows: [] }),
    execute: async (sql: string) => {
      trips.push([sql]);
      if (sql === failOn) throw new Error(`${sql} broke`);
    },
    transaction: async <T>(fn: (tx: Connection) => Promise<T>): Promise<T> => {
      trips.push(['BEGIN']);
      try {
        const r = await fn(conn);
        trips.push(['COMMIT']);
        return r;
      } catch (e) {
        trips.push(['ROLLBACK']);
        throw e;
      }
    },
    executeBatch: batches
      ? async (statements: readonly string[]) => {
          trips.push([...statements]);
          const i = failOn === null ? -1 : statements.indexOf(failOn);
          return i < 0
            ? { completed: statements.length, error: null }
            : { completed: i, error: new Error(`${failOn} broke`) };
        }
      : undefined,
    close: async () => {},
  } as unknown as Connection;
  return { conn, trips };
}

const quiet: Reporter = { info: () => {}, warn: () => {}, step: () => {} };

function recorder() {
  const rows: string[] = [];
  const applied: number[] = [];
  const effect: StepEffect<S> = {
    shown: null,
    show: { applied: false, skipped: false },
    run: async (c, s, onStatement) => {
      onStatement(s.sql);
      await c.execute(s.sql);
    },
    error: (e, s, statement) =>
      new DbeeError(`step ${s.order} at ${statement}: ${(e as Error).message}`, {
        code: 'STATEMENT_FAILED',
        exitCode: ExitCode.applyFailed,
      }),
    record: async (s, status) => {
      rows.push(`${s.order} ${status}`);
    },
    applied: (s) => {
      applied.push(s.order);
    },
  };
  return { rows, applied, effect };
}

const batchMode = (alone: (s: S) => boolean = () => false): BatchMode<S> => ({
  eligible: (g) => g.transactional,
  joins: (first, next) => first.steps[0]!.project === next.steps[0]!.project,
  // A step that is alone also ends its request, as a migration does in a deployment.
  alone,
  ends: alone,
  begin: ['BEGIN'],
  prepare: async (s) => [s.sql],
  size: 2,
});

describe('executePlan: the one step executor', () => {
  it('batched mode: up to `size` one-step transactions per request; a failure rolls its transaction back, the rest is never sent', async () => {
    const { conn, trips } = fakeConnection('S4', true);
    const { rows, applied, effect } = recorder();
    const left: number[] = [];
    const hooks: PlanHooks<S> = {
      transactionalDdl: true,
      batch: batchMode(),
      leftOver: async (rest) => void left.push(...rest.map((s) => s.order)),
    };
    const outcome = await executePlan(conn, steps(5), effect, hooks, quiet);
    expect(trips).toEqual([
      ['BEGIN', 'S1', 'COMMIT', 'BEGIN', 'S2', 'COMMIT'],
      ['BEGIN', 'S3', 'COMMIT', 'BEGIN', 'S4', 'COMMIT'],
      ['ROLLBACK'],
    ]);
    expect(applied).toEqual([1, 2, 3]);
    expect(rows).toEqual(['4 failed']);
    expect(outcome.failures.map((f) => [f.step.order, f.statement, f.running])).toEqual([[4, 'S4', true]]);
    expect(left).toEqual([5]);
  });

  it('batched mode: a step alone in its request sends its COMMIT in a round trip of its own', async () => {
    const { conn, trips } = fakeConnection(null, true);
    const { applied, effect } = recorder();
    await executePlan(
      conn,
      steps(4),
      effect,
      { transactionalDdl: true, batch: batchMode((s) => s.order === 3) },
      quiet,
    );
    // Step 3 starts and ends its request; step 4 is then alone in the last one.
    expect(trips).toEqual([
      ['BEGIN', 'S1', 'COMMIT', 'BEGIN', 'S2', 'COMMIT'],
      ['BEGIN', 'S3'],
      ['COMMIT'],
      ['BEGIN', 'S4'],
      ['COMMIT'],
    ]);
    expect(applied).toEqual([1, 2, 3, 4]);
  });

  it('batched mode under scope plan: one transaction across requests; its failure rolls all of it back', async () => {
    const { conn, trips } = fakeConnection('S3', true);
    const { rows, applied, effect } = recorder();
    const outcome = await executePlan(
      conn,
      steps(4),
      effect,
      { scope: 'plan', transactionalDdl: true, batch: batchMode() },
      quiet,
    );
    expect(trips).toEqual([['BEGIN', 'S1', 'S2'], ['S3', 'S4', 'COMMIT'], ['ROLLBACK']]);
    expect(applied).toEqual([]);
    expect(rows).toEqual(['1 rolled-back', '2 rolled-back', '3 failed', '4 skipped']);
    expect(outcome.failures).toHaveLength(1);
  });

  it('one statement at a time: a passive step does not split the transaction; after a failure the rest is left over', async () => {
    const { conn, trips } = fakeConnection('S3', false);
    const { rows, applied, effect } = recorder();
    const passed: number[] = [];
    const left: number[] = [];
    const plan = steps(5, (i) => ({ passive: i === 2, transactional: i !== 5 }));
    const outcome = await executePlan(
      conn,
      plan,
      effect,
      {
        scope: 'plan',
        transactionalDdl: true,
        passive: (s) => !!s.passive,
        pass: async (s) => void passed.push(s.order),
        leftOver: async (rest) => void left.push(...rest.map((s) => s.order)),
      },
      quiet,
    );
    // Steps 1, 3 and 4 share one transaction around the passive step 2 (a group of its own after theirs): it fails,
    // so step 2 is never handed to `pass`, and is left over with step 5.
    expect(passed).toEqual([]);
    expect(trips).toEqual([['BEGIN'], ['S1'], ['S3'], ['ROLLBACK']]);
    expect(rows).toEqual(['1 rolled-back', '3 failed', '4 skipped']);
    expect(applied).toEqual([]);
    expect(outcome.failures.map((f) => f.step.order)).toEqual([3]);
    expect(left).toEqual([2, 5]);
  });

  it('one statement at a time: a passive step is handed to `pass`; outside a transaction, what ran before a failure stays applied', async () => {
    const { conn, trips } = fakeConnection('S3', false);
    const { rows, applied, effect } = recorder();
    const passed: number[] = [];
    const plan = steps(4, (i) => ({ passive: i === 1, transactional: false }));
    const outcome = await executePlan(
      conn,
      plan,
      effect,
      {
        transactionalDdl: true,
        passive: (s) => !!s.passive,
        pass: async (s) => void passed.push(s.order),
        continueOnError: true,
      },
      quiet,
    );
    expect(passed).toEqual([1]);
    expect(trips).toEqual([['S2'], ['S3'], ['S4']]);
    expect(applied).toEqual([2, 4]);
    expect(rows).toEqual(['3 failed']);
    expect(outcome.failures.map((f) => [f.step.order, f.running])).toEqual([[3, true]]);
  });

  it('a lost lock (a throw that interrupts) stops before the group, with nothing recorded and nothing left over', async () => {
    const { conn, trips } = fakeConnection(null, true);
    const { rows, applied, effect } = recorder();
    const lost = new Error('lock lost');
    let groups = 0;
    const left: number[] = [];
    const outcome = await executePlan(
      conn,
      steps(3),
      { ...effect, interrupts: (e) => e === lost },
      {
        transactionalDdl: true,
        beforeGroup: async () => {
          if (++groups === 2) throw lost;
        },
        leftOver: async (rest) => void left.push(...rest.map((s) => s.order)),
      },
      quiet,
    );
    expect(outcome.interrupted).toBe(lost);
    expect(trips).toEqual([['BEGIN'], ['S1'], ['COMMIT']]);
    expect(applied).toEqual([1]);
    expect(rows).toEqual([]);
    expect(left).toEqual([]);
  });
});

describe('transactionGroups: the steps of a re-creation share one transaction whatever the scope', () => {
  const sizes = (groups: { steps: unknown[] }[]) => groups.map((g) => g.steps.length);
  /** Steps 2-6 re-create table t (a view dropped first and made again last), step 4 is another object. */
  const plan = steps(8, (i) => ({
    ...(i >= 2 && i <= 6 && i !== 4 ? { recreates: 'table:s.t' } : {}),
    ...(i === 8 ? { project: 'q' } : {}),
  }));

  it('under object: steps 2 to 6 in one, the others alone; under project and plan as before', () => {
    expect(sizes(transactionGroups(plan, 'object', true))).toEqual([1, 5, 1, 1]);
    expect(sizes(transactionGroups(plan, 'project', true))).toEqual([7, 1]);
    expect(sizes(transactionGroups(plan, 'plan', true))).toEqual([8]);
  });

  it('overlapping re-creations are one; a step outside a transaction still splits them; no transactional DDL, none', () => {
    const two = steps(6, (i) => ({
      ...(i === 1 || i === 3 ? { recreates: 'a' } : {}),
      ...(i === 2 || i === 5 ? { recreates: 'b' } : {}),
    }));
    expect(sizes(transactionGroups(two, 'object', true))).toEqual([5, 1]);
    const split = steps(5, (i) => ({ recreates: 'a', ...(i === 3 ? { transactional: false } : {}) }));
    expect(sizes(transactionGroups(split, 'object', true))).toEqual([2, 1, 2]);
    expect(sizes(transactionGroups(plan, 'object', false))).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
  });
});
