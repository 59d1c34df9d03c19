/**
 * Engine-neutral identity of a database object. Two statements that define, alter, comment or grant on the same
 * object share its key, and the planner groups them into one step.
 */
export type ObjectKind =
  | 'schema'
  | 'extension'
  | 'table'
  | 'view'
  | 'materialized-view'
  | 'function'
  | 'procedure'
  | 'aggregate'
  | 'trigger'
  | 'sequence'
  | 'type'
  | 'domain'
  | 'index'
  | 'policy'
  | 'role'
  | 'macro'
  | 'join-index'
  | 'hash-index'
  | 'database'
  | 'user'
  | 'constraint'
  | 'migration'
  | 'other';

export interface ObjectKey {
  kind: ObjectKind;
  /** Schema (PostgreSQL) or database (Teradata). Empty for cluster-level objects (roles, databases). */
  schema: string;
  name: string;
  /** Argument types of routines, normalised by the engine (`integer`, `text[]`), in order. */
  args?: string[];
  /** Table that owns a trigger, index or policy, as `schema.name`: part of the identity on PostgreSQL. */
  parent?: string;
}

/** `kind:schema.name(args)@parent`, e.g. `function:sales.total(integer)`. Stable: used in plans and the ledger. */
export function formatKey(key: ObjectKey): string {
  const qualified = key.schema ? `${key.schema}.${key.name}` : key.name;
  const args = key.args ? `(${key.args.join(',')})` : '';
  const parent = key.parent ? `@${key.parent}` : '';
  return `${key.kind}:${qualified}${args}${parent}`;
}

/** Inverse of {@link formatKey}. */
export function parseKey(text: string): ObjectKey {
  const m = /^([a-z-]+):(?:([^.()@]*)\.)?([^()@]+)(?:\(([^)]*)\))?(?:@(.+))?$/.exec(text);
  if (!m) throw new Error(`not an object key: ${text}`);
  const key: ObjectKey = { kind: m[1] as ObjectKind, schema: m[2] ?? '', name: m[3]! };
  if (m[4] !== undefined) key.args = m[4] === '' ? [] : m[4].split(',');
  if (m[5] !== undefined) key.parent = m[5];
  return key;
}

/** Sort helper: deterministic tie-breaking by formatted key. */
export function compareKeys(a: ObjectKey, b: ObjectKey): number {
  const x = formatKey(a);
  const y = formatKey(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Key of a versioned migration of a project: `migration:<project>/V<version>` (version canonical, `1.2`). */
export function migrationKey(project: string, version: string): ObjectKey {
  return { kind: 'migration', schema: '', name: `${project}/V${version}` };
}

/** The version in a migration key's name (`sales/V1.2` → `1.2`); see {@link migrationKey}. */
export function migrationVersionOf(name: string): string {
  return name.slice(name.lastIndexOf('/V') + 2);
}
