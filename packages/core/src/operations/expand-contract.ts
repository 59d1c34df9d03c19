import { inFlightOf, isInFlight, type InFlight } from '../expand/in-flight';
import type { ResolvedEnvironment } from '../config/resolve';
import { bytesOf, durationMs } from '../config/schema';
import { requireRole, type Connection, type Engine, type ExpandRole, type ExpandStatement } from '../engine/engine';
import { DbeeError, ExitCode, type ExitCodeValue } from '../errors';
import {
  BACKFILL_DEFAULTS,
  runBackfill,
  formatBackfillProgress,
  type BackfillOptions,
  type BackfillState,
} from '../expand/backfill';
import { ExpandDeclarations } from '../expand/declarations';
import { needsBackfill, planExpand, releaseSlug, versionSchema, type ExpandPlan } from '../expand/expand-plan';
import { DEFAULT_LOCK_TIMEOUT_MS } from '../expand/lock-retry';
import { ExpandLedger, type ExpandRelease } from '../expand/phases';
import type { Ledger } from '../ledger/ledger';
import { openLedger } from '../ledger/open-ledger';
import type { AbortOptions, CompleteOptions, DeployOptions, VersionOptions } from '../options';
import { canonicalJson } from '../plan/serialize';
import type { ProjectModel } from '../planner/project-model';
import { readPackage, type LoadedPackage } from '../package/package';
import { packageSmokeModels, packageVariableProblems } from '../package/package-deploy';
import type { PackagedExpand } from '../package/release';
import { formatKey, migrationVersionOf } from '../model/object-key';
import { planPolicyProblems } from './policy-judgment';
import { Deployment } from '../runner/deployment';
import { formatDuration } from '../runner/reporter';
import { lockOwner, withSession, type DeploymentSession } from '../runner/session';
import { projectScope } from '../schema/managed-scope';
import { diffModels } from '../schema/diff';
import { formatSmokeResult, loadSmokeChecks, recordedSmokeChecks, runSmokeChecks, smokeTimeoutMs } from '../smoke';
import type { SmokeCheck, SmokeResult } from '../smoke';
import { smokeSummary } from '../promotion/smoke-evidence';
import { desiredModelFor } from '../diffing/desired';
import { engineFor, type OperationContext } from '../context/operation-context';
import { notVerified, refuse } from '../pipeline/gates';
import {
  markInterrupted,
  runPipeline,
  type PipelineApplied,
  type PipelineCommand,
  type PipelineInputs,
  type PipelinePlan,
  projectFailure,
} from '../pipeline/pipeline';
import {
  customStep,
  sendPhase,
  statementStepOf,
  statementsPlan,
  type LockWait,
  type PhaseStep,
} from '../expand/phase-run';
import { readRecordable, summaryOf } from '../diffing/recorded-fingerprint';
import type { DeployReport } from '../runner/deploy-report';
import { judgeCompat, prepareCompat, type DryRunHooks } from './compat';
import { verifyPlan } from '../runner/verify';
import { recordedSteps } from '../pipeline/compensation';
import { loadTarget, schemaOwners, sourceCommit } from '../context/load';
import { planFromSources } from '../planner/planner';
import { ciJob } from '../context/origin';
import { createHash } from 'node:crypto';
import type { SchemaScope } from '../schema/managed-scope';

export type { AbortOptions, CompleteOptions, VersionOptions };

/** What the phases need, whichever command runs them. */
interface Phases {
  ctx: OperationContext;
  engine: Engine;
  expand: ExpandRole;
  environment: ResolvedEnvironment;
  conn: Connection;
  ledger: ExpandLedger;
  lockTimeoutMs: number;
  /** The deployment lock's session: proves the lock before each step. */
  session: DeploymentSession;
  /** Lock timeouts waited out by the phase's statements, recorded with the release after each part of the phase. */
  waits: LockWait[];
}

/** The strategy's lock timeout: `deploy.lockTimeout` of the project or environment, else 500 ms. */
function strategyLockTimeout(ctx: OperationContext, project: string, environment: ResolvedEnvironment): number {
  const t = ctx.workspace.settings(ctx.workspace.project(project), environment).deploy.lockTimeout;
  return t === undefined ? DEFAULT_LOCK_TIMEOUT_MS : durationMs(t);
}

/**
 * The time a batch of the expand's backfill holds its rows (its UPDATE and commit) that the size adapts toward by
 * default, in milliseconds: shorter than a batched migration's 250 ms, since the old application keeps writing the
 * table during the backfill. An update of a row in the batch being written waits for that batch to commit: over a
 * whole backfill about (writes per second) x (this time) / 2 times, whatever the table's size and the pace (1.25 at
 * 250 writes/s). On this pace the WAL bound below is usually the smaller (docs/zero-downtime.md).
 */
export const EXPAND_TARGET_BATCH_MS = 10;

/** The pause between two batches of the expand's backfill by default, in milliseconds: none beyond the WAL pace's. */
export const EXPAND_PAUSE_MS = 0;

/**
 * The WAL one batch of the expand's backfill may write by default (the size adapts toward it), in bytes. Every commit
 * of the application waits for the WAL written before it to reach the disk; a commit that comes right after a batch
 * flushes that batch's WAL (async batch commits leave it to the next commit or the WAL writer). Measured on 2 shared
 * CPUs and one disk (200,000 rows): the WAL not yet flushed when the old application's UPDATE committed, 99th
 * percentile, was 410-630 kB with batches toward 10 ms and a 30 ms pause, 150-260 kB with this bound.
 */
export const EXPAND_WAL_PER_BATCH = 64 * 1024;

/**
 * The server's WAL per second the expand's backfill keeps to by default, in bytes: about 53k rows/s of a narrow table
 * (zstd full-page images: ~314 bytes of WAL per row) leaving the rest of the disk's flushes to the application. On a
 * 2-CPU machine with one disk, 24 MB/s gave 80k rows/s but the old application's p99 at 1.77x-2.20x its p99 before;
 * 16 MB/s kept it at 1.28x-1.72x (docs/zero-downtime.md, "Measured").
 */
export const EXPAND_WAL_PER_SECOND = 16 * 1024 * 1024;

/** The expand's backfill options: `deploy.backfill` of the project or environment, else the defaults. */
function strategyBackfill(
  ctx: OperationContext,
  project: string,
  environment: ResolvedEnvironment,
): Pick<
  BackfillOptions,
  'batchSize' | 'maxBatchSize' | 'pauseMs' | 'targetBatchMs' | 'walBytesPerBatch' | 'walBytesPerSecond'
> {
  const b = ctx.workspace.settings(ctx.workspace.project(project), environment).deploy.backfill ?? {};
  return {
    ...(b.batchSize === undefined ? {} : { batchSize: b.batchSize }),
    ...(b.maxBatchSize === undefined ? {} : { maxBatchSize: b.maxBatchSize }),
    pauseMs: b.pause === undefined ? EXPAND_PAUSE_MS : durationMs(b.pause),
    targetBatchMs: b.targetBatch === undefined ? EXPAND_TARGET_BATCH_MS : durationMs(b.targetBatch),
    walBytesPerBatch: b.walPerBatch === undefined ? EXPAND_WAL_PER_BATCH : bytesOf(b.walPerBatch),
    walBytesPerSecond: b.walPerSecond === undefined ? EXPAND_WAL_PER_SECOND : bytesOf(b.walPerSecond),
  };
}

