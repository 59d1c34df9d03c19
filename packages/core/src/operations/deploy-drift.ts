import type { ConflictStrategy } from '../config/schema';
import type { ResolvedEnvironment } from '../config/resolve';
import type { OperationContext } from '../context/operation-context';
import { driftCause, driftedNames, driftedObjects, type DriftedObject, type ProjectDrift } from '../diffing/drift';
import { driftSince, type DriftFound, type DriftSubject } from '../pipeline/drift';
import type { Connection, Engine } from '../engine/engine';
import { DbeeError } from '../errors';
import type { Plan, PlanStep } from '../plan/plan';
import type { DeployedState } from '../planner/planner';
import type { ProjectModel } from '../planner/project-model';
import { ConflictRules } from './conflicts';
import { schemaOwners, sourceLocator } from '../context/load';
import { withOtherSchemasDependents } from '../diffing/other-dependents';
import type { InFlightReader } from '../diffing/in-flight-work';
import type { DeploymentSummary } from '../ledger/ledger';
import { readStartedFrom } from '../runner/recorded-fingerprint';

/**
 * Drift before a deployment plans: for each project planned from its sources whose schemas the drift stage found
 * changed outside dbee since its newest recorded deployment (`DriftFound.decide`), the objects that changed
 * (`driftedObjects`), then the environment's conflict strategy for each: `raise` (the default) and `skip` refuse it,
 * naming it (a deployment that went on would record a fingerprint that hides it); `rename`, `drop` and `ignore` put it
 * back to its sources' definition with the diff's steps, put at the head of its project's steps (or the steps a diff
 * of the project planned already), each with a note that names the drift and the rule. The ledger's object states of
 * such a project stay the sources' checksums (`plan.objectStates`), not the diff's. Returns the refusals; the plan is
 * changed in place.
 */
export async function resolveDrift(
  ctx: OperationContext,
  args: {
    engine: Engine;
    conn: Connection;
    environment: ResolvedEnvironment;
    models: readonly ProjectModel[];
    planned: readonly string[];
    deployed: ReadonlyMap<string, DeployedState>;
    plan: Plan;
    ifExists: ConflictStrategy | undefined;
    drift: DriftFound;
    /** The one reader of every strategy's work in flight (its objects are not drift). */
    inFlight: InFlightReader;
  },
): Promise<DbeeError[]> {
  const { environment } = args;
  const rules = new ConflictRules(ctx.workspace, environment, args.ifExists);
  const problems: DbeeError[] = [];
  for (const project of args.planned) {
    const found = await args.drift.decide(project);
    const model = args.models.find((m) => m.project.name === project);
    const deployed = args.deployed.get(project);
    const carried = found ? undefined : await args.drift.carried(project);
    if (carried && model?.graph.schemas.length && deployed?.objects.size) {
      await rebuildRewritten(ctx, { ...args, project, deployed }, carried);
      continue;
    }
    if (!found || !model?.graph.schemas.length || !deployed?.objects.size) continue;
    // Objects whose files changed too are planned from the sources anyway: no object left to name, nothing to decide.
    const drift = { ...found, objects: await driftedObjects(ctx, { ...args, project, deployed }) };
    if (!drift.objects.length) continue;
    ctx.reporter.warn(
      `${project}: changed outside dbee since ${driftSince(drift, environment.name)}: ${driftedNames(drift)}; the conflict strategy decides (deploy.ifExists)`,
    );
    const putBack: { object: DriftedObject; note: string }[] = [];
    for (const o of drift.objects) {
      const steps = o.steps;
      const rule = rules.ruleFor({ ...steps[0]!, source: o.source });
      if (rule.strategy === 'raise' || rule.strategy === 'skip') {
        problems.push(driftRefused(project, environment.name, drift, o, rule.source, rule.strategy));
        continue;
      }
      const note = `drift: ${o.how === 'changed' ? `changed outside dbee since deployment #${drift.since}${driftCause(drift)}` : 'made outside dbee'}; put back to the sources' definition (ifExists: ${rule.strategy}, ${rule.source}); the reverse brings the hand change back`;
      putBack.push({ object: o, note });
    }
    await putBackFirst(ctx, { ...args, project, deployed }, putBack);
  }
  return problems;
}

/**
 * Objects of `project` put back to their sources' definitions by the diff's steps (`DriftedObject.steps`), each
 * step with its `note`: noted on the plan's own steps on the same object, else put at the head of the project's
 * steps in the diff's order (a view replaced after the table it reads is altered), with the views of other
 * projects' schemas that stand on a view they drop and create (dropped before, made again after from the live
 * catalog: `withOtherSchemasDependents`, as a diff's plan; PostgreSQL refuses the drop while they stand on it).
 */
async function putBackFirst(
  ctx: OperationContext,
  args: Omit<Parameters<typeof resolveDrift>[1], 'deployed'> & { project: string; deployed: DeployedState },
  objects: readonly { object: DriftedObject; note: string }[],
): Promise<void> {
  const { project, plan, environment, engine } = args;
  const reconciled: PlanStep[] = [];
  for (const { object, note } of objects) {
    const inPlan = plan.steps.filter((s) => s.project === project && object.steps.some((d) => d.key === s.key));
    if (inPlan.length) for (const s of inPlan) s.notes = [...(s.notes ?? []), note];
    else reconciled.push(...object.steps.map((s) => ({ ...s, notes: [...(s.notes ?? []), note] })));
  }
  if (!reconciled.length) return;
  const model = args.models.find((m) => m.project.name === project)!;
  const steps = await withOtherSchemasDependents(
    args.conn,
    engine,
    reconciled.sort((a, b) => a.order - b.order),
    model.graph.schemas,
    [...schemaOwners(ctx, environment).keys()],
    project,
    sourceLocator(ctx, environment, engine),
  );
  putFirst(plan, project, steps, args.deployed);
}

