import { settled, unsettled } from '../background';
import type { Connection, DiffRole } from '../engine/engine';
import { formatKey, parseKey, type ObjectKey } from '../model/object-key';
import type { SchemaScope } from '../schema/managed-scope';
import type { SchemaModel, SchemaObject } from '../schema/model';

/**
 * The live side of a project's diff, narrowed to what changed (issue 75): the objects whose sources differ from what
 * the ledger recorded, what depends on them (transitively), and what they need themselves (one step). The objects
 * outside that set are as the ledger recorded them when the project has not drifted (its fingerprint is the one its
 * last deployment recorded): a diff of them would find nothing, so neither side holds them. Both sides are cut to the
 * same names (`narrowModel`), so the diff over them plans exactly what the diff of the whole schemas plans.
 */
export interface Narrowing {
  /** Ledger keys of the objects whose sources changed or are new (`kind:schema.name...`). */
  changed: readonly string[];
  /** Ledger keys of objects the ledger holds and the sources no longer do. */
  removed: readonly string[];
  /** The sources' object graph: an object's key → the keys of the objects it needs. */
  needs: ReadonlyMap<string, readonly string[]>;
}

/** Kinds a narrowed read finds by name (a relation, routine or type, or what belongs to a table). */
export const NAMED = new Set<ObjectKey['kind']>([
  'table',
  'view',
  'materialized-view',
  'function',
  'procedure',
  'sequence',
  'type',
  'domain',
  'index',
  'trigger',
  'policy',
  'constraint',
]);
/** Kinds every read holds whole: a change to one narrows nothing away. */
const WHOLE = new Set<ObjectKey['kind']>([
  'schema',
  'extension',
  'collation',
  'text-search-dictionary',
  'text-search-configuration',
]);

/** The name a narrowed read finds `key` by: its table's for what belongs to a table; null for a kind read whole. */
export function nameOf(key: ObjectKey): string | null {
  if (WHOLE.has(key.kind)) return null;
  if (key.parent && ['index', 'trigger', 'policy', 'constraint'].includes(key.kind)) return key.parent;
  return `${key.schema}.${key.name}`;
}

/**
 * The names to read for `changed` and `removed`, closed over what depends on them in `needs` (key → keys it needs),
 * with what the changed objects need themselves (unless `needed` is false); null when a changed object is of a kind no
 * read narrows (an aggregate, a role, an extension, a collation...) or names a placeholder: the whole scope is read
 * then. `known`: the names a model holds; a
 * changed object of the sources must be among them (else the read cannot be trusted to find it).
 */
export function namesToRead(
  narrowing: Pick<Narrowing, 'changed' | 'removed'>,
  needs: ReadonlyMap<string, readonly string[]>,
  options: { known?: ReadonlySet<string>; needed?: boolean } = {},
): Set<string> | null {
  const { known, needed: withNeeded = true } = options;
  const names = new Set<string>();
  for (const [list, fromSources] of [
    [narrowing.changed, true],
    [narrowing.removed, false],
  ] as const) {
    for (const id of list) {
      const key = parseKey(id);
      // What depends on a schema is not told by its dependencies (its objects' keys name it); what depends on an
      // extension, a collation or a text search object is, and is not found by name: both read whole.
      if (!NAMED.has(key.kind) && key.kind !== 'schema') return null;
      const name = nameOf(key);
      if (name === null) continue;
      if (name.includes('{{') || (fromSources && known && !known.has(name))) return null;
      names.add(name);
    }
  }
  // What depends on a name read is read too, to a fixed point.
  const dependents = new Map<string, string[]>();
  for (const [id, needed] of needs)
    for (const n of needed) {
      const list = dependents.get(n);
      if (list) list.push(id);
      else dependents.set(n, [id]);
    }
  const byName = new Map<string, string[]>();
  for (const id of new Set([...needs.keys(), ...dependents.keys()])) {
    const name = safeName(id);
    if (name === null) continue;
    const list = byName.get(name);
    if (list) list.push(id);
    else byName.set(name, [id]);
  }
  const queue = [...names];
  while (queue.length) {
    const name = queue.pop()!;
    for (const id of byName.get(name) ?? [])
      for (const dependent of dependents.get(id) ?? []) {
        const d = safeName(dependent);
        if (d !== null && !names.has(d)) {
          names.add(d);
          queue.push(d);
        }
      }
  }
  if (!withNeeded) return names;
  // What the changed objects need (a referenced table's key, a column's sequence), one step: not what depends on it.
  const changed = new Set(narrowing.changed.map(safeName).filter((n) => n !== null));
  const needed: string[] = [];
  for (const [id, list] of needs) {
    const name = safeName(id);
    if (name === null || !changed.has(name)) continue;
    for (const n of list) {
      const m = safeName(n);
      if (m !== null) needed.push(m);
    }
  }
  for (const n of needed) names.add(n);
  return names;
}

