import { readRecordable, summaryOf, type RecordedFingerprint } from '../runner/recorded-fingerprint';
import { settled } from '../background';
import type { ResolvedEnvironment } from '../config/resolve';
import type { Workspace } from '../config/workspace';
import type { Connection, Engine } from '../engine/engine';
import { DbeeAggregateError, DbeeError, ExitCode, outOfResources, type ExitCodeValue } from '../errors';
import type { Ledger, DeploymentRow, LedgerState } from '../ledger/ledger';
import { openLedger } from '../ledger/open-ledger';
import { parseKey } from '../model/object-key';
import { readPackage, type LoadedPackage } from '../package/package';
import { liveProjectPlan, type Plan } from '../plan/plan';
import { planChecksum } from '../plan/serialize';
import { graphProject, projectManagedScope } from '../planner/project-model';
import { discoverSources, type ProjectSources } from '../sources/discover';
import { formatDuration } from '../runner/reporter';
import { reconcileStarted } from '../runner/reconcile';
import { lockOwner, sessionSettings, sideSession, type DeploymentSession } from '../runner/session';
import {
  runCompensation,
  type CompensatingStep,
  type CompensationOptions,
  type CompensationResult,
} from '../runner/undo';
import { convergedOnTarget, convergence } from '../diffing/converge';
import { readSelection, selectsKey, type Selection } from '../planner/selection';
import {
  formatSmokeResult,
  loadSmokeChecks,
  recordedSmokeChecks,
  recordSmokeChecks,
  runSmokeChecks,
  smokeTimeoutMs,
  type AppliedChange,
  type SmokeCheck,
} from '../smoke';
import { checksNaming } from '../smoke/selection';
import { runOrigin } from '../context/origin';
import { engineFor, type OperationContext } from '../context/operation-context';
import { compensationRunResult, type CompensationRun } from '../pipeline/compensation';
import {
  projectFailure,
  runPipeline,
  type PipelineApplied,
  type PipelineCommand,
  type PipelineInputs,
  type PipelinePlan,
} from '../pipeline/pipeline';
import type { DeployReport } from '../runner/deploy-report';
import type { RollbackOptions } from '../options';
import { rollbackEvents } from '../notify/rollback-events';
import { parseCacheOf, schemaOwners } from '../context/load';
import { prepareUndo, stateBefore, undoable, type Prepared } from './rollback/undo-plan';
import { loadRef, prepareToRef, type LoadedRef } from './rollback/to-ref';
import { rollbackDriftRefusal } from './rollback/drift';
import { rolledBackTo } from './rollback/rolled-back-to';
import { printRollback } from './rollback/print';
import { verifyUndo, type ProjectUndo } from './rollback/verify-undo';
import { watchRollbackOnCopy, watchRollbackRewrites } from './rollback/rewrites';

export type { RollbackOptions };

/** What smoke checks need from a project: its smoke files, variables and search path. */
type SmokeModel = {
  project: { name: string };
  smoke: ProjectSources['smoke'];
  variables: Record<string, string>;
  graph: { searchPath: string[] };
};

/**
 * `rollback`: undo the last deployment of a project on an environment, or go back to a deployment, a migration
 * version, a package or the sources at a git ref. The reverses come from the ledger (recorded at deploy time:
 * planned reverses, captured previous definitions, backups to rename back), then the rollback scripts of
 * migrations in the sources or the package, then a DROP for a step that created its object; `--to-ref` diffs the
 * live database against the sources at the ref. Each undone deployment becomes a ledger deployment of kind
 * `rollback` (`reverts` = its id) whose steps record what ran and, as their reverse, the original statements, so a
 * rollback can itself be rolled back. A command of the pipeline (`rollbackCommand`): the ticket, the maintenance
 * windows and protection gate it (its dry run reports them), it is notified, reported (`--report`) and summarised as
 * a deployment is; smoke checks afterwards (exit 3 on failure).
 */
export async function rollback(ctx: OperationContext, options: RollbackOptions): Promise<ExitCodeValue> {
  return runPipeline(ctx, rollbackCommand(ctx, options), options.package ?? null);
}

/** What one project's rollback needs before it connects: where, what, and what it goes back to. */
interface RollbackInputs {
  environment: ResolvedEnvironment;
  target: ReturnType<Workspace['project']>;
  engine: Engine;
  settings: ReturnType<Workspace['settings']>['deploy'];
  variables: Record<string, string>;
  graph: ReturnType<typeof graphProject>;
  manage: ReturnType<typeof projectManagedScope>;
  emergency: boolean;
  /** `--force`: no drift check, whatever changed outside dbee accepted (what it reached is then said, not failed). */
  force: boolean;
  smokeWanted: boolean;
  sources: ProjectSources | null;
  ref: LoadedRef | null;
  smokeModel: SmokeModel | null;
  refChecks: SmokeCheck[] | null;
  pkg: LoadedPackage | null;
  /** `--objects`, `--objects-from`: only these objects are rolled back (`pickObjects`). */
  selection: Selection | null;
}

/** A rollback planned under the lock: what it undoes, the smoke checks after it, and the plan the gates judge. */
interface PlannedRollback {
  ledger: Ledger;
  history: DeploymentRow[];
  prepared: Prepared;
  allSteps: CompensatingStep[];
  /** The smoke checks of the state each undone deployment goes back to. */
  before: Map<number, StateChecks | null>;
  /** The smoke checks run after the whole rollback. */
  checks: SmokeCheck[];
  plan: Plan;
}

/** What the pipeline's stages read of a rollback: the projects it undoes, in that order. */
interface RollbackTargets extends PipelineInputs {
  /** The project named, or each project of a package of several that includes it (`--package`), newest first. */
  projects: RollbackInputs[];
}

/** A rollback planned under the lock: each project's undo in order (a project with nothing to undo is left out). */
interface RollbackRun extends PipelinePlan {
  undos: { input: RollbackInputs; planned: PlannedRollback }[];
  /** Who runs it, with which tool, from which commit: recorded on each deployment the rollback opens. */
  origin: Awaited<ReturnType<typeof runOrigin>>;
}

