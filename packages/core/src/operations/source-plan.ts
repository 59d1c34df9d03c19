import { renderMode } from '../plan/render-mode';
import type { ResolvedEnvironment } from '../config/resolve';
import { planChanges } from '../planner/plan-changes';
import { desiredModelFor } from '../diffing/desired';
import type { Connection } from '../engine/engine';
import { formatKey } from '../model/object-key';
import type { Plan, PlanStep } from '../plan/plan';
import {
  objectStates as sourceObjectStates,
  planFromSources,
  planSources as planSourceObjects,
  planSourcesExplained,
  refuseNeedsDiff,
  type ObjectNeedingDiff,
  type PlanInput,
  type SourcePlan,
  type DeployedState,
} from '../planner/planner';
import { DbeeError } from '../errors';
import { viewColumnsCompatible, type SchemaModel } from '../schema';
import type { ProjectModel } from '../planner/project-model';
import type { OperationContext } from '../context/operation-context';
import { withoutUnknownObjects } from './conflicts';
import { planInPlace } from './in-place';
import { fullModels, hasExportedModels, modelLoader, schemaOwners, sourceLocator } from '../context/load';
import { withOtherSchemasDependents } from '../diffing/other-dependents';
import { diffSides, type Narrowing } from '../diffing/narrow';

/**
 * The plan from sources against the ledger. When a project's tables (or sequences, types) changed, its objects
 * are planned instead by a diff of the live schema against the sources' desired model, on this connection (the
 * caller holds the lock), and the ledger's object state is synced to the sources when it succeeds. The one plan of
 * the sources: `deploy` (its dry run and real run) and `status` (its pending steps) both take it from here.
 */
export async function planSources(
  ctx: OperationContext,
  input: PlanInput,
  environment: ResolvedEnvironment,
  conn: Connection,
  stamp: string,
  options: SourcePlanOptions = {},
): Promise<Plan> {
  const plan = await planSourcesAsWritten(ctx, input, environment, conn, stamp, options);
  // What a diff planned came out of the renderer rewritten; the steps planned from source files get theirs here.
  const rewrite = input.engine.diff?.safeSourceStep;
  if (!rewrite) return plan;
  const diffed = new Set(Object.keys(plan.objectStates ?? {}));
  for (const step of plan.steps) {
    if (step.action === 'migrate' || diffed.has(step.project)) continue;
    const { safe } = renderMode(
      ctx.workspace.settings(ctx.workspace.project(step.project), environment).deploy,
      options.safe,
    );
    if (safe) Object.assign(step, await rewrite(conn, step, safe));
  }
  return plan;
}

/** How `planSources` plans: `--safe`, a second session for catalog reads, and whether a diff may read what changed. */
export interface SourcePlanOptions {
  safe?: boolean;
  /**
   * The lock's own session for a share of the live side's catalog reads (`DiffRole.introspect`'s `side`); a promise
   * while it is busy with another read (the drift stage's: `DriftFound.side`).
   */
  side?: Connection | Promise<Connection | undefined>;
  /**
   * Whether the live side of a project's diff may be narrowed to what changed and what depends on it
   * (`diffing/narrow.ts`): true when its schemas are as its last deployment recorded them (the drift stage's `no`).
   * Absent: the whole schemas are read.
   */
  narrow?: (project: string) => Promise<boolean>;
}

/**
 * The ledger states of the objects of `project` (planned by a diff, with `own`: it and its dependencies) once its plan
 * ran: what a first deployment of its sources records. From the graph the plan was made from when it planned this
 * project alone with the same models (the usual deployment of one project: the graph of thousands of objects is not
 * built a second time); otherwise from a plan of the project with nothing deployed.
 */
function statesAfterDiff(
  input: PlanInput,
  planned: SourcePlan,
  own: readonly ProjectModel[],
  project: string,
): Record<string, string> {
  const model = own.find((m) => m.project.name === project)!;
  if (planned.graph && planned.plan.projects.length === 1 && own.length === input.models.length)
    return sourceObjectStates(input.engine, model, planned.graph);
  const full = planFromSources({
    engine: input.engine,
    models: own,
    planned: [project],
    schemaOwners: input.schemaOwners,
  });
  return Object.fromEntries(full.steps.filter((s) => s.action !== 'migrate').map((s) => [s.key, s.checksum]));
}

