import { renderMode } from '../plan/render-mode';
import type { ResolvedEnvironment } from '../config/resolve';
import type { DeploySettings } from '../config/schema';
import type { DbProject } from '../config/workspace';
import type { Plan } from '../plan/plan';
import type { ProjectModel } from '../planner/project-model';
import { reachedRenames } from '../diffing/diff-plan';
import { planChanges } from '../planner/plan-changes';
import {
  compareEnvironments,
  environmentScope,
  refuseOtherSchemaNames,
  refuseSchemasOnNeither,
} from '../diffing/environment-scope';
import { formatDiffText } from '../diffing/format';
import { requireRole, type Connection, type DiffRole, type Engine, type LockOwner } from '../engine/engine';
import { DbeeAggregateError, DbeeError, ExitCode, type ExitCodeValue } from '../errors';
import type { Ledger, LedgerState } from '../ledger/ledger';
import { openLedger } from '../ledger/open-ledger';
import type { CloneOptions } from '../options';
import { planChecksum } from '../plan/serialize';
import { runPlan, type RunOptions, type RunResult } from '../runner/runner';
import { startedFromDrift } from './deploy-drift';
import type { SchemaModel } from '../schema/model';
import { withBodyDependencies } from '../schema/body-dependencies';
import type { SchemaScope } from '../schema/managed-scope';
import { runOrigin } from '../context/origin';
import type { OperationContext } from '../context/operation-context';
import { checkStepPolicies, dependencyMissing, missingDependencySchemas } from '../pipeline/gates';
import { loadTarget } from '../context/load';
import { driftSince } from '../pipeline/drift';
import {
  projectFailure,
  runPipeline,
  type PipelineCommand,
  type PipelineInputs,
  type PipelinePlan,
} from '../pipeline/pipeline';
import { sessionSettings, withSession, type DeploymentSession } from '../runner/session';
import { checkTicket } from '../promotion/ticket';
import { judgeSizeHazards } from './size-hazards';
import type { InFlightReader } from '../diffing/in-flight-work';
import { convergedOnTarget, convergence, type ConvergeAgainst } from '../diffing/converge';

export type { CloneOptions };

/** Read a live schema (and the project's ledger state there) under that environment's lock. */
async function readSide(
  ctx: OperationContext,
  engine: Engine,
  diff: DiffRole,
  environment: ResolvedEnvironment,
  scope: SchemaScope,
  project: string,
  inFlight: InFlightReader,
) {
  return await withSession(
    { engine, environment, workspaceRoot: ctx.workspace.root, reporter: ctx.reporter },
    async ({ conn }) => {
      const ledger = openLedger(conn, engine.ledger);
      const state: LedgerState | null = (await ledger.tables.exists()) ? await ledger.objects.state(project) : null;
      const roles = diff.roles ? await diff.roles(conn) : [];
      const model = await diff.introspect(conn, scope);
      // Work in flight there (an expand-contract release, say) is copied as undoing it would leave it (as `diff
      // --against-env` compares it): its version schema, shadow columns and triggers are dbee's own, not the environment's.
      const work = await inFlight(conn, engine, [project]);
      if (work)
        ctx.reporter.info(
          `${environment.name}: ${work.describe(` ${project} --env ${environment.name}`)}; copied as it was before the ${work.kind}`,
        );
      return {
        model: work ? work.before(model) : model,
        description: conn.description,
        state,
        roles,
      };
    },
  );
}

/**
 * `clone`: make a project's schemas on `--to` equal to those on `--from`. The gap between the two live databases is
 * a plan (typed changes rendered with reverses and hazards), checked against the target's hazard settings and
 * `gates.requireBackup`, applied under the target's lock after its gates, and recorded in the target's ledger as a
 * deployment of kind `clone`, whose object states become the source's (so the next deploy of the sources plans
 * from what is there). Migrations are not copied: the target's ledger keeps which have run there.
 */
export async function clone(ctx: OperationContext, options: CloneOptions, into: CloneInto): Promise<ExitCodeValue> {
  return runPipeline(ctx, cloneCommand(ctx, options, into), null);
}

interface CloneInputs extends PipelineInputs {
  sides: CloneSides;
}

interface ClonePlan extends PipelinePlan {
  /** What the clone starts from when the target was changed outside dbee (`RunOptions.startedFrom`). */
  startedFrom?: RunOptions['startedFrom'];
}

/**
 * Clone through the pipeline (`runPipeline`): the target's ticket, maintenance windows and protection gate it (its
 * dry run reports them), under the target's lock, notified, its report written; the plan is the gap between the
 * two live databases (`planClone`), applied by `runPlan` as a deployment of kind `clone`.
 */