/**
 * `rollback` as a command of the pipeline (`runPipeline`): its inputs (`rollbackTargets`), its plan under the lock
 * (`planTargets`: every project's undo with the problems that refuse it, before anything runs), its dry run (the exact
 * SQL, `printRollback`), its apply (`applyTargets`). Nothing to undo settles as done. What stays its own: a rollback
 * deploys no package (no `gates.promotedFrom`, no rollback proof, no promotion record), `--emergency` bypasses the
 * maintenance windows, the countdown and the smoke checks, its refusals say "rollback", and it notifies `rolled-back`.
 */
function rollbackCommand(
  ctx: OperationContext,
  options: RollbackOptions,
): PipelineCommand<RollbackTargets, RollbackRun> {
  const emergency = options.emergency ?? false;
  return {
    command: 'rollback',
    phase: 'rollback',
    // An emergency rollback has no countdown; protection still asks (or needs --assume-yes).
    options: emergency ? { ...options, countdownFrom: 0 } : options,
    promotion: 'a rollback undoes deployments here and deploys no package: gates.promotedFrom does not apply',
    refuse: refuseRollback,
    notify: rollbackEvents,
    inputs: () => rollbackTargets(ctx, options),
    // `--to-ref` plans from a ref's sources (a diff of the live schemas); `--force` rolls back whatever changed.
    drift: ({ projects }) =>
      options.force
        ? { none: '--force' }
        : {
            subjects: projects
              .filter((p) => !p.ref)
              .map((p) => ({ project: p.target.name, scope: { schemas: p.graph.schemas, manage: p.manage } })),
            refusal: rollbackDriftRefusal,
          },
    plan: (input, session) => planTargets(ctx, options, input, session),
    verify: async (input, session, run, report) => {
      for (const u of run.undos) printRollback(ctx.stdout, u.planned.prepared);
      // The steps applied, in the real run's order, on a scratch copy (operations/rollback/verify-undo.ts), once
      // nothing else refuses the rollback: a refused step (no reverse, data lost, an object selected alone) would be
      // named twice.
      if (options.verify === false || !run.undos.length) return;
      if (run.problems.length)
        ctx.reporter.info(
          "dry run: not run on a scratch copy of the target's schemas: the rollback is refused (below)",
        );
      else run.problems.push(...(await verifyRollback(ctx, input, session, run, report)));
    },
    // Nothing to undo (said while planning): the report says `unchanged`, as a deployment's with nothing to deploy.
    settle: async (_input, _session, _run, report) => {
      report.status = 'unchanged';
      return ExitCode.ok;
    },
    apply: (_input, session, run, report) => applyTargets(ctx, session, run, report),
    failure: projectFailure,
  };
}

/**
 * Stage `inputs`: each project's (`rollbackInputs`). A package of several projects is undone whole: each project's
 * deployment of it, newest first (the reverse of the order it deployed them in), in one command.
 */
async function rollbackTargets(ctx: OperationContext, options: RollbackOptions): Promise<RollbackTargets> {
  const projects: RollbackInputs[] = [];
  for (const project of projectsToUndo(ctx, options)) projects.push(await rollbackInputs(ctx, { ...options, project }));
  const { environment, engine, settings, emergency } = projects[0]!;
  return {
    // An emergency rollback bypasses the maintenance windows (recorded in its summary: `rollbackSummary`).
    environment: emergency
      ? { ...environment, gates: { ...environment.gates, maintenanceWindows: undefined } }
      : environment,
    // A rollback deploys no package: no rollback proof is asked of it, no promotion record written.
    pkg: null,
    planned: projects.map((p) => p.target.name),
    session: { engine, environment, deploy: settings },
    projects,
  };
}

/** The project named, or every project of the package of several projects it names with `--package`, newest first. */
function projectsToUndo(ctx: OperationContext, options: RollbackOptions): string[] {
  const pkg =
    options.package && !options.to && !options.toRef
      ? readPackage(ctx.workspace.commandLinePath(options.package))
      : null;
  if (!pkg || pkg.plan.projects.length < 2 || !pkg.plan.projects.includes(ctx.workspace.project(options.project).name))
    return [options.project];
  const projects = [...pkg.plan.projects].reverse();
  ctx.reporter.info(
    `package ${options.package} deployed ${pkg.plan.projects.join(', ')}: undoing ${projects.join(', ')}, in that order`,
  );
  return projects;
}

/**
 * Stage `plan`, under the lock: every project's undo (`planRollback`) before anything runs, so that one project's
 * refused undo refuses the whole rollback, and views put back by one project's undo are created by the same
 * statements when another's must create them again (`putBack`). In a package of several, a project it left unchanged
 * has nothing to undo.
 */
async function planTargets(
  ctx: OperationContext,
  options: RollbackOptions,
  input: RollbackTargets,
  session: DeploymentSession,
): Promise<RollbackRun> {
  const several = input.projects.length > 1;
  const putBack = new Map<string, readonly string[]>();
  const undos: RollbackRun['undos'] = [];
  let reached = 0;
  for (const project of input.projects) {
    try {
      const planned = await planRollback(ctx, { ...options, project: project.target.name }, project, session, putBack);
      reached++;
      if (planned) undos.push({ input: project, planned });
    } catch (e) {
      if (!several || !(e instanceof DbeeError) || e.code !== 'NOTHING_TO_ROLL_BACK') throw e;
      ctx.reporter.info(`${project.target.name}: the package changed nothing still applied here`);
    }
  }
  if (several && !reached) {
    throw new DbeeError(
      `no deployment on ${input.environment.name} applied package ${options.package} with steps still applied`,
      { code: 'NOTHING_TO_ROLL_BACK', hint: 'dbee status shows the deployments; roll back by deployment id with --to' },
    );
  }
  const first = input.projects[0]!;
  const steps = undos.flatMap((u) => u.planned.plan.steps).map((s, i) => ({ ...s, order: i + 1 }));
  const plan: Plan = {
    ...liveProjectPlan(first.engine.name, first.target.name, steps),
    projects: undos.map((u) => u.input.target.name),
  };
  const origin = await runOrigin(ctx, lockOwner());
  return {
    plan,
    problems: undos.flatMap((u) => u.planned.prepared.problems),
    planChecksum: steps.length ? planChecksum(plan) : null,
    commit: origin.gitCommit,
    undos,
    origin,
  };
}

