import { smokeSummary } from '../../../promotion/smoke-evidence';
import { readRecordable, scopeKey, summaryOf } from '../../../runner/recorded-fingerprint';
import type { ConflictStrategy, DeploySettings, HazardKind } from '../../../config/schema';
import type { DeployOptions } from '../../../options';
import { assertFreshBase } from '../../../diffing/diff-plan';
import { formatSmokeResult, loadSmokeChecks, recordSmokeChecks, runSmokeChecks, smokeTimeoutMs } from '../../../smoke';
import { changesUpTo } from '../../../smoke/stale-views';
import type { DeployedState } from '../../../planner/planner';
import { smokeRegression, type SmokeCheck, type SmokeRegression } from '../../../smoke';
import type { Connection, Engine } from '../../../engine/engine';
import type { SessionPool } from '../../../engine/session-pool';
import { projectScope, type SchemaScope } from '../../../schema/managed-scope';
import { namedByRename } from '../../../schema/renames';
import { DbeeError, ExitCode, type ExitCodeValue } from '../../../errors';
import { deploymentSummary, type Ledger } from '../../../ledger/ledger';
import { openLedger } from '../../../ledger/open-ledger';
import { readPackage, type LoadedPackage } from '../../../package/package';
import type { ResolvedEnvironment } from '../../../config/resolve';
import type { DbProject } from '../../../config/workspace';
import { packagePlan, packageRunsHere, packageSmokeModels } from '../../../package/package-deploy';
import type { Plan, PlanStep, PolicyException } from '../../../plan/plan';
import { planChecksum } from '../../../plan/serialize';
import type { ProjectModel } from '../../../planner/project-model';
import {
  runPlan,
  type ProjectRunResult,
  type RunOptions,
  type RunResult,
  type StepConflict,
  type TransactionScope,
} from '../../../runner/runner';
import { lockOwner, sessionSettings, sideSession, type DeploymentSession } from '../../../runner/session';
import { reconcileStarted } from '../../../runner/reconcile';
import { markDataLoss, verifyPlan, type VerifyResult } from '../../../runner/verify';
import { convergedOnTarget, convergence, notConverged } from '../../../diffing/converge';
import { backupStamp } from '../../../plan/backup-stamp';
import { ConflictRules, decideConflicts, type ConflictDecision } from '../../conflicts';
import { ciJob } from '../../../context/origin';
import { engineFor, type OperationContext } from '../../../context/operation-context';
import { stepDependencies } from '../../dependencies';
import {
  checkStepPolicies,
  dependencyMissing,
  missingDependencySchemas,
  notVerified,
  refuse,
} from '../../../pipeline/gates';
import type { PipelineApplied, PipelineCommand, PipelineInputs } from '../../../pipeline/pipeline';
import type { DriftFound } from '../../../pipeline/drift';
import { Deployment } from '../../../runner/deployment';
import {
  batchShared,
  deployedStates,
  loadModels,
  parseCacheOf,
  removedObjects,
  schemaOwners,
  sourceCommit,
} from '../../../context/load';
import { pruneSteps } from '../../../diffing/prune';
import { resolveDrift } from '../../deploy-drift';
import { planSources } from '../../source-plan';
import { planPolicyProblems } from '../../policy-judgment';
import { lastDeployment, refuseInFlight } from '../../batch-reads';
import { printPlan } from '../../print';
import { schemasElsewhere, selectedPlan } from '../../selection';
import { checkSelection, readSelection, type Selection } from '../../../planner/selection';
import { judgeSizeHazards } from '../../size-hazards';
import type { DryRunHooks } from '../../compat';
import { liveState } from '../../../context/fleet-plans';
import type { DeployReport } from '../../../runner/deploy-report';
import type { InFlightReader } from '../../../diffing/in-flight-work';
import type { PhaseCommand } from '../strategy';

export type { DeployOptions };

/**
 * The checks of the application's queries and of dbt on the scratch copy, loaded by a dry run (a real deployment runs
 * neither), as is the rollback test (`--test-rollback`), which loads the rollback operation.
 */
const compatChecks = () => import('../../compat');

interface Validated {
  ifExists?: ConflictStrategy;
  allowHazards: HazardKind[];
  countdownFrom?: number;
  waitForLockMs?: number;
}

/** The options come validated and typed (options/deploy.ts); only units change here. */
function validate(options: DeployOptions): Validated {
  return {
    ifExists: options.ifExists,
    allowHazards: options.allowHazards ?? [],
    countdownFrom: options.countdownFrom,
    waitForLockMs: options.waitForLock === undefined ? undefined : options.waitForLock * 1000,
  };
}

/** The policies' exceptions the change was judged with, in each project's deployment row (docs/policies.md). */
async function recordPolicyExceptions(run: DeployRun, result: RunResult): Promise<void> {
  for (const p of result.projects) {
    const own = run.policyExceptions?.get(p.project);
    if (own?.length && p.deploymentId !== null)
      await run.ledger?.deployments.updateSummary(p.deploymentId, { policyExceptions: own });
  }
}

/**
 * The direct strategy's `deploy` phase, one deployment as the pipeline's command, top-down: the inputs (before the
 * lock), then under the lock: recover what a dead process left, refuse over another strategy's work in flight, plan,
 * decide conflicts, collect the problems and the smoke checks; then the dry run (verify on a scratch copy) or the run;
 * a package already at its state settles its smoke checks and promotion record.
 */
