import { DbeeError, ExitCode } from '../../../errors';
import type { ExpandRelease } from '../../../expand/phases';
import { openLedger } from '../../../ledger/open-ledger';
import { Deployment } from '../../../runner/deployment';
import { lockOwner } from '../../../runner/session';
import type { PipelineApplied } from '../../../pipeline/pipeline';
import { sendPhase, type PhaseStep } from '../../../runner/phase-run';
import { readRecordable, summaryOf } from '../../../runner/recorded-fingerprint';
import type { DeployReport } from '../../../runner/deploy-report';
import { recordedSteps } from '../../../pipeline/compensation';
import { ciJob } from '../../../context/origin';
import type { SchemaScope } from '../../../schema/managed-scope';
import type { Phases } from './settings';

/** Send `steps` of a phase through the one step executor with their ledger rows; the lock waits recorded after. */
export async function sendSteps(
  p: Phases,
  release: ExpandRelease,
  deployment: Deployment,
  steps: PhaseStep[],
): Promise<void> {
  try {
    const failure = await sendPhase({
      conn: p.conn,
      engine: p.engine,
      ledger: openLedger(p.conn, p.engine.ledger),
      deploymentId: deployment.id,
      steps,
      reporter: p.ctx.reporter,
      assertLock: p.session.assertLock,
    });
    if (failure) throw failure;
  } finally {
    for (const w of p.waits.splice(0)) {
      p.ctx.reporter.warn(`${w.statement.split('\n')[0]}: waited ${w.waitedMs} ms for a lock; retrying`);
      await p.ledger.countLockRetry(release.id, w);
    }
  }
}

/** The id of a table's backfill in the ledger: one per release row, so a release label used again starts afresh. */
export function backfillId(release: ExpandRelease, schema: string, table: string): string {
  return `${release.project}:expand-${release.id}:${schema}.${table}`;
}

/** The smoke checks after a phase failed (exit 3): its steps stay applied, the row says failed. */
export function smokeFailed(project: string, phase: 'expand' | 'complete' | 'abort', summary: string): DbeeError {
  const when = phase === 'expand' ? 'while expanded' : `after ${phase === 'complete' ? 'the completion' : 'the abort'}`;
  return new DbeeError(`${project}: smoke checks failed ${when} (${summary})`, {
    code: 'SMOKE_FAILED',
    exitCode: ExitCode.smokeFailed,
  });
}

/** The ledger row of one phase of a release (kind `expand`, `complete` or `abort`), opened before its first step. */
export async function openPhase(
  p: Phases,
  kind: 'expand' | 'complete' | 'abort',
  project: string,
  stepsTotal: number,
  report: DeployReport,
  pkg: string | null,
  planChecksum: string,
): Promise<Deployment> {
  const ledger = openLedger(p.conn, p.engine.ledger);
  await ledger.tables.ensure();
  const owner = lockOwner();
  return Deployment.open(ledger, {
    project,
    environment: p.environment.name,
    kind,
    planChecksum,
    package: pkg,
    gitCommit: report.source.commit,
    toolVersion: p.ctx.toolVersion,
    osUser: owner.user,
    ciJob: ciJob(p.ctx.env),
    host: owner.host,
    stepsTotal,
    ticket: report.ticket,
  });
}

/**
 * Run a phase's work (`work`) under its deployment, then close the deployment: `succeeded` with the smoke outcome and
 * the schemas' fingerprint as the phase left them, or `failed` with the error (a step's, or the smoke checks').
 */
export async function closePhase(
  p: Phases,
  release: ExpandRelease,
  deployment: Deployment,
  stepsTotal: number,
  work: () => Promise<{
    smoke?: { passed: boolean; summary: string };
    error?: DbeeError;
    states?: Record<string, string>;
    /** The objects its convergence check found different from the sources (`complete`). */
    notConverged?: string[];
  }>,
): Promise<PipelineApplied> {
  const t0 = Date.now();
  let done: Awaited<ReturnType<typeof work>>;
  try {
    done = await work();
  } catch (e) {
    if (!(e instanceof DbeeError)) throw e;
    done = { error: e };
  }
  const scope = release.plan.scope ?? { schemas: release.plan.schemas };
  const fingerprint = await phaseFingerprint(p, release, scope);
  const smoke = done.smoke?.summary ?? 'not run';
  await deployment.close(
    done.error ? 'failed' : 'succeeded',
    { smoke, ...fingerprint, ...(done.notConverged ? { notConverged: done.notConverged } : {}) },
    done.error ? { error: done.error.message, statement: null } : null,
  );
  const steps = await recordedSteps(openLedger(p.conn, p.engine.ledger), deployment.id, release.project);
  const applied = steps.filter((s) => s.status === 'applied').length;
  return {
    result: {
      exitCode: done.error ? done.error.exitCode : ExitCode.ok,
      projects: [
        {
          project: release.project,
          deploymentId: deployment.id,
          status: done.error ? 'failed' : 'succeeded',
          stepsApplied: applied,
          stepsTotal,
          durationMs: Date.now() - t0,
          backups: [],
          ...(done.error ? { error: done.error } : {}),
        },
      ],
      steps,
    },
    smoke: new Map([[release.project, smoke]]),
  };
}

/**
 * The schemas' fingerprint as a phase left them, recorded with its deployment: what `status` compares for drift, so
 * that the release's own version schema, shadow columns and triggers are not drift. One that cannot be read is said,
 * and the phase is recorded without one (`status` shows drift as unknown).
 */
export async function phaseFingerprint(p: Phases, release: ExpandRelease, scope: SchemaScope) {
  if (!p.engine.diff) return {};
  try {
    return summaryOf(await readRecordable(p.engine.diff, p.conn, scope));
  } catch (e) {
    p.ctx.reporter.warn(
      `the schemas' fingerprint could not be read (${e instanceof Error ? e.message.split('\n')[0] : String(e)}): the ${release.phase === 'contracting' ? 'completion' : 'phase'} is recorded without one, and dbee status shows drift as unknown until the next deployment of ${release.project}`,
    );
    return { fingerprint: null };
  }
}
