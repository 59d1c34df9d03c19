import type { Connection, Engine, ExpandStatement, LockTimeouts } from '../engine/engine';
import { DbeeError, ExitCode } from '../errors';
import type { Ledger } from '../ledger/ledger';
import { PLAN_FORMAT_VERSION, type Plan, type PlanStep } from '../plan/plan';
import { executePlan } from './execute';
import type { Reporter } from './reporter';
import { checksumStatements } from '../sources/checksum';
import type { LockAttempt } from '../expand/lock-retry';
import { runExpandStatement } from '../expand/run-statement';

/**
 * One step of a phase of an expand-contract release: a statement of the strategy (sent under `lock_timeout`, retried
 * on a lock timeout) or a table's backfill (keyset batches). `step` is how the ledger, the reporter, the gates and the
 * dry run's copy see it.
 */
export interface PhaseStep {
  step: PlanStep;
  project: string;
  /** Always false: the step makes its own transactions (each lock-retried attempt, each backfill batch). */
  transactional: false;
  /** Sends the step on `c`. */
  send(c: Connection): Promise<void>;
}

/** A lock timeout a statement waited out before it was retried: when that attempt started and how long it waited. */
export interface LockWait {
  statement: string;
  error: string;
  at: Date;
  waitedMs: number;
}

/** The strategy's statements as plan steps (the gates count them, the dry run's copy applies them). */
export function statementsPlan(engine: Pick<Engine, 'name'>, project: string, statements: ExpandStatement[]): Plan {
  return {
    formatVersion: PLAN_FORMAT_VERSION,
    engine: engine.name,
    projects: [project],
    sourceCommit: null,
    baseFingerprint: null,
    steps: statements.map((s, i) => statementStep(project, s, i + 1)),
  };
}

function statementStep(project: string, s: ExpandStatement, order: number): PlanStep {
  const statements = s.clear ? [s.clear, s.sql] : [s.sql];
  return {
    order,
    project,
    key: s.what,
    objectKey: { kind: 'table', schema: '', name: s.what },
    action: 'alter',
    statements,
    reverse: null,
    transactional: s.transactional,
    hazards: [],
    source: null,
    checksum: checksumStatements(statements, {}),
  };
}

/** A strategy statement as a phase step, sent by `runExpandStatement`; each lock wait goes to `onWait`. */
export function statementStepOf(
  project: string,
  s: ExpandStatement,
  order: number,
  lock: { timeouts: LockTimeouts; ms: number },
  onWait: (w: LockWait) => void,
): PhaseStep {
  return {
    step: statementStep(project, s, order),
    project,
    transactional: false,
    send: (c) =>
      runExpandStatement(c, lock.timeouts, s, {
        lockTimeoutMs: lock.ms,
        onAttempt: (a: LockAttempt) => {
          if (a.error)
            onWait({ statement: s.sql, error: a.error, at: new Date(Date.now() - a.waitedMs), waitedMs: a.waitedMs });
        },
      }),
  };
}

/** A step that is not a statement (a backfill), recorded as one: `what` names it, `statement` is what it sets. */
export function customStep(
  project: string,
  what: string,
  statement: string,
  order: number,
  send: (c: Connection) => Promise<void>,
): PhaseStep {
  return {
    step: { ...statementStep(project, { what, sql: statement, transactional: false }, order), action: 'alter' },
    project,
    transactional: false,
    send,
  };
}

/**
 * Send a phase's steps through the one step executor (`executePlan`), each recorded in the ledger's `steps` of
 * deployment `deploymentId` (applied, or failed with its error; the rest skipped). Returns the failure, or null.
 */
export async function sendPhase(args: {
  conn: Connection;
  engine: Pick<Engine, 'capabilities' | 'mapError'>;
  ledger: Pick<Ledger, 'steps'>;
  deploymentId: number;
  steps: PhaseStep[];
  reporter: Reporter;
  /** Proves the deployment lock before each step. */
  assertLock: () => Promise<void>;
}): Promise<DbeeError | null> {
  const { ledger, deploymentId, steps, reporter } = args;
  const started = new Map<PhaseStep, Date>();
  const row = (
    ps: PhaseStep,
    status: 'applied' | 'failed' | 'skipped' | 'rolled-back',
    durationMs: number,
    error: string | null,
    at: Date,
  ) =>
    ledger.steps.recordStep(deploymentId, {
      order: ps.step.order,
      objectKey: ps.step.key,
      action: ps.step.action,
      checksum: ps.step.checksum,
      statements: ps.step.statements,
      reverse: null,
      previousDefinition: null,
      transactional: false,
      startedAt: at,
      durationMs,
      status,
      error,
      previousChecksum: null,
    });
  const outcome = await executePlan(
    args.conn,
    steps,
    {
      shown: (ps) => ({ index: steps.indexOf(ps) + 1, total: steps.length, step: ps.step }),
      show: { applied: true, skipped: false },
      run: async (c, ps, onStatement) => {
        onStatement(ps.step.statements[ps.step.statements.length - 1]!);
        const at = new Date();
        started.set(ps, at);
        await ps.send(c);
        await row(ps, 'applied', Date.now() - at.getTime(), null, at);
      },
      error: (e, _ps, statement) => {
        const mapped = e instanceof DbeeError ? e : args.engine.mapError(e, { statement: statement ?? undefined });
        return mapped instanceof DbeeError
          ? mapped
          : new DbeeError(mapped.message, { code: 'STEP_FAILED', exitCode: ExitCode.applyFailed, cause: e });
      },
      record: (ps, status, fields) =>
        row(
          ps,
          status,
          fields.durationMs,
          fields.error,
          status === 'skipped' ? fields.startedAt : (started.get(ps) ?? fields.startedAt),
        ),
    },
    { transactionalDdl: args.engine.capabilities.transactionalDdl, beforeGroup: args.assertLock },
    reporter,
  );
  return outcome.failures[0]?.error ?? null;
}
