import type { Connection, ObjectKey } from '@dbee/core';
import { changeObjectKey, diffModels, emptyModel, type SchemaModel, type SchemaScope } from '@dbee/core/src/schema';
import type { ExtractedObject } from '@dbee/core/src/engine/engine';
import { introspect, POSTGRES_DEFAULT_PRIVILEGES } from '../introspect';
import { renderChange } from '../render/render-change';
import { sameViewDefinition } from '../compare/same-view';

/** Folder of each kind of object under `schema/<schema>/`. */
const FOLDERS: Partial<Record<ObjectKey['kind'], string>> = {
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
};

/**
 * The live objects of `scope` as source files in the project layout: `schema/<schema>/<kind>/<name>.sql`, one object
 * per file, its indexes, constraints added later, triggers, policies, comments and grants beside it;
 * `schema/<schema>/schema.sql` for the schema itself (its grants and comment). The statements are those dbee's own
 * renderer writes to create the objects from nothing (the differ's create order), so deploying the files to an empty
 * database gives the same model back. Deterministic: same catalog, same bytes.
 */
export async function extract(conn: Connection, scope: SchemaScope): Promise<ExtractedObject[]> {
  const model = await introspect(conn, scope);
  return extractModel(model);
}

/** `extract` on a model already read. */
export function extractModel(model: SchemaModel): ExtractedObject[] {
  const from: SchemaModel = { ...emptyModel(), defaultPrivileges: POSTGRES_DEFAULT_PRIVILEGES };
  const changes = diffModels(from, model, { sameViewDefinition });
  const relations = new Map<string, ObjectKey>();
  for (const o of [...model.tables, ...model.views]) relations.set(`${o.key.schema}.${o.key.name}`, o.key);
  const routineCount = new Map<string, number>();
  for (const r of model.routines) routineCount.set(`${r.key.schema}.${r.key.name}`, (routineCount.get(`${r.key.schema}.${r.key.name}`) ?? 0) + 1);
  const files = new Map<string, { key: ObjectKey; statements: string[] }>();
  for (const change of changes) {
    const key = changeObjectKey(change);
    // Indexes, triggers, policies and constraints live with their table; sequences owned by a column too.
    let home: ObjectKey = key.parent ? (relations.get(key.parent) ?? key) : key;
    if (change.kind === 'create-sequence' && change.sequence.ownedBy) home = change.sequence.ownedBy.table;
    const path = fileOf(home, routineCount);
    const sql = renderChange(change, { online: false });
    let file = files.get(path);
    if (!file) {
      file = { key: home, statements: [] };
      files.set(path, file);
    }
    file.statements.push(...sql.statements);
  }
  return [...files.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([path, f]) => ({ key: f.key, path, text: f.statements.map((s) => s.trim() + ';\n').join('\n') }));
}

function fileOf(key: ObjectKey, routineCount: Map<string, number>): string {
  if (key.kind === 'schema') return `schema/${safe(key.name)}/schema.sql`;
  const folder = FOLDERS[key.kind] ?? `${key.kind}s`;
  let name = key.name;
  // Overloads share a name: their argument types tell the files apart.
  if (key.args && (routineCount.get(`${key.schema}.${key.name}`) ?? 0) > 1) name += key.args.length ? `__${key.args.join('_')}` : '__noargs';
  return `schema/${safe(key.schema)}/${folder}/${safe(name)}.sql`;
}

/** A file name for any identifier: letters, digits, `_`, `-` and `.` kept, anything else as `%xx`. */
function safe(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}