/** `nameOf` of a key's text; null when it is read whole or is not a key. */
function safeName(id: string): string | null {
  try {
    return nameOf(parseKey(id));
  } catch {
    return null;
  }
}

/** A model's keys → the keys each needs (`dependsOn`, with its columns' and constraints'). */
export function modelNeeds(model: SchemaModel): Map<string, string[]> {
  const needs = new Map<string, string[]>();
  for (const o of everyObject(model)) {
    const keys = [...o.dependsOn];
    if ('columns' in o && Array.isArray(o.columns))
      for (const c of o.columns as { dependsOn?: ObjectKey[] }[]) keys.push(...(c.dependsOn ?? []));
    if ('constraints' in o)
      for (const c of (o as { constraints: { dependsOn: ObjectKey[] }[] }).constraints) keys.push(...c.dependsOn);
    if ('table' in o) keys.push((o as { table: ObjectKey }).table);
    const id = formatKey(o.key);
    needs.set(id, [...(needs.get(id) ?? []), ...keys.map(formatKey)]);
  }
  return needs;
}

/** The names of the objects a model holds (`nameOf`). */
export function modelNames(model: SchemaModel): Set<string> {
  const names = new Set<string>();
  for (const o of everyObject(model)) {
    const name = nameOf(o.key);
    if (name !== null) names.add(name);
  }
  return names;
}

function everyObject(m: SchemaModel): SchemaObject[] {
  return [...m.types, ...m.sequences, ...m.tables, ...m.indexes, ...m.views, ...m.routines, ...m.triggers];
}

/**
 * `model` with only the objects of `names` (`nameOf`: a table's indexes and triggers with it) and those read whole
 * (schemas, extensions, collations, text search objects); comments, privileges and owners of what is kept; and every
 * dependency on what is not kept left out, on both sides of a diff alike (a narrowed read cannot name it).
 */
export function narrowModel(model: SchemaModel, names: ReadonlySet<string>): SchemaModel {
  const keep = <T extends SchemaObject>(list: T[]) => list.filter((o) => names.has(nameOf(o.key)!));
  const m: SchemaModel = {
    ...model,
    tables: keep(model.tables),
    views: keep(model.views),
    routines: keep(model.routines),
    triggers: keep(model.triggers),
    sequences: keep(model.sequences),
    types: keep(model.types),
    indexes: keep(model.indexes),
  };
  const kept = new Set<string>();
  for (const o of [
    ...m.schemas,
    ...m.extensions,
    ...(m.collations ?? []),
    ...(m.textSearchDictionaries ?? []),
    ...(m.textSearchConfigurations ?? []),
    ...everyObject(m),
  ])
    kept.add(formatKey(o.key));
  const isKept = (k: ObjectKey) => kept.has(formatKey(k));
  const deps = (list: ObjectKey[]) => list.filter(isKept);
  const withDeps = <T extends SchemaObject>(o: T): T => ({ ...o, dependsOn: deps(o.dependsOn) });
  m.tables = m.tables.map((t) => ({
    ...withDeps(t),
    columns: t.columns.map((c) => ({ ...c, dependsOn: deps(c.dependsOn) })),
    constraints: t.constraints.map((c) => ({ ...c, dependsOn: deps(c.dependsOn) })),
  }));
  m.views = m.views.map((v) => ({
    ...withDeps(v),
    dependsOnColumns: v.dependsOnColumns.filter((c) => isKept(c.table)),
  }));
  m.routines = m.routines.map(withDeps);
  m.triggers = m.triggers.map(withDeps);
  m.sequences = m.sequences.map(withDeps);
  m.types = m.types.map(withDeps);
  m.indexes = m.indexes.map(withDeps);
  // A policy lives in its table (`attrs.policies`): its comment is kept with the table.
  m.comments = model.comments.filter(
    (c) => isKept(c.target) || (c.target.kind === 'policy' && names.has(nameOf(c.target)!)),
  );
  m.privileges = model.privileges.filter((p) => isKept(p.target));
  m.owners = model.owners.filter((o) => isKept(o.target));
  return m;
}

