import type { Connection, DiffRole, Engine } from '../engine/engine';
import { formatKey, parseKey, type ObjectKey } from '../model/object-key';
import { diffModels } from '../schema/diff';
import type { SchemaScope } from '../schema/managed-scope';
import type { SchemaModel } from '../schema/model';
import { usersIndex, type Dependent } from '../schema/model-index';

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
  const drops = render(
    diff,
    live,
    only(live, (k) => !dependents.has(k)),
  );
  await exec(drops);
  await exec(statements);
  const after = await diff.introspect(conn, scope);
  const back = merge(
    after,
    only(live, (k) => dependents.has(k)),
  );
  const creates = render(diff, after, back);
  await exec(creates);
  return [...drops, ...statements, ...creates];
}

function render(diff: DiffRole, from: SchemaModel, to: SchemaModel): string[] {
  const changes = diffModels(from, to, { sameDefinition: diff.sameDefinition, facts: diff.facts });
  return diff.renderChanges(changes, { from, to }).flatMap((r) => r.statements);
}

/** `schema.name` of a relation key, as indexes and triggers name their parent. */
const relationName = (k: ObjectKey) => `${k.schema}.${k.name}`;

/**
 * Keys (`formatKey`) of the objects of `model` that need `key`, directly or through each other: a walk over the
 * model's reverse dependencies (`usersIndex`), so that it costs what it finds, not the model times the chain's length.
 */
export function dependentsOf(model: SchemaModel, key: ObjectKey): Set<string> {
  const { byDependency, byTable } = usersIndex(model);
  const seed = formatKey(key);
  const found = new Set<string>([seed]);
  const relations = new Set<string>();
  /** Found objects whose users are still to be looked up: by key, and (a relation) by the things on it. */
  const queue: { key: string; relation: string | null }[] = [{ key: seed, relation: relationName(key) }];
  for (let i = 0; i < queue.length; i++) {
    const { key: k, relation } = queue[i]!;
    const next: Dependent[] = [...(byDependency.get(k) ?? [])];
    if (relation !== null && !relations.has(relation)) {
      relations.add(relation);
      next.push(...(byTable.get(relation) ?? []));
    }
    for (const o of next) {
      const ok = formatKey(o.key);
      if (found.has(ok)) continue;
      found.add(ok);
      queue.push({
        key: ok,
        relation: o.key.kind === 'view' || o.key.kind === 'materialized-view' ? relationName(o.key) : null,
      });
    }
  }
  found.delete(seed);
  // The seed's own triggers and indexes go and come back with the statements that recreate it, not here.
  for (const o of byTable.get(relationName(key)) ?? []) found.delete(formatKey(o.key));
  return found;
}