function cloneCommand(
  ctx: OperationContext,
  options: CloneOptions,
  into: CloneInto,
): PipelineCommand<CloneInputs, ClonePlan> {
  const { reporter } = ctx;
  return {
    command: 'clone',
    phase: 'clone',
    options: { ...options, env: options.to },
    promotion: "clone copies another environment's schemas, not a package",
    inputs: async () => {
      const sides = { ...(await cloneSides(ctx, options, into.inFlight)), into };
      return {
        environment: sides.target,
        pkg: null,
        planned: [sides.project.name],
        session: { engine: sides.engine, environment: sides.target, deploy: sides.settings },
        sides,
      };
    },
    // The plan is the gap from the target as it is to the source: a hand edit on the target is put back visibly (its
    // steps are in the plan, the dry run prints them, the target's hazard gates judge them), never recorded as dbee's.
    drift: ({ sides }) => ({ decides: true, subjects: [{ project: sides.project.name, scope: sides.scope }] }),
    plan: async ({ sides }, session, _report, drift) => {
      const edited = await drift.decide(sides.project.name);
      if (edited)
        reporter.warn(
          `${sides.project.name} on ${sides.target.name} was changed outside dbee since ${driftSince(edited, sides.target.name)}: the clone puts it back to ${sides.source.name}'s schemas`,
        );
      await markInterruptedClones(ctx, options, openLedger(session.conn, sides.engine.ledger), session.owner);
      const plan = await planClone(ctx, options, sides, session.conn);
      const subjects = [{ project: sides.project.name, scope: sides.scope }];
      const startedFrom =
        edited && !options.dryRun ? await startedFromDrift(sides.engine, session.conn, subjects, drift) : undefined;
      return { plan, problems: [], planChecksum: planChecksum(plan), commit: null, startedFrom };
    },
    verify: async () => {},
    settle: async ({ sides }, _session, run) => {
      reporter.info(
        `${sides.project.name}: ${sides.target.name} already equals ${sides.source.name}${run.plan.uncompared ? ' in what was compared' : ''}`,
      );
      return ExitCode.ok;
    },
    apply: async ({ sides }, session, run, report) => ({
      result: await applyClone(ctx, sides, session, run, report.ticket),
      smoke: new Map(),
    }),
    failure: projectFailure,
  };
}

/** How a clone is made into a new database (`dbee preview`). */
export interface CloneInto {
  /**
   * The one reader of every strategy's work in flight (`inFlightReader` of the strategy table): work on the source is
   * copied as it was before it, work on the target refuses the clone. Given by the caller (the operation's table, a
   * strategy's phase), so that a strategy's phase may clone.
   */
  inFlight: InFlightReader;
  /**
   * Record the migrations the source's ledger records as run (`Plan.migrationStates`): the target is a new database
   * made from the source's structure, so the next deploy runs only the migrations the source has not run.
   */
  migrations?: boolean;
}

/** The two sides of a clone: the target project and environment (`--to`), the source (`--from`) read under its lock. */
interface CloneSides {
  into: CloneInto;
  engine: Engine;
  diff: DiffRole;
  target: ResolvedEnvironment;
  source: ResolvedEnvironment;
  project: DbProject;
  model: ProjectModel;
  models: ProjectModel[];
  ticket: string | null;
  scope: SchemaScope;
  settings: DeploySettings;
  from: Awaited<ReturnType<typeof readSide>>;
}

/** The options checked (two different environments of one engine), the ticket, and the source's schemas read. */
async function cloneSides(
  ctx: OperationContext,
  options: CloneOptions,
  inFlight: InFlightReader,
): Promise<Omit<CloneSides, 'into'>> {
  const { workspace } = ctx;
  if (!options.from || !options.to) {
    throw new DbeeError('clone needs --from <env> and --to <env>', {
      code: 'OPTIONS_INVALID',
      hint: 'e.g. dbee clone sales --from prod --to test',
    });
  }
  if (options.from === options.to)
    throw new DbeeError('--from and --to name the same environment', { code: 'OPTIONS_INVALID' });
  const {
    environment: target,
    target: project,
    model,
    models,
    engine,
  } = await loadTarget(ctx, options.project, options.to);
  const ticket = checkTicket(target, options.ticket, 'clone');
  const source = workspace.environment(options.from, ctx.env);
  if (source.engine !== target.engine) {
    throw new DbeeError(
      `environments ${source.name} (${source.engine}) and ${target.name} (${target.engine}) are not of the same engine`,
      { code: 'OPTIONS_INVALID' },
    );
  }
  const diff = requireRole(engine, 'diff', 'compare two live databases');
  refuseOtherSchemaNames(ctx, engine, project, { environment: target, schemas: model.graph.schemas }, source);
  const scope: SchemaScope = { schemas: model.graph.schemas, manage: model.graph.manage };
  const read = await readSide(ctx, engine, diff, source, environmentScope(scope), project.name, inFlight);
  // Created in the order of what routines' bodies read and call too (as the planner orders sources): the catalog
  // does not record it, and a SQL function's body is checked when it is created (a function over a view).
  const from = { ...read, model: await withBodyDependencies(read.model, engine.parser, model.graph.searchPath) };
  const settings = workspace.settings(project, target).deploy;
  return { engine, diff, target, source, project, model, models, ticket, scope, settings, from };
}

