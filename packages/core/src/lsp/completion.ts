import type { ObjectKind } from '../model/object-key';
import type { WorkspaceAnalysis } from './analysis';
import { columnDetail, type ColumnIndex } from './columns';
import { sameName, type TextPosition } from './text';
import type { WorkspaceIndex } from './workspace-index';

/** One name the editor may offer where the cursor is. */
export interface EditorCompletion {
  /** What is inserted: the object's name, or a schema's. */
  label: string;
  kind: ObjectKind | 'column';
  /** `view sales.order_totals (project sales)`; a column's type (`text not null`). */
  detail: string;
  /** Orders the names where their order matters (a table's columns): `0001`, `0002`... Absent: by label. */
  sortText?: string;
}

/**
 * The object names in scope at `position` of `path`: after `schema.`, the objects of that schema (of every project:
 * a missing `dependsOn` is reported, not hidden); otherwise the objects of the schemas on the project's search path,
 * unqualified, and the schemas of the workspace, to qualify a name with. After `table.`, `schema.table.` or `alias.`
 * (a relation of the statement around the cursor), the columns of that table or view, in their order.
 */
export function completions(
  ws: WorkspaceIndex,
  a: WorkspaceAnalysis,
  path: string,
  position: TextPosition,
  columns: ColumnIndex,
): EditorCompletion[] {
  const source = ws.source(path);
  if (!source) return [];
  const offset = source.lines.offsetAt(position);
  const chain = source.lines.chainAround(offset) ?? source.lines.chainAround(offset - 1);
  const text = source.text;
  // The name typed so far is the chain's part under the cursor; a dot just before the cursor opens a new part.
  let prefix: string[] = [];
  if (chain) {
    const i = chain.parts.findIndex((p) => p.start <= offset && offset <= p.end);
    if (i > 0) prefix = chain.parts.slice(0, i).map((p) => p.value);
    else if (i < 0 && text[offset - 1] === '.') prefix = chain.parts.map((p) => p.value);
  } else if (text[offset - 1] === '.') {
    const before = source.lines.chainAround(offset - 2);
    prefix = before ? before.parts.map((p) => p.value) : [];
  }
  const qualifier = prefix.length ? prefix[prefix.length - 1]! : null;
  const detail = (o: WorkspaceAnalysis['objects'][number]) =>
    `${o.key.kind} ${o.key.schema ? `${o.key.schema}.` : ''}${o.key.name} (project ${o.project})`;
  const seen = new Set<string>();
  const out: EditorCompletion[] = [];
  const add = (c: EditorCompletion) => {
    const key = `${c.kind}\0${c.label}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(c);
  };
  const named = a.objects.filter((o) => o.key.kind !== 'index' && o.key.kind !== 'trigger' && o.key.kind !== 'policy');
  if (qualifier !== null) {
    const relation = columns.relationOf(source, offset, prefix);
    for (const [n, column] of (relation ? columns.columnsOf(relation) : []).entries())
      add({
        label: column.name,
        kind: 'column',
        detail: columnDetail(column),
        sortText: String(n + 1).padStart(4, '0'),
      });
    if (prefix.length > 1) return out;
    for (const o of named)
      if (o.key.schema && sameName(o.key.schema, qualifier))
        add({ label: o.key.name, kind: o.key.kind, detail: detail(o) });
    return out;
  }
  const searchPath = a.graphs.get(source.project)?.searchPath ?? [];
  for (const schema of searchPath)
    for (const o of named)
      if (o.key.schema && sameName(o.key.schema, schema))
        add({ label: o.key.name, kind: o.key.kind, detail: detail(o) });
  for (const [schema, project] of a.owners)
    add({ label: schema, kind: 'schema', detail: `schema ${schema} (project ${project})` });
  return out;
}
