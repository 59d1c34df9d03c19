import type { ResolvedEnvironment } from '../config/resolve';
import type { Connection, DiffRole, Engine } from '../engine/engine';
import { deploymentSummary, type DeploymentRow, type Ledger } from '../ledger/ledger';
import { openLedger } from '../ledger/open-ledger';
import type { PlanStep } from '../plan/plan';
import { planFromSources, type DeployedState } from '../planner/planner';
import type { ProjectModel } from '../planner/project-model';
import { projectScope, type SchemaScope } from '../schema/managed-scope';
import type { OperationContext } from '../context/operation-context';
import { fullModels, hasExportedModels, schemaOwners } from '../context/load';
import { desiredModelFor } from './desired';
import { planChanges } from '../planner/plan-changes';
import { againstSources, type InFlightReader } from './in-flight-work';
import { stillRecorded } from '../runner/recorded-fingerprint';
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
  /** The environment name `since` was recorded under (a restored or renamed database: another than today's). */
  sinceEnvironment?: string;
  /** The objects that drifted, by name (empty unless `state` is `yes`). */
  objects: DriftedObject[];
  /**
   * The projects this one depends on (transitive) whose newest deployment finished after `since`, oldest first
   * (`laterDependencyDeployments`): a cause of the drift other than a hand edit (renaming or retyping a column a view
   * reads makes the database rewrite the view). Absent when there is none, or the drift is not `yes`.
   */
  after?: LaterDeployment[];
  /**
   * The deployment of a project this one depends on that carried this one's state forward since `since`
   * (`DeploymentSummary.carried`: its steps rewrote this project's objects in place, and this project had not drifted
   * before them), when the live state is the one it carried: `state` is then `no`, and `objects` names what that
   * deployment rewrote (its next deployment makes them again from its sources). Absent otherwise.
   */
  carried?: LaterDeployment;
}

/** A deployment of another project, named as a possible cause of a project's drift: `core's deployment #3`. */
export interface LaterDeployment {
  project: string;
  /** Its id in the target's ledger. */
  id: number;
}

/**
 * Whether `project`'s schemas (`scope`) changed since `last` (its newest deployment in the target's ledger) recorded
 * them, by the fingerprint only: the catalog version when nothing changed at all, else one catalog query. `unknown`
 * when there is nothing to compare: no fingerprint role, never deployed, a deployment that did not finish (its partial
 * work is not told apart from a hand edit) or recorded none. Reads only; `objects` stays empty (`driftedObjects` names
 * them).
 */
export async function recordedDrift(
  engine: Engine,
  conn: Connection,
  input: {
    project: string;
    scope: SchemaScope;
    last: DeploymentRow | undefined;
    /** The catalog version now, when already being read (an Nx batch reads it once for its tasks): see `stillRecorded`. */
    catalogVersion?: Promise<Settled<string>>;
    /**
     * The live fingerprint of `scope` from a read shared with other projects (an Nx batch reads its tasks' at once),
     * in the current format; undefined when that read has none for this scope: then it is read here.
     */
    shared?: (scope: SchemaScope) => Promise<string | undefined>;
  },
): Promise<ProjectDrift> {
  const { project, last } = input;
  const unknown = (reason: string, since: number | null = null): ProjectDrift => ({
    project,
    state: 'unknown',
    recorded: null,
    live: null,
    since,
    reason,
    objects: [],
  });
  const diff = engine.diff;
  if (!diff) return unknown(`the ${engine.name} engine has no schema fingerprint`);
  if (!last) return unknown('never deployed');
  if (!finishedDeployment(last)) return unknown(`deployment #${last.id} did not finish`, last.id);
  const summary = deploymentSummary(last);
  const recorded = summary.fingerprint ?? null;
  if (!recorded) return unknown(`deployment #${last.id} recorded no fingerprint`, last.id);
  const base = { project, recorded, since: last.id, sinceEnvironment: last.environment, objects: [] };
  // Nothing in the catalog changed since it was recorded: the recorded fingerprint is the live one.
  if (await stillRecorded(engine, conn, summary, input.catalogVersion)) return { ...base, state: 'no', live: recorded };
  // Read in the recorded one's format: what an earlier dbee did not print is not a change. A shared read's value is
  // in the current format: taken when the recorded one is too (a format is the text before the first colon).
  const shared = await input.shared?.(input.scope);
  const live =
    shared !== undefined && formatOf(shared) === formatOf(recorded)
      ? shared
      : await diff.fingerprint(conn, input.scope, recorded);
  // Equal definitions in another database (a copy of this one, a restored snapshot): no drift.
  if (live === recorded || sameState(diff, live, recorded)) return { ...base, state: 'no', live };
  return { ...base, state: 'yes', live };
}

