import type { ResolvedEnvironment } from '../config/resolve';
import type { Connection, DiffRole, Engine } from '../engine/engine';
import { deploymentSummary, type DeploymentRow } from '../ledger/ledger';
import type { PlanStep } from '../plan/plan';
import { planFromSources, type DeployedState } from '../planner/planner';
import type { ProjectModel } from '../planner/project-model';
import { projectScope } from '../schema/managed-scope';
import type { OperationContext } from '../context/operation-context';
import { fullModels, hasExportedModels, schemaOwners } from '../context/load';
import { desiredModelFor } from './desired';
import { againstSources, planChanges } from './diff-plan';
import { ExpandLedger } from '../expand/phases';
import { stillRecorded } from './recorded-fingerprint';
import type { Settled } from '../background';

/** One object of a project changed outside dbee since the project's last recorded state. */
export interface DriftedObject {
  /** The object's ledger key, e.g. `view:sales.v_orders`. */
  key: string;
  /**
   * `changed`: the ledger holds it at its sources' checksum (its file did not change since it was deployed), yet the
   * database's definition differs from the sources'; `made outside dbee`: in the project's schemas, neither in the
   * sources nor in the ledger.
   */
  how: 'changed' | 'made outside dbee';
  /** What differs, as the diff's step actions name it (`replace`, `alter`, `drop`...). */
  actions: string[];
  /** Where the sources define it, workspace-relative; null for an object made outside dbee. */
  source: { file: string; line: number } | null;
  /**
   * The steps that put it back to its sources' definition: the steps of a diff of the live schema against the sources'
   * desired model that touch it (a view's `replace`, a table's `alter`, the drop of an object made outside dbee), with
   * the diff's hazards and reverses (the reverse brings the hand change back).
   */
  steps: PlanStep[];
}

/** What changed outside dbee in one project since its last recorded state (its last finished deployment). */
export interface ProjectDrift {
  project: string;
  /**
   * `yes`: the schemas' fingerprint differs from the one the last finished deployment recorded; `no`: it is the same;
   * `unknown`: nothing to compare (`reason`).
   */
  state: 'yes' | 'no' | 'unknown';
  reason?: string;
  recorded: string | null;
  live: string | null;
  /** The deployment whose recorded state this is compared with. */
  since: number | null;
  /** The objects that drifted, by name (empty unless `state` is `yes`). */
  objects: DriftedObject[];
}

/**
 * What changed outside dbee in `project` since `last` (its last finished deployment) recorded the schemas' state:
 * first by the fingerprint (the catalog version when nothing changed at all, else one catalog query), then, when it
 * moved, per object: a diff of the live schema against the sources, kept to the objects whose sources did not change
 * since the ledger recorded them (what a hand edit of a deployed object is) and those neither the sources nor the
 * ledger know. An object whose file changed too is planned from its sources anyway; its hand change is not told apart.
 * Reads only.
 */
export async function readDrift(
  ctx: OperationContext,
  input: {
    engine: Engine;
    conn: Connection;
    environment: ResolvedEnvironment;
    /** The project and its dependencies. */
    models: readonly ProjectModel[];
    project: string;
    last: DeploymentRow | undefined;
    deployed: DeployedState;
    /** The catalog version now, when already being read (an Nx batch reads it once for its tasks): see `stillRecorded`. */
    catalogVersion?: Promise<Settled<string>>;
  },
): Promise<ProjectDrift> {
  const { engine, conn, project, last } = input;
  const none = { objects: [] };
  const diff = engine.diff;
  if (!diff)
    return {
      project,
      state: 'unknown',
      recorded: null,
      live: null,
      since: null,
      reason: `the ${engine.name} engine has no schema fingerprint`,
      ...none,
    };
  if (!last)
    return { project, state: 'unknown', recorded: null, live: null, since: null, reason: 'never deployed', ...none };
  const summary = deploymentSummary(last);
  const recorded = summary.fingerprint ?? null;
  if (!recorded)
    return {
      project,
      state: 'unknown',
      recorded: null,
      live: null,
      since: last.id,
      reason: `deployment #${last.id} recorded no fingerprint`,
      ...none,
    };
  // Nothing in the catalog changed since it was recorded: the recorded fingerprint is the live one.
  if (await stillRecorded(engine, conn, summary, input.catalogVersion))
    return { project, state: 'no', recorded, live: recorded, since: last.id, ...none };
  const model = input.models.find((m) => m.project.name === project)!;
  const live = await diff.fingerprint(conn, projectScope(model.graph));
  // Equal definitions in another database (a copy of this one, a restored snapshot): no drift, nothing to diff.
  if (live === recorded || sameState(diff, live, recorded))
    return { project, state: 'no', recorded, live, since: last.id, ...none };
  return { project, state: 'yes', recorded, live, since: last.id, objects: await driftedObjects(ctx, input, model) };
}