/** Send `steps` of a phase through the one step executor with their ledger rows; the lock waits recorded after. */
async function sendSteps(p: Phases, release: ExpandRelease, deployment: Deployment, steps: PhaseStep[]): Promise<void> {
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
function backfillId(release: ExpandRelease, schema: string, table: string): string {
  return `${release.project}:expand-${release.id}:${schema}.${table}`;
}

/** The steps of the expand phase still to run from `phase`, by part: before the backfill, the backfills and after. */
interface ExpandSteps {
  /** The old version schema, the additive DDL and the sync triggers (phase `expanding`). */
  expanding: PhaseStep[];
  /** Each table's backfill, then the new version schema (phase `backfilling`). */
  backfilling: PhaseStep[];
}

/**
 * The expand phase as steps from `phase` on (`release()` is read when a step runs: a new release is opened after the
 * gates). Each can run again after a kill: its statements are guarded, a backfill resumes from its cursor.
 */
function expandSteps(
  p: Phases,
  plan: ExpandPlan,
  phase: ExpandRelease['phase'],
  invoker: boolean,
  release: () => ExpandRelease,
): ExpandSteps {
  const { expand } = p;
  let order = 0;
  const statement = (s: ExpandStatement) =>
    statementStepOf(plan.project, s, ++order, p.lockTimeoutMs, (w) => p.waits.push(w));
  const expanding =
    phase === 'expanding'
      ? [...expand.versionSchema(plan, 'old', { securityInvoker: invoker }), ...expand.expand(plan)].map(statement)
      : [];
  if (phase !== 'expanding' && phase !== 'backfilling') return { expanding, backfilling: [] };
  const pace = strategyBackfill(p.ctx, plan.project, p.environment);
  const backfills = plan.tables.filter(needsBackfill).map((t) =>
    customStep(plan.project, `backfill ${t.schema}.${t.name}`, `SET ${expand.backfillSet(t)}`, ++order, async (c) => {
      const t0 = Date.now();
      const result = await runBackfill(
        requireRole(p.engine, 'backfill', 'backfill the expanded columns'),
        c,
        {
          id: backfillId(release(), t.schema, t.name),
          table: { schema: t.schema, name: t.name },
          key: t.key,
          set: expand.backfillSet(t),
          project: plan.project,
        },
        {
          ...pace,
          ledgerSchema: p.engine.ledger.schema,
          ledger: p.engine.ledger,
          settings: expand.backfillSettings(plan, t),
          lock: { lockTimeoutMs: p.lockTimeoutMs },
          onProgress: (pr) => p.ctx.reporter.info(`backfill ${t.schema}.${t.name}: ${formatBackfillProgress(pr)}`),
        },
      );
      p.ctx.reporter.info(
        `backfill ${t.schema}.${t.name}: ${result.alreadyDone ? 'already done' : `${result.updatedThisRun.toLocaleString('en-US')} rows in ${formatDuration(Date.now() - t0)}${result.resumed ? ' (resumed)' : ''}`}`,
      );
    }),
  );
  const after = expand.versionSchema(plan, 'new', { securityInvoker: invoker }).map(statement);
  return { expanding, backfilling: [...backfills, ...after] };
}

/**
 * Drive a release forward from its phase, its steps recorded under `deployment`: `expanding` (old version schema,
 * additive DDL, sync triggers) → `backfilling` (each table in keyset batches, then the new version schema) →
 * `expanded` (smoke checks per version). Returns the smoke checks' outcome.
 */
async function driveExpand(
  p: Phases,
  release: ExpandRelease,
  steps: ExpandSteps,
  model: ProjectModel,
  invoker: boolean,
  deployment: Deployment,
): Promise<{ passed: boolean; summary: string }> {
  const { ctx } = p;
  const plan = release.plan;
  if (!invoker)
    ctx.reporter.warn(
      "this server has no security_invoker views (PostgreSQL 15+): the version schemas' views check rights as their owner; row-level security on the tables does not apply through them (hazard rls-bypass, allowed)",
    );
  if (release.phase === 'expanding') {
    ctx.reporter.info(
      `${plan.project}: expanding release ${plan.release} (version schemas ${names(plan, plan.release)})`,
    );
    await sendSteps(p, release, deployment, steps.expanding);
    await p.ledger.setPhase(release.id, 'backfilling');
    release = { ...release, phase: 'backfilling' };
  }
  if (release.phase === 'backfilling') {
    await sendSteps(p, release, deployment, steps.backfilling);
    await p.ledger.setPhase(release.id, 'expanded');
    release = { ...release, phase: 'expanded' };
  }
  const smoke = await smokePerVersion(p, release, model);
  ctx.stdout.write(
    `${plan.project}: release ${plan.release} expanded on ${p.environment.name}: the old version is ${names(plan, plan.previous)}, the new one ${names(plan, plan.release)}\n` +
      `  next: point the new application at the new version (dbee version ${plan.project} --env ${p.environment.name}), then dbee complete ${plan.project} --env ${p.environment.name} (or dbee abort)\n`,
  );
  return smoke;
}

function names(plan: ExpandPlan, release: string): string {
  return plan.schemas.map((s) => versionSchema(s, release)).join(', ');
}

/**
 * The smoke checks of a release's versions, each with its version's search path: while expanded, the previous
 * release's checks against the old version schema and this release's against the new one; after `complete`, the new
 * version's; after `abort`, the old one's. The baseline (the recorded objects exist, the views compile) runs with the
 * first version asked for, and with the other one only when it has checks of its own. Summed up as a direct
 * deployment's are (`smokeSummary`), so that `gates.promotedFrom` reads both strategies alike. Exit 3 when one fails.
 */
async function smokePerVersion(
  p: Phases,
  release: ExpandRelease,
  model: ProjectModel,
  versions: readonly ('old' | 'new')[] = ['new', 'old'],
): Promise<{ passed: boolean; summary: string }> {
  if (!p.engine.smoke) return { passed: true, summary: 'not run' };
  const plan = release.plan;
  const settings = p.ctx.workspace.settings(p.ctx.workspace.project(plan.project), p.environment).deploy;
  const checksOf = async (which: 'old' | 'new'): Promise<SmokeCheck[]> => {
    if (which === 'new') return plan.smoke ?? [];
    const prior = await p.ledger.lastDone(plan.project);
    const history = await openLedger(p.conn, p.engine.ledger).deployments(
      plan.project,
      p.environment.name,
      Number.MAX_SAFE_INTEGER,
    );
    return prior?.plan.smoke ?? recordedSmokeChecks(history, Number.MAX_SAFE_INTEGER)?.checks ?? [];
  };
  const results: SmokeResult[] = [];
  for (const which of versions) {
    const checks = await checksOf(which);
    if (checks.length === 0 && which !== versions[0]) continue;
    const label = which === 'new' ? plan.release : plan.previous;
    const searchPath = p.expand.versionSettings(plan.schemas, label).searchPath;
    p.ctx.stdout.write(`${plan.project}: smoke checks of the ${which} version (${searchPath.join(', ')})\n`);
    const run = await runSmokeChecks({
      engine: p.engine,
      conn: p.conn,
      model: { ...model, graph: { ...model.graph, searchPath: [...searchPath, ...model.graph.searchPath] } },
      environment: p.environment.name,
      deploymentId: null,
      checks,
      timeoutMs: smokeTimeoutMs(settings),
      record: false,
      onResult: (r) => p.ctx.stdout.write(formatSmokeResult(r) + '\n'),
    });
    results.push(...run.results);
  }
  const summary = smokeSummary(results);
  const failed = results.filter((r) => r.status !== 'passed').length;
  if (failed === 0) return { passed: true, summary };
  p.ctx.stderr.write(
    `error: ${failed} smoke check${failed === 1 ? '' : 's'} of ${plan.project} failed ${release.phase === 'expanded' ? 'while expanded' : `after the ${release.phase === 'contracting' ? 'completion' : 'abort'} of release ${plan.release}`}\n`,
  );
  return { passed: false, summary };
}

/** What `deploy --strategy expand-contract` reads before it connects. */
interface ExpandInputs extends PipelineInputs {
  pkg: LoadedPackage | null;
  packaged: PackagedExpand | undefined;
  loaded: Awaited<ReturnType<typeof loadTarget>>;
  /** The target's model (with a package's smoke checks when deploying one). */
  model: ProjectModel;
  expand: ExpandRole;
  diff: NonNullable<Engine['diff']>;
  /** The target and its dependencies' models (the desired model is built from them). */
  own: ProjectModel[];
  declarations: ExpandDeclarations;
  smoke: SmokeCheck[];
  renames: NonNullable<PackagedExpand['renames']>;
  allowed: Set<string>;
  /** `deploy` settings of the target in the environment. */
  settings: ReturnType<OperationContext['workspace']['settings']>['deploy'];
}

/** What the expand phase planned under the lock. */
interface ExpandRun extends PipelinePlan {
  /** The release in flight it resumes, or null: a new one (`plan`) starts after the gates. */
  flying: ExpandRelease | null;
  /** The new release's plan; null when resuming or when nothing changes. */
  release: ExpandPlan | null;
  /** Every statement of a new release, as its dry run prints and verifies them. */
  statements: ExpandStatement[];
  invoker: boolean;
  phases: Phases;
  steps: ExpandSteps;
  /** Opens a new release's row (after the gates); null when resuming. */
  open: (() => Promise<ExpandRelease>) | null;
}

/**
 * `deploy --strategy expand-contract`: start a release (plan it from the sources or a package, refuse what the strategy
 * does not support), or resume the one in flight, up to `expanded`: a command of the pipeline, so every gate, the
 * notifications, the promotion record and the report apply to it as to a direct deployment.
 */
export async function deployExpandContract(
  ctx: OperationContext,
  options: DeployOptions,
  hooks: DryRunHooks = {},
): Promise<ExitCodeValue> {
  return runPipeline(ctx, expandCommand(ctx, options, hooks), options.package ?? null);
}

function expandCommand(
  ctx: OperationContext,
  options: DeployOptions,
  hooks: DryRunHooks,
): PipelineCommand<ExpandInputs, ExpandRun> {
  return {
    command: 'deploy',
    phase: 'expand',
    options,
    skipGates: hooks.skipGates,
    inputs: () => expandInputs(ctx, options),
    drift: (input) => ({ subjects: [{ project: input.model.project.name, scope: projectScope(input.model.graph) }] }),
    plan: async (input, session, report) => {
      const run = await planExpandPhase(ctx, options, input, session, report);
      // The schema review policies (docs/policies.md) over the tables the release changes, as a direct deployment
      // judges its plan: an `error` refuses before anything is applied. A package was judged when it was planned.
      if (!hooks.skipGates && !input.pkg && run.release)
        run.problems.push(...(await expandPolicyProblems(ctx, input.loaded, run.release)));
      return run;
    },
    verify: async (input, session, run) => {
      if (run.flying) {
        ctx.stdout.write(
          `${run.flying.project}: release ${run.flying.release} is in flight (${run.flying.phase}); a run resumes it\n`,
        );
        return;
      }
      if (!run.release) return;
      printExpandDryRun(run.phases, input.loaded.target.name, run.release, run.statements);
      const { engine, environment, models, target } = input.loaded;
      await verifyExpand(
        ctx,
        options,
        {
          engine,
          conn: session.conn,
          environment,
          models,
          target: target.name,
          plan: run.release,
          statements: run.statements,
        },
        hooks,
        run.problems,
      );
    },
    settle: async (input, _session, run, report) => {
      // Nothing left to send: a release already expanded runs its smoke checks again; otherwise nothing changes.
      if (!run.flying) return ExitCode.ok;
      return applyExpand(input, run, report);
    },
    apply: (input, _session, run, report) => applyExpand(input, run, report),
    failure: projectFailure,
  };
}

/**
 * The policies of the release's project over what it changes: the tables it creates, renames or gives other
 * columns or constraints (the objects a direct deployment of the same change would step on).
 */
async function expandPolicyProblems(
  ctx: OperationContext,
  loaded: ExpandInputs['loaded'],
  plan: ExpandPlan,
): Promise<DbeeError[]> {
  const changed = plan.tables.filter(
    (t) =>
      t.created ||
      t.newName !== t.name ||
      t.dropped.length > 0 ||
      t.constraints.length > 0 ||
      t.columns.some((c) => c.kind !== 'same') ||
      t.columns.length !== t.oldColumns.length,
  );
  if (!changed.length) return [];
  const steps = changed.map((t) => ({
    project: plan.project,
    key: formatKey({ kind: 'table', schema: t.schema, name: t.newName }),
  }));
  const judged = await planPolicyProblems(ctx, { ...loaded, planned: [plan.project] }, { steps });
  return judged.problems;
}

/** Stage `plan` of the expand phase: the release in flight to resume, or the next release planned. */
async function planExpandPhase(
  ctx: OperationContext,
  options: DeployOptions,
  inputs: ExpandInputs,
  session: DeploymentSession,
  report: DeployReport,
): Promise<ExpandRun> {
  const { environment, target, engine } = inputs.loaded;
  const { conn } = session;
  const phases = new ExpandLedger(conn, engine.ledger);
  const p: Phases = {
    ctx,
    engine,
    expand: inputs.expand,
    environment,
    conn,
    ledger: phases,
    lockTimeoutMs: strategyLockTimeout(ctx, target.name, environment),
    session,
    waits: [],
  };
  await markInterrupted(ctx, openLedger(conn, engine.ledger), session, report, options.dryRun ?? false);
  const flying = await phases.inFlight(target.name);
  const invoker = await inputs.expand.securityInvoker(conn);
  const problems: DbeeError[] = [];
  // Version schemas' views still to be made without security_invoker: refused unless rls-bypass is allowed.
  const views = !flying || flying.phase === 'expanding' || flying.phase === 'backfilling';
  if (views && !invoker && !inputs.allowed.has('rls-bypass')) problems.push(rlsBypass(environment.name));
  const run: ExpandRun = {
    plan: statementsPlan(engine, target.name, []),
    problems,
    planChecksum: inputs.pkg?.manifest.planChecksum ?? null,
    commit: inputs.pkg ? inputs.pkg.plan.sourceCommit : await sourceCommit(ctx),
    flying,
    release: null,
    statements: [],
    invoker,
    phases: p,
    steps: { expanding: [], backfilling: [] },
    open: null,
  };
  if (flying) {
    if (options.release !== undefined && releaseSlug(options.release) !== releaseSlug(flying.release))
      throw inFlightError(flying, environment.name, `release ${options.release} cannot start`);
    if (flying.phase === 'contracting' || flying.phase === 'aborting')
      throw inFlightError(flying, environment.name, 'it is being finished');
    if (!options.dryRun) ctx.reporter.info(`${flying.project}: resuming release ${flying.release} (${flying.phase})`);
    run.steps = expandSteps(p, flying.plan, flying.phase, invoker, () => flying);
    run.plan.steps = [...run.steps.expanding, ...run.steps.backfilling].map((s) => s.step);
    run.planChecksum ??= releaseChecksum(flying.plan);
    return run;
  }
  await refusePendingMigrations(openLedger(conn, engine.ledger), inputs.model, inputs.pkg);
  const plan = await planRelease(p, inputs, options);
  if (plan === null) return run;
  run.release = plan;
  run.planChecksum ??= releaseChecksum(plan);
  run.statements = [
    ...inputs.expand.versionSchema(plan, 'old', { securityInvoker: invoker }),
    ...inputs.expand.expand(plan),
    ...inputs.expand.versionSchema(plan, 'new', { securityInvoker: invoker }),
  ];
  let started: ExpandRelease | null = null;
  run.steps = expandSteps(p, plan, 'expanding', invoker, () => started!);
  run.plan.steps = [...run.steps.expanding, ...run.steps.backfilling].map((s) => s.step);
  // The release row opens when the steps start (after the gates); its backfills read its id then.
  run.open = async () => (started = await startRelease(p, plan));
  ctx.stdout.write(
    `${target.name}: release ${plan.release} on ${environment.name} with the expand-contract strategy\n${plan.summary.map((s) => `  ${s}\n`).join('')}`,
  );
  report.transaction = 'object';
  return run;
}

/** Open the release's row, `expanding` (the ledger made first when it has none); one already in flight refuses. */
async function startRelease(p: Phases, plan: ExpandPlan): Promise<ExpandRelease> {
  await openLedger(p.conn, p.engine.ledger).ensure();
  try {
    return await p.ledger.start(plan, p.environment.name);
  } catch (e) {
    const other = await p.ledger.inFlight(plan.project);
    if (other) throw inFlightError(other, p.environment.name, `release ${plan.release} cannot start`);
    throw e;
  }
}

/** A release's identity in the ledger when it is not a package's: the checksum of its plan. */
function releaseChecksum(plan: ExpandPlan): string {
  return `sha256:${createHash('sha256').update(JSON.stringify(plan)).digest('hex')}`;
}

/**
 * Stages `apply`, `ledger` and `smoke` of the expand phase: the release opened (a new one) or resumed, its steps sent
 * under a deployment of kind `expand` (its rows in `steps`), its smoke checks per version, the deployment closed with
 * them and the schemas' fingerprint as the expand left them (so `status` does not take the release for drift).
 */
async function applyExpand(inputs: ExpandInputs, run: ExpandRun, report: DeployReport): Promise<PipelineApplied> {
  const p = run.phases;
  const release = run.flying ?? (await run.open!());
  const deployment = await openPhase(
    p,
    'expand',
    release.plan.project,
    run.plan.steps.length,
    report,
    inputs.pkg?.path ?? null,
    run.planChecksum!,
  );
  return closePhase(p, release, deployment, run.plan.steps.length, async () => {
    const smoke = await driveExpand(p, release, run.steps, inputs.model, run.invoker, deployment);
    return { smoke, error: smoke.passed ? undefined : smokeFailed(release.project, 'expand', smoke.summary) };
  });
}

/** The smoke checks after a phase failed (exit 3): its steps stay applied, the row says failed. */
function smokeFailed(project: string, phase: 'expand' | 'complete' | 'abort', summary: string): DbeeError {
  const when = phase === 'expand' ? 'while expanded' : `after ${phase === 'complete' ? 'the completion' : 'the abort'}`;
  return new DbeeError(`${project}: smoke checks failed ${when} (${summary})`, {
    code: 'SMOKE_FAILED',
    exitCode: ExitCode.smokeFailed,
  });
}

/** The ledger row of one phase of a release (kind `expand`, `complete` or `abort`), opened before its first step. */
async function openPhase(
  p: Phases,
  kind: 'expand' | 'complete' | 'abort',
  project: string,
  stepsTotal: number,
  report: DeployReport,
  pkg: string | null,
  planChecksum: string,
): Promise<Deployment> {
  const ledger = openLedger(p.conn, p.engine.ledger);
  await ledger.ensure();
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
async function closePhase(
  p: Phases,
  release: ExpandRelease,
  deployment: Deployment,
  stepsTotal: number,
  work: () => Promise<{
    smoke?: { passed: boolean; summary: string };
    error?: DbeeError;
    states?: Record<string, string>;
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
    { smoke, ...fingerprint },
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
async function phaseFingerprint(p: Phases, release: ExpandRelease, scope: SchemaScope) {
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

/** The package, target, roles, settings and declarations of an expand-contract deployment, read before connecting. */
async function expandInputs(ctx: OperationContext, options: DeployOptions): Promise<ExpandInputs> {
  const pkg = options.package ? readPackage(ctx.workspace.commandLinePath(options.package)) : null;
  const packaged = pkg?.release?.expand;
  if (pkg && packaged?.project !== options.project)
    throw new DbeeError(
      `package ${pkg.path} has no expand-contract part for ${options.project}${packaged ? ` (it has ${packaged.project}'s)` : ''}`,
      {
        code: 'PACKAGE_MISMATCH',
        hint: `write it with dbee plan ${options.project} --out <folder> --strategy expand-contract (or deploy.strategy: expand-contract in the project's db.yaml)`,
      },
    );
  const loaded = await loadTarget(ctx, options.project, options.env);
  const { environment, target, engine, models } = loaded;
  if (pkg) {
    // A package's release was made with one environment's values: refused (exit 1) where they differ.
    const problems = packageVariableProblems(
      pkg,
      environment,
      new Map(models.map((m) => [m.project.name, m.variables])),
    );
    if (problems.length) refuse(problems, options.dryRun ?? false);
  }
  const model = pkg ? packageSmokeModels(pkg, [loaded.model])[0]! : loaded.model;
  const expand = requireRole(
    engine,
    'expand',
    'deploy with the expand-contract strategy',
    'deploy with the direct strategy',
  );
  const diff = requireRole(engine, 'diff', 'deploy with the expand-contract strategy');
  const settings = ctx.workspace.settings(target, environment).deploy;
  return {
    environment,
    planned: [target.name],
    session: { engine, environment, deploy: settings },
    pkg,
    packaged,
    loaded,
    model,
    expand,
    diff,
    own: models.filter((m) => ctx.workspace.withDependencies(target.name).some((p) => p.name === m.project.name)),
    declarations: packaged
      ? ExpandDeclarations.of(packaged.declarations)
      : ExpandDeclarations.read(ctx.workspace.root, model.objects),
    smoke: engine.smoke ? await loadSmokeChecks(model, engine) : [],
    renames: packaged ? packaged.renames : (target.config.renames ?? []),
    allowed: new Set([...(settings.allowHazards ?? []), ...(options.allowHazards ?? [])]),
    settings,
  };
}

/**
 * The next release's expand plan, from the live tables and the desired model (the sources', or the package's), with
 * its smoke checks, scope and object states; null when nothing changes. Refuses an `up`/`down` that does not compile.
 */
async function planRelease(p: Phases, inputs: ExpandInputs, options: DeployOptions): Promise<ExpandPlan | null> {
  const { ctx, engine, environment, conn, expand } = p;
  const { pkg, packaged, model, own, declarations, diff } = inputs;
  const target = inputs.loaded.target;
  const desired = packaged
    ? { model: packaged.desired }
    : await desiredModelFor(ctx, { engine, environment, models: own, target: target.name });
  const live = await diff.introspect(conn, projectScope(model.graph));
  const changes = diffModels(live, desired.model, {
    renames: inputs.renames,
    sameDefinition: diff.sameDefinition,
    facts: diff.facts,
  });
  if (changes.length === 0) {
    ctx.stdout.write(`${target.name}: nothing to change on ${environment.name}\n`);
    return null;
  }
  const previous = (await p.ledger.lastDone(target.name))?.release ?? '0';
  const release = options.release ?? nextRelease(previous);
  if (releaseSlug(release) === releaseSlug(previous) || !/[a-z0-9]/i.test(release))
    throw new DbeeError(
      `release ${JSON.stringify(release)} cannot follow release ${previous}: it names the same version schema`,
      { code: 'EXPAND_RELEASE', hint: 'pass another --release' },
    );
  const plan = await planExpand({
    project: target.name,
    release,
    previous,
    schemas: model.graph.schemas,
    live,
    desired: desired.model,
    changes,
    declarations,
    projectFile: target.file.displayPath,
    castExists: (from, to) => expand.castExists(conn, from, to),
  });
  plan.smoke = JSON.parse(JSON.stringify(inputs.smoke)) as SmokeCheck[];
  plan.scope = JSON.parse(JSON.stringify(projectScope(model.graph))) as SchemaScope;
  const steps = pkg
    ? pkg.plan.steps.filter((s) => s.project === target.name)
    : planFromSources({
        engine,
        models: own,
        planned: [target.name],
        schemaOwners: schemaOwners(ctx, environment),
      }).steps;
  plan.objectStates = Object.fromEntries(steps.filter((s) => s.action !== 'migrate').map((s) => [s.key, s.checksum]));
  const bad = await expand.checkExpressions(conn, plan);
  if (bad) {
    const decl = declarations.table(...(bad.table.split('.') as [string, string]));
    throw new DbeeError(`${bad.table}.${bad.column}: the ${bad.which} expression does not compile: ${bad.error}`, {
      code: 'EXPAND_EXPRESSION',
      location: decl?.columns[bad.column]?.location ?? decl?.location,
      hint: `${bad.which === 'up' ? 'an up expression reads the old columns' : 'a down expression reads the new columns'} by name and gives a value of the column's type`,
    });
  }
  return plan;
}

/** Bytes as the dry run prints them: `64 kB`, `24 MB` (units of 1,024). */
const kB = (bytes: number) =>
  bytes >= 1024 ** 2 && bytes % 1024 ** 2 === 0 ? `${bytes / 1024 ** 2} MB` : `${Math.round(bytes / 1024)} kB`;

/** What a dry run prints of the release: the expand's statements, each backfill with its pace, the contract. */
function printExpandDryRun(p: Phases, project: string, plan: ExpandPlan, statements: ExpandStatement[]): void {
  const { ctx, expand } = p;
  ctx.stdout.write(`-- expand (each statement under lock_timeout ${p.lockTimeoutMs} ms, retried):\n`);
  for (const s of statements)
    ctx.stdout.write(
      `-- ${s.what}\n${s.clear ? `-- before each attempt:\n${s.clear};\n` : ''}${s.sql};\n${s.check ? `-- then checked:\n${s.check};\n` : ''}`,
    );
  const pace = strategyBackfill(ctx, project, p.environment);
  const paceText = [
    `first batch ${(pace.batchSize ?? BACKFILL_DEFAULTS.batchSize).toLocaleString('en-US')} rows`,
    pace.targetBatchMs
      ? `size adapted toward ${pace.targetBatchMs} ms per batch${pace.walBytesPerBatch ? ` and ${kB(pace.walBytesPerBatch)} of WAL` : ''}`
      : 'fixed size',
    ...(pace.walBytesPerSecond ? [`at most ${kB(pace.walBytesPerSecond)} of WAL per second`] : []),
    ...(pace.pauseMs ? [`${pace.pauseMs} ms pause between batches`] : []),
  ].join(', ');
  for (const t of plan.tables.filter(needsBackfill))
    ctx.stdout.write(
      `-- backfill ${t.schema}.${t.name} in keyset batches (${paceText}): SET ${expand.backfillSet(t)}\n`,
    );
  ctx.stdout.write(
    `-- complete:\n${expand
      .complete(plan)
      .map((s) => `${s.sql};\n`)
      .join('')}`,
  );
}

/** The expand-contract part of a package (`dbee plan --out --strategy expand-contract`): the release's table model. */
export async function packagedExpand(
  ctx: OperationContext,
  args: { engine: Engine; environment: ResolvedEnvironment; models: ProjectModel[]; target: string },
): Promise<PackagedExpand> {
  requireRole(args.engine, 'expand', 'write an expand-contract package');
  const own = args.models.filter((m) =>
    ctx.workspace.withDependencies(args.target).some((p) => p.name === m.project.name),
  );
  const model = own.find((m) => m.project.name === args.target)!;
  const desired = await desiredModelFor(ctx, { ...args, models: own });
  return {
    project: args.target,
    desired: JSON.parse(JSON.stringify(desired.model)) as PackagedExpand['desired'],
    renames: model.project.config.renames ?? [],
    declarations: ExpandDeclarations.read(ctx.workspace.root, model.objects).toJSON(),
  };
}

/**
 * The strategy's dry run, verified as a direct one is: the expand's statements applied to a scratch copy of the
 * target's schemas (structure, no data), every failing statement a refusal (exit 1), a copy that cannot be made a
 * refusal too unless `--no-verify`. The running application's queries (`--queries`, `compat.queries`) are described
 * there before and after, with the old version schemas first in their search path after: the old application reads
 * through them while the release is expanded, so a rename made this way breaks none of its queries. The new
 * application's queries (`--new-queries`, `compat.newQueries`) are described after, through the new version schemas.
 */
async function verifyExpand(
  ctx: OperationContext,
  options: DeployOptions,
  input: {
    engine: Engine;
    conn: Connection;
    environment: ResolvedEnvironment;
    models: ProjectModel[];
    target: string;
    plan: ExpandPlan;
    statements: ExpandStatement[];
  },
  hooks: DryRunHooks,
  problems: DbeeError[],
): Promise<void> {
  const { engine, conn, environment, models, plan } = input;
  if (options.verify === false) {
    ctx.reporter.info('dry run: not verified (--no-verify): the statements above were not applied to a copy');
    return;
  }
  const old = plan.schemas.map((schema) => versionSchema(schema, plan.previous));
  const compat = await prepareCompat(ctx, {
    engine,
    conn,
    environment,
    models,
    target: input.target,
    queries: options.queries,
    newQueries: options.newQueries,
    afterSearchPathFirst: old,
    newSearchPathFirst: plan.schemas.map((schema) => versionSchema(schema, plan.release)),
    // dbt's models read the tables (old columns kept by the expand) or the old version schema: checked after the expand.
    dbt: options.dbt,
    plan: statementsPlan(engine, input.target, input.statements),
  });
  const ensureLedgerSchema = ledgerSchemaOnCopy(engine);
  const verdict = await verifyPlan({
    engine,
    conn,
    environment,
    workspaceRoot: ctx.workspace.root,
    plan: statementsPlan(engine, input.target, [ensureLedgerSchema, ...input.statements]),
    conflicts: new Map(),
    variables: new Map(),
    schemas: [...new Set(models.flatMap((m) => m.graph.schemas))],
    shadow: ctx.workspace.config.shadow ?? 'embedded',
    probe: compat?.probe,
  });
  if (!verdict.verified) problems.push(notVerified(verdict.skipped ?? 'the copy could not be made'));
  else
    ctx.reporter.info(
      `dry run: verified on a scratch copy of the target's schemas (${verdict.ran} statement${verdict.ran === 1 ? '' : 's'} of the expand${verdict.problems.length ? `, ${verdict.problems.length} failing` : ', all applied'})`,
    );
  problems.push(...verdict.problems);
  if (compat) {
    if (verdict.verified)
      ctx.reporter.info(
        `dry run: the application's queries after the expand, through the old version (${old.join(', ')}, ...)${compat.withNewQueries ? `; the new application's through the new version (${names(plan, plan.release)}, ...)` : ''}`,
      );
    const outcome = await compat.outcome(statementsPlan(engine, input.target, input.statements), verdict);
    judgeCompat(ctx, compat, outcome, hooks, problems);
  }
}

async function refusePendingMigrations(ledger: Ledger, model: ProjectModel, pkg: LoadedPackage | null): Promise<void> {
  const applied = (await ledger.deployedState(model.project.name)).migrations;
  const versions = pkg
    ? pkg.plan.steps
        .filter((s) => s.project === model.project.name && s.action === 'migrate')
        .map((s) => migrationVersionOf(s.key))
    : model.migrations.map((m) => m.file.versionParts.join('.'));
  const pending = versions.filter((v) => !applied.has(v));
  if (pending.length)
    throw new DbeeError(
      `${model.project.name} has migrations not yet applied (${pending.join(', ')}): the expand-contract strategy deploys table changes only`,
      {
        code: 'EXPAND_UNSUPPORTED',
        hint: 'deploy them with the direct strategy first (dbee deploy --strategy direct)',
      },
    );
}

/**
 * The refusal of version schemas whose views cannot be `security_invoker` (PostgreSQL before 15): they would read the
 * tables with their owner's rights, and the tables' row-level security would not apply to applications using them.
 */
function rlsBypass(env: string): DbeeError {
  return new DbeeError(
    `this server cannot make views security_invoker (PostgreSQL 15 and later can): the version schemas' views would read the tables with their owner's rights, so row-level security policies would not apply to applications reading through them (hazard rls-bypass, which environment ${env} does not allow)`,
    {
      code: 'GATE_HAZARD_REFUSED',
      hint: 'upgrade the server to PostgreSQL 15 or later; or, when no application relies on row-level security of these tables, accept it with --allow-hazards rls-bypass (or deploy.allowHazards: [rls-bypass]); or deploy with --strategy direct',
      details: { hazards: ['rls-bypass'] },
    },
  );
}

/** `1` after `0`, `8` after `7`; otherwise the label must be given. */
function nextRelease(previous: string): string {
  if (/^\d+$/.test(previous)) return String(Number(previous) + 1);
  throw new DbeeError(`the last release was ${previous}: dbee cannot number the next one`, {
    code: 'EXPAND_RELEASE',
    hint: 'pass --release <label>',
  });
}

function inFlightError(r: ExpandRelease, env: string, what: string): DbeeError {
  const next =
    r.phase === 'contracting'
      ? `run dbee complete ${r.project} --env ${env} to finish it`
      : r.phase === 'aborting'
        ? `run dbee abort ${r.project} --env ${env} to finish it`
        : r.phase === 'expanded'
          ? `complete it (dbee complete ${r.project} --env ${env}) or abort it (dbee abort ${r.project} --env ${env}) first`
          : `finish its expand phase (dbee deploy ${r.project} --env ${env} --strategy expand-contract) or abort it`;
  return new DbeeError(`${what}: release ${r.release} of ${r.project} is in flight on ${env} (${r.phase})`, {
    code: 'EXPAND_IN_FLIGHT',
    hint: next,
    details: { release: r.release, phase: r.phase },
  });
}

/**
 * A direct deployment of a project with an expand-contract release in flight is refused: its plan would be made
 * against tables halfway between two shapes.
 */
export async function refuseWhileInFlight(
  conn: Connection,
  engine: Engine,
  projects: readonly string[],
  env: string,
): Promise<void> {
  if (!engine.expand) return;
  const ledger = new ExpandLedger(conn, engine.ledger);
  const r = await ledger.inFlightOf(projects);
  if (r) throw inFlightError(r, env, `${r.project} cannot be deployed with the direct strategy`);
}

/** Open a session on the project's environment with its release in flight (or null), for complete, abort, version. */
async function withRelease<T>(
  ctx: OperationContext,
  options: { project: string; env?: string },
  fn: (p: Phases, inFlight: ExpandRelease | null) => Promise<T>,
): Promise<T> {
  const environment = ctx.workspace.environment(options.env, ctx.env);
  const target = ctx.workspace.project(options.project);
  const engine = engineFor(ctx, environment, [target]);
  const expand = requireRole(engine, 'expand', 'run the expand-contract strategy');
  const settings = ctx.workspace.settings(target, environment).deploy;
  return withSession(
    { engine, environment, workspaceRoot: ctx.workspace.root, reporter: ctx.reporter, deploy: settings },
    async (session) => {
      const { conn } = session;
      const ledger = new ExpandLedger(conn, engine.ledger);
      const p: Phases = {
        ctx,
        engine,
        expand,
        environment,
        conn,
        ledger,
        lockTimeoutMs: strategyLockTimeout(ctx, target.name, environment),
        session,
        waits: [],
      };
      return fn(p, await ledger.inFlight(target.name));
    },
  );
}

function noRelease(project: string, env: string, what: string): DbeeError {
  return new DbeeError(`nothing to ${what}: no expand-contract release of ${project} is in flight on ${env}`, {
    code: 'EXPAND_NONE',
    hint: `start one with dbee deploy ${project} --env ${env} --strategy expand-contract`,
  });
}

/** What `complete` and `abort` read before the lock. */
interface FinishInputs extends PipelineInputs {
  target: string;
  dryRun: boolean;
  /** `--no-verify`: the dry run only prints the statements. */
  verify: boolean;
  expand: ExpandRole;
  /** The project's model: its search path and objects for the smoke checks after the phase. */
  model: ProjectModel;
}

/** What `complete` or `abort` planned under the lock: the release in flight and the statements of its phase. */
interface FinishRun extends PipelinePlan {
  phases: Phases;
  release: ExpandRelease;
  statements: ExpandStatement[];
  /** The phase was started before (`contracting`, `aborting`): this run resumes it. */
  resuming: boolean;
  /** The package the release came from (its expand's), recorded with the phase; null for the sources. */
  pkg: string | null;
}

/**
 * `complete` or `abort` as a command of the pipeline: the same gates as a deployment (ticket, maintenance window,
 * protection, in the dry run too; `gates.requireBackup` on what `complete` drops), notifications, a ledger deployment
 * of kind `complete` or `abort` with a row per statement, the report. `gates.promotedFrom` is the expand's: the release
 * in flight passed it when it started.
 */
function finishCommand(
  ctx: OperationContext,
  options: CompleteOptions | AbortOptions,
  kind: 'complete' | 'abort',
): PipelineCommand<FinishInputs, FinishRun> {
  return {
    command: kind,
    phase: kind,
    options,
    promotion: 'the release in flight passed gates.promotedFrom when its expand phase started',
    inputs: async () => {
      const { environment, target, engine, model } = await loadTarget(ctx, options.project, options.env);
      const expand = requireRole(engine, 'expand', 'run the expand-contract strategy');
      const deploy = ctx.workspace.settings(target, environment).deploy;
      return {
        environment,
        pkg: null,
        planned: [target.name],
        session: { engine, environment, deploy },
        target: target.name,
        dryRun: options.dryRun ?? false,
        verify: options.verify ?? true,
        expand,
        model,
      };
    },
    // The release's own scope, as its expand recorded it: what the phase changes, judged against that record.
    drift: async (input, conn) => {
      const r = await new ExpandLedger(conn, input.session.engine.ledger).inFlight(input.target);
      return r
        ? { subjects: [{ project: input.target, scope: r.plan.scope ?? { schemas: r.plan.schemas } }] }
        : { none: 'no release in flight' };
    },
    plan: (input, session, report) => planFinish(ctx, input, session, report, kind),
    verify: async (input, session, run) => {
      ctx.stdout.write(`-- ${kind} (each statement under lock_timeout ${run.phases.lockTimeoutMs} ms, retried):\n`);
      for (const s of run.statements) ctx.stdout.write(`-- ${s.what}\n${s.sql};\n`);
      await verifyFinish(ctx, input, session, run);
    },
    settle: async () => ExitCode.ok,
    apply: (input, _session, run, report) => applyFinish(input, run, report, kind),
    failure: projectFailure,
  };
}

/** The sync triggers' functions live in the ledger's schema, which the copy of the project's schemas does not hold. */
function ledgerSchemaOnCopy(engine: Engine): ExpandStatement {
  return {
    what: `schema ${engine.ledger.schema} (the sync triggers' functions)`,
    sql: `CREATE SCHEMA IF NOT EXISTS ${engine.ledger.schema}`,
    transactional: true,
  };
}

/**
 * The dry run of `complete` or `abort`, verified as a deployment's is: its statements applied to a scratch copy of the
 * target's schemas as they are now (expanded), every failing statement a refusal, a copy that cannot be made too.
 */
async function verifyFinish(
  ctx: OperationContext,
  input: FinishInputs,
  session: DeploymentSession,
  run: FinishRun,
): Promise<void> {
  const engine = input.session.engine;
  if (!input.verify) {
    ctx.reporter.info('dry run: not verified (--no-verify): the statements above were not applied to a copy');
    return;
  }
  const ensureLedgerSchema = ledgerSchemaOnCopy(engine);
  const verdict = await verifyPlan({
    engine,
    conn: session.conn,
    environment: input.environment,
    workspaceRoot: ctx.workspace.root,
    plan: statementsPlan(engine, input.target, [ensureLedgerSchema, ...run.statements]),
    conflicts: new Map(),
    variables: new Map(),
    schemas: [...run.release.plan.schemas],
    shadow: ctx.workspace.config.shadow ?? 'embedded',
  });
  if (!verdict.verified) run.problems.push(notVerified(verdict.skipped ?? 'the copy could not be made'));
  else
    ctx.reporter.info(
      `dry run: verified on a scratch copy of the target's schemas (${verdict.ran} statement${verdict.ran === 1 ? '' : 's'}${verdict.problems.length ? `, ${verdict.problems.length} failing` : ', all applied'})`,
    );
  run.problems.push(...verdict.problems);
}

/** Stage `plan` of `complete` or `abort`: the release in flight in a phase that allows it, and its statements. */
async function planFinish(
  ctx: OperationContext,
  input: FinishInputs,
  session: DeploymentSession,
  report: DeployReport,
  kind: 'complete' | 'abort',
): Promise<FinishRun> {
  const { environment, target } = input;
  const engine = input.session.engine;
  const env = environment.name;
  const ledger = new ExpandLedger(session.conn, engine.ledger);
  const p: Phases = {
    ctx,
    engine,
    expand: input.expand,
    environment,
    conn: session.conn,
    ledger,
    lockTimeoutMs: strategyLockTimeout(ctx, target, environment),
    session,
    waits: [],
  };
  await markInterrupted(ctx, openLedger(session.conn, engine.ledger), session, report, input.dryRun);
  const r = await ledger.inFlight(target);
  if (!r) throw noRelease(target, env, kind);
  const resuming = r.phase === (kind === 'complete' ? 'contracting' : 'aborting');
  if (kind === 'complete' && (r.phase === 'expanding' || r.phase === 'backfilling'))
    throw new DbeeError(`release ${r.release} of ${r.project} is not expanded yet (${r.phase})`, {
      code: 'EXPAND_NOT_READY',
      hint: `run dbee deploy ${r.project} --env ${env} --strategy expand-contract again to finish its expand phase, then complete`,
    });
  if (kind === 'complete' && r.phase === 'aborting')
    throw new DbeeError(`release ${r.release} of ${r.project} is being aborted`, {
      code: 'EXPAND_IN_FLIGHT',
      hint: `run dbee abort ${r.project} --env ${env} again to finish the abort`,
    });
  if (kind === 'abort' && r.phase === 'contracting')
    throw new DbeeError(`release ${r.release} of ${r.project} is being completed: it can no longer be aborted`, {
      code: 'EXPAND_IN_FLIGHT',
      hint: `run dbee complete ${r.project} --env ${env} again to finish it`,
    });
  const statements = kind === 'complete' ? p.expand.complete(r.plan) : p.expand.abort(r.plan);
  if (resuming)
    ctx.reporter.info(
      `${r.project}: resuming the ${kind === 'complete' ? 'contract phase' : 'abort'} of release ${r.release}`,
    );
  const problems = kind === 'complete' ? completeBackupProblems(environment, r.plan) : [];
  // The release's package and commit are its expand's: recorded with this phase too (report, ledger row, log).
  const expanded = (
    await openLedger(session.conn, engine.ledger).deployments(target, env, Number.MAX_SAFE_INTEGER)
  ).find((d) => d.kind === 'expand' && d.status !== 'running');
  report.source.package = expanded?.package ?? null;
  return {
    plan: statementsPlan(engine, target, statements),
    problems,
    planChecksum: expanded?.plan_checksum ?? releaseChecksum(r.plan),
    commit: expanded?.git_commit ?? null,
    phases: p,
    release: r,
    statements,
    resuming,
    pkg: expanded?.package ?? null,
  };
}

/**
 * `gates.requireBackup` on `complete`: it drops the old columns; one that no new column is computed from (its `up`
 * does not name it) loses its data with it, as a direct deployment's drop would.
 */
function completeBackupProblems(environment: ResolvedEnvironment, plan: ExpandPlan): DbeeError[] {
  if (!environment.gates.requireBackup) return [];
  const lost = plan.tables.flatMap((t) =>
    t.dropped
      .filter((d) => !t.columns.some((c) => c.up !== null && new RegExp(`\\b${d.name}\\b`).test(c.up)))
      .map((d) => `${t.schema}.${t.name}.${d.name}`),
  );
  if (!lost.length) return [];
  return [
    new DbeeError(
      `complete drops ${lost.join(', ')}, whose data no new column keeps, but environment ${environment.name} requires a backup`,
      {
        code: 'GATE_BACKUP_REQUIRED',
        location: environment.declaredAt,
        hint: 'keep the data first (a column of the new shape computed from it, or a migration that copies it), or remove gates.requireBackup',
      },
    ),
  ];
}

/**
 * Stages `apply`, `ledger` and `smoke` of `complete` or `abort`: the phase set, its statements sent as steps, the
 * release finished, then the smoke checks of the version that stays (the new one after `complete`, the old one after
 * `abort`), the outcome recorded with the release's package and commit.
 */
async function applyFinish(
  input: FinishInputs,
  run: FinishRun,
  report: DeployReport,
  kind: 'complete' | 'abort',
): Promise<PipelineApplied> {
  const p = run.phases;
  const r = run.release;
  if (!run.resuming) await p.ledger.setPhase(r.id, kind === 'complete' ? 'contracting' : 'aborting');
  const release: ExpandRelease = { ...r, phase: kind === 'complete' ? 'contracting' : 'aborting' };
  let order = 0;
  const steps = run.statements.map((s) =>
    statementStepOf(r.project, s, ++order, p.lockTimeoutMs, (w) => p.waits.push(w)),
  );
  const deployment = await openPhase(p, kind, r.project, steps.length, report, run.pkg, run.planChecksum!);
  const applied = await closePhase(p, release, deployment, steps.length, async () => {
    await sendSteps(p, release, deployment, steps);
    if (kind === 'complete') await recordCompletion(p, r, deployment);
    await p.ledger.setPhase(r.id, kind === 'complete' ? 'done' : 'aborted');
    const smoke = await smokePerVersion(p, release, input.model, [kind === 'complete' ? 'new' : 'old']);
    return { smoke, ...(smoke.passed ? {} : { error: smokeFailed(r.project, kind, smoke.summary) }) };
  });
  if (applied.result.projects[0]?.stepsApplied !== steps.length) return applied;
  const env = p.environment.name;
  p.ctx.stdout.write(
    kind === 'complete'
      ? `${r.project}: release ${r.release} complete on ${env}: the tables have the new shape; the version schema is ${names(r.plan, r.release)}\n`
      : `${r.project}: release ${r.release} aborted on ${env}: what its expand added is gone; the old version ${names(r.plan, r.plan.previous)} stays\n`,
  );
  return applied;
}

/** `complete`: the contract phase of the release in flight (from `expanded`, or resuming `contracting`). */
export async function complete(ctx: OperationContext, options: CompleteOptions): Promise<ExitCodeValue> {
  return runPipeline(ctx, finishCommand(ctx, options, 'complete'), null);
}

/**
 * The completed release's object states in the ledger, as the release's sources say (what a deployment from them
 * records), under its `complete` deployment; the fingerprint goes with the deployment's closing row (`closePhase`).
 */
async function recordCompletion(p: Phases, r: ExpandRelease, deployment: Deployment): Promise<void> {
  const states = r.plan.objectStates;
  if (!states) return;
  const ledger = openLedger(p.conn, p.engine.ledger);
  await p.conn.transaction(async (tx) => {
    for (const key of Object.keys(deployment.before.objects))
      if (!(key in states) && !key.startsWith('migration:'))
        await ledger.setObjectState(r.project, key, null, deployment.id, tx);
    for (const [key, checksum] of Object.entries(states))
      await ledger.setObjectState(r.project, key, checksum, deployment.id, tx);
  });
}

/** `abort`: undo the expand phase of the release in flight (from any phase before `contracting`). */
export async function abort(ctx: OperationContext, options: AbortOptions): Promise<ExitCodeValue> {
  return runPipeline(ctx, finishCommand(ctx, options, 'abort'), null);
}

/** What `dbee version` prints. */
export interface VersionInfo {
  project: string;
  environment: string;
  release: string;
  /** The release's phase (`expanded`, `done`...). */
  phase: string;
  searchPath: string[];
  settings: Record<string, string>;
  /** The same as libpq `options` (`PGOPTIONS`, `?options=` of a URL). */
  options: string;
}

/** `version`: the search path and setting an application uses for a release (default: the newest usable one). */
export async function version(ctx: OperationContext, options: VersionOptions): Promise<ExitCodeValue> {
  return withRelease(ctx, options, async (p, flying) => {
    const env = p.environment.name;
    const all = await p.ledger.releases(options.project);
    const usable = all.filter(
      (r) => r.phase === 'done' || r.phase === 'expanded' || (r.id === flying?.id && r.phase === 'contracting'),
    );
    const lastDone = all.find((r) => r.phase === 'done');
    let chosen: { release: string; phase: string; schemas: string[] } | undefined;
    if (options.release !== undefined) {
      const slug = releaseSlug(options.release);
      const r = usable.find((x) => releaseSlug(x.release) === slug);
      if (r) chosen = { release: r.release, phase: r.phase, schemas: r.plan.schemas };
      else if (flying && releaseSlug(flying.plan.previous) === slug)
        chosen = { release: flying.plan.previous, phase: 'previous', schemas: flying.plan.schemas };
      if (!chosen || (lastDone && r?.phase === 'done' && r.id !== lastDone.id && flying?.plan.previous !== r.release))
        throw new DbeeError(`release ${options.release} of ${options.project} has no version schema on ${env}`, {
          code: 'EXPAND_NONE',
          hint: `the versions served now: ${[flying?.plan.previous, flying?.phase === 'expanded' ? flying.release : undefined, lastDone?.release].filter(Boolean).join(', ') || 'none'}`,
        });
    } else {
      const r = flying?.phase === 'expanded' || flying?.phase === 'contracting' ? flying : lastDone;
      if (r) chosen = { release: r.release, phase: r.phase, schemas: r.plan.schemas };
      else if (flying) chosen = { release: flying.plan.previous, phase: 'previous', schemas: flying.plan.schemas };
    }
    if (!chosen) throw noRelease(options.project, env, 'print');
    const s = p.expand.versionSettings(chosen.schemas, chosen.release);
    const info: VersionInfo = {
      project: options.project,
      environment: env,
      release: chosen.release,
      phase: chosen.phase,
      searchPath: s.searchPath,
      settings: s.settings,
      options: [
        `-c search_path=${s.searchPath.join(',')}`,
        ...Object.entries(s.settings).map(([k, v]) => `-c ${k}=${v}`),
      ].join(' '),
    };
    if (options.format === 'json') ctx.stdout.write(canonicalJson(info));
    else
      ctx.stdout.write(
        `${info.project} on ${env}: release ${info.release} (${info.phase})\n` +
          `search_path: ${info.searchPath.join(', ')}\n` +
          Object.entries(info.settings)
            .map(([k, v]) => `${k}: ${v}\n`)
            .join('') +
          `options: ${info.options}\n`,
      );
    return ExitCode.ok;
  });
}

/** The release in flight and its backfills, for `dbee status`. */
export interface ExpandStatus {
  release: string;
  previous: string;
  phase: string;
  startedAt: string;
  lockRetries: number;
  changes: string[];
  backfills: { table: string; done: number; total: number; status: string; rowsPerSecond?: number; etaMs?: number }[];
  /** What the release holds while it is in flight (`expand/in-flight.ts`, as `diff` names it); null once it ended. */
  inFlight: InFlight | null;
}

/**
 * What `status` shows of the strategy: the release in flight, else the last one, with the progress of its backfills
 * (among `backfills`, the project's as `status` read them).
 */
export async function expandStatus(
  conn: Connection,
  engine: Engine,
  project: string,
  backfills: readonly BackfillState[],
): Promise<ExpandStatus | null> {
  if (!engine.expand) return null;
  const ledger = new ExpandLedger(conn, engine.ledger);
  const r = (await ledger.inFlight(project)) ?? (await ledger.latest(project));
  if (!r) return null;
  const prefix = `${project}:expand-${r.id}:`;
  return {
    release: r.release,
    previous: r.previous,
    phase: r.phase,
    startedAt: r.startedAt,
    lockRetries: r.lockRetries,
    changes: r.plan.summary,
    inFlight: isInFlight(r.phase) ? inFlightOf(r) : null,
    backfills: backfills
      .filter((s) => s.id.startsWith(prefix))
      .map((s) => ({
        table: `${s.table.schema}.${s.table.name}`,
        done: s.done,
        total: s.total,
        status: s.status,
        ...(s.rowsPerSecond !== undefined ? { rowsPerSecond: s.rowsPerSecond } : {}),
        ...(s.etaMs !== undefined ? { etaMs: s.etaMs } : {}),
      })),
  };
}

/** Text lines of `expandStatus` for `dbee status`. */
export function formatExpandStatus(s: ExpandStatus): string[] {
  const lines = [`expand-contract: release ${s.release} (after ${s.previous}) ${s.phase}, since ${s.startedAt}`];
  for (const c of s.changes) lines.push(`  ${c}`);
  for (const b of s.backfills)
    lines.push(
      `  backfill ${b.table}: ${b.status === 'done' ? `done, ${b.done.toLocaleString('en-US')} rows` : formatBackfillProgress({ done: b.done, total: b.total, rowsPerSecond: b.rowsPerSecond ?? 0, etaMs: b.etaMs })}`,
    );
  if (s.lockRetries) lines.push(`  lock waits retried: ${s.lockRetries}`);
  return lines;
}
