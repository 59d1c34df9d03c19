import { ciJob } from '../../../context/origin';
import type { OperationContext } from '../../../context/operation-context';
import type { Engine } from '../../../engine/engine';
import { DbeeError } from '../../../errors';
import { openLedger } from '../../../ledger/open-ledger';
import { oneStepApplied } from '../../../pipeline/compensation';
import { markInterrupted, type PipelineApplied } from '../../../pipeline/pipeline';
import type { DeployReport } from '../../../runner/deploy-report';
import { Deployment } from '../../../runner/deployment';
import { customStep, sendPhase, statementsPlan } from '../../../runner/phase-run';
import { readRecordable, summaryOf } from '../../../runner/recorded-fingerprint';
import { lockOwner, type DeploymentSession } from '../../../runner/session';
import type { SchemaScope } from '../../../schema/managed-scope';
import { checksumStatements } from '../../../sources/checksum';
import type { Plan } from '../../../plan/plan';

/** A phase of the strategy as the pipeline sees it: one step (`what`, described by `statement`) that `send` runs. */
export interface PhaseWork {
  project: string;
  /** The ledger's kind of the phase's deployment row (`switch`, `fallback`, `finish`). */
  kind: 'switch' | 'fallback' | 'finish';
  /** The step's name in the ledger and the log, e.g. `switchover blue -> green`. */
  what: string;
  /** What the step does, as text (its ledger row's statements, and the plan's). */
  statement: string;
}

/** The phase's plan: its one step (the gates count it, `deploy-started` lists it). */
export function phasePlan(engine: Pick<Engine, 'name'>, work: PhaseWork): Plan {
  return statementsPlan(engine, work.project, [{ what: work.what, sql: work.statement, transactional: false }]);
}

/**
 * Stages `apply` and `ledger` of a phase: a deployment row of its kind (with the ticket, who, the tool), its one step
 * sent through the one step executor (its row `applied`, or `failed` with the error), the row closed with the schemas'
 * fingerprint of `scope` as the phase left them (what `status` compares for drift); the backups the step kept are the
 * report's (its summary's `backups`).
 */
export async function applyPhase(
  ctx: OperationContext,
  engine: Engine,
  session: DeploymentSession,
  report: DeployReport,
  work: PhaseWork,
  scope: SchemaScope,
  /** The step's work; returns the backups it kept (their names), if any. */
  send: () => Promise<string[] | void>,
): Promise<PipelineApplied> {
  const ledger = openLedger(session.conn, engine.ledger);
  // A phase whose process died left its row running: marked interrupted, as every deployment does under the lock.
  await markInterrupted(ctx, ledger, session, report, false);
  await ledger.tables.ensure();
  const owner = lockOwner();
  const deployment = await Deployment.open(ledger, {
    project: work.project,
    environment: report.environment,
    kind: work.kind,
    planChecksum: checksumStatements([work.statement], {}),
    package: null,
    gitCommit: report.source.commit,
    toolVersion: ctx.toolVersion,
    osUser: owner.user,
    ciJob: ciJob(ctx.env),
    host: owner.host,
    stepsTotal: 1,
    ticket: report.ticket,
  });
  const t0 = Date.now();
  const backups: string[] = [];
  const failure = await sendPhase({
    conn: session.conn,
    engine,
    ledger,
    deploymentId: deployment.id,
    steps: [
      customStep(work.project, work.what, work.statement, 1, async () => {
        backups.push(...((await send()) ?? []));
      }),
    ],
    reporter: ctx.reporter,
    assertLock: session.assertLock,
  });
  const fingerprint = engine.diff ? summaryOf(await readRecordable(engine.diff, session.conn, scope)) : {};
  await deployment.close(
    failure ? 'failed' : 'succeeded',
    { smoke: 'not run', ...fingerprint },
    failure ? { error: failure.message, statement: null } : null,
  );
  return oneStepApplied(ledger, {
    project: work.project,
    deploymentId: deployment.id,
    error: failure,
    durationMs: Date.now() - t0,
    backups,
    smoke: new Map([[work.project, 'not run']]),
  });
}

/** A refusal of the phase raised while planning, kept as the plan's problem (a dry run reports it, a run refuses). */
export function asProblem(e: unknown): DbeeError {
  if (e instanceof DbeeError) return e;
  throw e;
}
