import type { Connection, Engine } from '../engine/engine';
import { formatKey, type ObjectKey } from '../model/object-key';
import type { PlanStep } from '../plan/plan';
import { dependentsOf, mergedStepNote, only, otherDependentNote } from '../runner/recreate-dependents';
import type { SchemaModel } from '../schema/model';
import { checksumStatements } from '../sources/checksum';
import { planChanges } from '../planner/plan-changes';

/**
 * `steps` (a diff's plan of one project, whose schemas are `own`) with the objects of other schemas (`others`: every
 * project's of the environment) that stand on a view, materialized view or routine the plan drops and creates again (a
 * view whose columns change): dropped before the first of those drops and created again after the last of those
 * creates, by their live definitions with their comments and privileges. PostgreSQL refuses to drop a view another
 * schema's view stands on, and the project's own diff does not see that one. When every step from that drop to that
 * create can run in a transaction, they and the dependents' drops and creates become one step (the first one's key and
 * source), so that a dependent that cannot be created again rolls the whole back; its notes name the steps folded in
 * and the dependents, at the files `locate` finds for them (`otherDependentNote`, which the verified dry run reads to
 * copy their schemas). Otherwise they are steps of their own of `project`. Without such objects (or without a diff
 * role), `steps` as they are.
 */
export async function withOtherSchemasDependents(
  conn: Connection,
  engine: Engine,
  steps: readonly PlanStep[],
  own: readonly string[],
  others: readonly string[],
  project: string,
  locate: (key: ObjectKey) => PlanStep['source'] | Promise<PlanStep['source']> = () => null,
): Promise<PlanStep[]> {
  const diff = engine.diff;
  const ownSet = new Set(own);
  const outside = others.filter((s) => !ownSet.has(s));
  if (!diff || !outside.length) return [...steps];
  const kinds = new Set(['view', 'materialized-view', 'function', 'procedure', 'routine']);
  const created = new Set(steps.filter((s) => s.action !== 'drop').map((s) => s.key));
  const recreated = steps.filter((s) => s.action === 'drop' && kinds.has(s.objectKey.kind) && created.has(s.key));
  if (!recreated.length) return [...steps];
  const wide = await diff.introspect(conn, { schemas: [...own, ...outside] });
  const schemaOf = (k: ObjectKey) => (k.kind === 'schema' ? k.name : k.schema);
  const schemaByKey = new Map(
    [...wide.views, ...wide.routines, ...wide.triggers, ...wide.indexes].map((o) => [
      formatKey(o.key),
      schemaOf(o.key),
    ]),
  );
  const dependents = new Set<string>();
  for (const s of recreated)
    for (const d of dependentsOf(wide, s.objectKey)) {
      const schema = schemaByKey.get(d);
      if (schema !== undefined && !ownSet.has(schema)) dependents.add(d);
    }
  if (!dependents.size) return [...steps];
  const without = only(wide, (k) => !dependents.has(k));
  const asSteps = (from: SchemaModel, to: SchemaModel) =>
    Promise.all(
      planChanges(engine, from, to, { project, online: false }).steps.map(async (s) => ({
        ...s,
        source: await locate(s.objectKey),
      })),
    );
  const drops = await asSteps(wide, without);
  const creates = await asSteps(without, wide);
  const recreatedKeys = new Set(recreated.map((s) => s.key));
  const firstDrop = steps.findIndex((s) => s.action === 'drop' && recreatedKeys.has(s.key));
  let lastCreate = -1;
  steps.forEach((s, i) => {
    if (s.action !== 'drop' && recreatedKeys.has(s.key)) lastCreate = i;
  });
  const range = steps.slice(firstDrop, lastCreate + 1);
  const within = [...drops, ...range, ...creates];
  const where = (st: PlanStep) => (st.source ? ` (${st.source.file}:${st.source.line})` : '');
  const seeds = recreated.map((st) => st.key).join(', ');
  // One step, in one transaction, when every step of the range can share one: a dependent that cannot be created
  // again over the new view (it reads a column the view lost) rolls it all back instead of leaving it dropped.
  const merged: PlanStep[] = within.every((st) => st.transactional)
    ? [
        {
          ...range[0]!,
          statements: within.flatMap((st) => st.statements),
          reverse: within.every((st) => st.reverse !== null)
            ? [...within].reverse().flatMap((st) => st.reverse!)
            : null,
          hazards: within.flatMap((st) => st.hazards),
          notes: [
            ...within.flatMap((st) => st.notes ?? []),
            ...range.slice(1).map((st) => mergedStepNote(st.action, st.key)),
            ...creates.map((st) => otherDependentNote(st.key, st.action, where(st), seeds)),
          ],
          checksum: checksumStatements(within.flatMap((st) => st.statements)),
        },
      ]
    : within;
  const out = [...steps.slice(0, firstDrop), ...merged, ...steps.slice(lastCreate + 1)];
  out.forEach((st, i) => (st.order = i + 1));
  return out;
}