/**
 * A project whose state a dependency's deployment carried forward (`ProjectDrift.carried`: its steps rewrote objects
 * of this one in place, which had not drifted before): those objects are made again from the sources, whatever the
 * conflict strategy (they are dbee's work, not a hand edit), by the diff's steps that put them back (a view's drop and
 * create: the hazard gate judges them as any step), at the head of the project's steps, each with a note that names
 * that deployment. Nothing when none is left to make (the sources changed them too: planned from the sources).
 */
async function rebuildRewritten(
  ctx: OperationContext,
  args: Omit<Parameters<typeof resolveDrift>[1], 'deployed'> & { project: string; deployed: DeployedState },
  carried: ProjectDrift,
): Promise<void> {
  const { project } = args;
  const objects = await driftedObjects(ctx, args);
  if (!objects.length) return;
  const by = `${carried.carried!.project}'s deployment #${carried.carried!.id}`;
  ctx.reporter.info(
    `${project}: ${objects.map((o) => o.key).join(', ')} rewritten in place by ${by}; made again from the sources`,
  );
  const note = `rewritten in place by ${by} (not drift: ${project} had not changed outside dbee before it); made again from the sources`;
  await putBackFirst(
    ctx,
    args,
    objects.map((object) => ({ object, note })),
  );
}

/**
 * The state each project a command changes starts from when its schemas changed outside dbee since its last
 * deployment (the drift stage's finding, which the command puts back: a deployment under a conflict strategy, a gap
 * package, a clone), read under the lock before any step, in one catalog query for them all (none without drift). Its
 * deployment records it (`DeploymentSummary.startedFrom`): its steps' reverses return to it, hand changes included,
 * not to the state the earlier deployment recorded, and a rollback of it is judged against it.
 */
export async function startedFromDrift(
  engine: Engine,
  conn: Connection,
  subjects: readonly DriftSubject[],
  drift: DriftFound,
): Promise<Map<string, NonNullable<DeploymentSummary['startedFrom']>>> {
  const drifted: DriftSubject[] = [];
  // Or since a dependency's deployment carried its state forward (its rewritten objects are made again).
  for (const s of subjects)
    if (s.scope.schemas.length && ((await drift.state(s.project)) === 'yes' || (await drift.carried(s.project))))
      drifted.push(s);
  if (!drifted.length || !engine.diff) return new Map();
  const read = await readStartedFrom(
    engine.diff,
    conn,
    drifted.map((s) => s.scope),
  );
  return new Map(drifted.map((s, i) => [s.project, read[i]!]));
}

function driftRefused(
  project: string,
  environment: string,
  drift: ProjectDrift,
  o: DriftedObject,
  rule: string,
  strategy: ConflictStrategy,
): DbeeError {
  const what =
    o.how === 'changed'
      ? `${o.key} was changed outside dbee since deployment #${drift.since} (the database's definition differs from its unchanged sources: ${o.actions.join(', ')})${driftCause(drift)}`
      : `${o.key} was made outside dbee in ${project}'s schemas (neither the sources nor the ledger know it)`;
  // A dependency's later deployment may have made the change: the fix is to make the objects again from the sources.
  const hint =
    drift.after?.length && o.how === 'changed'
      ? `dbee diff ${project} --env ${environment} shows what differs; when the sources are what you want, dbee deploy ${project} --env ${environment} --if-exists drop makes the objects again from them; ` +
        `to keep the database's definition, write it into the sources (dbee extract ${project} --env ${environment}) and deploy`
      : `to put it back to the sources' definition, deploy with --if-exists drop (or rename: a step of the plan replaces it, its reverse keeps the hand change), or set deploy.ifExists for ${environment}; ` +
        `to keep the hand change, write it into the sources (dbee extract ${project} --env ${environment}) and deploy`;
  return new DbeeError(`${what}; a deployment does not write over it (ifExists: ${strategy}, ${rule})`, {
    code: 'DRIFT',
    location: o.source ?? undefined,
    hint,
    details: {
      project,
      object: o.key,
      rule,
      since: drift.since,
      ...(drift.after?.length ? { after: drift.after } : {}),
    },
  });
}

/**
 * The drift's steps before the project's own steps, the plan renumbered, and the project's object states after the
 * run recorded as the sources say (the diff's steps would record checksums of their own statements).
 */
function putFirst(plan: Plan, project: string, reconciled: PlanStep[], deployed: DeployedState): void {
  const first = plan.steps.findIndex((s) => s.project === project);
  const at = first < 0 ? plan.steps.length : first;
  const own = plan.steps.filter((s) => s.project === project);
  plan.steps = [...plan.steps.slice(0, at), ...reconciled, ...plan.steps.slice(at)];
  plan.steps.forEach((s, i) => (s.order = i + 1));
  if (!plan.projects.includes(project)) plan.projects = [...plan.projects, project];
  if (plan.objectStates?.[project]) return;
  const states = new Map(deployed.objects);
  for (const s of own) {
    if (s.action === 'migrate') continue;
    if (s.action === 'drop') states.delete(s.key);
    else states.set(s.key, s.checksum);
  }
  plan.objectStates = { ...plan.objectStates, [project]: Object.fromEntries(states) };
}