/** A rollback's dry run on a scratch copy of the target's schemas (`verifyUndo`): each step that fails there, refused. */
async function verifyRollback(
  ctx: OperationContext,
  input: RollbackTargets,
  session: DeploymentSession,
  run: RollbackRun,
  report: DeployReport,
): Promise<DbeeError[]> {
  const undos: ProjectUndo[] = [];
  for (const { input: p, planned } of run.undos)
    undos.push({
      project: p.target.name,
      graph: p.graph,
      manage: p.manage,
      variables: p.variables,
      prepared: planned.prepared,
      deployed: await planned.ledger.objects.objectKeys(p.target.name),
    });
  const target = { engine: input.session.engine, environment: input.environment, conn: session.conn };
  const rewrites = await watchRollbackOnCopy(
    ctx,
    target,
    run.undos.map((u, i) => ({
      project: u.input.target.name,
      ledger: u.planned.ledger,
      plan: u.planned.plan,
      deployed: undos[i]!.deployed,
    })),
  );
  const problems = await verifyUndo(ctx, target, undos, rewrites);
  rewrites?.tell(report);
  return problems;
}

/**
 * Stages `apply`, `ledger` and `smoke`: each project's undo in order (`applyRollback`), stopping at the first that
 * fails, as the compensating deployments the pipeline reports and notifies.
 */
async function applyTargets(
  ctx: OperationContext,
  session: DeploymentSession,
  run: RollbackRun,
  report: DeployReport,
): Promise<PipelineApplied> {
  const runs: CompensationRun[] = [];
  const smoke = new Map<string, string>();
  for (const { input, planned } of run.undos) {
    const identity = { ...run.origin, package: input.pkg?.path ?? null, ticket: report.ticket };
    const done = await applyRollback(ctx, input, session, planned, identity, report);
    runs.push(...done.runs);
    smoke.set(input.target.name, done.smoke);
    if (done.runs.some((r) => r.error)) break;
  }
  // One transaction for the whole undo unless one of them had to run one transaction per step (`undoOne`).
  if (runs.length) report.transaction = runs.every((r) => r.result.transaction === 'plan') ? 'plan' : 'object';
  return { result: compensationRunResult(runs), smoke };
}

/** Check the options and load what the rollback needs before it connects: a broken working tree still rolls back. */
async function rollbackInputs(ctx: OperationContext, options: RollbackOptions): Promise<RollbackInputs> {
  const { workspace, reporter } = ctx;
  const selectors = (['to', 'toRef', 'package'] as const).filter((k) => options[k] !== undefined && options[k] !== '');
  if (selectors.length > 1) {
    throw new DbeeError(`--${selectors.map(flag).join(' and --')} cannot be combined`, {
      code: 'OPTIONS_INVALID',
      hint: 'choose one target: --to <deployment|Vversion>, --to-ref <ref> or --package <folder>',
    });
  }
  const selection = readSelection(options, (p) => workspace.commandLinePath(p));
  if (selection && selectors.length) {
    throw new DbeeError(`--objects cannot be combined with --${selectors.map(flag).join(' and --')}`, {
      code: 'OPTIONS_INVALID',
      hint: '--objects rolls each selected object back from the newest deployment that changed it; roll a deployment back whole with --to',
    });
  }
  if (options.withDependents && !selection)
    throw new DbeeError('--with-dependents completes a selection: give --objects or --objects-from', {
      code: 'OPTIONS_INVALID',
      hint: 'without a selection a rollback undoes whole deployments, dependents included',
    });
  const environment = workspace.environment(options.env, ctx.env);
  const target = workspace.project(options.project);
  const engine = engineFor(ctx, environment, [target]);
  const settings = workspace.settings(target, environment).deploy;
  const { variables } = workspace.settings(target, environment);
  const graph = graphProject(target, variables, workspace.projects, engine.capabilities.keyNames);
  const emergency = options.emergency ?? false;
  const smokeWanted = !emergency && (settings.smokeAfterDeploy ?? true) && Boolean(engine.smoke);

  // The sources give smoke checks and migration rollback scripts (nothing is parsed unless needed); a rollback must
  // still work when they are broken. Walked once: the managed scope is read from the same files (a project of
  // thousands of files paid the walk and the reads twice). Sources that do not load refuse as the scope always did.
  let sources: ProjectSources | null = null;
  let unloaded: DbeeError | null = null;
  try {
    sources = discoverSources(workspace.root, target);
  } catch (e) {
    if (!(e instanceof DbeeError)) throw e;
    unloaded = e;
  }
  const manage = projectManagedScope(workspace.root, target, variables, sources ?? undefined);
  if (unloaded) {
    const e = unloaded;
    reporter.warn(
      `the sources of ${target.name} do not load (${e.message.split('\n')[0]}): only the ledger's reverses are used${smokeWanted ? ', and no smoke checks of its working tree run' : ''}`,
    );
  }
  const ref = options.toRef ? await loadRef(ctx, engine, environment, target.name, options.toRef) : null;
  const smokeModel: SmokeModel | null =
    ref?.model ?? (sources ? { project: { name: target.name }, smoke: sources.smoke, variables, graph } : null);
  // Invalid smoke files of the ref refuse the rollback before anything runs, as they refuse a deployment. The working
  // tree's are read (and checked) only when the ledger recorded no checks for the state rolled back to.
  const refChecks: SmokeCheck[] | null =
    ref && smokeWanted ? await loadSmokeChecks(ref.model, engine, parseCacheOf(ctx, engine)) : null;
  const pkg = options.package ? readPackage(workspace.commandLinePath(options.package)) : null;
  return {
    environment,
    target,
    engine,
    settings,
    variables,
    graph,
    manage,
    emergency,
    force: options.force ?? false,
    smokeWanted,
    sources,
    ref,
    smokeModel,
    refChecks,
    pkg,
    selection,
  };
}

