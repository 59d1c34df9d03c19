import { requireRole, type Connection } from '../engine/engine';
import { DbeeAggregateError, DbeeError } from '../errors';
import type { Plan, PlanStep } from '../plan/plan';
import { planFromSources, type DeployedState, type ObjectNeedingDiff, type PlanInput } from '../planner/planner';
import type { Reporter } from '../runner/reporter';
import { expandPlaceholders } from '../sources/placeholders';

/**
 * Deploy-time plan of objects that changed but cannot be re-created in place (the planner's `needsDiff`), for an engine that
 * plans such a change against the live database itself (`Engine.inPlace.planChange`; Teradata: ALTER TABLE from SHOW TABLE)
 * instead of a diff in a shadow database.
 *
 * The changed objects are planned as if they were new, so that the planner puts each where its dependencies want it;
 * each such step is then replaced by the engine's steps. Only the last of those records the object's new checksum in
 * the ledger's terms: the whole project's object states are synced from the sources when its deployment succeeds
 * (`Plan.objectStates`), so a deployment that stops half-way leaves the object changed, and the next one plans what
 * is left of the change against the target again. A change only a migration can make is refused, naming what changed,
 * unless the project has a migration pending in this deployment: then the object's step (no statements) runs after
 * the migrations, and records the file's new text (the migration is taken to make the change, and deploy says so).
 */
export async function planInPlace(
  input: PlanInput,
  needsDiff: ReadonlyMap<string, readonly ObjectNeedingDiff[]>,
  conn: Connection,
  stamp: string,
  reporter: Reporter,
): Promise<Plan> {
  const { engine } = input;
  const inPlace = requireRole(engine, 'inPlace', 'plan a changed table against the live database');
  const planChange = inPlace.planChange.bind(inPlace);
  const ids = new Set([...needsDiff.values()].flat().map((o) => o.object));
  const deployed = new Map<string, DeployedState>();
  for (const [project, state] of input.deployed ?? []) {
    deployed.set(project, { ...state, objects: new Map([...state.objects].filter(([k]) => !ids.has(k))) });
  }
  const base = planFromSources({ ...input, deployed });
  const sources = new Map(
    input.models.flatMap((m) =>
      m.objects.map(
        (o) => [o.id, { object: o, variables: m.variables, renames: m.project.config.renames ?? [] }] as const,
      ),
    ),
  );
  const errors: DbeeError[] = [];
  const steps: PlanStep[] = [];
  const afterMigrations: PlanStep[] = [];
  for (const step of base.steps) {
    const source = sources.get(step.key);
    if (!ids.has(step.key) || !source) {
      steps.push(step);
      continue;
    }
    const { object, variables } = source;
    const statements = step.statements.map((t) => expandPlaceholders(t, variables, object.location.file).expanded);
    // The project's declared renames, as its sources name things (placeholders expanded).
    const renames = source.renames.map((r) => ({
      ...r,
      schema: expandPlaceholders(r.schema, variables, object.location.file).expanded,
      ...(r.kind === 'column' ? { table: expandPlaceholders(r.table, variables, object.location.file).expanded } : {}),
    }));
    const planned = await planChange(conn, { key: step.objectKey, statements, stamp, renames });
    const recordOnly: PlanStep = { ...step, action: 'alter', statements: [], reverse: [], hazards: [] };
    if ('migration' in planned) {
      const migrations = base.steps.filter((s) => s.project === step.project && s.action === 'migrate');
      if (migrations.length) {
        afterMigrations.push(recordOnly);
        reporter.warn(
          `${step.key} changed in a way only a migration can make (${planned.migration.join('; ')}); taken to be made by ${migrations.map((m) => m.key).join(', ')} in this deployment: the ledger records the file's new text after ${migrations.length === 1 ? 'it' : 'them'}`,
        );
        continue;
      }
      errors.push(
        new DbeeError(
          `${step.key} changed since it was deployed in a way that needs a migration: ${planned.migration.join('; ')}`,
          {
            code: 'OBJECT_NEEDS_MIGRATION',
            location: object.location,
            hint: 'write a versioned migration that makes this change (keep the new definition in the file: deploy runs the migration, then records the file)',
            details: { object: step.key, project: step.project, changes: planned.migration },
          },
        ),
      );
      continue;
    }
    // The target already matches the sources (a change made by hand, or by a deployment that stopped half-way).
    if (!planned.steps.length) steps.push(recordOnly);
    for (const s of planned.steps)
      steps.push({ ...s, order: 0, project: step.project, source: step.source, checksum: step.checksum });
  }
  if (errors.length === 1) throw errors[0]!;
  if (errors.length > 1) throw new DbeeAggregateError(`${errors.length} objects cannot be planned`, errors);
  for (const s of afterMigrations) {
    const last = steps.findLastIndex((x) => x.project === s.project && x.action === 'migrate');
    steps.splice(last + 1, 0, s);
  }
  steps.forEach((s, i) => (s.order = i + 1));
  return { ...base, steps, objectStates: objectStatesAfter(input, needsDiff) };
}

/**
 * The object states of each project with a changed object, synced when its deployment succeeds: the sources'
 * checksums, and what the ledger holds that the sources no longer define (a removed file stays deployed until a
 * decision drops it).
 */
function objectStatesAfter(
  input: PlanInput,
  needsDiff: ReadonlyMap<string, readonly ObjectNeedingDiff[]>,
): Record<string, Record<string, string>> {
  const objectStates: Record<string, Record<string, string>> = {};
  for (const project of needsDiff.keys()) {
    const full = planFromSources({
      engine: input.engine,
      models: input.models,
      planned: [project],
      schemaOwners: input.schemaOwners,
    });
    objectStates[project] = {
      ...Object.fromEntries(input.deployed?.get(project)?.objects ?? []),
      ...Object.fromEntries(full.steps.filter((s) => s.action !== 'migrate').map((s) => [s.key, s.checksum])),
    };
  }
  return objectStates;
}