/** Whether two fingerprints describe equal definitions, whichever databases they were read in (`DiffRole.stateOf`). */
function sameState(diff: DiffRole, a: string, b: string): boolean {
  const state = diff.stateOf?.(a) ?? null;
  return state !== null && state === diff.stateOf!(b);
}

/** The objects of a drifted project that changed outside dbee, each with the diff's steps that put it back. */
async function driftedObjects(
  ctx: OperationContext,
  input: Parameters<typeof readDrift>[1],
  model: ProjectModel,
): Promise<DriftedObject[]> {
  const { engine, conn, environment, project, deployed } = input;
  const diff = engine.diff!;
  // Dependencies known only by their exports (`--no-deps`, an Nx batch) cannot be built: their sources, as the plan's
  // diff loads them (source-plan.ts).
  const models = hasExportedModels(input.models)
    ? await fullModels(ctx, [...input.models], environment, engine)
    : input.models;
  const own = models.filter((m) => ctx.workspace.withDependencies(project).some((p) => p.name === m.project.name));
  const [desired, live] = await Promise.all([
    desiredModelFor(ctx, { engine, environment, models: [...own], target: project }),
    diff.introspect(conn, projectScope(model.graph)),
  ]);
  // A release in flight is dbee's own work, not drift: compared as a diff compares it with the sources.
  const release = engine.expand ? await new ExpandLedger(conn, engine.ledger).inFlight(project) : null;
  const { from, skip } = againstSources(live, release);
  const steps = planChanges(engine, from, desired.model, {
    project,
    renames: model.project.config.renames ?? [],
    owners: model.graph.manage?.owners,
    ...(skip ? { skip } : {}),
  }).steps;
  if (!steps.length) return [];
  // The sources' checksum of each object, as a first deployment records it (no database read).
  const sources = new Map(
    planFromSources({ engine, models: [...own], planned: [project], schemaOwners: schemaOwners(ctx, environment) })
      .steps.filter((s) => s.action !== 'migrate')
      .map((s) => [s.key, s]),
  );
  const byKey = new Map<string, DriftedObject>();
  for (const step of steps) {
    const key = ownerKey(step, sources, deployed);
    const source = sources.get(key);
    const recorded = deployed.objects.get(key);
    let how: DriftedObject['how'];
    if (source && recorded === source.checksum) how = 'changed';
    else if (!source && recorded === undefined) how = 'made outside dbee';
    else continue; // its file changed (planned from the sources), new in the sources, or removed from them (prune)
    const o = byKey.get(key) ?? { key, how, actions: [], source: source?.source ?? null, steps: [] };
    if (!o.actions.includes(step.action)) o.actions.push(step.action);
    o.steps.push({ ...step, source: step.source ?? o.source });
    byKey.set(key, o);
  }
  return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
}

/**
 * The ledger key a diff's step belongs to: its own when the sources or the ledger know it, else its table's (an index,
 * constraint, trigger or policy is kept with the table that defines it).
 */
function ownerKey(step: PlanStep, sources: ReadonlyMap<string, PlanStep>, deployed: DeployedState): string {
  const known = (k: string) => sources.has(k) || deployed.objects.has(k);
  if (known(step.key) || !step.objectKey.parent) return step.key;
  for (const kind of ['table', 'view', 'materialized-view']) {
    const k = `${kind}:${step.objectKey.parent}`;
    if (known(k)) return k;
  }
  return step.key;
}

/** `view:sales.v (replace), table:sales.t (alter)`: the drifted objects of a project, for a message. */
export function driftedNames(drift: Pick<ProjectDrift, 'objects'>): string {
  return drift.objects
    .map((o) => `${o.key} (${o.how === 'changed' ? o.actions.join(', ') : 'made outside dbee'})`)
    .join(', ');
}
