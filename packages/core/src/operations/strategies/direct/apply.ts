import { readFingerprints, readRecordable, scopeKey, summaryOf } from '../../../runner/recorded-fingerprint';
import type { Connection, Engine } from '../../../engine/engine';
import type { SessionPool } from '../../../engine/session-pool';
import { projectScope, type SchemaScope } from '../../../schema/managed-scope';
import { DbeeError, ExitCode, type ExitCodeValue } from '../../../errors';
import { deploymentSummary, type Ledger } from '../../../ledger/ledger';
import { openLedger } from '../../../ledger/open-ledger';
import type { Plan } from '../../../plan/plan';
import { runPlan, type RunOptions, type RunResult, type StepConflict } from '../../../runner/runner';
import { lockOwner, sessionSettings, type DeploymentSession } from '../../../runner/session';
import { buildConvergenceSources, convergedOnTarget, convergence } from '../../../diffing/converge';
import { inBackground } from '../../../background';
import { packageSourcesElsewhere } from '../../../package/package-deploy';
import type { ConflictDecision } from '../../conflicts';
import { ciJob } from '../../../context/origin';
import type { OperationContext } from '../../../context/operation-context';
import { stepDependencies } from '../../dependencies';
import { lastDeployment } from '../../batch-reads';
import type { DeployReport } from '../../../runner/deploy-report';
import type { ApplyInput, DeployInputs, DeployRun } from './deploy-run';
import { verifier } from './smoke';

export function applyInput(
  ctx: OperationContext,
  input: DeployInputs,
  session: DeploymentSession,
  run: DeployRun,
  report: DeployReport,
  side: Connection | undefined,
): ApplyInput {
  const elsewhere = input.pkg ? packageSourcesElsewhere(input.pkg, input.models) : null;
  return {
    assertLock: session.assertLock,
    lockGuard: session.lockGuard,
    side,
    everySchema: [...input.owners.keys()],
    planChecksum: run.planChecksum,
    plan: run.plan,
    conn: session.conn,
    engine: input.engine,
    environment: input.environment.name,
    models: input.models,
    commit: run.commit,
    settings: input.settings,
    packagePath: input.pkg?.path ?? null,
    ticket: report.ticket,
    conflicts: run.conflicts,
    scope: input.scope,
    settingsOf: input.settingsOf,
    continueOnError: input.options.continueOnError ?? false,
    schemas: new Map(input.models.map((m) => [m.project.name, m.graph.schemas])),
    smoke: run.smoke,
    startedFrom: run.startedFrom,
    ...(elsewhere ? notComparedHere(elsewhere) : convergeOnTarget(ctx, input, session.conn, run.plan)),
  };
}

/** The convergence check's answer where it cannot be made: the run says why, and does not fail for it. */
function notComparedHere(why: string): Pick<ApplyInput, 'converge'> {
  return {
    converge: async (project) => ({
      error: null,
      objects: [],
      said: `${project}: not compared with the sources after deploying (${why})`,
    }),
  };
}

/**
 * The real run's convergence check (`RunOptions.converge`): the objects a project's steps touched, read from the
 * target by name, compared with its sources' model: the one planning left in the cache, or built (in a shadow
 * database, as a diff builds it) when the project was planned from its files alone. That build starts as the first
 * steps are sent (`prepareConvergence`, the run's `onStepsSent`), not after them: the model depends on the sources
 * only, and its shadow's work (an embedded one runs in this process) fills the time the process waits for the target's
 * steps. It starts before any step applied, so before any check: the check waits for it, and a model is never built
 * twice; a build that failed is built again by the check, which reports its error.
 */
function convergeOnTarget(
  ctx: OperationContext,
  input: DeployInputs,
  conn: Connection,
  plan: Plan,
): Pick<ApplyInput, 'converge' | 'prepareConvergence'> {
  const { engine, environment, models } = input;
  let warm: Promise<void> | undefined;
  return {
    prepareConvergence: () => {
      warm ??= buildConvergenceSources(ctx, { engine, environment, models, steps: plan.steps }).catch(() => {});
      // A run that fails before its check still waits for the build before the command ends (no shadow left open).
      inBackground(warm);
    },
    converge: async (project, steps, side) => {
      await warm;
      return convergedOnTarget(project, await convergence(ctx, { engine, environment, models, conn, side, steps }));
    },
  };
}

function failedProject(result: RunResult) {
  return result.projects.find((p) => p.status === 'failed' || p.status === 'rolled-back' || p.status === 'aborted');
}