/**
 * The live and desired models of a project's diff. With `narrowing`, the live side is read for the names the sources'
 * graph gives (`namesToRead`) while the desired model is built; then the names the desired model's own dependents
 * give are checked against them: a name the read missed reads the live side again for both, and a changed object the
 * desired model does not hold by name reads it whole. Both sides are then cut to the names read (`narrowModel`).
 */
export async function diffSides(input: {
  diff: DiffRole;
  conn: Connection;
  scope: SchemaScope;
  side?: Connection | Promise<Connection | undefined>;
  narrowing: Narrowing | null;
  /**
   * Whether the narrowed read may stand (the schemas are as the last deployment recorded them), told while it runs:
   * the drift stage's reading is not waited for before the catalog is read; when it says no, the whole schemas are
   * read after.
   */
  allowed: Promise<boolean>;
  desired: () => Promise<SchemaModel>;
}): Promise<{ live: SchemaModel; desired: SchemaModel; names: Set<string> | null }> {
  const { diff, conn, scope, side, narrowing } = input;
  const first = narrowing ? namesToRead(narrowing, narrowing.needs) : null;
  // The catalog queries are sent first: a cached model is read and parsed before its promise returns.
  const reading = settled(diff.introspect(conn, first ? { ...scope, names: [...first] } : scope, side));
  const allowed = first ? settled(input.allowed) : null;
  const built = await settled(input.desired());
  const read = await reading;
  const desired = unsettled(built);
  const live = unsettled(read);
  if (!narrowing || !first) return { live, desired, names: null };
  // Not allowed, or not told (a drift reading that failed is the drift stage's to report): the whole schemas.
  const told = await allowed!;
  if (!('value' in told) || !told.value)
    return { live: await diff.introspect(conn, scope, side), desired, names: null };
  // What the diff cannot do without: the changed objects, everything that depends on them in the desired model, and
  // what they need in either model, one step (the sequence a serial column draws from is no object of the sources:
  // the desired table needs it when a column becomes serial, the live one when it stops being serial). A name the read
  // missed is read again, for both sides, until none is missed.
  let names = first;
  let current = live;
  // The desired model does not change between rounds: what it needs is read once.
  const fromDesired = namesToRead(narrowing, modelNeeds(desired), { known: modelNames(desired) });
  for (let round = 0; round < 3; round++) {
    const fromLive = namesToRead(narrowing, modelNeeds(current));
    if (!fromDesired || !fromLive) return { live: await diff.introspect(conn, scope, side), desired, names: null };
    const missed = [...fromDesired, ...fromLive].filter((n) => !names.has(n));
    if (!missed.length) return { live: narrowModel(current, names), desired: narrowModel(desired, names), names };
    names = new Set([...names, ...missed]);
    current = await diff.introspect(conn, { ...scope, names: [...names] }, side);
  }
  return { live: await diff.introspect(conn, scope, side), desired, names: null };
}