/**
 * Under the lock: what the rollback undoes (the ledger's deployments, or the diff to a ref), why it would be refused,
 * and the smoke checks after it; `null` when there is nothing to roll back. A dry run plans exactly what the real run
 * does, and changes nothing (the real run upgrades the ledger and marks dead deployments interrupted first).
 */
async function planRollback(
  ctx: OperationContext,
  options: RollbackOptions,
  input: RollbackInputs,
  session: DeploymentSession,
  putBack: Map<string, readonly string[]>,
): Promise<PlannedRollback | null> {
  const { reporter } = ctx;
  const { engine, environment, target, graph, emergency, ref } = input;
  const { conn } = session;
  const force = options.force ?? false;
  const ledger = await openRollbackLedger(ctx, options, input, conn);
  reporter.info(
    `dbee rollback ${target.name} -> ${environment.name} (${conn.description})${options.dryRun ? ' [dry run]' : ''}${emergency ? ' [emergency]' : ''}`,
  );
  const history = await rollbackHistory(ctx, options, input, ledger);
  // Objects of other projects that stand on what the rollback drops are dropped and created again with it.
  const everySchema = [...new Set([...graph.schemas, ...schemaOwners(ctx, environment).keys()])];
  const prepared = ref
    ? await prepareToRef(engine, conn, ledger, target.name, graph.schemas, everySchema, ref, force)
    : await prepareUndo({
        ctx,
        engine,
        conn,
        ledger,
        project: target.name,
        environment: environment.name,
        history,
        options,
        sources: input.sources,
        searchPath: graph.searchPath,
        pkg: input.pkg,
        variables: input.variables,
        everySchema,
        putBack,
        selection: input.selection,
      });
  const allSteps = [...prepared.units.flatMap((u) => u.steps), ...(prepared.toRef?.steps ?? [])];
  if (prepared.units.length === 0 && !prepared.toRef) {
    reporter.info(`${target.name}: nothing to roll back on ${environment.name}`);
    return null;
  }
  const { before, checks } = await rollbackChecks(ctx, input, ledger, history, prepared);
  const plan: Plan = liveProjectPlan(
    engine.name,
    target.name,
    allSteps.map((s) => s.plan),
  );
  return { ledger, history, prepared, allSteps, before, checks, plan };
}

/**
 * The project's ledger on the target, refused when there is none. A real run upgrades it first (the rollback reads
 * what the newer ledger versions record; a dry run reads what is there), marks interrupted the deployments of
 * processes that died and settles the steps they left `started` (`reconcileStarted`).
 */
async function openRollbackLedger(
  ctx: OperationContext,
  options: RollbackOptions,
  input: RollbackInputs,
  conn: Connection,
): Promise<Ledger> {
  const { engine, environment, target } = input;
  const ledger = openLedger(conn, engine.ledger);
  if (!(await ledger.tables.exists())) {
    throw new DbeeError(
      `nothing to roll back: ${target.name} was never deployed to ${environment.name} (the database has no dbee ledger)`,
      { code: 'NOTHING_TO_ROLL_BACK' },
    );
  }
  if (options.dryRun) return ledger;
  await ledger.tables.ensure();
  const owner = lockOwner();
  const interrupted = await ledger.deployments.markInterrupted(
    `a rollback by ${owner.user}@${owner.host}, pid ${owner.pid}`,
  );
  if (interrupted.length)
    ctx.reporter.warn(
      `deployment${interrupted.length > 1 ? 's' : ''} ${interrupted.map((d) => '#' + d).join(', ')} did not finish (the process ended): marked interrupted`,
    );
  // Its steps left `started` outside a transaction are settled as a deployment settles them, before the undo is
  // planned: what one half made (an INVALID index, a partition-wise build's indexes) is dropped, one that completed is
  // recorded applied (and undone with its deployment).
  await reconcileStarted({ engine, conn, ledger, reporter: ctx.reporter, dryRun: false });
  return ledger;
}

/**
 * The project's deployments on the environment, newest first. Under the lock, a deployment still marked running
 * belongs to a process that died: a real run marks it interrupted (and finished) first, so a dry run plans as if it
 * had: the same deployment is undone by both, and drift is judged against the same deployment by both.
 */
async function rollbackHistory(
  ctx: OperationContext,
  options: RollbackOptions,
  input: RollbackInputs,
  ledger: Pick<Ledger, 'deployments'>,
): Promise<DeploymentRow[]> {
  const recorded = await ledger.deployments.list(input.target.name, input.environment.name, Number.MAX_SAFE_INTEGER);
  const stale = options.dryRun ? recorded.filter((d) => d.status === 'running') : [];
  if (stale.length)
    ctx.reporter.warn(
      `deployment${stale.length > 1 ? 's' : ''} ${stale.map((d) => '#' + d.id).join(', ')} did not finish (the process ended); a real run marks ${stale.length > 1 ? 'them' : 'it'} interrupted, and so does this plan`,
    );
  return options.dryRun
    ? recorded.map((d) => (d.status === 'running' ? { ...d, status: 'interrupted', finished_at: new Date() } : d))
    : recorded;
}

/**
 * The smoke checks of the state each undone deployment goes back to, and those to run after the whole rollback: of
 * the state it leaves (recorded in the ledger, or the sources' at `--to-ref`), else the working tree's.
 */