/** The run's exit code, or the error of the project that failed (aborted: its own error, as it was raised). */
export function failureOf(result: RunResult, report: DeployReport): ExitCodeValue {
  const aborted = result.projects.find((p) => p.status === 'aborted');
  if (aborted?.error) throw aborted.error;
  report.exitCode = result.exitCode;
  const failed = failedProject(result);
  if (!failed) return result.exitCode;
  const e = failed.error;
  const rolledBack = failed.status === 'rolled-back';
  throw DbeeError.carrying(e?.code ?? 'DEPLOY_FAILED', e?.message ?? 'deployment failed', {
    hint: rolledBack
      ? `the steps this deployment applied were undone (deployment ${failed.deploymentId} is rolled-back in the ledger); fix the cause and deploy again`
      : (e?.hint ? e.hint + '\n  ' : '') +
        `the ledger records what ran (deployment ${failed.deploymentId})${failed.rollback?.incomplete ? `; automatic rollback incomplete: ${failed.rollback.incomplete}` : ''}; fix the cause and deploy again to resume`,
    location: e?.location,
    exitCode: result.exitCode === ExitCode.smokeFailed ? ExitCode.smokeFailed : ExitCode.applyFailed,
    cause: e,
  });
}

/**
 * Under `gates.requireBackup`, a step that drops a table (a diff-based plan: the table left the sources) keeps it
 * instead: renamed aside into the backup schema, recorded in the ledger as a backup (so `cleanup` drops it after
 * the retention), and no longer a data-loss step.
 */
export async function keepDroppedTables(
  engine: Engine,
  conn: Connection,
  plan: Plan,
  conflicts: Map<number, StepConflict>,
  stamp: string,
): Promise<void> {
  if (!engine.catalog) return;
  for (const step of plan.steps) {
    if (
      step.action !== 'drop' ||
      step.objectKey.kind !== 'table' ||
      conflicts.has(step.order) ||
      !step.hazards.some((h) => h.kind === 'data-loss')
    )
      continue;
    const aside = await engine.catalog.setAside(conn, step.objectKey, 'rename', stamp);
    if (!aside?.backup) continue;
    // Still a drop for the ledger (the object leaves the project), but its data is kept.
    // What stands on the table (Teradata: join indexes, triggers) goes with it, and comes back when it is undone.
    step.statements = [...(aside.dependents?.drop ?? []), ...aside.statements];
    step.reverse = aside.reverse && aside.dependents ? [...aside.reverse, ...aside.dependents.create] : aside.reverse;
    step.hazards = step.hazards.filter((h) => h.kind !== 'data-loss');
    conflicts.set(step.order, {
      strategy: 'rename',
      rule: 'gates.requireBackup',
      before: [],
      after: [],
      reverse: [],
      backup: aside.backup,
    });
  }
}

export function conflictOf(d: ConflictDecision | undefined) {
  if (!d?.exists) return {};
  const b = d.resolution?.backup;
  return {
    conflict: {
      strategy: d.rule.strategy,
      rule: d.rule.source,
      backup: b ? (b.schema ? `${b.schema}.${b.name}` : b.name) : null,
    },
  };
}

/**
 * A deployment with nothing to do, under the lock, found the database as the ledger says: a project whose last
 * deployment recorded no fingerprint (its process was killed; a step outside a transaction was reconciled since)
 * gets the fingerprint of the schemas now, so `status` can tell drift again instead of `unknown` until the next change.
 */
export async function confirmFingerprints(
  ctx: OperationContext,
  input: DeployInputs,
  ledger: Ledger,
  conn: Connection,
): Promise<void> {
  const { engine, environment } = input;
  if (!engine.diff) return;
  for (const model of input.models) {
    if (!input.planned.includes(model.project.name) || !model.graph.schemas.length) continue;
    const last = await lastDeployment(ctx, ledger, model.project.name, environment.name);
    if (!last?.finished_at || deploymentSummary(last).fingerprint) continue;
    await ledger.deployments.updateSummary(
      last.id,
      summaryOf(await readRecordable(engine.diff, conn, projectScope(model.graph))),
    );
  }
}

/**
 * A deployment with nothing to do whose project was planned by a diff (its ledger's checksums differ from the sources')
 * found the database as the sources say: the ledger's object states of the project become the sources' checksums,
 * recorded under the project's last deployment (what a finished diff-planned deployment syncs at its end). A
 * deployment killed before its end (a CREATE INDEX CONCURRENTLY it ran outside a transaction, settled since by
 * `reconcileStarted`) left them behind; without this, every later run planned the project by a diff again.
 */
export async function confirmObjectStates(
  ctx: OperationContext,
  input: DeployInputs,
  ledger: Ledger,
  run: DeployRun,
): Promise<void> {
  for (const [project, states] of Object.entries(run.plan.objectStates ?? {})) {
    if (!input.planned.includes(project)) continue;
    const last = await lastDeployment(ctx, ledger, project, input.environment.name);
    if (!last) continue;
    const current = run.deployed.get(project)?.objects ?? new Map<string, string>();
    await ledger.batch.runTogether(ledger.objects.objectStatesWrites(project, current, states, last.id));
    ctx.reporter.info(
      `${project}: the database matches the sources: the ledger's object states recorded as deployed (deployment #${last.id})`,
    );
  }
}

