import { readRecordable, stillRecorded, summaryOf, type RecordedFingerprint } from '../diffing/recorded-fingerprint';
import { renderMode, type RenderMode } from '../plan/render-mode';
import { execFileSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { settled, type Settled } from '../background';
import type { SchemaScope } from '../schema/managed-scope';
import type { ResolvedEnvironment } from '../config/resolve';
import { Workspace } from '../config/workspace';
import { planChanges } from '../diffing/diff-plan';
import { desiredModel } from '../diffing/desired';
import { materializeRef } from '../diffing/git-ref';
import type { SchemaModel } from '../schema/model';
import { requireRole, type Connection, type DiffRole, type Engine } from '../engine/engine';
import { DbeeAggregateError, DbeeError, ExitCode, outOfResources, type ExitCodeValue } from '../errors';
import {
  type Ledger,
  deploymentSummary,
  type DeploymentRow,
  type LedgerState,
  type LedgerStep,
} from '../ledger/ledger';
import { openLedger } from '../ledger/open-ledger';
import { parseKey, type ObjectKey } from '../model/object-key';
import { readPackage, type LoadedPackage } from '../package/package';
import { liveProjectPlan, type Hazard, type Plan, type PlanStep, type StepAction } from '../plan/plan';
import { planChecksum } from '../plan/serialize';
import { planFromSources } from '../planner/planner';
import { graphProject, projectManagedScope, type ProjectModel } from '../planner/project-model';
import { discoverSources, type ProjectSources } from '../sources/discover';
import { formatDuration } from '../runner/reporter';
import { lockOwner, sessionSettings, sideSession, withSession, type DeploymentSession } from '../runner/session';
import {
  inverseAction,
  runCompensation,
  viewFallback,
  type CompensatingStep,
  type CompensationResult,
} from '../runner/undo';
import { dependentsOf, planRecreate, withSchemas } from '../runner/recreate-dependents';
import { readSelection, refuseUnmatched, selectsKey, type Selection } from '../planner/selection';
import { InPlaceViews } from '../runner/view-columns';
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
import { checksumStatements } from '../sources/checksum';
import { checksNaming } from '../smoke/selection';
import { expandPlaceholders } from '../sources/placeholders';
import { packagedStep } from '../package/package-keys';
import { runOrigin } from '../context/origin';
import { engineFor, type OperationContext } from '../context/operation-context';
import { gateCompensation } from '../pipeline/compensation';
import { loadModels, schemaOwners } from '../context/load';
import type { RollbackOptions } from '../options';
import { checkTicket } from '../promotion/ticket';
import { notifyRollback, notifyRollbackStarted } from '../notify/rollback-events';

export type { RollbackOptions };

/** What smoke checks need from a project: its smoke files, variables and search path. */
type SmokeModel = {
  project: { name: string };
  smoke: ProjectSources['smoke'];
  variables: Record<string, string>;
  graph: { searchPath: string[] };
};

/** One deployment to undo, with the steps to undo (newest first) as compensating steps. */
interface Unit {
  deployment: DeploymentRow;
  steps: CompensatingStep[];
  /** Every applied step of the deployment is undone: its whole ledger state before it is restored afterwards. */
  whole: boolean;
}

/** A rollback ready to run: what it undoes (or the diff to a ref), and why it would be refused. */
interface Prepared {
  units: Unit[];
  /** `--to-ref`: the diff's steps, the ledger state of the ref's sources, and the ref. */
  toRef?: { steps: CompensatingStep[]; state: LedgerState; ref: string; commit: string };
  problems: DbeeError[];
  /** What `--force` accepted, recorded in the ledger. */
  forced: string[];
}

const UNDOABLE_KINDS = new Set(['deploy', 'rollback']);

/**
 * `rollback`: undo the last deployment of a project on an environment, or go back to a deployment, a migration
 * version, a package or the sources at a git ref. The reverses come from the ledger (recorded at deploy time:
 * planned reverses, captured previous definitions, backups to rename back), then the rollback scripts of
 * migrations in the sources or the package, then a DROP for a step that created its object; `--to-ref` diffs the
 * live database against the sources at the ref. Each undone deployment becomes a ledger deployment of kind
 * `rollback` (`reverts` = its id) whose steps record what ran and, as their reverse, the original statements, so a
 * rollback can itself be rolled back. Under the lock, after the gates; smoke checks afterwards (exit 3 on failure).
 */
export async function rollback(ctx: OperationContext, options: RollbackOptions): Promise<ExitCodeValue> {
  const pkg =
    options.package && !options.to && !options.toRef
      ? readPackage(ctx.workspace.commandLinePath(options.package))
      : null;
  if (!pkg || pkg.plan.projects.length < 2 || !pkg.plan.projects.includes(ctx.workspace.project(options.project).name))
    return rollbackProject(ctx, options);
  // A package of several projects is undone whole: each project's deployment of it, newest first (the reverse of the
  // order it deployed them in), in one command; a project it left unchanged has nothing to undo.
  const projects = [...pkg.plan.projects].reverse();
  ctx.reporter.info(
    `package ${options.package} deployed ${pkg.plan.projects.join(', ')}: undoing ${projects.join(', ')}, in that order`,
  );
  if (!options.dryRun) {
    // Refused before anything runs when one project's undo would be refused: each is planned first, quietly.
    const quiet: OperationContext = {
      ...ctx,
      stdout: new Writable({ write: (_c, _e, done) => done() }),
      reporter: { info: () => {}, warn: () => {}, step: () => {} },
    };
    const planned = new Map<string, readonly string[]>();
    for (const project of projects) {
      try {
        await rollbackProject(quiet, { ...options, project, dryRun: true }, planned);
      } catch (e) {
        if (!(e instanceof DbeeError) || e.code !== 'NOTHING_TO_ROLL_BACK') throw e;
      }
    }
  }
  let undone = 0;
  // Views put back by one project's undo are created by the same statements when another's must create them again,
  // in the dry run (planned before anything ran) as in the real run.
  const putBack = new Map<string, readonly string[]>();
  for (const project of projects) {
    let code: ExitCodeValue;
    try {
      code = await rollbackProject(ctx, { ...options, project }, putBack);
    } catch (e) {
      if (e instanceof DbeeError && e.code === 'NOTHING_TO_ROLL_BACK') {
        ctx.reporter.info(`${project}: the package changed nothing still applied here`);
        continue;
      }
      throw e;
    }
    undone++;
    if (code !== ExitCode.ok) return code;
  }
  if (!undone) {
    throw new DbeeError(
      `no deployment on ${options.env ?? ctx.workspace.config.defaultEnvironment} applied package ${options.package} with steps still applied`,
      {
        code: 'NOTHING_TO_ROLL_BACK',
        hint: 'dbee status shows the deployments; roll back by deployment id with --to',
      },
    );
  }
  return ExitCode.ok;
}

/** What one project's rollback needs before it connects: where, what, and what it goes back to. */
interface RollbackInputs {
  environment: ResolvedEnvironment;
  ticket: string | null;
  target: ReturnType<Workspace['project']>;
  engine: Engine;
  settings: ReturnType<Workspace['settings']>['deploy'];
  variables: Record<string, string>;
  graph: ReturnType<typeof graphProject>;
  manage: ReturnType<typeof projectManagedScope>;
  emergency: boolean;
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

/** `rollback` of one project (see `rollback`): inputs, then under the lock plan, gates, apply, checks. */
async function rollbackProject(
  ctx: OperationContext,
  options: RollbackOptions,
  putBack = new Map<string, readonly string[]>(),
): Promise<ExitCodeValue> {
  const input = await rollbackInputs(ctx, options);
  const { engine, environment, settings, emergency } = input;
  return withSession(
    { engine, environment, workspaceRoot: ctx.workspace.root, reporter: ctx.reporter, deploy: settings },
    async (session) => {
      const planned = await planRollback(ctx, options, input, session, putBack);
      if (!planned) return ExitCode.ok;
      const { prepared } = planned;
      if (options.dryRun) printRollback(ctx.stdout, prepared);
      // The pipeline's gates on the plan: the same problems for the dry run (reported) and the real run (refused).
      await gateCompensation(ctx, environment, planned.plan, prepared.problems, {
        dryRun: options.dryRun ?? false,
        assumeYes: options.assumeYes ?? false,
        now: options.now,
        emergency,
        refuse,
      });
      if (options.dryRun) {
        ctx.reporter.info('dry run: nothing was changed');
        return ExitCode.ok;
      }
      return applyRollback(ctx, input, session, planned);
    },
  );
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
  const environment = workspace.environment(options.env, ctx.env);
  const ticket = checkTicket(environment, options.ticket, 'rollback');
  const target = workspace.project(options.project);
  const engine = engineFor(ctx, environment, [target]);
  const settings = workspace.settings(target, environment).deploy;
  const { variables } = workspace.settings(target, environment);
  const graph = graphProject(target, variables, workspace.projects);
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
  const refChecks: SmokeCheck[] | null = ref && smokeWanted ? await loadSmokeChecks(ref.model, engine) : null;
  const pkg = options.package ? readPackage(workspace.commandLinePath(options.package)) : null;
  return {
    environment,
    ticket,
    target,
    engine,
    settings,
    variables,
    graph,
    manage,
    emergency,
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
  const { engine, environment, target, graph, manage, emergency, ref } = input;
  const { conn } = session;
  const force = options.force ?? false;
  const driftScope = { schemas: graph.schemas, manage };
  // The drift check reads on the lock's session while this one reads the ledger and plans: the catalog version
  // (`stillRecorded`), or without one the live fingerprint.
  const side = !ref && !force && graph.schemas.length ? sideSession(ctx, session) : undefined;
  const diff = engine.diff;
  const live = side && diff ? earlyDriftRead(diff, side, driftScope) : null;
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
  if (!ref && !force) {
    const drift = await driftProblem(engine, conn, history, driftScope, target.name, live);
    if (drift) prepared.problems.push(drift);
  }
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
 * what the newer ledger versions record; a dry run reads what is there) and marks interrupted the deployments of
 * processes that died.
 */
async function openRollbackLedger(
  ctx: OperationContext,
  options: RollbackOptions,
  input: RollbackInputs,
  conn: Connection,
): Promise<Ledger> {
  const { engine, environment, target } = input;
  const ledger = openLedger(conn, engine.ledger);
  if (!(await ledger.exists())) {
    throw new DbeeError(
      `nothing to roll back: ${target.name} was never deployed to ${environment.name} (the database has no dbee ledger)`,
      { code: 'NOTHING_TO_ROLL_BACK' },
    );
  }
  if (options.dryRun) return ledger;
  await ledger.ensure();
  const owner = lockOwner();
  const interrupted = await ledger.markInterrupted(`a rollback by ${owner.user}@${owner.host}, pid ${owner.pid}`);
  if (interrupted.length)
    ctx.reporter.warn(
      `deployment${interrupted.length > 1 ? 's' : ''} ${interrupted.map((d) => '#' + d).join(', ')} did not finish (the process ended): marked interrupted`,
    );
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
  ledger: Ledger,
): Promise<DeploymentRow[]> {
  const recorded = await ledger.deployments(input.target.name, input.environment.name, Number.MAX_SAFE_INTEGER);
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
    checks = await loadSmokeChecks(smokeModel, engine);
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
 * Run a planned rollback: each undone deployment (or the diff to a ref) as a ledger deployment of kind `rollback`,
 * in one transaction where the engine allows it, then the smoke checks, the notification and the summary.
 */
async function applyRollback(
  ctx: OperationContext,
  input: RollbackInputs,
  session: DeploymentSession,
  planned: PlannedRollback,
): Promise<ExitCodeValue> {
  const { engine, environment, target, settings, graph, ticket } = input;
  const { conn } = session;
  const { ledger } = planned;
  await ledger.ensure();
  for (const sql of engine.session.setup(sessionSettings(settings))) await conn.execute(sql);
  const path = graph.searchPath.length ? engine.session.searchPath(graph.searchPath) : null;
  if (path) await conn.execute(path);

  const owner = lockOwner();
  const origin = await runOrigin(ctx, owner);
  const commit = origin.gitCommit;
  const identity = { package: input.pkg?.path ?? null, ...origin, ticket };
  const summary = rollbackSummary(input, planned.prepared);
  const who = { osUser: owner.user, host: owner.host, ciJob: identity.ciJob };
  const notStarted = await notifyRollbackStarted(ctx, {
    project: target.name,
    environment: environment.name,
    database: conn.description,
    package: identity.package,
    commit,
    ticket,
    who,
    steps: planned.allSteps.map((s) => s.plan),
  });
  const t0 = Date.now();
  const results = await undoAll(ctx, input, session, planned, identity, summary);
  const failed = results.find((r) => r.result.status === 'failed');
  // Checks that do not run (a failed rollback) or could not run still leave the fingerprints recorded (drift).
  const smoke = failed
    ? (await laterFingerprints(planned.ledger, results), { line: summary.smoke, code: ExitCode.ok })
    : await smokeAfterRollback(ctx, input, planned, conn, results).catch(async (e: unknown) => {
        await laterFingerprints(planned.ledger, results);
        throw e;
      });
  await notifyRollback(
    ctx,
    ledger,
    {
      project: target.name,
      environment: environment.name,
      database: conn.description,
      package: identity.package,
      commit,
      ticket,
      who,
      steps: planned.allSteps.map((s) => s.plan),
      results: results.map((r) => r.result),
      smoke: smoke.line,
      exitCode: failed ? ExitCode.applyFailed : smoke.code,
    },
    notStarted,
  );
  printSummary(ctx.stdout, {
    environment: `${environment.name} (${conn.description})`,
    results,
    durationMs: Date.now() - t0,
    smoke: smoke.line,
    status: failed ? 'failed' : 'succeeded',
    exitCode: failed ? ExitCode.applyFailed : smoke.code,
    emergency: input.emergency,
  });
  if (failed) throw rollbackFailed(input, planned, failed);
  return smoke.code;
}

/** One undone deployment (null: the diff to a ref) and the compensating deployment that undid it. */
/**
 * One undone deployment's outcome; `fingerprint`: its fingerprint being read on the lock's session while the smoke
 * checks run (the last deployment of a rollback with smoke checks), recorded with their result.
 */
type UndoneDeployment = {
  reverts: number | null;
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
  ) => {
    const read = --left === 0 ? laterFingerprint(input, session, sideSession(ctx, session)) : null;
    let fingerprint: (() => Promise<RecordedFingerprint | null>) | undefined;
    const result = await undoOne(ctx, input, session, planned, {
      deployment: { ...identity, reverts },
      summary: { ...summary, ...extra },
      steps,
      finalState,
      fingerprintLater: read ? () => void (fingerprint = read()) : undefined,
    });
    results.push({ reverts, result, ...(fingerprint ? { fingerprint } : {}) });
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
    const r = await run(null, t.steps, t.state, { toRef: { ref: t.ref, commit: t.commit } });
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
async function laterFingerprints(ledger: Ledger, results: UndoneDeployment[]): Promise<void> {
  for (const r of results)
    if (r.fingerprint)
      await ledger.updateSummary(r.result.deploymentId, summaryOf(await r.fingerprint())).catch(() => {});
}

/** The error of a rollback that failed, with how to continue from where it stopped. */
function rollbackFailed(input: RollbackInputs, planned: PlannedRollback, failed: UndoneDeployment): DbeeError {
  const { target, environment } = input;
  const e = failed.result.error;
  const earlier = planned.history.find((d) => failed.reverts !== null && d.id < failed.reverts);
  return new DbeeError(e?.message ?? 'rollback failed', {
    code: e?.code ?? 'ROLLBACK_FAILED',
    exitCode: ExitCode.applyFailed,
    hint:
      `the ledger records which steps were undone (deployment ${failed.result.deploymentId}); fix the cause and continue with ` +
      (failed.reverts !== null
        ? `dbee rollback ${target.name} --env ${environment.name} --to ${earlier?.id ?? 0}`
        : `the same command`),
    cause: e,
  });
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
  const history = await ledger.deployments(project, environment, Number.MAX_SAFE_INTEGER);
  if (!history.some(undoable)) return null;
  const prepared = await prepareUndo({
    ...input,
    ctx,
    history,
    options: { project, env: environment, dryRun: false, assumeYes: true, force: false, emergency: false },
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

/** The smoke checks after a rollback that applied, recorded on each of its deployments; exit 3 when one fails. */
async function smokeAfterRollback(
  ctx: OperationContext,
  input: RollbackInputs,
  planned: PlannedRollback,
  conn: Connection,
  results: UndoneDeployment[],
): Promise<{ line: string; code: ExitCodeValue }> {
  const { engine, environment, target, settings, variables, graph, smokeWanted, emergency } = input;
  if (!smokeWanted) return { line: emergency ? 'not run (emergency)' : 'not run', code: ExitCode.ok };
  const last = results[results.length - 1]!.result.deploymentId;
  ctx.reporter.info(`${target.name}: smoke checks`);
  // `--objects`: the baseline of the objects rolled back (those the ledger still records) and of the views over them.
  const selection = input.selection;
  const deployed = selection
    ? (await planned.ledger.objectKeys(target.name)).filter((k) => selectsKey(selection, parseKey(k)))
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
    await planned.ledger.updateSummary(r.result.deploymentId, {
      smoke: line,
      ...(r.fingerprint ? summaryOf(await r.fingerprint()) : {}),
    });
  if (!bad.length) return { line, code: ExitCode.ok };
  ctx.stderr.write(
    `error: ${bad.length} smoke check${bad.length === 1 ? '' : 's'} of ${target.name} failed after the rollback: ${bad.map((r) => r.name).join(', ')}\n  hint: the rollback is applied and recorded; fix the cause, or roll the rollback back with dbee rollback\n`,
  );
  return { line, code: ExitCode.smokeFailed };
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

const statesBefore = new WeakMap<Ledger, Map<number, Promise<LedgerState | null>>>();

/**
 * `ledger.ledgerBefore(id)`, read once per rollback (per `Ledger`): the state a deployment started from never changes
 * once recorded, and it holds every object of the project (planning the undo of a deployment read it three times).
 */
function stateBefore(ledger: Ledger, deploymentId: number): Promise<LedgerState | null> {
  let states = statesBefore.get(ledger);
  if (!states) statesBefore.set(ledger, (states = new Map()));
  let state = states.get(deploymentId);
  if (!state) states.set(deploymentId, (state = ledger.ledgerBefore(deploymentId)));
  return state;
}

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
  const state = (await ledger.version()) >= 2 ? await stateBefore(ledger, d.id) : null;
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

interface UndoInput {
  ctx: OperationContext;
  engine: Engine;
  /** The target's session: its catalog is read to plan what must move with a view put back, and whether a table it would drop holds rows. */
  conn: Connection;
  ledger: Ledger;
  project: string;
  environment: string;
  history: DeploymentRow[];
  options: RollbackOptions;
  sources: ProjectSources | null;
  searchPath: string[];
  pkg: LoadedPackage | null;
  variables: Record<string, string>;
  /** Every schema of the workspace's projects: where objects standing on a view put back are looked for. */
  everySchema: string[];
  /** Views an earlier compensating step puts back (`formatKey` → its statements), filled as steps are planned. */
  putBack: Map<string, readonly string[]>;
  /** The live catalog of `everySchema`, read once for every view this plan puts back (`planRecreate`). */
  catalog?: { live?: Promise<SchemaModel> };
  /** Which views this plan can put back in place, asked of the server once per view (`InPlaceViews`). */
  views?: InPlaceViews;
  /** `--objects`: only the selected objects' steps are undone, each from the newest deployment that changed it. */
  selection?: Selection | null;
}

/** Where a `--to` goes back to: everything after step `order` of deployment `id` is undone. */
interface Cut {
  id: number;
  order: number;
}

/** Pick the deployments (and steps) to undo, newest first, and turn their steps into compensating steps. */
async function prepareUndo(input: UndoInput): Promise<Prepared> {
  const problems: DbeeError[] = [];
  const forced: string[] = [];
  const picked = await pickDeployments(input, problems, forced);
  const units: Unit[] = [];
  try {
    for (const { deployment, keep } of picked) {
      const unit = await undoUnit(input, deployment, keep, problems, forced);
      if (unit) units.push(unit);
    }
  } finally {
    await input.views?.close();
  }
  return { units, problems, forced };
}

/** A deployment to undo, and which of its applied steps. */
interface Picked {
  deployment: DeploymentRow;
  keep: (s: LedgerStep) => boolean;
}

/** A deployment that can be undone: of a kind that applies steps, finished, with steps applied. */
function undoable(d: DeploymentRow): boolean {
  return UNDOABLE_KINDS.has(d.kind) && d.status !== 'running' && d.steps_applied > 0;
}

/**
 * The deployments to undo, newest first: those that applied `--package`, everything after `--to` (a deployment id or
 * a migration version), else the last deployment with steps still applied.
 */
async function pickDeployments(input: UndoInput, problems: DbeeError[], forced: string[]): Promise<Picked[]> {
  const { ledger, history, options, project, environment } = input;
  if (input.selection) return pickObjects(input, input.selection, problems);
  if (options.package) return pickPackage(input, problems, forced);
  if (options.to !== undefined && options.to !== '') {
    const cut = await cutOf(ledger, history, project, environment, String(options.to));
    const after = (id: number, order: number | null) =>
      id > cut.id || (id === cut.id && (order ?? Number.MAX_SAFE_INTEGER) > cut.order);
    const picked: Picked[] = [];
    for (const d of history) {
      if (d.id < cut.id || !undoable(d)) continue;
      // The deployment of the cut keeps its steps up to the cut, whatever its kind.
      if (d.id === cut.id) picked.push({ deployment: d, keep: (s) => s.order > cut.order });
      else if (d.kind === 'deploy' || d.reverts === null) picked.push({ deployment: d, keep: () => true });
      // A rollback step is undone when the step it undid belongs before the cut (it must come back); when that step
      // is after the cut, it is already where the cut wants it.
      else picked.push({ deployment: d, keep: (s) => !after(d.reverts!, s.revertsStep) });
    }
    return picked;
  }
  const last = history.find(undoable);
  if (!last) {
    throw new DbeeError(
      `nothing to roll back: no deployment of ${project} on ${environment} has steps that are still applied`,
      { code: 'NOTHING_TO_ROLL_BACK', hint: 'dbee status shows the deployments' },
    );
  }
  return [{ deployment: last, keep: () => true }];
}

/**
 * `--objects`: each selected object goes back to its state before the newest deployment with a step of it still
 * applied, whichever deployment that was; only the selected objects' steps of it are undone, the objects deployed with
 * them keep their new state. An entry that matches no object with a step still applied is refused (nothing runs). An
 * object cannot be rolled back alone (a problem, naming what to select too) when an object of the project that changed
 * in that deployment or a later one stands on it (the live catalog's dependencies: it was made for the new version),
 * or when the undo drops it and anything stands on it.
 */
async function pickObjects(input: UndoInput, selection: Selection, problems: DbeeError[]): Promise<Picked[]> {
  const { ledger, history, project, environment, engine, conn } = input;
  /** Object key → the newest deployment with a step of it still applied, and that step's action. */
  const newest = new Map<string, { id: number; action: string }>();
  for (const d of history) {
    if (!undoable(d)) continue;
    for (const s of await ledger.steps(d.id))
      if (s.status === 'applied' && !newest.has(s.objectKey)) newest.set(s.objectKey, { id: d.id, action: s.action });
  }
  const recorded = [...newest.keys()]
    .filter((k) => !k.startsWith('migration:'))
    .map((text) => ({ text, key: safeParseKey(text) }));
  refuseUnmatched(
    selection,
    recorded.map((r) => r.key),
    `that a deployment of ${project} on ${environment} changed with a step still applied (dbee log shows them)`,
  );
  const chosen = new Set(recorded.filter((r) => selectsKey(selection, r.key)).map((r) => r.text));
  const diff = engine.diff;
  if (diff) {
    // The catalog read once, for this and for the views a step puts back (`planRecreate`, the same scope).
    input.catalog ??= {};
    input.catalog.live ??= diff.introspect(conn, { schemas: input.everySchema });
    const live = await input.catalog.live;
    for (const text of chosen) {
      const since = newest.get(text)!;
      const drops = planAction(inverseAction(since.action)) === 'drop';
      const blockers = [...dependentsOf(live, safeParseKey(text))]
        .filter((k) => !chosen.has(k) && (drops || (newest.get(k)?.id ?? 0) >= since.id))
        .sort();
      if (!blockers.length) continue;
      const them = blockers.length === 1 ? 'it' : 'them';
      problems.push(
        new DbeeError(
          `${text} cannot be rolled back alone: ${blockers.join(', ')} ${blockers.length === 1 ? 'stands' : 'stand'} on it and ${drops ? 'would lose it (the undo drops it)' : `${blockers.length === 1 ? 'was' : 'were'} changed by deployment #${since.id} or a later one, for its new version`}`,
          {
            code: 'ROLLBACK_DEPENDENTS',
            hint: `select ${them} too (${blockers.map((k) => `--objects '${k.replace(/\(.*\)$/, '')}'`).join(' ')}), or roll back the whole deployment with --to`,
            details: { object: text, deployment: since.id, dependents: blockers },
          },
        ),
      );
    }
  }
  input.ctx.reporter.info(`rolling back only: ${[...chosen].sort().join(', ')}`);
  const byDeployment = new Map<number, Set<string>>();
  for (const text of chosen) {
    const id = newest.get(text)!.id;
    byDeployment.set(id, (byDeployment.get(id) ?? new Set()).add(text));
  }
  return history
    .filter((d) => byDeployment.has(d.id))
    .map((d) => ({ deployment: d, keep: (s) => byDeployment.get(d.id)!.has(s.objectKey) }));
}

/**
 * `--package`: the deployments that applied the package. Deployments after them still applied are a problem (undoing
 * the package under them may break them) unless `--force`.
 */
function pickPackage(input: UndoInput, problems: DbeeError[], forced: string[]): Picked[] {
  const { history, options, project, environment } = input;
  const checksum = input.pkg!.manifest.planChecksum;
  const applied = history.filter((d) => d.kind === 'deploy' && d.plan_checksum === checksum && undoable(d));
  if (!applied.length) {
    throw new DbeeError(
      `no deployment of ${project} on ${environment} applied package ${options.package} (plan ${checksum.slice(0, 19)}...) with steps still applied`,
      {
        code: 'NOTHING_TO_ROLL_BACK',
        hint: 'dbee status shows the deployments; roll back by deployment id with --to',
      },
    );
  }
  const first = applied[applied.length - 1]!.id;
  const later = history.filter((d) => d.id > first && !applied.includes(d) && undoable(d));
  if (later.length) {
    const what = `deployment${later.length > 1 ? 's' : ''} ${later.map((d) => '#' + d.id).join(', ')} came after the package's and ${later.length > 1 ? 'are' : 'is'} still applied`;
    if (options.force) forced.push(`${what}; the package was undone under ${later.length > 1 ? 'them' : 'it'}`);
    else
      problems.push(
        new DbeeError(
          `${what}: undoing the package under ${later.length > 1 ? 'them' : 'it'} may break ${later.length > 1 ? 'them' : 'it'}`,
          {
            code: 'ROLLBACK_NOT_LAST',
            hint: `roll back to before the package with --to ${history.find((d) => d.id < first)?.id ?? 0}, or pass --force`,
          },
        ),
      );
  }
  return applied.map((d) => ({ deployment: d, keep: () => true }));
}

/**
 * The compensating steps of one picked deployment, newest step first (null when none of its applied steps is
 * kept); a whole deployment also puts back what it dropped. A step that cannot be undone safely is a problem, or
 * with `--force` a line of the summary.
 */
async function undoUnit(
  input: UndoInput,
  deployment: DeploymentRow,
  keep: (s: LedgerStep) => boolean,
  problems: DbeeError[],
  forced: string[],
): Promise<Unit | null> {
  const { ledger, options } = input;
  const all = await ledger.steps(deployment.id);
  const applied = all.filter((s) => s.status === 'applied');
  const chosen = applied.filter(keep).reverse();
  if (!chosen.length) return null;
  const backups = await ledger.backups(deployment.id);
  const steps: CompensatingStep[] = [];
  for (const s of chosen) {
    const backup = backups.find((b) => b.object_key === s.objectKey && !b.dropped_at)?.backup_name ?? null;
    const c = await compensate(
      input,
      deployment,
      s,
      backups.some((b) => b.object_key === s.objectKey),
      steps.length + 1,
      backup,
    );
    if (c.problem) {
      if (options.force) forced.push(c.problem.message + ' (accepted with --force)');
      else problems.push(c.problem);
    }
    steps.push(c.step);
  }
  if (chosen.length === applied.length) {
    for (const p of await restoreVanished(input, deployment, all, steps)) {
      if (options.force) forced.push(p.message + ' (accepted with --force)');
      else problems.push(p);
    }
  }
  return { deployment, steps, whole: chosen.length === applied.length && !steps.some((s) => s.skip) };
}

/**
 * Objects the ledger recorded before deployment `d` that went away with it without a step of their own (the indexes
 * and triggers of a table it dropped) come back when all of `d` is undone: created again, right after their parent,
 * from the step that created them at the checksum the ledger recorded. `steps` (the unit's compensating steps) gets
 * them, renumbered; returns the problems of those that cannot come back (they are then left out, with --force).
 */
async function restoreVanished(
  input: UndoInput,
  d: DeploymentRow,
  all: LedgerStep[],
  steps: CompensatingStep[],
): Promise<DbeeError[]> {
  const { ledger, history, project, engine } = input;
  // A dry run may read a ledger not yet upgraded, without ledger_before.
  if ((await ledger.version()) < 2) return [];
  const before = await stateBefore(ledger, d.id);
  if (!before) return [];
  // The state right after `d`: what the next deployment found, or the ledger now when `d` is the last.
  const next = history.filter((h) => h.id > d.id).sort((a, b) => a.id - b.id)[0];
  const after = (next ? await stateBefore(ledger, next.id) : null) ?? (await ledger.state(project));
  const stepped = new Set(all.map((s) => s.objectKey));
  const problems: DbeeError[] = [];
  const vanished = Object.entries(before.objects)
    .filter(([key]) => !(key in after.objects) && !stepped.has(key))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [key, checksum] of vanished) {
    const objectKey = safeParseKey(key);
    const source = await ledger.stepThatApplied(project, key, checksum, d.id);
    const what = `${key} went away with deployment #${d.id} without a step of its own`;
    const step: CompensatingStep = {
      plan: {
        order: 0,
        project,
        key,
        objectKey,
        action: 'create',
        statements: source?.statements ?? [],
        reverse: [engine.catalog?.renderDrop(objectKey)].filter((x): x is string => Boolean(x)),
        transactional: source?.transactional ?? true,
        hazards: [],
        source: null,
        checksum,
      },
      ledgerAction: 'create',
    };
    if (!source || (source.action !== 'create' && source.action !== 'replace')) {
      step.skip = `${what}, and no step of an earlier deployment created it whole; it stays missing (--force)`;
      problems.push(
        new DbeeError(
          `${what}, and no step of an earlier deployment created it whole: the rollback cannot bring it back`,
          {
            code: 'ROLLBACK_IRREVERSIBLE',
            hint: 'create it by hand afterwards, or pass --force to undo everything else and leave it missing',
            details: { deployment: d.id, object: key },
          },
        ),
      );
    }
    // Right after the step that brings its parent back (a table's indexes and triggers), else at the end.
    const parent = objectKey.parent;
    const at = parent
      ? steps.findIndex(
          (s) =>
            s.plan.objectKey.kind !== 'index' &&
            `${s.plan.objectKey.schema}.${s.plan.objectKey.name}` === parent &&
            !s.plan.objectKey.parent,
        )
      : -1;
    if (at >= 0) steps.splice(at + 1, 0, step);
    else steps.push(step);
  }
  steps.forEach((s, i) => (s.plan.order = i + 1));
  return problems;
}

/** `--to 12` (a deployment of the project, or 0) or `--to V3` (the step that applied migration 3). */
async function cutOf(
  ledger: Ledger,
  history: DeploymentRow[],
  project: string,
  environment: string,
  to: string,
): Promise<Cut> {
  if (/^\d+$/.test(to)) {
    const id = Number(to);
    if (id !== 0 && !history.some((d) => d.id === id)) {
      throw new DbeeError(`--to ${to}: deployment ${to} is not a deployment of ${project} on ${environment}`, {
        code: 'OPTIONS_INVALID',
        hint: `its deployments: ${
          history
            .slice(0, 10)
            .map((d) => `#${d.id} ${d.kind} ${d.status}`)
            .join(', ') || 'none'
        }${history.length > 10 ? ', ...' : ''} (--to 0 undoes them all)`,
      });
    }
    return { id, order: Number.MAX_SAFE_INTEGER };
  }
  const m = /^[vV](\d+(?:[._]\d+)*)$/.exec(to);
  if (!m)
    throw new DbeeError(`--to ${to}: expected a deployment id (12) or a migration version (V3)`, {
      code: 'OPTIONS_INVALID',
    });
  const version = m[1]!.split(/[._]/).map(Number).join('.');
  const step = await ledger.appliedStep(project, environment, `migration:${project}/V${version}`);
  if (!step)
    throw new DbeeError(`--to ${to}: migration ${version} of ${project} is not applied on ${environment}`, {
      code: 'OPTIONS_INVALID',
      hint: 'dbee status shows what is deployed',
    });
  return { id: step.deploymentId, order: step.order };
}

/**
 * The step that undoes recorded step `s`, and why it cannot be undone when that is so. Its statements come from
 * the ledger's reverse, else the migration's rollback script (sources, then package), else a DROP of what the step
 * created. A step of a deployment that destroyed data (a data-loss hazard, or a statement that drops a table or
 * a column, or truncates) without a backup is undone only with `--force`: its structure comes back, its data not.
 */
async function compensate(
  input: UndoInput,
  d: DeploymentRow,
  s: LedgerStep,
  hasBackup: boolean,
  order: number,
  backup: string | null = null,
): Promise<{ step: CompensatingStep; problem?: DbeeError }> {
  const { engine, pkg, variables, project } = input;
  const expand = (sql: string) => expandPlaceholders(sql, variables, s.objectKey).expanded;
  const key: ObjectKey = s.objectKey.startsWith('migration:')
    ? { kind: 'migration', schema: '', name: s.objectKey.slice('migration:'.length) }
    : safeParseKey(s.objectKey);
  const packaged = pkg
    ? packagedStep(pkg.plan, s.objectKey, project, variables, engine.capabilities.keyNames)
    : undefined;
  const reverse = await reverseOf(input, d, s, key, packaged, expand);
  const what = `step ${s.order} (${s.action} ${s.objectKey}) of deployment #${d.id}`;
  const action = inverseAction(s.action);
  const plan: PlanStep = {
    order,
    project,
    key: s.objectKey,
    objectKey: key,
    action: planAction(action),
    statements: reverse ?? [],
    reverse: s.statements,
    transactional: s.transactional,
    hazards: reverse ? reverseHazards(reverse, d) : [],
    source: null,
    checksum: checksumStatements(reverse ?? []),
  };
  const step: CompensatingStep = { plan, ledgerAction: action, undoes: { step: s, deployment: d } };
  // A view whose replacement added columns cannot be replaced back by its old definition: it is dropped and created,
  // with what stands on it in any project dropped before and created after. Planned here, from what the server says of
  // both column lists, so that the dry run prints what the real run sends. Where the columns are the same it is
  // replaced back in place, and what stands on it is left alone (its grants, owner and comments with it); should the
  // server still refuse, the step drops and creates it with its dependents as above (`fallback`).
  const fallback = reverse ? viewFallback(engine, key, reverse) : null;
  input.views ??= new InPlaceViews(input.conn, engine, input.searchPath);
  if (fallback && reverse && (await input.views.replaces(key, reverse))) {
    step.fallback = fallback;
    input.putBack.set(s.objectKey, reverse);
  } else if (fallback && reverse) {
    plan.statements = await planRecreate(
      input.conn,
      engine,
      { schemas: input.everySchema },
      key,
      fallback,
      input.putBack,
      (input.catalog ??= {}),
    );
    input.putBack.set(s.objectKey, reverse);
  }
  if (reverse === null) {
    step.skip = `${what} has no reverse; it stays applied (--force)`;
    return {
      step,
      problem: new DbeeError(`${what} cannot be undone: the ledger records no reverse for it`, {
        code: 'ROLLBACK_IRREVERSIBLE',
        hint: 'write the reverse by hand, or pass --force to undo everything else and leave this step applied',
        details: { deployment: d.id, step: s.order, object: s.objectKey },
      }),
    };
  }
  const problem = await dataLossProblem(input, d, s, key, reverse, { hasBackup, backup, packaged, expand, what });
  return problem ? { step, problem } : { step };
}

/**
 * The statements that undo recorded step `s`: the ledger's reverse, else the migration's rollback script (sources,
 * then package), else a DROP of what the step created; null when none is known.
 */
async function reverseOf(
  input: UndoInput,
  d: DeploymentRow,
  s: LedgerStep,
  key: ObjectKey,
  packaged: PlanStep | undefined,
  expand: (sql: string) => string,
): Promise<string[] | null> {
  const { engine, sources, project } = input;
  const isMigration = s.objectKey.startsWith('migration:');
  let reverse = s.reverse;
  if (s.action === 'create' && s.previousChecksum !== null && s.previousDefinition === null) {
    // A package plans every object as a create (it cannot know the target), so a CREATE OR REPLACE of an object the
    // ledger already had records a DROP as its reverse. Undoing it must bring back the version it replaced instead:
    // the statements of the step that deployed that version.
    const before = await input.ledger.stepThatApplied(project, s.objectKey, s.previousChecksum, d.id);
    reverse = before ? before.statements : null;
  }
  if (reverse === null && isMigration && sources) {
    const m = sources.migrations.find((x) => `migration:${project}/V${x.versionParts.join('.')}` === s.objectKey);
    if (m) {
      const text = expand(m.rollback.text);
      reverse = (await engine.parser.parse(text, m.rollback.path, { searchPath: input.searchPath })).map(
        (st) => st.sql,
      );
    }
  }
  if (reverse === null && packaged?.reverse) reverse = packaged.reverse.map(expand);
  if (reverse === null && s.action === 'drop' && s.previousDefinition !== null && !isMigration) {
    // A dropped table (or sequence) has no reverse, as its rows cannot come back; its structure can, from the
    // definition captured before the drop. Undoing it still loses data: refused without --force (see `dataLoss`).
    reverse = [s.previousDefinition];
  }
  if (reverse === null && (s.action === 'create' || s.action === 'add-constraint') && s.previousDefinition === null) {
    const drop = engine.catalog?.renderDrop(key);
    if (drop) reverse = [drop];
  }
  return reverse;
}

/**
 * Why undoing step `s` of a deployment would lose data, or null: rows written since into a table the deployment
 * replaced (its old table renamed aside as `backup`), or a step that destroyed data (a data-loss hazard, or a
 * statement that drops a table or a column, or truncates) without a backup: its structure comes back, its data not.
 * Either is undone only with `--force`.
 */
async function dataLossProblem(
  input: UndoInput,
  d: DeploymentRow,
  s: LedgerStep,
  key: ObjectKey,
  reverse: string[],
  context: {
    hasBackup: boolean;
    backup: string | null;
    packaged: PlanStep | undefined;
    expand: (sql: string) => string;
    what: string;
  },
): Promise<DbeeError | null> {
  const { hasBackup, backup, packaged, expand, what } = context;
  const loss = d.kind === 'deploy' && !hasBackup ? dataLoss(s, packaged?.hazards ?? []) : null;
  const since =
    d.kind === 'deploy' && backup && key.kind === 'table' ? await rowsSince(input, s, key, reverse, backup, expand) : 0;
  if (since > 0) {
    return new DbeeError(
      `${what} cannot be undone without losing data: ${expand(s.objectKey)} holds ${since} row${since === 1 ? '' : 's'} more than the table the deployment renamed aside, ` +
        'and putting that table back drops them (rows written since the deployment)',
      {
        code: 'ROLLBACK_DATA_LOSS',
        hint: 'move the rows you need into the backup table first, then pass --force to accept dropping the new table',
        details: { deployment: d.id, step: s.order, object: s.objectKey, backup },
      },
    );
  }
  if (loss) {
    return new DbeeError(
      `${what} cannot be undone without losing data: it ${loss}, and no backup was kept; undoing it brings the structure back, not the data`,
      {
        code: 'ROLLBACK_DATA_LOSS',
        hint: 'restore the data from a database backup, or pass --force to accept the loss',
        details: { deployment: d.id, step: s.order, object: s.objectKey },
      },
    );
  }
  return null;
}

function safeParseKey(text: string): ObjectKey {
  try {
    return parseKey(text);
  } catch {
    return { kind: 'migration', schema: '', name: text };
  }
}

/** The plan action that shows a compensating step: undoing a create drops, undoing a drop creates. */
function planAction(ledgerAction: string): StepAction {
  switch (ledgerAction) {
    case 'undo-create':
    case 'undo-add-constraint':
    case 'drop':
      return 'drop';
    case 'undo-drop':
    case 'create':
      return 'create';
    case 'replace':
    case 'undo-replace':
      return 'replace';
    case 'migrate':
    case 'undo-migrate':
      return 'migrate';
    case 'enable':
    case 'disable':
      return 'alter';
    default:
      return 'restore';
  }
}

const COMMENTS = /^(\s*(--[^\n]*\n|\/\*[\s\S]*?\*\/))*\s*/;

/**
 * Rows a rollback would lose by dropping the table step `s` created to put back `backup`, the table the deployment
 * renamed aside (#39): the new table's rows, less the backup's when the step copied them over (`copyData`: an
 * `INSERT ... SELECT ... FROM <backup>` among its statements). Counted, so rows the copy brought are not taken for
 * new ones; a copied row changed in place since is not seen (the count stays). 0 when the reverse drops no table.
 */
async function rowsSince(
  input: UndoInput,
  s: LedgerStep,
  key: ObjectKey,
  reverse: string[] | null,
  backup: string,
  expand: (sql: string) => string,
): Promise<number> {
  const catalog = input.engine.catalog;
  const [schema, ...rest] = backup.split('.');
  // A reverse that drops the backup once it restored from it (a kept column: deploy.keepDroppedColumns) drops no rows.
  const dropsTable = (sql: string) =>
    /^DROP\s+TABLE\b/i.test(sql.replace(COMMENTS, '')) && !sql.includes(rest.join('.') || backup);
  if (!catalog || !reverse?.some(dropsTable)) return 0;
  const table: ObjectKey = { ...key, schema: key.schema && expand(key.schema), name: expand(key.name) };
  const backupKey: ObjectKey = rest.length
    ? { kind: 'table', schema: schema!, name: rest.join('.') }
    : { kind: 'table', schema: table.schema, name: backup };
  const copied = s.statements.some(
    (sql) =>
      /^INSERT\s+INTO\b/i.test(sql.replace(COMMENTS, '')) && sql.toUpperCase().includes(backupKey.name.toUpperCase()),
  );
  try {
    const live = await catalog.rowCount(input.conn, table);
    return live && copied ? live - (await catalog.rowCount(input.conn, backupKey)) : live;
  } catch {
    // The table or its backup is gone: the reverse itself fails and says so; nothing to count here.
    return 0;
  }
}

/** What a recorded step did to data that no statement can bring back, from its hazards and its statements. */
function dataLoss(s: LedgerStep, packaged: readonly Hazard[]): string | null {
  const hazard = [...s.hazards, ...packaged].find((h) => h.kind === 'data-loss');
  if (hazard) return hazard.message.replace(/^./, (c) => c.toLowerCase());
  for (const raw of s.statements) {
    const sql = raw.replace(COMMENTS, '');
    if (/^DROP\s+TABLE\b/i.test(sql)) return `drops a table (${firstLine(sql)})`;
    if (/^TRUNCATE\b/i.test(sql)) return `truncates a table (${firstLine(sql)})`;
    if (
      /^ALTER\s+TABLE\b[\s\S]*?\bDROP\s+(?:COLUMN\s+)?(?!\s)(?!CONSTRAINT\b|DEFAULT\b|NOT\s+NULL\b|IDENTITY\b|EXPRESSION\b)/i.test(
        sql,
      )
    )
      return `drops a column (${firstLine(sql)})`;
  }
  return null;
}

/** Hazards of the statements a rollback runs, for review: what they drop goes with the rows written since. */
function reverseHazards(statements: string[], d: DeploymentRow): Hazard[] {
  const out: Hazard[] = [];
  for (const raw of statements) {
    const sql = raw.replace(COMMENTS, '');
    if (
      /^DROP\s+TABLE\b/i.test(sql) ||
      /^ALTER\s+TABLE\b[\s\S]*?\bDROP\s+(?:COLUMN\s+)?(?!\s)(?!CONSTRAINT\b|DEFAULT\b|NOT\s+NULL\b|IDENTITY\b|EXPRESSION\b)/i.test(
        sql,
      )
    ) {
      out.push({
        kind: 'data-loss',
        message: `${firstLine(sql)}: the data written there since deployment #${d.id} is lost`,
      });
    }
  }
  return out;
}

function firstLine(sql: string): string {
  const line = sql.split('\n')[0]!.trim();
  return line.length > 100 ? line.slice(0, 97) + '...' : line;
}

/** What the drift check reads ahead on the lock's session: the catalog version when the engine has one, else the fingerprint. */
interface EarlyDriftRead {
  version?: Promise<Settled<string>>;
  fingerprint?: Promise<Settled<string>>;
}

function earlyDriftRead(diff: DiffRole, side: Connection, scope: SchemaScope): EarlyDriftRead {
  return diff.catalogVersion
    ? { version: settled(diff.catalogVersion(side)) }
    : { fingerprint: settled(diff.fingerprint(side, scope)) };
}

/** Refuse a rollback of a database whose schemas changed outside dbee since the last deployment recorded them. */
async function driftProblem(
  engine: Engine,
  conn: Connection,
  history: DeploymentRow[],
  scope: SchemaScope,
  project: string,
  early: EarlyDriftRead | null,
): Promise<DbeeError | null> {
  if (!engine.diff || !scope.schemas.length) return null;
  const last = history.find((d) => d.finished_at);
  const summary = last ? deploymentSummary(last) : null;
  const recorded = summary?.fingerprint;
  if (!last || !summary || !recorded) return null;
  // Nothing in the catalog changed since the fingerprint was recorded: it is the live one.
  if (await stillRecorded(engine, conn, summary, early?.version)) return null;
  // Read on the lock's session (`planRollback`), or here when there is none or it failed there.
  const ahead = early?.fingerprint ? await early.fingerprint : null;
  const live = ahead && !('error' in ahead) ? ahead.value : await engine.diff.fingerprint(conn, scope);
  if (live === recorded) return null;
  return new DbeeError(
    `the schemas of ${project} changed outside dbee since deployment #${last.id}: the recorded reverses may no longer apply`,
    {
      code: 'ROLLBACK_DRIFT',
      hint: 'see what changed with dbee diff; roll back to the sources of a git ref with --to-ref, or pass --force to roll back anyway',
      details: { recorded, live },
    },
  );
}

interface LoadedRef {
  ref: string;
  commit: string;
  model: ProjectModel;
  desired: import('../schema/model').SchemaModel;
  state: LedgerState;
  schemas: string[];
  mode: RenderMode;
  renames: NonNullable<ProjectModel['project']['config']['renames']>;
}

/**
 * The sources of a project at a git ref, read straight from git: their desired model (built in a shadow database,
 * cached like any other) and the ledger state a deployment of them would leave.
 */
async function loadRef(
  ctx: OperationContext,
  engine: Engine,
  environment: ResolvedEnvironment,
  project: string,
  ref: string,
): Promise<LoadedRef> {
  if (!engine.diff) {
    throw new DbeeError(`--to-ref: the ${engine.name} engine cannot diff a database against sources`, {
      code: 'ENGINE_CAPABILITY',
      hint: 'roll back with the ledger: --to <deployment>',
    });
  }
  const tree = materializeRef(ctx.workspace.root, ref);
  try {
    const commit = execFileSync('git', ['rev-parse', '--verify', `${ref}^{commit}`], {
      cwd: ctx.workspace.root,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
    const workspace = Workspace.load(tree.root);
    if (!workspace.projects.has(project)) {
      throw new DbeeError(`--to-ref ${ref}: project ${project} does not exist at that ref`, {
        code: 'GIT_REF',
        hint: 'pick a ref where the project existed',
      });
    }
    const sub: OperationContext = { ...ctx, workspace };
    const all = workspace.withDependencies(project);
    const models = await loadModels(sub, all, environment, engine);
    const owners = schemaOwners(sub, environment);
    const desired = await desiredModel({
      engine,
      environment,
      workspaceRoot: ctx.workspace.root,
      models,
      target: project,
      schemaOwners: owners,
      shadow: ctx.workspace.config.shadow ?? 'embedded',
      toolVersion: ctx.toolVersion,
    });
    const model = models.find((m) => m.project.name === project)!;
    const plan = planFromSources({ engine, models, planned: [project], schemaOwners: owners });
    const objects = Object.fromEntries(
      plan.steps.filter((s) => s.action !== 'migrate').map((s) => [s.key, s.checksum]),
    );
    const migrations: LedgerState['migrations'] = {};
    for (const m of model.migrations)
      migrations[m.file.versionParts.join('.')] = {
        checksum: checksumStatements([m.file.text], model.variables),
        description: m.file.path,
      };
    const settings = workspace.settings(workspace.project(project), environment).deploy;
    return {
      ref,
      commit,
      model,
      desired: desired.model,
      state: { objects, migrations },
      schemas: model.graph.schemas,
      mode: renderMode(settings),
      renames: model.project.config.renames ?? [],
    };
  } finally {
    await tree.dispose();
  }
}

/**
 * `--to-ref`: the diff from the live database to the ref's sources, as compensating steps (with the renderer's
 * reverses and hazards). Steps that lose data are refused without `--force`. The ledger state becomes the ref's:
 * its objects at their checksums, and only those applied migrations that exist, unchanged, at the ref.
 */
async function prepareToRef(
  engine: Engine,
  conn: Connection,
  ledger: Ledger,
  project: string,
  schemas: string[],
  everySchema: string[],
  ref: LoadedRef,
  force: boolean,
): Promise<Prepared> {
  const scope = [...new Set([...schemas, ...ref.schemas])];
  const fp = engine.diff
    ? await engine.diff.fingerprint(conn, { schemas: scope, manage: ref.model.graph.manage })
    : null;
  // The other projects' schemas are read with the project's (so that the catalog's dependencies across them are
  // known) and stay as they are on both sides of the diff: what of theirs stands on an object the diff drops (a view
  // over a view that must be dropped to lose a column) is dropped and created again with it.
  const others = new Set(everySchema.filter((x) => !scope.includes(x)));
  const from = await requireRole(engine, 'diff', 'roll back to a git ref').introspect(conn, {
    schemas: [...scope, ...others],
    manage: ref.model.graph.manage,
  });
  const to = others.size ? withSchemas(ref.desired, from, others) : ref.desired;
  const plan = planChanges(engine, from, to, {
    project,
    ...ref.mode,
    baseFingerprint: fp,
    renames: ref.renames,
    owners: ref.model.graph.manage?.owners,
  });
  const now = await ledger.state(project);
  const migrations: LedgerState['migrations'] = {};
  for (const [v, m] of Object.entries(now.migrations))
    if (ref.state.migrations[v]?.checksum === m.checksum) migrations[v] = m;
  const state: LedgerState = { objects: ref.state.objects, migrations };
  const problems: DbeeError[] = [];
  const forced: string[] = [];
  const steps: CompensatingStep[] = plan.steps.map((s) => {
    const loss = s.hazards.filter((h) => h.kind === 'data-loss');
    if (loss.length) {
      const message = `step ${s.order} (${s.action} ${s.key}) loses data: ${loss.map((h) => h.message).join('; ')}`;
      if (force) forced.push(message + ' (accepted with --force)');
      else
        problems.push(
          new DbeeError(message, {
            code: 'ROLLBACK_DATA_LOSS',
            hint: 'review it with --dry-run; pass --force to accept the loss',
          }),
        );
    }
    return { plan: s, ledgerAction: s.action };
  });
  const sameState =
    JSON.stringify(sortKeys(now.objects)) === JSON.stringify(sortKeys(state.objects)) &&
    Object.keys(now.migrations).length === Object.keys(migrations).length;
  if (!steps.length && sameState) return { units: [], problems, forced };
  return { units: [], toRef: { steps, state, ref: ref.ref, commit: ref.commit }, problems, forced };
}

function sortKeys(o: Record<string, string>): [string, string][] {
  return Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The exact SQL a rollback would run, deployment by deployment, with what cannot be undone. */
function printRollback(out: NodeJS.WritableStream, p: Prepared): void {
  const steps = (list: CompensatingStep[]) => {
    for (const s of list) {
      const undoes = s.undoes ? `  (undoes step ${s.undoes.step.order}: ${s.undoes.step.action})` : '';
      out.write(
        `-- step ${s.plan.order}/${list.length}: ${s.plan.action} ${s.plan.key}${undoes}${s.plan.transactional ? '' : '  [outside a transaction]'}\n`,
      );
      for (const h of s.plan.hazards) out.write(`--   hazard ${h.kind}: ${h.message}\n`);
      if (s.skip) {
        out.write(`--   NO REVERSE: ${s.skip}\n\n`);
        continue;
      }
      for (const sql of s.plan.statements) out.write(sql.trim().replace(/;$/, '') + ';\n');
      // The real run sends this only if the server refuses the replacement (undo.ts `withFallback`): said here too.
      if (s.fallback)
        out.write(
          "--   if the server refuses this replacement: back to the step's savepoint, the view is dropped and created\n" +
            '--   again by its old definition, with what stands on it dropped before and created after\n',
        );
      out.write('\n');
    }
  };
  for (const u of p.units) {
    const d = u.deployment;
    out.write(
      `-- undo deployment #${d.id} (${d.kind} ${d.status}, started ${new Date(d.started_at).toISOString()}${d.git_commit ? `, commit ${d.git_commit.slice(0, 12)}` : ''}${d.package ? `, package ${d.package}` : ''}): ${u.steps.length} step${u.steps.length === 1 ? '' : 's'}, newest first\n`,
    );
    steps(u.steps);
  }
  if (p.toRef) {
    out.write(
      `-- back to the sources at ${p.toRef.ref} (${p.toRef.commit.slice(0, 12)}): ${p.toRef.steps.length} step${p.toRef.steps.length === 1 ? '' : 's'} from the diff of the live database\n`,
    );
    if (!p.toRef.steps.length) out.write('-- the schema already matches; only the ledger state changes\n');
    steps(p.toRef.steps);
  }
}

function refuse(problems: DbeeError[], dryRun: boolean): never {
  const what = dryRun ? 'the rollback would be refused' : 'nothing was changed';
  if (problems.length === 1) {
    const p = problems[0]!;
    throw new DbeeError(`${p.message}; ${what}`, { code: p.code, hint: p.hint, details: p.details });
  }
  throw new DbeeAggregateError(`${problems.length} problems stop the rollback; ${what}`, problems);
}

function printSummary(
  out: NodeJS.WritableStream,
  r: {
    environment: string;
    results: { reverts: number | null; result: CompensationResult }[];
    durationMs: number;
    smoke: string;
    status: string;
    exitCode: number;
    emergency: boolean;
  },
): void {
  const lines: [string, string][] = [
    ['environment', r.environment],
    [
      'rolled back',
      r.results
        .map(
          ({ reverts, result }) =>
            `${reverts === null ? 'to a git ref' : `#${reverts}`} ${result.status} ${result.applied} step${result.applied === 1 ? '' : 's'}${result.skipped ? ` (${result.skipped} left applied)` : ''} (deployment ${result.deploymentId})`,
        )
        .join(', '),
    ],
    ['smoke', r.smoke],
    ['duration', formatDuration(r.durationMs)],
    ['status', `${r.status}${r.emergency ? ' [emergency]' : ''} (exit ${r.exitCode})`],
  ];
  out.write('summary:\n' + lines.map(([k, v]) => `  ${(k + ':').padEnd(13)}${v}\n`).join(''));
}