async function rollbackChecks(
  ctx: OperationContext,
  input: RollbackInputs,
  ledger: Ledger,
  history: DeploymentRow[],
  prepared: PlannedRollback['prepared'],
): Promise<{ before: Map<number, StateChecks | null>; checks: SmokeCheck[] }> {
  const { reporter } = ctx;
  const { engine, target, smokeWanted, refChecks, smokeModel } = input;
  const before = new Map<number, StateChecks | null>();
  for (const u of prepared.units) before.set(u.deployment.id, await checksBefore(ledger, history, u.deployment));
  const earliest = prepared.units[prepared.units.length - 1]?.deployment;
  const after: StateChecks | null = prepared.toRef
    ? refChecks && {
        checks: refChecks,
        from: `the smoke checks of the sources at ${prepared.toRef.ref} (${refChecks.length})`,
      }
    : (before.get(earliest!.id) ?? null);
  let checks: SmokeCheck[] = [];
  if (smokeWanted && after) {
    checks = after.checks;
    reporter.info(`${target.name}: after the rollback, ${after.from}`);
  } else if (smokeWanted && smokeModel) {
    checks = await loadSmokeChecks(smokeModel, engine, parseCacheOf(ctx, engine));
    reporter.info(
      `${target.name}: after the rollback, the working tree's smoke checks (${checks.length}): the ledger recorded none with the state rolled back to`,
    );
  }
  if (input.selection && checks.length) {
    // The other objects keep their state: only the checks that name the objects rolled back run (and the baseline).
    checks = checksNaming(
      checks,
      prepared.units.flatMap((u) => u.steps.map((s) => s.plan.objectKey)),
    );
    reporter.info(`${target.name}: of those, the ${checks.length} that name the objects rolled back`);
  }
  return { before, checks };
}

/**
 * Run one project's planned rollback: each undone deployment (or the diff to a ref) as a ledger deployment of kind
 * `rollback`, in one transaction where the engine allows it, then the smoke checks. Returns the compensating
 * deployments it ran (the one that failed, or the last when the smoke checks failed, with its error) and its smoke line.
 */
async function applyRollback(
  ctx: OperationContext,
  input: RollbackInputs,
  session: DeploymentSession,
  planned: PlannedRollback,
  identity: Omit<Parameters<typeof undoOne>[4]['deployment'], 'reverts'>,
  report: DeployReport,
): Promise<{ runs: CompensationRun[]; smoke: string }> {
  const { engine, target, settings, graph, environment } = input;
  const { conn } = session;
  const { ledger, plan } = planned;
  await ledger.tables.ensure();
  for (const sql of engine.session.setup(sessionSettings(settings))) await conn.execute(sql);
  const path = graph.searchPath.length ? engine.session.searchPath(graph.searchPath) : null;
  if (path) await conn.execute(path);
  const summary = rollbackSummary(input, planned.prepared);
  const rewrites = await watchRollbackRewrites(ctx, { engine, environment, conn, ledger, project: target.name, plan });
  const results = await undoAll(ctx, input, session, planned, identity, summary);
  const runs: CompensationRun[] = results.map((r) => ({ project: target.name, steps: r.steps, result: r.result }));
  const failed = results.findIndex((r) => r.result.status === 'failed');
  if (failed >= 0) {
    // Checks that do not run (a failed rollback) still leave the fingerprints recorded (drift).
    await laterFingerprints(ledger, results);
    runs[failed]!.error = rollbackFailed(input, planned, results[failed]!);
    return { runs, smoke: 'not run' };
  }
  const last = results.at(-1);
  if (rewrites && last) await rewrites(last.result.deploymentId, report);
  const smoke = await smokeAfterRollback(ctx, input, planned, conn, results).catch(async (e: unknown) => {
    await laterFingerprints(ledger, results);
    throw e;
  });
  if (smoke.error) runs[runs.length - 1]!.error = smoke.error;
  // Not converged is the rollback's failure (exit 2), before what its smoke checks found (exit 3).
  const reached = await sayReached(ctx, input, planned, results);
  if (reached) runs[runs.length - 1]!.error = reached;
  return { runs, smoke: smoke.line };
}

/**
 * What the rollback reached (rolled-back-to.ts), judged when its last undone deployment was undone whole: the
 * fingerprints it recorded (read as it closed, or on the lock's session while the checks ran) against the state the
 * deployment started from. Said, or, not converged, its deployment recorded failed and the error returned.
 */
async function sayReached(
  ctx: OperationContext,
  input: RollbackInputs,
  planned: PlannedRollback,
  results: UndoneDeployment[],
): Promise<DbeeError | null> {
  const last = results.at(-1);
  const unit = planned.prepared.units.find((u) => u.deployment.id === last?.reverts);
  if (!last || !unit?.whole || !input.engine.diff) return null;
  const read = last.fingerprint
    ? await last.fingerprint()
    : { fingerprint: last.result.fingerprint, positionFree: last.result.positionFreeFingerprint };
  const scope = { schemas: input.graph.schemas, manage: input.manage };
  const id = last.result.deploymentId;
  const reached = rolledBackTo(
    {
      diff: input.engine.diff,
      project: input.target.name,
      scope,
      environment: input.environment.name,
      forced: input.force,
    },
    planned.history,
    // The deployments undone before it (`--to`), newer than it.
    {
      ...unit,
      newer: planned.prepared.units.filter((u) => u.deployment.id > unit.deployment.id).map((u) => u.deployment),
    },
    { id, fingerprint: read?.fingerprint ?? null, positionFree: read?.positionFree ?? null },
  );
  if (reached.said) ctx.reporter.info(reached.said);
  if (!reached.error) return null;
  await planned.ledger.deployments.failAfterClose(id, reached.error.message, { notConverged: reached.objects });
  return reached.error;
}

/**
 * One undone deployment (`reverts`; null: the diff to a ref), the steps that undid it and their outcome; `fingerprint`:
 * its fingerprint being read on the lock's session while the smoke checks run (the last deployment of a rollback with
 * smoke checks), recorded with their result.
 */
type UndoneDeployment = {
  reverts: number | null;
  steps: CompensatingStep[];
  result: CompensationResult;
  fingerprint?: () => Promise<RecordedFingerprint | null>;
};

/** What every rollback deployment's summary records: an emergency's bypassed gates, forced steps, the smoke checks. */
function rollbackSummary(input: RollbackInputs, prepared: PlannedRollback['prepared']) {
  const { environment, emergency, smokeWanted } = input;
  const windows = environment.gates.maintenanceWindows?.length ?? 0;
  return {
    ...(emergency
      ? {
          emergency: true,
          gatesBypassed: ['countdown', ...(windows ? ['maintenanceWindows'] : []), 'smoke checks'],
        }
      : {}),
    ...(prepared.forced.length ? { forced: prepared.forced } : {}),
    ...(input.selection ? { selection: input.selection.entries.map((e) => e.glob) } : {}),
    smoke: smokeWanted ? 'pending' : emergency ? 'not run (emergency)' : 'not run',
  };
}