/**
 * What changed outside dbee in `project` since `last` (its last finished deployment) recorded the schemas' state:
 * whether the fingerprint moved (`recordedDrift`), then, when it did, per object: a diff of the live schema against the
 * sources, kept to the objects whose sources did not change since the ledger recorded them (what a hand edit of a
 * deployed object is) and those neither the sources nor the ledger know. An object whose file changed too is planned
 * from its sources anyway; its hand change is not told apart. Reads only.
 */
export async function readDrift(
  ctx: OperationContext,
  input: DriftInput & {
    last: DeploymentRow | undefined;
    /** The catalog version now, when already being read (an Nx batch reads it once for its tasks): see `stillRecorded`. */
    catalogVersion?: Promise<Settled<string>>;
  },
): Promise<ProjectDrift> {
  const model = input.models.find((m) => m.project.name === input.project)!;
  const scope = projectScope(model.graph);
  const ledger = openLedger(input.conn, input.engine.ledger);
  const drift = await carriedDrift(
    ctx,
    input.engine,
    input.conn,
    ledger,
    await recordedDrift(input.engine, input.conn, { ...input, scope }),
    scope,
    input.last,
  );
  // What a dependency's deployment rewrote, which the next deployment makes again from the sources.
  if (drift.carried) return { ...drift, objects: await driftedObjects(ctx, input) };
  if (drift.state !== 'yes') return drift;
  // Outside the drift stage (`dbee status`): the newest deployment of every project, in one query, when it drifted.
  const after = await laterDependencyDeployments(ctx, drift, newestDeployments(ledger));
  return { ...drift, ...(after.length ? { after } : {}), objects: await driftedObjects(ctx, input) };
}

/**
 * `drift` (of `scope`, as `recordedDrift` read it), or, when it is `yes`, no drift when a deployment of a project it
 * depends on carried its state forward since `since` (`DeploymentSummary.carried`: the newest one that did, one ledger
 * query for the dependencies' deployments since) and the live state is that one (read again in its format when the
 * formats differ). A hand edit before that deployment left nothing carried; one after it makes the live state differ:
 * both stay `yes`. When the project's newest deployment (`last`) is not a succeeded deployment of its sources (it
 * failed, was rolled back, aborted or killed, or was another command's: `dbee disable`) and its state is not `yes` (the
 * state that deployment left), a dependency's deployment that carried its state since its newest succeeded one is
 * still in force: what it rewrote is still to make again (a rebuild that failed is not done). Reads only, and nothing
 * for a project that did not drift or depends on none.
 */
export async function carriedDrift(
  ctx: OperationContext,
  engine: Engine,
  conn: Connection,
  ledger: Pick<Ledger, 'deployments'>,
  drift: ProjectDrift,
  scope: SchemaScope,
  last: DeploymentRow | undefined,
): Promise<ProjectDrift> {
  const diff = engine.diff;
  const dependencies = ctx.workspace
    .withDependencies(drift.project)
    .map((p) => p.name)
    .filter((p) => p !== drift.project);
  if (!dependencies.length || !diff) return drift;
  if (drift.state !== 'yes' && last && !(last.kind === 'deploy' && last.status === 'succeeded')) {
    const pending = (await ledger.deployments.recordedAfter({ succeeded: drift.project }, dependencies)).find(
      (d) => finishedDeployment(d) && deploymentSummary(d).carried?.[drift.project]?.fingerprint,
    );
    return pending ? { ...drift, carried: { project: pending.project, id: pending.id } } : drift;
  }
  if (drift.state !== 'yes' || drift.since === null || !drift.live) return drift;
  const carrier = (await ledger.deployments.recordedAfter(drift.since, dependencies)).find(
    (d) => finishedDeployment(d) && deploymentSummary(d).carried?.[drift.project]?.fingerprint,
  );
  if (!carrier) return drift;
  const recorded = deploymentSummary(carrier).carried![drift.project]!.fingerprint!;
  const live = formatOf(drift.live) === formatOf(recorded) ? drift.live : await diff.fingerprint(conn, scope, recorded);
  if (live !== recorded && !sameState(diff, live, recorded)) return drift;
  return { ...drift, state: 'no', live, carried: { project: carrier.project, id: carrier.id } };
}