export async function apply(ctx: OperationContext, input: ApplyInput): Promise<RunResult> {
  const { settings } = input;
  const owner = lockOwner();
  const result = await runPlan({
    engine: input.engine,
    conn: input.conn,
    plan: input.plan,
    environment: input.environment,
    variables: new Map(input.models.map((m) => [m.project.name, m.variables])),
    identity: {
      package: input.packagePath,
      gitCommit: input.commit,
      toolVersion: ctx.toolVersion,
      osUser: owner.user,
      ciJob: ciJob(ctx.env),
      host: owner.host,
      ticket: input.ticket,
    },
    planChecksum: input.planChecksum,
    reporter: ctx.reporter,
    session: sessionSettings(settings),
    beforeStep: input.assertLock,
    lockGuard: input.lockGuard,
    side: input.side,
    transaction: input.scope,
    conflicts: input.conflicts,
    continueOnError: input.continueOnError,
    dependencies: input.continueOnError ? stepDependencies(input.plan, input.models) : undefined,
    autoRollback: (project) => input.settingsOf(project).autoRollback ?? false,
    schemas: input.schemas,
    dependentsScope: { schemas: input.everySchema },
    manage: new Map(input.models.flatMap((m) => (m.graph.manage ? [[m.project.name, m.graph.manage] as const] : []))),
    verify: input.smoke ? verifier(ctx, input, input.smoke) : undefined,
    converge: input.converge,
    afterSteps: input.afterSteps,
    startedFrom: input.startedFrom,
    fingerprintLater: ctx.sessions
      ? fingerprintsAtClose(ctx.sessions, input.engine, input.conn, input.environment)
      : undefined,
    onStepsSent: input.prepareConvergence,
  });
  for (const p of result.projects) {
    if (p.status === 'failed' || p.status === 'rolled-back') {
      ctx.reporter.info(
        `${p.project}: FAILED after ${p.stepsApplied}/${p.stepsTotal} steps (deployment ${p.deploymentId}${p.status === 'rolled-back' ? ', rolled back' : ''})`,
      );
    }
    if (p.status === 'succeeded')
      ctx.reporter.info(
        `${p.project}: deployed ${p.stepsApplied} step${p.stepsApplied === 1 ? '' : 's'} in ${p.durationMs} ms (deployment ${p.deploymentId})`,
      );
  }
  return result;
}

/**
 * In an Nx batch, the fingerprint that each deployment records (drift detection) is read when the batch ends, for
 * all its deployments on an environment in one catalog query, still under the batch's lock
 * (`RunOptions.fingerprintLater`). A fingerprint that cannot be read leaves the deployments without one, as a
 * failed read does outside a batch: drift detection is a convenience, not a reason to fail a finished deployment.
 */
function fingerprintsAtClose(
  pool: SessionPool,
  engine: Engine,
  conn: Connection,
  environment: string,
): RunOptions['fingerprintLater'] {
  const diff = engine.diff;
  if (!diff) return undefined;
  const pending = pool.memo(`fingerprints\0${engine.name}\0${environment}`, () => {
    const list: { scope: SchemaScope; deploymentId: number }[] = [];
    pool.atClose(async () => {
      // Read before the fingerprints, recorded with each (`readRecordable`): while it stays equal, drift checks need
      // not read them again.
      const catalogVersion = diff.catalogVersion ? await diff.catalogVersion(conn).catch(() => null) : null;
      // With the position-free fingerprints where the engine reads them in the same query.
      const fingerprints = await readFingerprints(
        diff,
        conn,
        list.map((p) => p.scope),
      ).catch(() => null);
      if (!fingerprints) return;
      // The summaries in one transaction, in one request where the ledger merges them without reading them: one commit
      // for the batch, not one per deployment. A write that fails there leaves every deployment of the batch without
      // its fingerprint, as a failed read does.
      const patches = list.flatMap((p, i) =>
        fingerprints[i]
          ? [
              {
                id: p.deploymentId,
                patch: {
                  fingerprint: fingerprints[i].fingerprint,
                  ...(fingerprints[i].positionFree ? { positionFreeFingerprint: fingerprints[i].positionFree } : {}),
                  ...(catalogVersion ? { catalogVersion, fingerprintScope: scopeKey(p.scope) } : {}),
                },
              },
            ]
          : [],
      );
      await openLedger(conn, engine.ledger)
        .deployments.updateSummaries(patches)
        .catch(() => {});
    });
    return list;
  });
  return (scope, deploymentId) => pending.push({ scope, deploymentId });
}