/** `planSources` without the safe rewrites of the steps planned from source files. */
async function planSourcesAsWritten(
  ctx: OperationContext,
  input: PlanInput,
  environment: ResolvedEnvironment,
  conn: Connection,
  stamp: string,
  options: SourcePlanOptions,
): Promise<Plan> {
  const { engine, models } = input;
  // Dependencies known by their exports may have changed since: nothing is reported, or diffed, before the plan is
  // made again from their sources.
  const again = async () =>
    planSourcesAsWritten(
      ctx,
      { ...input, models: await fullModels(ctx, [...models], environment, engine) },
      environment,
      conn,
      stamp,
      options,
    );
  let planned: SourcePlan;
  try {
    planned = await planSourcesExplained(input, modelLoader(ctx, environment, engine));
  } catch (e) {
    if (hasExportedModels(models)) return again();
    throw e;
  }
  if (!planned.needsDiff.size && !hasExportedModels(models))
    planned = await withViewsReplacedIncompatibly(ctx, input, environment, conn, planned, options.side);
  if (!planned.needsDiff.size) return planned.plan;
  if (hasExportedModels(models)) return again();
  // An engine that plans such changes against the live database itself (Teradata: ALTER TABLE from SHOW TABLE).
  if (engine.inPlace) return planInPlace(input, planned.needsDiff, conn, stamp, ctx.reporter);
  if (!engine.diff) return refuseNeedsDiff(planned);
  const needDiff = new Set(planned.needsDiff.keys());
  // The projects needing a diff have only their migrations in it.
  const base = planned.plan;
  const objectStates: Record<string, Record<string, string>> = {};
  const steps: PlanStep[] = [];
  for (const project of base.projects) {
    if (needDiff.has(project)) {
      const { diffed, states } = await diffedProject(ctx, input, environment, conn, options, planned, project);
      steps.push(...diffed);
      objectStates[project] = states;
    }
    steps.push(...base.steps.filter((s) => s.project === project));
  }
  steps.forEach((s, i) => (s.order = i + 1));
  return { ...base, steps, objectStates };
}

/**
 * `planned` with the projects of views whose new definition `CREATE OR REPLACE VIEW` cannot apply moved to the diff
 * (PostgreSQL keeps a view's columns: it refuses "cannot change name of view column" when one is renamed, moved,
 * retyped or dropped): the diff drops the view and creates it again, with the views over it (other projects' too).
 * The live views' columns and the sources' model are read only when the plan replaces a view.
 */
async function withViewsReplacedIncompatibly(
  ctx: OperationContext,
  input: PlanInput,
  environment: ResolvedEnvironment,
  conn: Connection,
  planned: SourcePlan,
  side: Connection | Promise<Connection | undefined> | undefined,
): Promise<SourcePlan> {
  const { engine } = input;
  const replaced = planned.plan.steps.filter((s) => s.action === 'replace' && s.objectKey?.kind === 'view');
  if (!engine.diff || !replaced.length) return planned;
  const needsDiff = new Map<string, ObjectNeedingDiff[]>();
  for (const project of new Set(replaced.map((s) => s.project))) {
    const own = input.models.filter((m) =>
      ctx.workspace.withDependencies(project).some((p) => p.name === m.project.name),
    );
    const graph = own.find((m) => m.project.name === project)!.graph;
    // The live side's columns only (`introspectRelations`, fewer catalog queries than the whole model), of the views
    // replaced alone (`SchemaScope.names`): nothing else is looked at.
    const names = replaced
      .filter((s) => s.project === project)
      .map((s) => `${s.objectKey!.schema}.${s.objectKey!.name}`);
    const scope = { schemas: graph.schemas, manage: graph.manage, names };
    const [live, desired] = await Promise.all([
      engine.diff.introspectRelations
        ? engine.diff.introspectRelations(conn, scope)
        : engine.diff.introspect(conn, scope, side),
      desiredModelFor(ctx, { engine, environment, models: own, target: project }),
    ]);
    const view = (m: SchemaModel, key: string) => m.views.find((v) => formatKey(v.key) === key);
    for (const step of replaced.filter((s) => s.project === project)) {
      const [from, to] = [view(live, step.key), view(desired.model, step.key)];
      if (!from || !to || viewColumnsCompatible(from, to)) continue;
      const reason = new DbeeError(`${step.key} changes its columns, which CREATE OR REPLACE VIEW cannot do`, {
        code: 'OBJECT_NEEDS_DIFF',
        ...(step.source ? { location: step.source } : {}),
        details: { object: step.key, project },
      });
      needsDiff.set(project, [...(needsDiff.get(project) ?? []), { object: step.key, reason }]);
    }
  }
  if (!needsDiff.size) return planned;
  const diffProjects = new Set([...(input.diffProjects ?? []), ...needsDiff.keys()]);
  return { plan: planSourceObjects({ ...input, diffProjects }, planned.graph).plan, needsDiff, graph: planned.graph };
}