/**
 * The newest deployment of a project in `ledger`'s database, the newest of every project read in one query when first
 * asked (`laterDependencyDeployments`'s `newest` outside an Nx batch).
 */
export function newestDeployments(
  ledger: Pick<Ledger, 'deployments'>,
): (project: string) => Promise<DeploymentRow | undefined> {
  let all: Promise<Map<string, DeploymentRow>> | undefined;
  return async (project) => {
    all ??= ledger.deployments.lastDeployments();
    return (await all).get(project);
  };
}

/**
 * A drifted project's `after`: for each project it depends on (transitive, itself excluded), its newest deployment in
 * the target's ledger (`newest`, asked only for a drift that is `yes` of a project with dependencies) when it finished
 * and is later than `since` (ids are one sequence per database: a larger id is later), oldest first. Only the newest of
 * each: an earlier one after `since` is not named (`dbee log` lists them).
 */
export async function laterDependencyDeployments(
  ctx: OperationContext,
  drift: ProjectDrift,
  newest: (project: string) => Promise<DeploymentRow | undefined>,
): Promise<LaterDeployment[]> {
  if (drift.state !== 'yes' || drift.since === null) return [];
  const since = drift.since;
  const after: LaterDeployment[] = [];
  for (const p of ctx.workspace.withDependencies(drift.project)) {
    if (p.name === drift.project) continue;
    const last = await newest(p.name);
    if (last && last.id > since && finishedDeployment(last)) after.push({ project: p.name, id: last.id });
  }
  return after.sort((a, b) => a.id - b.id);
}

/** What naming a project's drifted objects reads: the target, and the sources of the project and its dependencies. */
export interface DriftInput {
  engine: Engine;
  conn: Connection;
  environment: ResolvedEnvironment;
  /** The project and its dependencies. */
  models: readonly ProjectModel[];
  project: string;
  deployed: DeployedState;
  /** The one reader of every strategy's work in flight: its objects are dbee's own, not drift. */
  inFlight: InFlightReader;
}

/**
 * Whether `last` finished, so that its recorded fingerprint is something to compare with: the partial work of one that
 * did not (running, interrupted) is not told apart from a hand edit.
 */
export function finishedDeployment(last: DeploymentRow): boolean {
  return !!last.finished_at && last.status !== 'running' && last.status !== 'interrupted';
}

/** A fingerprint's format: its text before the first colon (`DiffRole.fingerprint`). */
function formatOf(fingerprint: string): string {
  return fingerprint.slice(0, fingerprint.indexOf(':') + 1);
}

/** Whether two fingerprints describe equal definitions, whichever databases they were read in (`DiffRole.stateOf`). */
function sameState(diff: DiffRole, a: string, b: string): boolean {
  const state = diff.stateOf?.(a) ?? null;
  return state !== null && state === diff.stateOf!(b);
}

/** The objects of a drifted project that changed outside dbee, each with the diff's steps that put it back. */
export async function driftedObjects(ctx: OperationContext, input: DriftInput): Promise<DriftedObject[]> {
  const { engine, conn, environment, project, deployed } = input;
  const model = input.models.find((m) => m.project.name === project)!;
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
  // Work in flight (a strategy's, between its phases) is dbee's own, not drift: compared as a diff compares it.
  const { from, skip } = againstSources(live, await input.inFlight(conn, engine, [project]));
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

/**
 * What a drift message adds when deployments of the projects it depends on came after the one it is compared with
 * (`ProjectDrift.after`): `, or by a later deployment of a project sales depends on: core's deployment #3 (...)`, to
 * follow `changed outside dbee since deployment #2`. Empty otherwise: the message stays as it was.
 */
export function driftCause(drift: Pick<ProjectDrift, 'project' | 'after'>): string {
  const after = drift.after ?? [];
  if (!after.length) return '';
  const which =
    after.length > 1
      ? `later deployments of projects ${drift.project} depends on`
      : `a later deployment of a project ${drift.project} depends on`;
  const names = after.map((d) => `${d.project}'s deployment #${d.id}`).join(', ');
  return `, or by ${which}: ${names} (renaming or retyping a column that a view reads, for one, makes the database rewrite the view)`;
}
