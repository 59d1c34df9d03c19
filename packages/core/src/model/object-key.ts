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
  | 'collation'
  | 'text-search-dictionary'
  | 'text-search-configuration'
  | 'index'
  | 'policy'
  | 'role'
  | 'macro'
  | 'join-index'
  | 'hash-index'
  | 'database'
  | 'user'
  | 'profile'
  | 'authorization'
  | 'function-mapping'
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
  const m = /^([a-z-]+):(.+)$/.exec(text);
  if (!m) throw new Error(`not an object key: ${text}`);
  const kind = m[1] as ObjectKind;
  let rest = m[2]!;
  // Names may hold any character once quoted (`we(ird)`, `T a`): the parent is what follows the last `@` of an
  // index, trigger, policy or constraint, and the arguments the last balanced `(...)` of a routine.
  let parent: string | undefined;
  const at = PARENTED.has(kind) ? rest.lastIndexOf('@') : -1;
  if (at > 0) {
    parent = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let args: string[] | undefined;
  if (ROUTINES.has(kind) && rest.endsWith(')')) {
    let depth = 0;
    let open = -1;
    for (let i = rest.length - 1; i >= 0; i--) {
      if (rest[i] === ')') depth++;
      else if (rest[i] === '(' && --depth === 0) {
        open = i;
        break;
      }
    }
    if (open > 0) {
      args = splitArgs(rest.slice(open + 1, -1));
      rest = rest.slice(0, open);
    }
  }
  // A migration is `project/V1.2`: its dots belong to the version.
  const dot = kind === 'migration' ? -1 : rest.indexOf('.');
  const key: ObjectKey = {
    kind,
    schema: dot > 0 ? rest.slice(0, dot) : '',
    name: dot > 0 ? rest.slice(dot + 1) : rest,
  };
  if (args !== undefined) key.args = args;
  if (parent !== undefined) key.parent = parent;
  return key;
}

const ROUTINES = new Set<string>(['function', 'procedure', 'aggregate', 'macro']);
const PARENTED = new Set<string>(['index', 'trigger', 'policy', 'constraint']);

/** `integer,numeric(10,2)` → `['integer', 'numeric(10,2)']`: commas inside parentheses belong to a type. */
function splitArgs(text: string): string[] {
  if (text === '') return [];
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    else if (text[i] === ',' && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out;
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