/** Under the lock, a deployment (or clone) still marked running belongs to a process that died. */
async function markInterruptedClones(
  ctx: OperationContext,
  options: CloneOptions,
  ledger: Pick<Ledger, 'deployments'>,
  owner: LockOwner,
): Promise<void> {
  const { reporter } = ctx;
  if (options.dryRun) {
    const running = await ledger.deployments.runningDeployments();
    if (running.length)
      reporter.warn(
        `deployment${running.length > 1 ? 's' : ''} ${running.map((d) => '#' + d).join(', ')} did not finish (the process ended); a real run marks ${running.length > 1 ? 'them' : 'it'} interrupted`,
      );
    return;
  }
  const interrupted = await ledger.deployments.markInterrupted(
    `a clone by ${owner.user}@${owner.host}, pid ${owner.pid}`,
  );
  if (interrupted.length) {
    reporter.warn(
      `deployment${interrupted.length > 1 ? 's' : ''} ${interrupted.map((d) => '#' + d).join(', ')} did not finish (the process ended): marked interrupted; what it applied stays, the rest is planned again`,
    );
  }
}

/**
 * Work in flight on the target (a strategy's, between its phases): cloning over it would drop what the work made and
 * leave its ledger mid-way; it is finished first.
 */
async function refuseInFlight(
  inFlight: InFlightReader,
  engine: Engine,
  conn: Connection,
  project: string,
  target: string,
): Promise<void> {
  const work = await inFlight(conn, engine, [project]);
  if (work)
    throw new DbeeError(
      `${target} has ${work.name} of ${project} in flight (${work.phase}): a clone would drop what it made`,
      {
        code: 'RELEASE_IN_FLIGHT',
        hint: `finish it first: ${work.finish(` ${project} --env ${target}`).join(', or ')}`,
      },
    );
}

/**
 * The gap from the target's live schemas to the source's, printed as a diff, with the source's object states. What
 * the clone can know will fail is refused before anything is applied: a missing dependency's schemas (its tables'
 * foreign keys and its views reference them) and the target's step policies.
 */
async function planClone(
  ctx: OperationContext,
  options: CloneOptions,
  sides: CloneSides,
  conn: Connection,
): Promise<Plan> {
  const { engine, diff, target, source, project, scope, settings, from } = sides;
  const { workspace, reporter } = ctx;
  // Both sides read whole and compared by the env vs env rule, which names what it leaves out (as `diff
  // --against-env` does).
  const whole = environmentScope(scope);
  await refuseInFlight(sides.into.inFlight, engine, conn, project.name, target.name);
  const live: SchemaModel = await diff.introspect(conn, whole);
  const fingerprint = await diff.fingerprint(conn, whole);
  const roles = diff.roles ? await diff.roles(conn) : [];
  refuseSchemasOnNeither(project, scope.schemas, live, from.model, { fromLabel: target.name, toLabel: source.name });
  const compared = compareEnvironments(scope.manage, live, from.model, {
    from: roles,
    to: from.roles,
    fromLabel: target.name,
    toLabel: source.name,
    grants: project.config.manage?.grants !== false,
  });
  const plan: Plan = {
    ...planChanges(engine, compared.from, compared.to, {
      project: project.name,
      ...renderMode(settings),
      baseFingerprint: fingerprint,
      // Only the renames the source has made: the others are the sources' news to both environments.
      renames: reachedRenames(project.config.renames ?? [], compared.to),
      owners: scope.manage?.owners,
    }),
    baseScope: whole,
    ...(compared.uncompared.length ? { uncompared: compared.uncompared } : {}),
  };
  Object.assign(plan, sourceStates(sides));
  // Hazards that depend on a table's size are judged against the target (a killed clone leaves empty tables).
  const judged = await judgeSizeHazards(engine, conn, plan);
  ctx.stdout.write(
    formatDiffText(
      {
        project: project.name,
        from: `${target.name} (${conn.description})`,
        to: `${source.name} (${from.description})`,
        plan,
        cached: false,
      },
      false,
    ),
  );
  const missing = await missingDependencySchemas(
    engine,
    conn,
    sides.models.filter((m) => m.project.name !== project.name),
  );
  for (const note of judged) reporter.info(note);
  const problems = [
    ...missing.map((m) =>
      dependencyMissing(
        project.name,
        m,
        target.name,
        `dbee clone ${m.project} --from ${source.name} --to ${target.name}`,
      ),
    ),
    ...checkStepPolicies(target, plan, {
      conflicts: new Map(),
      settings: (p) => workspace.settings(workspace.project(p), target).deploy,
      allowHazards: options.allowHazards ?? [],
    }),
  ];
  if (problems.length) refuseClone(problems, options.dryRun ?? false, target.name);
  return plan;
}

