import type { ObjectKind } from '../model/object-key';

/**
 * The project layout: `schema/<schema>/<folder>/<name>.sql`, one object per file (README, "Source layout"), as
 * `dbee extract` writes it and the language server checks it. Sources may live anywhere; a file at such a path is read
 * as a promise that it defines that object.
 */

/** The folder of each kind's files under `schema/<schema>/` (a kind not listed: its name and `s`). */
export const LAYOUT_FOLDERS: Readonly<Partial<Record<ObjectKind, string>>> = {
  extension: 'extensions',
  table: 'tables',
  view: 'views',
  'materialized-view': 'materialized-views',
  function: 'functions',
  procedure: 'procedures',
  aggregate: 'functions',
  sequence: 'sequences',
  type: 'types',
  domain: 'domains',
  'text-search-dictionary': 'text-search',
  'text-search-configuration': 'text-search',
  macro: 'macros',
  'join-index': 'join_indexes',
  'hash-index': 'hash_indexes',
  // Teradata's authorizations and function mappings (d-bee's `.auth` and `.mfnc` files).
  authorization: 'authorizations',
  'function-mapping': 'function_mappings',
  trigger: 'triggers',
  index: 'indexes',
  policy: 'policies',
};

/**
 * Kinds whose files hold what belongs to a table (its indexes, triggers, policies) rather than one object of their own:
 * a file of theirs may be named after the table or anything else (`triggers/touch.sql` with two triggers).
 */
export const ATTACHED_KINDS: ReadonlySet<ObjectKind> = new Set(['index', 'trigger', 'policy']);

/** The folder of a kind's files under `schema/<schema>/`. */
export function layoutFolder(kind: ObjectKind): string {
  return LAYOUT_FOLDERS[kind] ?? `${kind}s`;
}

/** A file or folder name for any identifier: letters, digits, `_`, `-` and `.` kept, anything else as `%xx`. */
export function layoutName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}

/**
 * Kinds close enough to share a folder without breaking the layout: a materialized view among views, a procedure among
 * functions, a domain among types.
 */
const FAMILIES: readonly (readonly ObjectKind[])[] = [
  ['view', 'materialized-view'],
  ['function', 'procedure', 'aggregate'],
  ['type', 'domain'],
  ['text-search-dictionary', 'text-search-configuration'],
];

/**
 * The kinds a file in `folder` may define (`functions`: functions, procedures and aggregates; see `FAMILIES`); empty
 * for a folder that is no kind's.
 */
export function kindsOfFolder(folder: string): ObjectKind[] {
  const kinds = (Object.entries(LAYOUT_FOLDERS) as [ObjectKind, string][])
    .filter(([, f]) => f === folder)
    .map(([k]) => k);
  if (!kinds.length && folder === 'collations') kinds.push('collation');
  const family = FAMILIES.find((f) => kinds.some((k) => f.includes(k)));
  return family ? [...new Set([...kinds, ...family])] : kinds;
}
