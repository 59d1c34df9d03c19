import type { Connection, DiffRole, Engine } from '../engine/engine';
import { formatKey, type ObjectKey } from '../model/object-key';
import { diffModels } from '../schema/diff';
import type { SchemaScope } from '../schema/managed-scope';
import type { SchemaModel } from '../schema/model';

/**
 * Run `statements` that drop and create `key` again (a view replaced back by a narrower version of itself, which
 * `CREATE OR REPLACE` refuses) with the objects that depend on it in `scope` (views over it, routines returning its
 * rows, their triggers and indexes, transitively) dropped first and created again afterwards, dependents before what
 * they depend on and the other way round, with their comments and privileges, as the engine's differ orders and
 * renders them from the live catalog. Without dependents only `statements` run. Returns every statement that ran.
 * Run it inside a transaction: when a dependent cannot be created again (it needs what the narrower view lost), the
 * error rolls everything back, and nothing is left half-done.
 */
export async function recreateWithDependents(
  conn: Connection,
  engine: Engine,
  scope: SchemaScope,
  key: ObjectKey,
  statements: readonly string[],
  exec: (list: readonly string[]) => Promise<void>,
): Promise<string[]> {
  const diff = engine.diff;
  if (!diff) {
    await exec(statements);
    return [...statements];
  }
  const live = await diff.introspect(conn, scope);
  const dependents = dependentsOf(live, key);
  if (dependents.size === 0) {
    await exec(statements);
    return [...statements];
  }
  const drops = render(diff, live, only(live, (k) => !dependents.has(k)));
  await exec(drops);
  await exec(statements);
  const after = await diff.introspect(conn, scope);
  const back = merge(after, only(live, (k) => dependents.has(k)));
  const creates = render(diff, after, back);
  await exec(creates);
  return [...drops, ...statements, ...creates];
}

function render(diff: DiffRole, from: SchemaModel, to: SchemaModel): string[] {
  const changes = diffModels(from, to, { sameViewDefinition: diff.sameViewDefinition, facts: diff.facts });
  return diff.renderChanges(changes, { from, to }).flatMap((r) => r.statements);
}

/** `schema.name` of a relation key, as indexes and triggers name their parent. */
const relationName = (k: ObjectKey) => `${k.schema}.${k.name}`;

/** Keys (`formatKey`) of the objects of `model` that need `key`, directly or through each other. */
function dependentsOf(model: SchemaModel, key: ObjectKey): Set<string> {
  const seed = formatKey(key);
  const found = new Set<string>([seed]);
  const relations = new Set<string>([relationName(key)]);
  const candidates = [...model.views, ...model.routines, ...model.triggers, ...model.indexes];
  for (let grew = true; grew; ) {
    grew = false;
    for (const o of candidates) {
      const k = formatKey(o.key);
      if (found.has(k)) continue;
      const parent = 'table' in o ? relationName(o.table) : null;
      if ((parent !== null && relations.has(parent)) || o.dependsOn.some((d) => found.has(formatKey(d)))) {
        found.add(k);
        if (o.key.kind === 'view' || o.key.kind === 'materialized-view') relations.add(relationName(o.key));
        grew = true;
      }
    }
  }
  found.delete(seed);
  // The seed's own triggers and indexes go and come back with the statements that recreate it, not here.
  for (const o of [...model.triggers, ...model.indexes]) if (relationName(o.table) === relationName(key)) found.delete(formatKey(o.key));
  return found;
}

/** The part of `model` whose objects `keep` accepts, with the comments, privileges and owners of those. */
function only(model: SchemaModel, keep: (key: string) => boolean): SchemaModel {
  const k = (o: { key: ObjectKey }) => keep(formatKey(o.key));
  const t = (o: { target: ObjectKey }) => keep(formatKey(o.target));
  return {
    ...model,
    views: model.views.filter(k),
    routines: model.routines.filter(k),
    triggers: model.triggers.filter(k),
    indexes: model.indexes.filter(k),
    comments: model.comments.filter(t),
    privileges: model.privileges.filter(t),
    owners: model.owners.filter(t),
  };
}

/** `base` with the views, routines, triggers, indexes, comments, privileges and owners of `extra` added. */
function merge(base: SchemaModel, extra: SchemaModel): SchemaModel {
  return {
    ...base,
    views: [...base.views, ...extra.views],
    routines: [...base.routines, ...extra.routines],
    triggers: [...base.triggers, ...extra.triggers],
    indexes: [...base.indexes, ...extra.indexes],
    comments: [...base.comments, ...extra.comments],
    privileges: [...base.privileges, ...extra.privileges],
    owners: [...base.owners, ...extra.owners],
  };
}