/** The part of `model` whose objects `keep` accepts, with the comments, privileges and owners of those. */
export function only(model: SchemaModel, keep: (key: string) => boolean): SchemaModel {
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

/**
 * The statements that put view `key` back by `statements` (a drop and a create), planned ahead from the live catalog
 * so that a dry run prints exactly what the real run sends: the objects in `scope` that depend on the view (any
 * project's schemas: views over it, routines returning its rows, their triggers and indexes, transitively) are dropped
 * first, dependents before what they depend on, and created again afterwards the other way round, with their comments
 * and privileges, and the view's own comments, privileges and owner come back. `putBack`: objects that an earlier step
 * of the same run puts back by other statements (`formatKey` → statements); one of them that must be created again
 * here is created by those, not by its live definition. `catalog` keeps the live catalog, read once, for the calls of
 * one plan (over the same `scope`). Without a diff role, only `statements`.
 */
export async function planRecreate(
  conn: Connection,
  engine: Engine,
  scope: SchemaScope,
  key: ObjectKey,
  statements: readonly string[],
  putBack: ReadonlyMap<string, readonly string[]> = new Map(),
  catalog: { live?: Promise<SchemaModel> } = {},
): Promise<string[]> {
  const diff = engine.diff;
  if (!diff) return [...statements];
  // Read once for every view one plan puts back: planning runs nothing, so the catalog stays as it was read.
  catalog.live ??= diff.introspect(conn, scope);
  const live = await catalog.live;
  const dependents = dependentsOf(live, key);
  const seed = formatKey(key);
  const drops = dependents.size
    ? render(
        diff,
        live,
        only(live, (k) => !dependents.has(k)),
      )
    : [];
  // What is left once the view is dropped: no dependents, and nothing attached to the view itself.
  const left = only(live, (k) => !dependents.has(k));
  const detached: SchemaModel = {
    ...left,
    comments: left.comments.filter((c) => formatKey(c.target) !== seed),
    privileges: left.privileges.filter((p) => formatKey(p.target) !== seed),
    owners: left.owners.filter((o) => formatKey(o.target) !== seed),
  };
  const changes = diffModels(detached, live, { sameDefinition: diff.sameDefinition, facts: diff.facts });
  const creates = diff.renderChanges(changes, { from: detached, to: live }).flatMap((r) => {
    const own = putBack.get(r.key);
    return own && r.action === 'create' && dependents.has(r.key) ? [...own] : r.statements;
  });
  return [...drops, ...statements, ...creates];
}

/** `base` with the objects of `other` that live in `schemas` (and what is attached to them) added, unless `base` has them. */
export function withSchemas(base: SchemaModel, other: SchemaModel, schemas: ReadonlySet<string>): SchemaModel {
  const schemaOf = (k: ObjectKey) => (k.kind === 'schema' ? k.name : k.schema);
  // Schemas `base` already describes are its own.
  const own = new Set(
    [...base.schemas, ...base.tables, ...base.views, ...base.routines, ...base.types, ...base.sequences].map((o) =>
      schemaOf(o.key),
    ),
  );
  const inKey = (o: { key: ObjectKey }) => schemas.has(schemaOf(o.key)) && !own.has(schemaOf(o.key));
  const inTarget = (o: { target: ObjectKey }) => schemas.has(schemaOf(o.target)) && !own.has(schemaOf(o.target));
  return {
    ...base,
    schemas: [...base.schemas, ...other.schemas.filter(inKey)],
    tables: [...base.tables, ...other.tables.filter(inKey)],
    views: [...base.views, ...other.views.filter(inKey)],
    routines: [...base.routines, ...other.routines.filter(inKey)],
    triggers: [...base.triggers, ...other.triggers.filter(inKey)],
    sequences: [...base.sequences, ...other.sequences.filter(inKey)],
    types: [...base.types, ...other.types.filter(inKey)],
    indexes: [...base.indexes, ...other.indexes.filter(inKey)],
    extensions: [...base.extensions, ...other.extensions.filter(inKey)],
    ...(base.collations || other.collations
      ? { collations: [...(base.collations ?? []), ...(other.collations ?? []).filter(inKey)] }
      : {}),
    ...(base.textSearchDictionaries || other.textSearchDictionaries
      ? {
          textSearchDictionaries: [
            ...(base.textSearchDictionaries ?? []),
            ...(other.textSearchDictionaries ?? []).filter(inKey),
          ],
        }
      : {}),
    ...(base.textSearchConfigurations || other.textSearchConfigurations
      ? {
          textSearchConfigurations: [
            ...(base.textSearchConfigurations ?? []),
            ...(other.textSearchConfigurations ?? []).filter(inKey),
          ],
        }
      : {}),
    comments: [...base.comments, ...other.comments.filter(inTarget)],
    privileges: [...base.privileges, ...other.privileges.filter(inTarget)],
    owners: [...base.owners, ...other.owners.filter(inTarget)],
  };
}

/**
 * The note of a step that drops and creates again `key`, an object of another project (or of no project) that stands
 * on what the step re-creates (`withOtherSchemasDependents`), and the keys read back from a step's notes: the verified
 * dry run copies their schemas too.
 */
export function otherDependentNote(key: string, action: string, where: string, seeds: string): string {
  return `with: drop and ${action} ${key}${where}, another project's, which stands on ${seeds}`;
}
export function otherDependentKeys(notes: readonly string[] | undefined): ObjectKey[] {
  return (notes ?? []).flatMap((n) => {
    const m = /^with: drop and \S+ (\S+)/.exec(n);
    return m ? [parseKey(m[1]!)] : [];
  });
}

/**
 * The note of a step merged into the first step of a re-creation around another project's dependents (one step, one
 * transaction: `then: alter table:core.customers`); `mergedSteps` reads them back (`dbee status` lists each).
 */
export function mergedStepNote(action: string, key: string): string {
  return `then: ${action} ${key}`;
}
export function mergedSteps(notes: readonly string[] | undefined): { action: string; key: string }[] {
  return (notes ?? []).flatMap((n) => {
    const m = /^then: (\S+) (\S+)$/.exec(n);
    return m ? [{ action: m[1]!, key: m[2]! }] : [];
  });
}