export const directDeploy: PhaseCommand<DeployOptions> = (ctx, options, { inFlight, hooks }) => {
  const command: PipelineCommand<DeployInputs, DeployRun> = {
    command: 'deploy',
    options: { ...options, ticket: hooks.skipGates ? undefined : options.ticket },
    skipGates: hooks.skipGates,
    inputs: async (report) => {
      const input = await deployInputs(ctx, options, report, inFlight);
      if (input && hooks.reader) input.session.reader = true;
      return input;
    },
    drift: (input) => ({
      decides: true,
      subjects: input.models
        .filter((m) => input.planned.includes(m.project.name))
        .map((m) => ({ project: m.project.name, scope: projectScope(m.graph) })),
    }),
    plan: async (input, session, report, drift) => {
      const run = await planUnderLock(ctx, input, session, report, drift);
      // The schema review policies (docs/policies.md) refuse before anything runs, in the dry run and the run alike;
      // `check` asks for the plan only (it judges them itself with --policies). A package was judged when planned:
      // the exceptions it was judged with are in its plan.
      if (!hooks.skipGates && !input.pkg) {
        const judged = await planPolicyProblems(ctx, input, run.plan);
        run.problems.push(...judged.problems);
        run.policyExceptions = judged.exceptions;
      } else if (input.pkg?.plan.policyExceptions)
        run.policyExceptions = new Map(Object.entries(input.pkg.plan.policyExceptions));
      return run;
    },
    verify: (input, session, run, report) => dryRun(ctx, input, session.conn, run, report, hooks),
    settle: (input, session, run, report) => settleUnchanged(ctx, input, session, run, report),
    apply: async (input, session, run, report) => {
      const result = await apply(ctx, applyInput(ctx, input, session, run, report, sideSession(ctx, session)));
      await recordPolicyExceptions(run, result);
      return { result, smoke: run.smoke?.outcomes ?? new Map<string, string>() };
    },
    failure: ({ result }, report) => failureOf(result, report),
  };
  return command;
};

/** Stage `plan` of a deployment: recover, plan, decide conflicts, collect the problems and the smoke checks. */
async function planUnderLock(
  ctx: OperationContext,
  input: DeployInputs,
  session: DeploymentSession,
  report: DeployReport,
  drift: DriftFound,
): Promise<DeployRun> {
  const { engine, environment, options } = input;
  const ledger = openLedger(session.conn, engine.ledger);
  await recoverInterrupted(ctx, input, session, ledger, report);
  // No ledger, no release in flight (its table is one of the ledger's): nothing to read.
  if (!ledger.tables.knownMissing())
    await refuseInFlight(ctx, input.inFlight, session.conn, engine, input.planned, environment.name);
  const run = await planDeployment(ctx, input, session, ledger, report, drift);
  await driftIntoPlan(ctx, input, session.conn, run, report, drift);
  await decideDeployConflicts(ctx, input, session.conn, run, report);
  await collectProblems(ctx, input, session.conn, run);
  // Smoke files are read and validated before anything is applied, and when nothing is to be applied: a broken
  // check refuses the deployment (exit 1) rather than waiting for the next deployment that changes something.
  run.smoke = await smokePlan(
    ctx,
    engine,
    input.pkg ? packageSmokeModels(input.pkg, input.models) : input.models,
    run.plan,
    input.settingsOf,
    environment.name,
    !options.dryRun && run.plan.steps.length > 0,
  );
  if (run.smoke) run.smoke.regression = smokeRegression(environment.gates);
  run.ledger = ledger;
  return run;
}

/**
 * A real run with nothing to apply. A deployment this run found interrupted after all its steps applied (killed during
 * its smoke checks, say) is finished: its closing stages run now (smoke checks, promotion record, notifications, a
 * closing row), not "up to date". From the sources otherwise: the database is up to date (a missing fingerprint is
 * recorded). A package at its state on an environment that another promotes from: its smoke checks run here and,
 * when they pass, a deployment of no steps records them and the promotion record is written, so the package can go
 * on (exit 3 when they fail; exit 1 when this engine cannot run them, naming why).
 */
