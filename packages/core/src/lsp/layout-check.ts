import type { ObjectKey } from '../model/object-key';
import type { SourceStatement } from '../planner/objects';
import { ATTACHED_KINDS, kindsOfFolder, layoutFolder, layoutName } from '../sources/layout';
import type { EditorDiagnostic } from './editor-diagnostic';
import { keyRange } from './places';
import type { IndexedProject, IndexedSource, WorkspaceIndex } from './workspace-index';

/**
 * A definition file at a path of the project layout (`schema/<schema>/<folder>/<name>.sql`, `sources/layout.ts`) whose
 * object disagrees with it: defined in another schema than its folder, of another kind than its folder holds, or
 * under another name than its file's. Files elsewhere are not judged: the layout is a convention, not a rule of the
 * planner, so these are warnings.
 */
export function layoutDiagnostics(ws: WorkspaceIndex): EditorDiagnostic[] {
  const out: EditorDiagnostic[] = [];
  for (const p of ws.projects()) {
    if (!p.project) continue;
    for (const source of p.sources.values()) {
      if (source.role !== 'object' || source.problems.length) continue;
      const d = layoutDiagnostic(p, source);
      if (d) out.push(d);
    }
  }
  return out;
}

const LAYOUT_PATH = /^schema\/([^/]+)\/(?:([^/]+)\/)?([^/]+)\.sql$/;

function layoutDiagnostic(p: IndexedProject, source: IndexedSource): EditorDiagnostic | null {
  const base = p.project!.relativeRoot ? `${p.project!.relativeRoot}/` : '';
  const m = LAYOUT_PATH.exec(source.path.slice(base.length));
  if (!m) return null;
  const [, schemaFolder, folder, file] = m as unknown as [string, string, string | undefined, string];
  const defined = source.statements.filter(
    (st): st is SourceStatement & { key: ObjectKey } =>
      st.key !== null && (st.action === 'create' || st.action === 'create-or-replace'),
  );
  if (!defined.length) return null;
  const warn = (st: SourceStatement & { key: ObjectKey }, code: string, message: string, hint: string) => ({
    file: source.path,
    range: keyRange(source, st, st.key),
    severity: 'warning' as const,
    code,
    message,
    hint,
  });
  if (folder === undefined) {
    // schema/<schema>/schema.sql: the schema itself.
    const schema = defined.find((st) => st.key.kind === 'schema');
    if (file !== 'schema' || !schema || schemaFolderOf(p, schema.key.name).includes(schemaFolder.toLowerCase()))
      return null;
    return warn(
      schema,
      'LAYOUT_SCHEMA',
      `schema ${schema.key.name} is defined in schema/${schemaFolder}/schema.sql`,
      `move it to schema/${layoutName(schema.key.name)}/schema.sql (the layout: schema/<schema>/schema.sql)`,
    );
  }
  for (const st of defined) {
    if (!st.key.schema || st.key.kind === 'schema') continue;
    if (schemaFolderOf(p, st.key.schema).includes(schemaFolder.toLowerCase())) continue;
    return warn(
      st,
      'LAYOUT_SCHEMA',
      `${st.key.kind} ${st.key.schema}.${st.key.name} is in schema ${st.key.schema}, but its file is under schema/${schemaFolder}/`,
      `move the file to schema/${layoutName(st.key.schema)}/${layoutFolder(st.key.kind)}/, or define the object in schema ${schemaFolder}`,
    );
  }
  const kinds = kindsOfFolder(folder);
  if (!kinds.length) return null;
  const first = defined[0]!;
  if (!kinds.includes(first.key.kind)) {
    return warn(
      first,
      'LAYOUT_KIND',
      `${folder}/${file}.sql defines ${first.key.kind} ${qualified(first.key)}; ${folder}/ holds ${kinds.join(' and ')} files`,
      `move the file to schema/${schemaFolder}/${layoutFolder(first.key.kind)}/`,
    );
  }
  if (ATTACHED_KINDS.has(first.key.kind)) return null;
  const own = defined.filter((st) => kinds.includes(st.key.kind));
  // Overloads of a routine are told apart by their arguments after `__` (`total__integer.sql`).
  const stem = file.replace(/__.*$/, '').toLowerCase();
  if (own.some((st) => layoutName(st.key.name).toLowerCase() === stem || st.key.name.toLowerCase() === stem))
    return null;
  return warn(
    first,
    'LAYOUT_NAME',
    `${first.key.kind} ${qualified(first.key)} is defined in ${folder}/${file}.sql`,
    `rename the file ${layoutName(first.key.name)}.sql (the layout: schema/<schema>/${folder}/<name>.sql)`,
  );
}

function qualified(key: ObjectKey): string {
  return key.schema ? `${key.schema}.${key.name}` : key.name;
}

/**
 * The folder names a schema may have in the layout, lower case: its name, and for a schema db.yaml writes with
 * placeholders (`{{env}}_EDW`) the name without them (`edw`), as extract names its folder.
 */
function schemaFolderOf(p: IndexedProject, schema: string): string[] {
  const names = [layoutName(schema).toLowerCase()];
  const schemas = p.graph?.schemas ?? [];
  const i = schemas.findIndex((s) => s.toLowerCase() === schema.toLowerCase());
  const template = i >= 0 ? p.project?.config.schemas[i] : undefined;
  if (template?.includes('{{')) {
    const plain = template.replace(/\{\{[^}]*\}\}/g, '').replace(/^[_$#]+|[_$#]+$/g, '');
    if (plain) names.push(layoutName(plain.replace(/^"|"$/g, '')).toLowerCase());
  }
  return names;
}