/**
 * The steps of a project planned by a diff of its live schema against its sources (`planSourcesAsWritten`), located
 * at their source files, with the other projects' views over a view the diff drops and creates again; and the models
 * it was planned with (the project and its dependencies).
 */
async function diffedProject(
  ctx: OperationContext,
  input: PlanInput,
  environment: ResolvedEnvironment,
  conn: Connection,
  options: SourcePlanOptions,
  planned: SourcePlan,
  project: string,
): Promise<{ diffed: PlanStep[]; states: Record<string, string> }> {
  const { engine, models } = input;
  const diff = engine.diff!;
  const target = ctx.workspace.project(project);
  const own = models.filter((m) => ctx.workspace.withDependencies(project).some((p) => p.name === m.project.name));
  const model = own.find((m) => m.project.name === project)!;
  const objects = (planned.needsDiff.get(project) ?? []).map((o) => o.object);
  const shown =
    objects.length > 3 ? `${objects.slice(0, 3).join(', ')} and ${objects.length - 3} more` : objects.join(', ');
  ctx.reporter.info(
    `${project}: ${shown || 'objects'} changed since the last deployment and cannot be replaced in place; planning this project by a diff of the live schema against the sources`,
  );
  // The sources' model (built in a shadow database when not cached) and the live schema, read at once; the
  // sources' error first, as when the model was built before the live schema was read. Narrowed to what changed
  // when the schemas are as the last deployment recorded them.
  const states = statesAfterDiff(input, planned, own, project);
  const scope = { schemas: model.graph.schemas, manage: model.graph.manage };
  const sides = await diffSides({
    diff,
    conn,
    scope,
    ...(options.side ? { side: options.side } : {}),
    narrowing: options.narrow ? narrowingOf(planned, states, input.deployed?.get(project)) : null,
    allowed: options.narrow?.(project) ?? Promise.resolve(false),
    desired: async () => (await desiredModelFor(ctx, { engine, environment, models: own, target: project })).model,
  });
  // What the ledger does not know is a conflict here as in a plan from the ledger (withoutUnknownObjects).
  const defined = new Map(model.objects.map((o) => [o.id, o]));
  const known = new Set(input.deployed?.get(project)?.objects.keys() ?? []);
  const live = withoutUnknownObjects(sides.live, new Set(defined.keys()), known).model;
  const settings = ctx.workspace.settings(target, environment).deploy;
  // A view the diff drops and creates again takes the other projects' views over it with it (PostgreSQL refuses
  // the drop while they stand on it): dropped before, created again after, from the live catalog.
  const diffed = await withOtherSchemasDependents(
    conn,
    engine,
    planChanges(engine, live, sides.desired, {
      project,
      ...renderMode(settings, options.safe),
      renames: target.config.renames ?? [],
      owners: model.graph.manage?.owners,
    }).steps,
    model.graph.schemas,
    [...schemaOwners(ctx, environment).keys()],
    project,
    // At the file of the project that defines it, when one does.
    sourceLocator(ctx, environment, engine),
  );
  // Located at their source files: conflict rules match files, and messages name them.
  for (const st of diffed) {
    const o = defined.get(st.key);
    if (!st.source && o) st.source = { file: o.location.file, line: o.location.line };
  }
  return { diffed, states };
}

/**
 * What a narrowed diff of a project reads (`diffing/narrow.ts`): the objects whose sources differ from the ledger's
 * state, those the ledger holds and the sources no longer do, and the sources' graph; null (the whole schemas) for a
 * project never deployed, or planned without its graph.
 */
function narrowingOf(
  planned: SourcePlan,
  states: Record<string, string>,
  deployed: DeployedState | undefined,
): Narrowing | null {
  if (!deployed?.objects.size || !planned.graph) return null;
  const changed = Object.keys(states).filter((k) => deployed.objects.get(k) !== states[k]);
  const removed = [...deployed.objects.keys()].filter((k) => !(k in states));
  const needs = new Map<string, string[]>();
  for (const o of planned.graph.order) needs.set(o.id, []);
  for (const e of planned.graph.edges) needs.set(e.from.id, [...(needs.get(e.from.id) ?? []), e.to.id]);
  return { changed, removed, needs };
}