/**
 * Undo each deployment, newest first, each as a deployment of kind `rollback` (with the smoke checks of the state it
 * returns to recorded), stopping at the first that fails; then the diff to a ref (`--to-ref`), if any.
 */
async function undoAll(
  ctx: OperationContext,
  input: RollbackInputs,
  session: DeploymentSession,
  planned: PlannedRollback,
  identity: Omit<Parameters<typeof undoOne>[4]['deployment'], 'reverts'>,
  summary: Record<string, unknown>,
): Promise<UndoneDeployment[]> {
  const { reporter } = ctx;
  const { engine, target } = input;
  const { conn } = session;
  const { ledger, prepared } = planned;
  const results: UndoneDeployment[] = [];
  let left = prepared.units.length + (prepared.toRef ? 1 : 0);
  const run = async (
    reverts: number | null,
    steps: CompensatingStep[],
    finalState: LedgerState | null,
    extra: Record<string, unknown>,
    converge?: CompensationOptions['converge'],
  ) => {
    const read = --left === 0 ? laterFingerprint(input, session, sideSession(ctx, session)) : null;
    let fingerprint: (() => Promise<RecordedFingerprint | null>) | undefined;
    const result = await undoOne(ctx, input, session, planned, {
      deployment: { ...identity, reverts },
      summary: { ...summary, ...extra },
      steps,
      finalState,
      fingerprintLater: read ? () => void (fingerprint = read()) : undefined,
      ...(converge ? { converge } : {}),
    });
    results.push({ reverts, steps, result, ...(fingerprint ? { fingerprint } : {}) });
    return result;
  };
  for (const unit of prepared.units) {
    const d = unit.deployment;
    reporter.info(
      `${target.name}: undoing deployment #${d.id} (${d.kind}, ${d.status}, ${unit.steps.length} step${unit.steps.length === 1 ? '' : 's'})`,
    );
    const ledgerBefore = unit.whole ? await stateBefore(ledger, d.id) : null;
    const r = await run(d.id, unit.steps, ledgerBefore, {});
    if (r.status === 'failed') break;
    const state = planned.before.get(d.id);
    if (state) await recordSmokeChecks(conn, engine.ledger, r.deploymentId, state.checks);
    reporter.info(
      `${target.name}: deployment #${d.id} rolled back: ${r.applied} step${r.applied === 1 ? '' : 's'} undone${r.skipped ? `, ${r.skipped} left applied (--force)` : ''} in ${formatDuration(r.durationMs)} (deployment #${r.deploymentId})`,
    );
  }
  if (prepared.toRef) {
    const t = prepared.toRef;
    reporter.info(
      `${target.name}: going back to ${t.ref} (${t.commit.slice(0, 12)}): ${t.steps.length} step${t.steps.length === 1 ? '' : 's'}`,
    );
    const r = await run(null, t.steps, t.state, { toRef: { ref: t.ref, commit: t.commit } }, () =>
      refConverged(ctx, input, conn, t),
    );
    if (r.status === 'succeeded')
      reporter.info(
        `${target.name}: back to the sources at ${t.ref} in ${formatDuration(r.durationMs)} (deployment #${r.deploymentId})`,
      );
    if (r.status === 'succeeded' && input.refChecks)
      await recordSmokeChecks(conn, engine.ledger, r.deploymentId, input.refChecks);
  }
  return results;
}

/**
 * The last deployment of a rollback followed by smoke checks reads the fingerprint it records on the lock's session
 * (`LockHandle.session`), started once its steps have committed, while the checks run on the working session; it is
 * recorded with their result. Null: read when the deployment closes (no smoke checks, no such session: `sideSession`).
 */
function laterFingerprint(
  input: RollbackInputs,
  session: DeploymentSession,
  side: Connection | undefined,
): (() => () => Promise<RecordedFingerprint | null>) | null {
  const { engine, graph, manage } = input;
  const diff = engine.diff;
  if (!input.smokeWanted || !side || !diff || !graph.schemas.length) return null;
  const scope = { schemas: graph.schemas, manage };
  // Started on the lock's session; what it gives is taken once the checks are done. When the lock's session failed,
  // the working session reads it then (never between the checks' requests); none when both fail.
  return () => {
    const onSide = settled(readRecordable(diff, side, scope));
    return async () => {
      const read = await onSide;
      return 'value' in read ? read.value : readRecordable(diff, session.conn, scope).catch(() => null);
    };
  };
}

/** Record the fingerprints read for later (`laterFingerprint`) where the smoke checks' result does not carry them. */
async function laterFingerprints(ledger: Pick<Ledger, 'deployments'>, results: UndoneDeployment[]): Promise<void> {
  for (const r of results)
    if (r.fingerprint)
      await ledger.deployments.updateSummary(r.result.deploymentId, summaryOf(await r.fingerprint())).catch(() => {});
}

/** The error of a rollback that failed, with how to continue from where it stopped. */
function rollbackFailed(input: RollbackInputs, planned: PlannedRollback, failed: UndoneDeployment): DbeeError {
  const { target, environment } = input;
  const e = failed.result.error;
  const earlier = planned.history.find((d) => failed.reverts !== null && d.id < failed.reverts);
  return DbeeError.carrying(e?.code ?? 'ROLLBACK_FAILED', e?.message ?? 'rollback failed', {
    exitCode: ExitCode.applyFailed,
    hint:
      `the ledger records which steps were undone (deployment ${failed.result.deploymentId}); fix the cause and continue with ` +
      (failed.reverts !== null
        ? `dbee rollback ${target.name} --env ${environment.name} --to ${earlier?.id ?? 0}`
        : `the same command`),
    cause: e,
  });
}