async function settleUnchanged(
  ctx: OperationContext,
  input: DeployInputs,
  session: DeploymentSession,
  run: DeployRun,
  report: DeployReport,
): Promise<ExitCodeValue | PipelineApplied> {
  // Drift the conflict strategy refused is no "up to date" (deploy-drift.ts).
  if (run.problems.length) refuse(run.problems, false);
  await confirmObjectStates(ctx, input, run.ledger!, run);
  const unfinished = await interruptedAfterSteps(ctx, input, run.ledger!, report.interrupted);
  if (unfinished.length) {
    ctx.reporter.info(
      `${unfinished.map((d) => `${d.project} (deployment #${d.id})`).join(', ')}: ${unfinished.every((d) => d.checksFailed) ? `its ${unfinished.every((d) => d.closing) ? 'closing ' : ''}smoke checks failed` : 'interrupted after all its steps applied'}: its smoke checks, promotion record and notifications run now`,
    );
    return settleClosing(
      ctx,
      input,
      session,
      run,
      report,
      unfinished.map((d) => d.project),
      'resume',
    );
  }
  for (const p of input.planned) ctx.reporter.info(`${p}: nothing to deploy, the database is up to date`);
  await confirmFingerprints(ctx, input, run.ledger!, session.conn);
  report.status = 'unchanged';
  if (!input.pkg || !promotesFrom(ctx, input.environment.name)) return ExitCode.ok;
  const pkg = input.pkg;
  const projects = pkg.plan.projects.filter((p) => pkg.plan.steps.some((s) => s.project === p));
  return settleClosing(ctx, input, session, run, report, projects, 'promotion');
}

/**
 * The deployments of the planned projects whose closing stages are still owed: marked interrupted by this run after
 * every one of their steps applied, or one whose smoke checks failed after every step applied (an ordinary deployment
 * without `autoRollback`, or a closing run of no steps that finished an interrupted one): until they pass, the project
 * is not deployed, and the next run runs them again (a fleet counts such a target failed, never `unchanged`).
 */
async function interruptedAfterSteps(
  ctx: OperationContext,
  input: DeployInputs,
  ledger: Ledger,
  interrupted: readonly number[],
): Promise<{ project: string; id: number; checksFailed: boolean; closing: boolean }[]> {
  if (!(await ledger.tables.exists())) return [];
  const out: { project: string; id: number; checksFailed: boolean; closing: boolean }[] = [];
  for (const project of input.planned) {
    // In an Nx batch, the last deployments the batch's first task read for all (no request of this task's own).
    const last = await lastDeployment(ctx, ledger, project, input.environment.name);
    if (last?.kind !== 'deploy') continue;
    const stopped = interrupted.includes(last.id) && last.steps_total > 0 && last.steps_applied === last.steps_total;
    // Failed with every step applied and its checks run: only its smoke checks failed (a step that fails is not
    // applied; a failure before the checks leaves them `not run`). A closing run of no steps: its checks failed.
    const smokeRan = (deploymentSummary(last).smoke ?? 'not run') !== 'not run';
    const checksFailed =
      last.status === 'failed' && last.steps_applied === last.steps_total && (last.steps_total === 0 || smokeRan);
    if (stopped || checksFailed)
      out.push({ project, id: last.id, checksFailed: !stopped, closing: last.steps_total === 0 });
  }
  return out;
}

/** Whether another environment takes packages promoted from `environment` (`gates.promotedFrom`). */
function promotesFrom(ctx: OperationContext, environment: string): boolean {
  return Object.values(ctx.workspace.config.environments).some((e) => e.gates?.promotedFrom?.includes(environment));
}

/**
 * A package at its state where the next environment reads promotions from: each of its projects gets a deployment of
 * no steps that runs the package's smoke checks here and records them (the evidence `gates.promotedFrom` reads).
 */
async function settleClosing(
  ctx: OperationContext,
  input: DeployInputs,
  session: DeploymentSession,
  run: DeployRun,
  report: DeployReport,
  projects: string[],
  why: 'promotion' | 'resume',
): Promise<PipelineApplied> {
  const missing = projects.filter((p) => !run.smoke?.checks.has(p));
  if (missing.length && why === 'promotion')
    throw new DbeeError(
      `package ${input.pkg!.path} is already deployed on ${input.environment.name}, but no promotion record can be written: the smoke checks of ${missing.join(', ')} do not run here (${input.engine.smoke ? 'deploy.smokeAfterDeploy: false' : `the ${input.engine.name} engine cannot run them`})`,
      {
        code: 'PROMOTION_NOT_RECORDED',
        hint: 'the next environment accepts a package only with passing smoke checks here: enable them (deploy.smokeAfterDeploy), then deploy the package again',
      },
    );
  if (why === 'promotion')
    ctx.reporter.info(`${projects.join(', ')}: the package's smoke checks run here for its promotion record`);
  const pkg = input.pkg;
  const owner = lockOwner();
  const ledger = run.ledger!;
  await ledger.tables.ensure();
  const smoke: SmokePlan = run.smoke ?? { checks: new Map(), timeoutMs: new Map(), outcomes: new Map() };
  const verify = verifier(ctx, applyInput(ctx, input, session, run, report, undefined), smoke);
  const results: ProjectRunResult[] = [];
  for (const project of projects) {
    const t0 = Date.now();
    const deployment = await Deployment.open(ledger, {
      project,
      environment: input.environment.name,
      kind: 'deploy',
      planChecksum: run.planChecksum,
      package: pkg?.path ?? null,
      gitCommit: run.commit,
      toolVersion: ctx.toolVersion,
      osUser: owner.user,
      ciJob: ciJob(ctx.env),
      host: owner.host,
      stepsTotal: 0,
      ticket: report.ticket,
    });
    const verdict = await verify(project, deployment.id, deployment.objectKeys());
    const model = input.models.find((m) => m.project.name === project);
    const fingerprint =
      input.engine.diff && model
        ? summaryOf(await readRecordable(input.engine.diff, session.conn, projectScope(model.graph)))
        : {};
    await deployment.close(
      verdict.passed ? 'succeeded' : 'failed',
      { smoke: verdict.summary, ...fingerprint },
      verdict.error ? { error: verdict.error.message, statement: null } : null,
    );
    results.push({
      project,
      deploymentId: deployment.id,
      status: verdict.passed ? 'succeeded' : 'failed',
      stepsApplied: 0,
      stepsTotal: 0,
      durationMs: Date.now() - t0,
      backups: [],
      ...(verdict.error ? { error: verdict.error } : {}),
    });
  }
  report.status = 'succeeded';
  const failed = results.some((r) => r.status === 'failed');
  return {
    result: { exitCode: failed ? ExitCode.smokeFailed : ExitCode.ok, projects: results, steps: [] },
    smoke: smoke.outcomes,
  };
}

/** What a deployment works with, settled before the lock is taken. */
interface DeployInputs extends PipelineInputs {
  options: DeployOptions;
  valid: Validated;
  environment: ResolvedEnvironment;
  /** The deployment lock's session (the pipeline's `lock` stage). */
  session: PipelineInputs['session'];
  target: DbProject;
  /** The package deployed (`--package`), or null for the sources. */
  pkg: LoadedPackage | null;
  /** The projects this run deploys: the target (with its dependencies outside Nx), or a package's. */
  planned: string[];
  engine: Engine;
  /** The target and its dependencies; the projects not planned from their exports when known (see loadModels). */
  models: ProjectModel[];
  /** Schema → the project that owns it, over the whole workspace. */
  owners: Map<string, string>;
  /** The target's deploy settings in this environment. */
  settings: DeploySettings;
  settingsOf: (project: string) => DeploySettings;
  scope: TransactionScope;
  now: Date;
  /** The sources' git commit, read (two git processes) while the sources are read and the lock is taken. */
  sourceCommitLater: Promise<string | null> | null;
  /** `--objects`/`--objects-from`, checked against the sources; null: the whole plan. */
  selection: Selection | null;
  /** The one reader of every strategy's work in flight: a deployment refuses to plan over one. */
  inFlight: InFlightReader;
}

/** The plan of one run, and what was decided about it under the lock. */
interface DeployRun {
  plan: Plan;
  /** Recorded in the ledger: the package's plan checksum, or this run's plan's. */
  planChecksum: string;
  commit: string | null;
  variables: Map<string, ProjectModel['variables']>;
  decisions: Map<number, ConflictDecision>;
  conflicts: Map<number, StepConflict>;
  /** What refuses the run (a dry run reports them all). */
  problems: DbeeError[];
  smoke: SmokePlan | null;
  /** Schemas the live state's read found missing: the conflict check asks nothing about their objects. */
  missingSchemas: ReadonlySet<string>;
  /** What the ledger records for each planned project before this run (the dry run's smoke baselines read it). */
  deployed: ReadonlyMap<string, DeployedState>;
  /** The ledger on the working session. */
  ledger?: Ledger;
  /** The schema policies' exceptions the change was judged with: recorded in the deployment's row. */
  policyExceptions?: ReadonlyMap<string, PolicyException[]>;
}

/**
 * The options checked against each other, the environment, the ticket, the target and its package, the promotion
 * gate, and the models parsed. Null: a package that does not deploy here (`packageRunsHere` said why).
 */
async function deployInputs(
  ctx: OperationContext,
  options: DeployOptions,
  report: DeployReport,
  inFlight: InFlightReader,
): Promise<DeployInputs | null> {
  const { workspace } = ctx;
  const valid = validate(options);
  const environment = workspace.environment(options.env, ctx.env);
  report.environment = environment.name;
  const target = workspace.project(options.project);
  const all = workspace.withDependencies(target.name);
  const pkg = options.package ? readPackage(workspace.commandLinePath(options.package)) : null;
  if (pkg && options.prune) {
    throw new DbeeError('--prune plans drops from the sources and the ledger; a package deploys the plan it froze', {
      code: 'OPTIONS_INVALID',
      hint: 'deploy from the sources with --prune, or freeze the drops in a package with `dbee plan --diff --out` (a diff plans them)',
    });
  }
  if (options.testRollback && (!options.dryRun || options.verify === false)) {
    throw new DbeeError("--test-rollback tests the rollback on the dry run's scratch copy: give it with --dry-run", {
      code: 'OPTIONS_INVALID',
      hint: 'dbee deploy <project> --dry-run --test-rollback (without --no-verify); see docs/rollback-readiness.md',
    });
  }
  const withDeps = !pkg && (options.withDependencies ?? !ctx.fromNx);
  const planned = pkg ? pkg.plan.projects : withDeps ? all.map((p) => p.name) : [target.name];
  report.planned = planned;
  if (pkg && options.safe) {
    throw new DbeeError('--safe applies when a plan is made: a package is deployed as it was planned', {
      code: 'OPTIONS_INVALID',
      hint: 'make the package with dbee plan --safe (or deploy.safeRewrites: true), or deploy without --package',
    });
  }
  if (pkg && !packageRunsHere(ctx, pkg, target.name)) return null;
  if (pkg && !pkg.plan.projects.includes(target.name)) {
    throw new DbeeError(`package ${pkg.path} is for ${pkg.plan.projects.join(', ')}, not ${target.name}`, {
      code: 'PACKAGE_MISMATCH',
    });
  }
  const sourceCommitLater = pkg ? null : sourceCommit(ctx);
  const engine = engineFor(ctx, environment, all);
  const models = await loadModels(ctx, all, environment, engine, { exportsFor: planned });
  const owners = schemaOwners(ctx, environment);
  const selection = readSelection(options, (p) => workspace.commandLinePath(p));
  if (selection && pkg)
    throw new DbeeError('--objects selects from the plan of the sources; a package deploys the plan it froze', {
      code: 'OPTIONS_INVALID',
      hint: 'build a package of the selection with `dbee plan --objects ... --out <folder>` and deploy that',
    });
  if (selection) checkSelection(selection, models, planned, schemasElsewhere(ctx, environment, planned));
  const settings = workspace.settings(target, environment).deploy;
  const settingsOf = (project: string) => workspace.settings(workspace.project(project), environment).deploy;
  const scope: TransactionScope = settings.transaction ?? 'object';
  report.transaction = scope;
  const now = options.now ?? new Date();
  return {
    options,
    valid,
    environment,
    session: { engine, environment, waitMs: valid.waitForLockMs, deploy: settings, owner: lockOwner() },
    target,
    pkg,
    planned,
    engine,
    models,
    owners,
    settings,
    settingsOf,
    scope,
    now,
    sourceCommitLater,
    selection,
    inFlight,
  };
}

/**
 * Under the lock, a deployment still marked running belongs to a process that died: a real run marks it interrupted
 * (a dry run says so), and settles the steps it ran outside a transaction against the catalog before planning. An Nx
 * batch holds the lock from its first task to its last: once per environment is enough (batchShared), as for the
 * ledger's state.
 */
async function recoverInterrupted(
  ctx: OperationContext,
  input: DeployInputs,
  session: DeploymentSession,
  ledger: Ledger,
  report: DeployReport,
): Promise<void> {
  const { options, engine, environment } = input;
  const { reporter } = ctx;
  const owner = session.owner;
  await batchShared(ctx, `recover\0${environment.name}\0${options.dryRun ? 'dry' : 'run'}`, async () => {
    if (options.dryRun) {
      const running = await ledger.deployments.runningDeployments();
      // A reader holds no lock (`dbee check`): what is running may be a live deployment.
      if (running.length)
        reporter.warn(
          input.session.reader
            ? `deployment${running.length > 1 ? 's' : ''} ${running.map((d) => '#' + d).join(', ')} ${running.length > 1 ? 'are' : 'is'} running or did not finish: the check reads the target as it is now`
            : `deployment${running.length > 1 ? 's' : ''} ${running.map((d) => '#' + d).join(', ')} did not finish (the process ended); a real run marks ${running.length > 1 ? 'them' : 'it'} interrupted and resumes`,
        );
    } else {
      report.interrupted = await ledger.deployments.markInterrupted(
        `a deployment by ${owner.user}@${owner.host}, pid ${owner.pid}`,
      );
      if (report.interrupted.length) {
        reporter.warn(
          `deployment${report.interrupted.length > 1 ? 's' : ''} ${report.interrupted.map((d) => '#' + d).join(', ')} did not finish (the process ended): marked interrupted; its applied steps stay, the rest is planned again`,
        );
      }
    }
    await reconcileStarted({ engine, conn: session.conn, ledger, reporter, dryRun: options.dryRun ?? false });
  });
}

/**
 * The plan of this run: the package's steps not yet applied, or the sources' plan (on a fleet, one per live state,
 * a target in a state already planned taking a copy: context/fleet-plans.ts) with the drops `--prune` decides. Refused
 * when its base fingerprint no longer matches the database.
 */
async function planDeployment(
  ctx: OperationContext,
  input: DeployInputs,
  session: DeploymentSession,
  ledger: Ledger,
  report: DeployReport,
  drift: DriftFound,
): Promise<DeployRun> {
  const { conn } = session;
  const { options, engine, environment, models, planned, pkg } = input;
  const deployed = await deployedStates(ctx, ledger, environment, planned);
  const commit = pkg ? pkg.plan.sourceCommit : await input.sourceCommitLater;
  report.source.commit = commit;
  const variables = new Map(models.map((m) => [m.project.name, m.variables]));
  const build = () =>
    planSources(
      ctx,
      { engine, models, planned, schemaOwners: input.owners, deployed, sourceCommit: commit },
      environment,
      conn,
      backupStamp(input.now),
      // The live schema of a project planned by a diff is read on both sessions (`DiffRole.introspect`).
      // A project whose schemas are as its last deployment recorded them: its diff reads what changed (diffing/narrow.ts).
      {
        safe: options.safe,
        side: sideSession(ctx, session),
        narrow: async (project) => (await drift.state(project)) === 'no',
      },
    );
  const state =
    ctx.plans && !pkg ? await liveState(engine, conn, { models, planned, deployed, sourceCommit: commit }) : null;
  const whole = pkg
    ? await packagePlan({ pkg, ledger, conn, engine, environment, deployed, variables, models })
    : ctx.plans && state
      ? await ctx.plans.plan(environment.name, state.key, build)
      : await build();
  if (ctx.plans && !state) ctx.plans.record(environment.name, pkg ? 'package' : 'built');
  if (!pkg) await pruneRemoved(ctx, input, conn, whole, deployed);
  // --objects: the plan stage's filter (operations/selection.ts); the rest of the pipeline sees only its plan.
  const plan = input.selection
    ? selectedPlan(ctx, { ...input, selection: input.selection }, whole, deployed, report)
    : whole;
  // A package is identified by the checksum of the whole plan it froze; sources by the plan of this run.
  const checksum = pkg ? pkg.manifest.planChecksum : planChecksum(plan);
  report.source.planChecksum = checksum;
  // A base fingerprint is taken by a diff of one project: its freshness is read over that project's scope.
  const based = models.filter((m) => plan.projects.includes(m.project.name));
  await assertFreshBase(
    engine,
    conn,
    plan,
    based.length === 1 ? projectScope(based[0]!.graph) : { schemas: based.flatMap((m) => m.graph.schemas) },
  );
  ctx.reporter.info(
    `dbee deploy ${planned.join(', ')} -> ${environment.name} (${conn.description})${options.dryRun ? ' [dry run]' : ''}`,
  );
  return {
    plan,
    planChecksum: checksum,
    commit,
    variables,
    decisions: new Map(),
    conflicts: new Map(),
    problems: [],
    smoke: null,
    missingSchemas: state?.missingSchemas ?? new Set(),
    deployed,
  };
}

/**
 * What changed outside dbee since each project's last recorded state (the drift stage's finding), decided by the
 * environment's conflict strategy (deploy-drift.ts): refusals join the run's problems, reconciling steps the plan (and
 * its checksum). A package deploys the plan it froze and cannot put a hand edit back: its drift refuses it (the
 * pipeline's refusal), except a gap package's, planned by a diff of this database as it is and bound to it by its base
 * fingerprint (`assertFreshBase`).
 */
async function driftIntoPlan(
  ctx: OperationContext,
  input: DeployInputs,
  conn: Connection,
  run: DeployRun,
  report: DeployReport,
  drift: DriftFound,
): Promise<void> {
  const { engine, environment, models, planned, pkg } = input;
  if (pkg) {
    if (pkg.plan.baseFingerprint) for (const p of planned) await drift.decide(p);
    return;
  }
  const before = run.plan.steps.length;
  run.problems.push(
    ...(await resolveDrift(ctx, {
      engine,
      conn,
      environment,
      models,
      planned,
      deployed: run.deployed,
      plan: run.plan,
      ifExists: input.valid.ifExists,
      drift,
      inFlight: input.inFlight,
    })),
  );
  if (run.plan.steps.length !== before) report.source.planChecksum = run.planChecksum = planChecksum(run.plan);
}

/**
 * Objects deployed but no longer in the sources (and not dropped by the plan already): `--prune` (or `deploy.prune`)
 * adds their drops to the plan; without it they stay, with a warning that says how to decide.
 */
async function pruneRemoved(
  ctx: OperationContext,
  input: DeployInputs,
  conn: Connection,
  plan: Plan,
  deployed: Awaited<ReturnType<typeof deployedStates>>,
): Promise<void> {
  const { options, engine, planned, settingsOf } = input;
  const { reporter } = ctx;
  const inPlan = new Set(plan.steps.map((st) => st.key));
  const pruned = new Map<string, { steps: PlanStep[]; removed: string[] }>();
  for (const m of input.models) {
    const state = deployed.get(m.project.name);
    // What the plan drops (a diff-planned project drops a removed table, its indexes going with it) is decided.
    // A table, view or routine renamed by a declaration (`renames:`) is not removed, nor what is on it: the diff
    // renames it (or did), a table's rows and all.
    const renames = m.project.config.renames ?? [];
    const renamedAway = (k: string) => {
      const on = k.split('@')[1];
      return renames.some((r) => namedByRename(r, k) || (r.kind !== 'column' && on === `${r.schema}.${r.from}`));
    };
    const removed = state
      ? removedObjects(m, state).filter(
          (k) => !inPlan.has(k) && !inPlan.has(`table:${k.split('@')[1] ?? ''}`) && !renamedAway(k),
        )
      : [];
    if (!removed.length) continue;
    const prune = planned.includes(m.project.name) && (options.prune || (settingsOf(m.project.name).prune ?? false));
    if (prune && !engine.diff) {
      throw new DbeeError(`--prune: the ${engine.name} engine cannot plan drops by a diff`, {
        code: 'ENGINE_CAPABILITY',
        hint: `drop ${removed.join(', ')} in a versioned migration`,
      });
    }
    if (prune) {
      const steps = await pruneSteps({
        engine,
        conn,
        project: m.project.name,
        scope: projectScope(m.graph),
        removed,
        online: settingsOf(m.project.name).online ?? false,
        owners: m.graph.manage?.owners,
      });
      pruned.set(m.project.name, { steps, removed });
      reporter.info(
        `${m.project.name}: --prune: ${removed.join(', ')} ${removed.length === 1 ? 'is' : 'are'} deployed but no longer in the sources: ${steps.length ? `the plan drops ${removed.length === 1 ? 'it' : 'them'} (${steps.length} step${steps.length === 1 ? '' : 's'})` : 'already gone from the database'}`,
      );
      continue;
    }
    reporter.warn(
      `${m.project.name}: ${removed.join(', ')} ${removed.length === 1 ? 'is' : 'are'} deployed but no longer in the sources; nothing drops ${removed.length === 1 ? 'it' : 'them'} without a decision (\`--prune\`, \`deploy.prune\`, or a migration that drops ${removed.length === 1 ? 'it' : 'them'}), so ${removed.length === 1 ? 'it stays' : 'they stay'}: restore the file to keep managing ${removed.length === 1 ? 'it' : 'them'}`,
    );
  }
  if (pruned.size) withPrunedSteps(plan, pruned, deployed);
}

/**
 * What to do with an object that exists in the database but not in the ledger (the conflict rules and `--if-exists`):
 * each decision, the resolutions the runner applies, and the steps skipped (`ifExists: skip`: the existing object
 * stays as it is; its step leaves the plan, not run, not recorded).
 */
async function decideDeployConflicts(
  ctx: OperationContext,
  input: DeployInputs,
  conn: Connection,
  run: DeployRun,
  report: DeployReport,
): Promise<void> {
  const { plan } = run;
  run.decisions = await decideConflicts(
    input.engine,
    conn,
    plan,
    new ConflictRules(ctx.workspace, input.environment, input.valid.ifExists),
    backupStamp(input.now),
    run.missingSchemas,
  );
  for (const [order, d] of run.decisions) if (d.resolution) run.conflicts.set(order, d.resolution);
  const skipped = new Set([...run.decisions].flatMap(([order, d]) => (d.skipped ? [order] : [])));
  if (!skipped.size) return;
  for (const step of plan.steps.filter((s) => skipped.has(s.order))) {
    report.skipped.push(step.key);
    ctx.reporter.info(
      `${step.key} exists in the database and the ledger does not know it: skipped (ifExists: skip, ${run.decisions.get(step.order)!.rule.source}); it stays as it is and is not recorded`,
    );
  }
  plan.steps = plan.steps.filter((s) => !skipped.has(s.order));
}

/**
 * What refuses the run, collected before anything runs: conflicts refused, step policies (hazards, `--allow-hazards`),
 * and dependencies this run does not apply that are missing. Under `gates.requireBackup` a dropped table is kept
 * aside first (no longer a data-loss step); the size of each rewrite is noted.
 */
async function collectProblems(
  ctx: OperationContext,
  input: DeployInputs,
  conn: Connection,
  run: DeployRun,
): Promise<void> {
  const { options, engine, environment, models, planned } = input;
  const { plan } = run;
  if (environment.gates.requireBackup)
    await keepDroppedTables(engine, conn, plan, run.conflicts, backupStamp(input.now));
  for (const note of await judgeSizeHazards(engine, conn, plan)) ctx.reporter.info(note);
  run.problems.push(
    ...[...run.decisions.values()].flatMap((d) => (d.problem ? [d.problem] : [])),
    ...(engine.catalog?.planProblems?.(plan, ctx.env) ?? []),
    ...checkStepPolicies(environment, plan, {
      conflicts: run.conflicts,
      settings: input.settingsOf,
      allowHazards: input.valid.allowHazards,
    }),
  );
  // Dependencies this run does not apply must be there (a package checks its own in packagePlan). Under Nx a dry
  // run is not asked: the real run deploys the dependencies first, their dry runs create nothing.
  if (input.pkg || !plan.steps.length || (options.dryRun && ctx.fromNx)) return;
  const missing = await missingDependencySchemas(
    engine,
    conn,
    models.filter((m) => !planned.includes(m.project.name)),
  );
  run.problems.unshift(
    ...missing.map((m) =>
      dependencyMissing(
        input.target.name,
        m,
        environment.name,
        `dbee deploy ${m.project} --env ${environment.name}, or without --no-deps`,
      ),
    ),
  );
}

/**
 * The dry run: the plan printed (a table it would drop with rows in it marked data-loss first), the gates asked, and
 * the plan applied to a scratch copy of the target's schemas (with the application's queries described before and
 * after it when a query source is named). Any problem refuses it (exit 1); nothing is applied.
 */
async function dryRun(
  ctx: OperationContext,
  input: DeployInputs,
  conn: Connection,
  run: DeployRun,
  report: DeployReport,
  hooks: DryRunHooks,
): Promise<void> {
  const { options, engine, environment, models } = input;
  const { plan, decisions, conflicts } = run;
  await markDataLoss(engine, conn, plan, conflicts);
  printPlan(ctx.stdout, plan, models, decisions);
  report.status = 'dry-run';
  report.steps = plan.steps.map((s) => ({
    order: s.order,
    project: s.project,
    key: s.key,
    action: s.action,
    status: 'not-run',
    durationMs: 0,
    ...conflictOf(decisions.get(s.order)),
  }));
  // The application's queries, described on the scratch copy before and after the plan (when a source is named).
  const compat =
    options.verify === false
      ? null
      : await (await compatChecks()).prepareCompat(ctx, {
          engine,
          conn,
          environment,
          models,
          target: input.target.name,
          queries: options.queries,
          newQueries: options.newQueries,
          // The dbt check (--dbt, check.dbt.manifest) rides on the same copy: it reads the nodes the plan touches.
          dbt: options.dbt,
          plan,
        });
  if (options.verify !== false && (plan.steps.length || compat))
    await verifyOnCopy(ctx, input, conn, run, compat, hooks);
}

/** The plan applied to a scratch copy of the target's schemas: a statement that would fail refuses the dry run. */
async function verifyOnCopy(
  ctx: OperationContext,
  input: DeployInputs,
  conn: Connection,
  run: DeployRun,
  compat: Awaited<ReturnType<typeof import('../../compat').prepareCompat>>,
  hooks: DryRunHooks,
): Promise<void> {
  const { engine, environment, models } = input;
  const { plan, decisions, problems } = run;
  const { reporter, workspace } = ctx;
  const verdict = await verifyPlan({
    engine,
    conn,
    environment,
    workspaceRoot: workspace.root,
    plan,
    conflicts: run.conflicts,
    variables: run.variables,
    schemas: [...new Set(models.flatMap((m) => m.graph.schemas))],
    shadow: workspace.config.shadow ?? 'embedded',
    probe: compat?.probe,
    // The views the real run's smoke baselines would compile after the plan are compiled on the copy too.
    baseline: [...(run.smoke?.checks.keys() ?? [])].flatMap((project) => {
      const model = models.find((m) => m.project.name === project);
      const deployed = [...(run.deployed.get(project)?.objects.keys() ?? [])];
      return model ? [{ model, deployed, timeoutMs: run.smoke!.timeoutMs.get(project)! }] : [];
    }),
    // A package carries its plan, not the sources it was made from: its copy is compared with nothing.
    ...(input.pkg
      ? {}
      : {
          converge: (copy: Connection) =>
            convergence(ctx, { engine, environment, models, conn: copy, steps: plan.steps }),
        }),
  });
  if (!verdict.verified) problems.push(notVerified(verdict.skipped ?? 'the copy could not be made'));
  else reporter.info(`dry run: ${verifiedLine(verdict, Boolean(input.pkg))}`);
  const diverged = verdict.convergence?.divergences ?? [];
  if (diverged.length) problems.push(notConverged(null, diverged, 'copy'));
  for (const w of verdict.warnings) reporter.info(`dry run: ${w}`);
  const views = verdict.views;
  if (views.compiled)
    reporter.info(
      `dry run: compiled ${views.compiled} view${views.compiled === 1 ? '' : 's'} the smoke baseline would compile, ${views.problems.length ? `${views.problems.length} failing` : 'all passed'}`,
    );
  problems.push(...views.problems);
  // A step already refused (a conflict) is not reported twice.
  const refused = new Set([...decisions].flatMap(([order, d]) => (d.problem ? [order] : [])));
  problems.push(
    ...verdict.problems.filter((p) => !refused.has(Number(p.details.step))).map((p) => afterRefused(p, refused)),
  );
  if (compat) (await compatChecks()).judgeCompat(ctx, compat, await compat.outcome(plan, verdict), hooks, problems);
  // The release's rollback, proven on a copy of its own once the plan applies (operations/rollback-test.ts).
  if ((input.options.testRollback || environment.verify?.rollback) && verdict.verified && !verdict.problems.length)
    await (await import('../../rollback-test')).proveRollback(
      ctx,
      { ...run, engine, conn, environment, models, scope: input.scope, owners: input.owners, pkg: input.pkg },
      problems,
    );
}

/**
 * What the dry run says of the copy: "verified" only when every step applied and the copy then equals the sources
 * on every object the plan touched (ARCHITECTURE invariant 14); otherwise what it did prove, and what it did not.
 */
export function verifiedLine(verdict: VerifyResult, fromPackage: boolean): string {
  const steps = `${verdict.ran} step${verdict.ran === 1 ? '' : 's'}`;
  if (verdict.problems.length)
    return `ran on a scratch copy of the target's schemas (${steps}, ${verdict.problems.length} failing)`;
  const c = verdict.convergence;
  const also = c?.notCompared.length
    ? `; not compared with the sources: ${c.notCompared.map((n) => `${n.project} (${n.reason})`).join(', ')}`
    : '';
  if (c?.divergences.length)
    return `not verified: applied on a scratch copy of the target's schemas (${steps}, all applied), but ${c.divergences.length} object${c.divergences.length === 1 ? '' : 's'} then differ${c.divergences.length === 1 ? 's' : ''} from the sources${also}`;
  if (c?.compared.length)
    return `verified on a scratch copy of the target's schemas (${steps}, all applied) and converged: ${c.compared.length === 1 ? 'the object they touch equals' : `the ${c.compared.length} objects they touch equal`} the sources${also}`;
  const why = fromPackage
    ? 'a package carries no sources to compare the copy with'
    : c?.notCompared.length
      ? also.slice(2)
      : 'no step touches an object a comparison reads';
  return `applied on a scratch copy of the target's schemas (${steps}, all applied), not verified against the sources: ${why}`;
}

/**
 * A step that fails on the copy after a refused one (a conflict): still a problem, said with the refusal, since the
 * copy ran it with the refused step's object as the target holds it (which is what `ifExists: skip` would leave).
 */
function afterRefused(problem: DbeeError, refused: ReadonlySet<number>): DbeeError {
  const step = Number(problem.details.step);
  const before = [...refused].filter((o) => o < step).sort((a, b) => a - b);
  if (!before.length) return problem;
  const which = `step${before.length === 1 ? '' : 's'} ${before.join(', ')}`;
  return DbeeError.carrying(problem.code, problem.message, {
    location: problem.location,
    hint: `it ran on the copy after ${which}, refused above, so against ${before.length === 1 ? "that step's object" : "those steps' objects"} as the target holds ${before.length === 1 ? 'it' : 'them'}: the real run would fail here too if ${before.length === 1 ? 'it stays' : 'they stay'} (ifExists: skip, exit 2); resolve the conflict and run the dry run again`,
    exitCode: problem.exitCode,
    details: problem.details,
    cause: problem.cause,
  });
}

/** What `apply` needs from the inputs, the session and the plan. */
function applyInput(
  ctx: OperationContext,
  input: DeployInputs,
  session: DeploymentSession,
  run: DeployRun,
  report: DeployReport,
  side: Connection | undefined,
): ApplyInput {
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
    ...(input.pkg ? {} : { converge: convergeOnTarget(ctx, input, session.conn) }),
  };
}