/** The clone refused for `problems`, saying whether anything was applied. */
function refuseClone(problems: DbeeError[], dryRun: boolean, target: string): never {
  const what = dryRun ? 'the clone would be refused' : 'nothing was applied';
  if (problems.length === 1)
    throw DbeeError.carrying(problems[0]!.code, `${problems[0]!.message}; ${what}`, {
      hint: problems[0]!.hint,
      details: problems[0]!.details,
    });
  throw new DbeeAggregateError(`${problems.length} steps cannot be applied to ${target}; ${what}`, problems);
}

/** What the clone records of the source's ledger: its object states, and its migrations for a clone into a new database. */
function sourceStates({ project, from, into }: CloneSides): Pick<Plan, 'objectStates' | 'migrationStates'> {
  if (!from.state) return {};
  return {
    objectStates: { [project.name]: from.state.objects },
    ...(into.migrations ? { migrationStates: { [project.name]: from.state.migrations } } : {}),
  };
}

/**
 * What a clone must reach (its convergence check, diffing/converge.ts): the source's schemas as read, compared with
 * the target's objects the steps touched by the rule the clone's plan was made by (`compareEnvironments`).
 */
function cloned(sides: CloneSides, conn: Connection): ConvergeAgainst {
  const { diff, scope, project, target, source, from } = sides;
  let roles: string[] = [];
  return {
    label: source.name,
    scope: environmentScope(scope),
    owners: scope.manage?.owners ?? false,
    model: async () => {
      roles = diff.roles ? await diff.roles(conn) : [];
      return from.model;
    },
    sides: (reached, wanted) => {
      const c = compareEnvironments(scope.manage, reached, wanted, {
        from: roles,
        to: from.roles,
        fromLabel: target.name,
        toLabel: source.name,
        grants: project.config.manage?.grants !== false,
      });
      return { reached: c.from, wanted: c.to };
    },
  };
}

/**
 * The plan run under the target's lock and recorded as a deployment of kind `clone`, ending with its convergence
 * check (the objects it touched equal the source's); a failure, or a difference left, is exit 2.
 */
async function applyClone(
  ctx: OperationContext,
  sides: CloneSides,
  session: DeploymentSession,
  run: ClonePlan,
  ticket: string | null,
): Promise<RunResult> {
  const { engine, target, source, project, scope, settings } = sides;
  const { plan } = run;
  const { reporter } = ctx;
  const { conn, owner } = session;
  const result = await runPlan({
    engine,
    conn,
    plan,
    environment: target.name,
    variables: new Map([[project.name, sides.model.variables]]),
    identity: {
      package: null,
      ...(await runOrigin(ctx, owner)),
      ticket,
    },
    planChecksum: planChecksum(plan),
    reporter,
    session: sessionSettings(settings),
    beforeStep: session.assertLock,
    lockGuard: session.lockGuard,
    transaction: settings.transaction ?? 'object',
    autoRollback: () => settings.autoRollback ?? false,
    schemas: new Map([[project.name, scope.schemas]]),
    manage: scope.manage ? new Map([[project.name, scope.manage]]) : undefined,
    kind: 'clone',
    startedFrom: run.startedFrom,
    converge: async (name, steps) =>
      convergedOnTarget(
        name,
        await convergence(ctx, {
          engine,
          environment: target,
          models: sides.models,
          conn,
          steps,
          against: cloned(sides, conn),
        }),
        source.name,
      ),
  });
  const p = result.projects[0];
  if (p && p.status !== 'succeeded') {
    p.error = DbeeError.carrying(
      p.error?.code ?? 'CLONE_FAILED',
      p.error?.message ?? `clone of ${project.name} failed`,
      {
        exitCode: ExitCode.applyFailed,
        hint: `the ledger of ${target.name} records what ran (deployment ${p.deploymentId}); fix the cause and clone again`,
        cause: p.error,
      },
    );
    return { ...result, exitCode: ExitCode.applyFailed };
  }
  reporter.info(
    `${project.name}: ${target.name} now equals ${source.name} (${plan.steps.length} step${plan.steps.length === 1 ? '' : 's'}, deployment ${p?.deploymentId}, kind clone)`,
  );
  return result;
}