/**
 * `rollback --to-ref`'s convergence check (diffing/converge.ts): what its steps touched, read from the target by name,
 * equals the sources at the ref (the desired model its diff went to), by the comparison `diff` makes.
 */
async function refConverged(
  ctx: OperationContext,
  input: RollbackInputs,
  conn: Connection,
  t: NonNullable<Prepared['toRef']>,
) {
  const against = `the sources at ${t.ref}`;
  const c = await convergence(ctx, {
    engine: input.engine,
    environment: input.environment,
    models: [],
    conn,
    steps: t.steps.map((s) => s.plan),
    against: { label: against, scope: t.scope, model: async () => t.desired, owners: t.owners },
  });
  return convergedOnTarget(input.target.name, c, against);
}

/** Recorded in the summary of a rollback that had to run one transaction per step. */
const ONE_PER_STEP = 'the whole rollback needed more than one transaction could hold';

/**
 * One ledger deployment of kind `rollback`: the steps undoing one deployment (or going to a ref), in one transaction
 * where the engine allows it (transactional DDL): a step that fails takes the steps before it back with it, so a
 * rollback is never left half-done. Too big for one transaction, it runs again one transaction per step.
 */
async function undoOne(
  ctx: OperationContext,
  input: RollbackInputs,
  session: DeploymentSession,
  planned: PlannedRollback,
  what: {
    deployment: Omit<
      Parameters<typeof runCompensation>[0]['deployment'],
      'project' | 'environment' | 'kind' | 'planChecksum' | 'stepsTotal'
    >;
    summary: Record<string, unknown>;
    steps: CompensatingStep[];
    finalState: LedgerState | null;
    fingerprintLater?: (deploymentId: number) => void;
    converge?: CompensationOptions['converge'];
  },
): Promise<CompensationResult> {
  const { engine, environment, target, graph, manage } = input;
  const { conn } = session;
  const { steps, deployment } = what;
  const attempt = (transaction: 'plan' | 'object') =>
    runCompensation({
      beforeStep: session.assertLock,
      lockGuard: session.lockGuard,
      engine,
      conn,
      ledger: planned.ledger,
      reporter: ctx.reporter,
      steps,
      transaction,
      scope: { schemas: graph.schemas, manage },
      finalState: what.finalState,
      summary: transaction === 'object' ? { ...what.summary, oneTransactionPerStep: ONE_PER_STEP } : what.summary,
      fingerprint: async () =>
        engine.diff && graph.schemas.length
          ? readRecordable(engine.diff, conn, { schemas: graph.schemas, manage })
          : null,
      fingerprintLater: what.fingerprintLater,
      ...(what.converge ? { converge: what.converge } : {}),
      deployment: {
        ...deployment,
        project: target.name,
        environment: environment.name,
        kind: 'rollback',
        planChecksum: planChecksum({ ...planned.plan, steps: steps.map((s) => s.plan) }),
        stepsTotal: steps.length,
      },
    });
  let result = await attempt('plan');
  if (result.status === 'failed' && result.applied === 0 && outOfResources(result.error)) {
    // Too big for one transaction (PostgreSQL: more locks than max_locks_per_transaction allows). Nothing changed,
    // as the ledger records (that attempt failed, its steps rolled back): run it again, one transaction per step.
    ctx.reporter.warn(
      `undoing ${deployment.reverts === null ? 'the diff' : `deployment #${deployment.reverts}`} needs more than one transaction can hold (${result.error!.message.split('\n')[0]}); nothing was changed. ` +
        'It runs again with one transaction per step: a step that fails then leaves the steps before it applied (raise max_locks_per_transaction to keep it in one piece)',
    );
    result = await attempt('object');
  }
  return result;
}

/**
 * `dbee rollback <project>` of the project's last deployment on `conn`, without the lock, the gates or the smoke
 * checks: the same compensating steps (`prepareUndo`: the ledger's reverses, the migrations' rollback scripts, the
 * DROP of what a step created), with the same refusals (`problems`: a step that cannot be undone, or not without losing
 * data), run by the same compensation (`runCompensation`, one transaction per step) and recorded in `ledger`. For the
 * rollback test of a dry run (`deploy --dry-run --test-rollback`, operations/rollback-test.ts), on the scratch copy
 * the release was deployed to. Null when the project has nothing to undo there.
 */
export async function rollbackLastDeployment(
  ctx: OperationContext,
  input: {
    engine: Engine;
    conn: Connection;
    ledger: Ledger;
    project: string;
    environment: string;
    sources: ProjectSources | null;
    searchPath: string[];
    variables: Record<string, string>;
    schemas: string[];
    everySchema: string[];
  },
): Promise<{ problems: DbeeError[]; steps: CompensatingStep[]; result: CompensationResult } | null> {
  const { engine, conn, ledger, project, environment } = input;
  const history = await ledger.deployments.list(project, environment, Number.MAX_SAFE_INTEGER);
  if (!history.some(undoable)) return null;
  const prepared = await prepareUndo({
    ...input,
    ctx,
    history,
    options: {
      project,
      env: environment,
      dryRun: false,
      assumeYes: true,
      force: false,
      emergency: false,
      withDependents: false,
    },
    pkg: null,
    putBack: new Map(),
  });
  const unit = prepared.units[0];
  if (!unit) return null;
  // The project's search path, as `dbee rollback` sets it (applyRollback): the definitions the ledger captured read
  // their objects through it (a view put back names its tables unqualified).
  const path = input.searchPath.length ? engine.session.searchPath(input.searchPath) : null;
  if (path) await conn.execute(path);
  const owner = lockOwner();
  const result = await runCompensation({
    engine,
    conn,
    ledger,
    reporter: ctx.reporter,
    steps: unit.steps,
    transaction: 'object',
    scope: { schemas: input.schemas },
    finalState: unit.whole ? await stateBefore(ledger, unit.deployment.id) : null,
    deployment: {
      project,
      environment,
      kind: 'rollback',
      reverts: unit.deployment.id,
      planChecksum: planChecksum(
        liveProjectPlan(
          engine.name,
          project,
          unit.steps.map((s) => s.plan),
        ),
      ),
      stepsTotal: unit.steps.length,
      package: null,
      gitCommit: null,
      toolVersion: ctx.toolVersion,
      osUser: owner.user,
      ciJob: null,
      host: owner.host,
    },
  });
  return { problems: prepared.problems, steps: unit.steps, result };
}