/**
 * The real run's convergence check (`RunOptions.converge`): the objects a project's steps touched, read from the
 * target by name, compared with its sources' model: the one planning left in the cache, or built now (in a shadow
 * database, as a diff builds it) when the project was planned from its files alone.
 */
function convergeOnTarget(ctx: OperationContext, input: DeployInputs, conn: Connection): RunOptions['converge'] {
  const { engine, environment, models } = input;
  return async (project, steps) =>
    convergedOnTarget(project, await convergence(ctx, { engine, environment, models, conn, steps }));
}

function failedProject(result: RunResult) {
  return result.projects.find((p) => p.status === 'failed' || p.status === 'rolled-back' || p.status === 'aborted');
}

/** The run's exit code, or the error of the project that failed (aborted: its own error, as it was raised). */
function failureOf(result: RunResult, report: DeployReport): ExitCodeValue {
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
async function keepDroppedTables(
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

function conflictOf(d: ConflictDecision | undefined) {
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
async function confirmFingerprints(
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
async function confirmObjectStates(
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

interface ApplyInput {
  /** The convergence check after each project's steps (`RunOptions.converge`); absent: not compared (a package). */
  converge?: RunOptions['converge'];
  /** Proves the deployment lock is still held; called before every step. */
  assertLock: () => Promise<void>;
  lockGuard: string | null;
  /** The lock's own session (`RunOptions.side`), when reads may overlap there (`sideSession`). */
  side: Connection | undefined;
  /** Recorded in the ledger: the package's plan checksum, or this run's plan's. */
  planChecksum: string;
  plan: Plan;
  conn: Connection;
  engine: Engine;
  environment: string;
  models: ProjectModel[];
  commit: string | null;
  settings: DeploySettings;
  packagePath: string | null;
  /** The change ticket (`--ticket`), recorded with each deployment. */
  ticket: string | null;
  conflicts: Map<number, StepConflict>;
  scope: TransactionScope;
  settingsOf: (project: string) => DeploySettings;
  continueOnError: boolean;
  schemas: Map<string, string[]>;
  /** Every schema of the environment's projects: where an automatic rollback looks for dependents of what it puts back. */
  everySchema: string[];
  /** Smoke checks to run after each project, or null when this environment does not run them after deploying. */
  smoke: SmokePlan | null;
}

async function apply(ctx: OperationContext, input: ApplyInput): Promise<RunResult> {
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
    fingerprintLater: ctx.sessions
      ? fingerprintsAtClose(ctx.sessions, input.engine, input.conn, input.environment)
      : undefined,
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
      const fingerprints = await diff
        .fingerprints(
          conn,
          list.map((p) => p.scope),
        )
        .catch(() => null);
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
                  fingerprint: fingerprints[i],
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

/** Moved to package/package-deploy.ts (with the checks a package passes first); kept here for importers. */
export { pendingSteps } from '../../../package/package-deploy';

/** The smoke checks of each project about to be deployed, loaded (and validated) before anything runs. */
interface SmokePlan {
  checks: Map<string, SmokeCheck[]>;
  timeoutMs: Map<string, number>;
  /** Filled as projects are verified: project → `n/m passed`. */
  outcomes: Map<string, string>;
  /** The environment's performance gate (`gates.smokeRegression`), or null. */
  regression?: SmokeRegression | null;
}

async function smokePlan(
  ctx: OperationContext,
  engine: Engine,
  models: ProjectModel[],
  plan: Plan,
  settingsOf: (project: string) => DeploySettings,
  environment: string,
  /** Whether the checks will run (a real run with steps): only then is an engine that cannot run them worth a line. */
  willRun: boolean,
): Promise<SmokePlan | null> {
  const projects = plan.projects.filter((p) => settingsOf(p).smokeAfterDeploy ?? true);
  if (!projects.length || !engine.smoke) {
    if (projects.length && willRun)
      ctx.reporter.info(`smoke checks after deploy: the ${engine.name} engine cannot run them yet (${environment})`);
    return null;
  }
  const checks = new Map<string, SmokeCheck[]>();
  const timeoutMs = new Map<string, number>();
  for (const p of projects) {
    const model = models.find((m) => m.project.name === p);
    if (!model) continue;
    checks.set(p, await loadSmokeChecks(model, engine, parseCacheOf(ctx, engine)));
    timeoutMs.set(p, smokeTimeoutMs(settingsOf(p)));
  }
  return { checks, timeoutMs, outcomes: new Map() };
}

/** Runs a project's smoke checks right after its steps applied, inside the run (so autoRollback can undo it). */
function verifier(ctx: OperationContext, input: ApplyInput, smoke: SmokePlan) {
  return async (project: string, deploymentId: number, deployed: readonly string[]) => {
    const checks = smoke.checks.get(project);
    const model = input.models.find((m) => m.project.name === project);
    if (!checks || !model) return { passed: true, summary: 'not run' };
    ctx.reporter.info(`${project}: smoke checks`);
    const run = await runSmokeChecks({
      engine: input.engine,
      conn: input.conn,
      model,
      environment: input.environment,
      deploymentId,
      deployed,
      checks,
      timeoutMs: smoke.timeoutMs.get(project),
      regression: smoke.regression,
      onResult: (r) => ctx.reporter.info(formatSmokeResult(r)),
      // The views this deployment can have broken are compiled (all of them where the engine cannot tell): what the
      // steps of this project, and of the projects deployed before it in this run, changed after they were defined.
      changes: changesUpTo(input.plan.steps, project),
    });
    await recordSmokeChecks(input.conn, input.engine.ledger, deploymentId, checks); // a rollback to this state runs them
    const failed = run.results.filter((r) => r.status !== 'passed');
    const summary = smokeSummary(run.results);
    smoke.outcomes.set(project, summary);
    if (run.passed) return { passed: true, summary };
    return {
      passed: false,
      summary,
      error: new DbeeError(
        `${project}: ${failed.length} smoke check${failed.length === 1 ? '' : 's'} failed after deploying: ${failed.map((r) => r.name).join(', ')}`,
        {
          code: 'SMOKE_FAILED',
          exitCode: ExitCode.smokeFailed,
          hint: 'the results are in the ledger (dbee.smoke_results); set deploy.autoRollback to undo such a deployment automatically',
        },
      ),
    };
  };
}

/**
 * Put the drops of `--prune` into `plan`, after each project's own steps, and record the project's object states after
 * the run (`plan.objectStates`): the pruned keys forgotten, also those with no step of their own (a table's index goes
 * with the table; an object already gone from the database).
 */
function withPrunedSteps(
  plan: Plan,
  pruned: ReadonlyMap<string, { steps: PlanStep[]; removed: string[] }>,
  deployed: ReadonlyMap<string, { objects: ReadonlyMap<string, string> }>,
): void {
  const steps: PlanStep[] = [];
  for (const project of plan.projects) {
    steps.push(...plan.steps.filter((s) => s.project === project));
    const p = pruned.get(project);
    if (!p) continue;
    steps.push(...p.steps);
    if (plan.objectStates?.[project]) continue; // a project planned by a diff records the sources' states already
    const states = new Map(deployed.get(project)?.objects ?? []);
    for (const key of p.removed) states.delete(key);
    for (const s of steps)
      if (s.project === project && s.action !== 'migrate') {
        if (s.action === 'drop') states.delete(s.key);
        else states.set(s.key, s.checksum);
      }
    plan.objectStates = { ...plan.objectStates, [project]: Object.fromEntries(states) };
  }
  steps.push(...plan.steps.filter((s) => !plan.projects.includes(s.project)));
  steps.forEach((s, i) => (s.order = i + 1));
  plan.steps = steps;
}
