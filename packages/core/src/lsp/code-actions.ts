import { basename } from 'node:path';
import type { WorkspaceAnalysis } from './analysis';
import type { EditorDiagnostic } from './editor-diagnostic';
import type { Navigator } from './navigation';
import type { TextRange } from './text';
import { addDependsOn, type TextEdit } from './yaml-edit';
import type { WorkspaceIndex } from './workspace-index';

/** A change the editor can make on the user's request: edits of files, and files to create first. */
export interface EditorAction {
  title: string;
  /** `quickfix` repairs a diagnostic; `refactor.rewrite` rewrites what is not wrong. */
  kind: 'quickfix' | 'refactor.rewrite';
  /** The diagnostic it repairs. */
  diagnostic?: EditorDiagnostic;
  /** Files to create (they must not exist), with their text. */
  create?: Array<{ file: string; text: string }>;
  /** Edits of existing files, by workspace-relative path. */
  edits?: Array<{ file: string; edit: TextEdit }>;
}

/**
 * The actions offered for `range` of `path`: the repair of each diagnostic there that has one (add the `dependsOn`
 * entry to db.yaml, create a migration's rollback script, write the name it meant), and qualifying an unqualified
 * name there with the schema it resolves to.
 */
export function codeActions(
  ws: WorkspaceIndex,
  a: WorkspaceAnalysis,
  nav: Navigator,
  path: string,
  range: TextRange,
): EditorAction[] {
  const out: EditorAction[] = [];
  for (const d of a.diagnostics.get(path) ?? []) {
    if (!d.fix || !overlaps(d.range, range)) continue;
    const action = repair(ws, d);
    if (action) out.push(action);
  }
  const qualify = qualifyAction(ws, nav, path, range);
  if (qualify) out.push(qualify);
  return out;
}

function repair(ws: WorkspaceIndex, d: EditorDiagnostic): EditorAction | null {
  const fix = d.fix!;
  switch (fix.kind) {
    case 'add-depends-on': {
      const text = ws.read(fix.configFile);
      const edit = text === null ? null : addDependsOn(text, fix.dependency);
      if (!edit) return null;
      return {
        title: `Add "${fix.dependency}" to dependsOn in ${fix.configFile}`,
        kind: 'quickfix',
        diagnostic: d,
        edits: [{ file: fix.configFile, edit }],
      };
    }
    case 'create-rollback':
      return {
        title: `Create the rollback script ${basename(fix.file)}`,
        kind: 'quickfix',
        diagnostic: d,
        create: [
          {
            file: fix.file,
            text: `-- Undoes ${basename(fix.migration)}: \`dbee rollback\` runs it when the migration is rolled back.\n`,
          },
        ],
      };
    case 'replace':
      return {
        title: `Change to ${fix.text}`,
        kind: 'quickfix',
        diagnostic: d,
        edits: [{ file: d.file, edit: { range: d.range, newText: fix.text } }],
      };
  }
}

/** `orders` → `sales.orders`: an unqualified name at the range that resolves to one object of the sources. */
function qualifyAction(ws: WorkspaceIndex, nav: Navigator, path: string, range: TextRange): EditorAction | null {
  const source = ws.source(path);
  if (!source) return null;
  const chain = source.lines.chainAround(source.lines.offsetAt(range.start));
  if (chain?.parts.length !== 1) return null;
  const found = nav.objectsAt(path, range.start);
  const schemas = new Set(found?.objects.map((o) => o.key.schema));
  if (!found?.objects.length || schemas.size !== 1) return null;
  const target = found.objects[0]!;
  if (!target.key.schema || target.key.kind === 'schema') return null;
  const written = chain.parts[0]!.written;
  const schema = /^[a-z_][a-z0-9_$]*$/.test(target.key.schema)
    ? target.key.schema
    : `"${target.key.schema.replace(/"/g, '""')}"`;
  return {
    title: `Qualify as ${schema}.${written}`,
    kind: 'refactor.rewrite',
    edits: [
      { file: path, edit: { range: source.lines.range(chain.start, chain.end), newText: `${schema}.${written}` } },
    ],
  };
}

function overlaps(a: TextRange, b: TextRange): boolean {
  const before = (x: TextRange['start'], y: TextRange['start']) =>
    x.line < y.line || (x.line === y.line && x.character < y.character);
  return !before(a.end, b.start) && !before(b.end, a.start);
}