/** The smoke checks after a rollback that applied, recorded on each of its deployments; an error (exit 3) when one fails. */
async function smokeAfterRollback(
  ctx: OperationContext,
  input: RollbackInputs,
  planned: PlannedRollback,
  conn: Connection,
  results: UndoneDeployment[],
): Promise<{ line: string; error?: DbeeError }> {
  const { engine, environment, target, settings, variables, graph, smokeWanted, emergency } = input;
  if (!smokeWanted) return { line: emergency ? 'not run (emergency)' : 'not run' };
  const last = results[results.length - 1]!.result.deploymentId;
  ctx.reporter.info(`${target.name}: smoke checks`);
  // `--objects`: the baseline of the objects rolled back (those the ledger still records) and of the views over them.
  const selection = input.selection;
  const deployed = selection
    ? (await planned.ledger.objects.objectKeys(target.name)).filter((k) => selectsKey(selection, parseKey(k)))
    : undefined;
  const smoke = await runSmokeChecks({
    engine,
    conn,
    model: input.smokeModel ?? { project: { name: target.name }, smoke: [], variables, graph },
    environment: environment.name,
    deploymentId: last,
    checks: planned.checks,
    ...(deployed ? { deployed } : {}),
    timeoutMs: smokeTimeoutMs(settings),
    onResult: (r) => ctx.reporter.info(formatSmokeResult(r)),
    // The baseline compiles the views the rollback can have broken, not every view of the project, as after a deploy:
    // every step it ran is a change, so every view over what it put back is compiled (`rollbackChanges`).
    changes: rollbackChanges(planned.allSteps),
  });
  const bad = smoke.results.filter((r) => r.status === 'failed');
  const line = `${bad.length ? 'failed' : 'passed'} (${smoke.results.length - bad.length}/${smoke.results.length})`;
  for (const r of results)
    await planned.ledger.deployments.updateSummary(r.result.deploymentId, {
      smoke: line,
      ...(r.fingerprint ? summaryOf(await r.fingerprint()) : {}),
    });
  if (!bad.length) return { line };
  const error = new DbeeError(
    `${bad.length} smoke check${bad.length === 1 ? '' : 's'} of ${target.name} failed after the rollback: ${bad.map((r) => r.name).join(', ')}`,
    {
      code: 'SMOKE_FAILED',
      exitCode: ExitCode.smokeFailed,
      hint: 'the rollback is applied and recorded; fix the cause, or roll the rollback back with dbee rollback',
    },
  );
  return { line, error };
}

/**
 * The steps a rollback ran as the smoke baseline sees them (`viewsToCompile`). A view or routine put back by a CREATE
 * of its own (an undone replace or drop: `create`, `replace`) was analysed by it against what it stands on, as when a
 * deployment defines it: it is planned once, by itself or under a view over it, as after the deployment that defined it
 * (a chain of views put back is planned from its top, not once per view). Every other step (a column dropped again, a
 * created object dropped) changes its object without defining it: what stands on it is compiled.
 */
function rollbackChanges(steps: readonly CompensatingStep[]): AppliedChange[] {
  return steps
    .filter((s) => !s.skip)
    .map((s, i) => ({
      key: s.plan.objectKey,
      order: i + 1,
      action: DEFINED_BY_CREATE.has(s.plan.objectKey.kind) && REDEFINES.has(s.plan.action) ? s.plan.action : 'alter',
    }));
}

/** Kinds a compensating step puts back with a CREATE of the object itself (a view's fallback drops and creates it). */
const DEFINED_BY_CREATE = new Set(['view', 'materialized-view', 'function', 'procedure']);

const REDEFINES = new Set(['create', 'replace']);

/** Smoke checks of a state, and where they come from (for the output). */
interface StateChecks {
  checks: SmokeCheck[];
  from: string;
}

/**
 * The smoke checks of the state a project was in before deployment `d`: none of its own when it had nothing deployed
 * (the baseline still verifies what the ledger records), else those recorded with the newest earlier deployment that
 * left its state (`recordedSmokeChecks`); null when none recorded any (then the working tree's run).
 */
async function checksBefore(ledger: Ledger, history: DeploymentRow[], d: DeploymentRow): Promise<StateChecks | null> {
  // A dry run may read a ledger not yet upgraded, without ledger_before.
  const state = (await ledger.tables.version()) >= 2 ? await stateBefore(ledger, d.id) : null;
  const nothing = state
    ? Object.keys(state.objects).length === 0 && Object.keys(state.migrations).length === 0
    : !history.some((h) => h.id < d.id && h.kind === 'deploy' && h.status !== 'rolled-back' && h.steps_applied > 0);
  if (nothing)
    return {
      checks: [],
      from: `none of the project's smoke checks: the project is rolled back to nothing (the baseline verifies what the ledger still records)`,
    };
  const recorded = recordedSmokeChecks(history, d.id);
  return (
    recorded && {
      checks: recorded.checks,
      from: `the smoke checks recorded with deployment #${recorded.deploymentId} (${recorded.checks.length})`,
    }
  );
}

function flag(k: 'to' | 'toRef' | 'package'): string {
  return k === 'toRef' ? 'to-ref' : k;
}

/** A rollback refused for `problems` (`PipelineCommand.refuse`), saying whether anything was changed. */
function refuseRollback(problems: DbeeError[], dryRun: boolean): never {
  const what = dryRun ? 'the rollback would be refused' : 'nothing was changed';
  if (problems.length === 1) {
    const p = problems[0]!;
    throw DbeeError.carrying(p.code, `${p.message}; ${what}`, { hint: p.hint, details: p.details });
  }
  throw new DbeeAggregateError(`${problems.length} problems stop the rollback; ${what}`, problems);
}
