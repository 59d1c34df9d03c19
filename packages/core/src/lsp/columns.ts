import { formatKey, type ObjectKind } from '../model/object-key';
import type { ColumnDefinition } from '../model/source';
import type { SourceObject } from '../planner/objects';
import type { WorkspaceAnalysis } from './analysis';
import { offsetOf } from './places';
import { sameName, type TextPosition, type TextRange } from './text';
import type { IndexedSource, WorkspaceIndex } from './workspace-index';

/** The kinds of object whose columns the parser gives. */
const WITH_COLUMNS: readonly ObjectKind[] = ['table', 'view', 'materialized-view'];

/** A column of a table or view of the sources, with the object it belongs to. */
export interface EditorColumn {
  object: SourceObject;
  column: ColumnDefinition;
}

/** A column named at a place of a file: `o.customer_id`, `sales.orders.total`. */
export interface ColumnAt extends EditorColumn {
  /** The column's name where it is written. */
  range: TextRange;
}

/**
 * The columns of the tables and views the sources define, as their parser reads the defining statements (a table's
 * CREATE TABLE and the columns ALTER TABLE adds; a view's output columns), and the relation a qualifier before a
 * column stands for: an alias the statement around it gives (`FROM sales.orders o` makes `o`), else a table or view
 * named as the project resolves names (`orders`, `sales.orders`). No guessing across statements.
 */
export class ColumnIndex {
  /** Object id → its columns, in order. */
  private readonly byObject = new Map<string, ColumnDefinition[]>();

  constructor(
    private readonly ws: WorkspaceIndex,
    private readonly a: WorkspaceAnalysis,
  ) {
    const ids = new Set(a.objects.filter((o) => WITH_COLUMNS.includes(o.key.kind)).map((o) => o.id));
    for (const p of ws.projects())
      for (const s of [...p.sources.values()].sort((x, y) => (x.path < y.path ? -1 : 1))) {
        if (s.role !== 'object') continue;
        for (const st of s.statements) {
          if (!st.key || !st.columns || !ids.has(formatKey(st.key))) continue;
          const list = this.byObject.get(formatKey(st.key)) ?? [];
          list.push(...st.columns);
          this.byObject.set(formatKey(st.key), list);
        }
      }
  }

  /** The columns of a table or view, in order (none for other objects, or a view whose columns are not known). */
  columnsOf(object: SourceObject): ColumnDefinition[] {
    return this.byObject.get(object.id) ?? [];
  }

  /** The table or view that `qualifier` (`o`, `orders`, `sales.orders`) stands for at `offset` of `source`. */
  relationOf(source: IndexedSource, offset: number, qualifier: readonly string[]): SourceObject | null {
    const name = qualifier[qualifier.length - 1];
    if (name === undefined) return null;
    if (qualifier.length >= 2)
      return one(this.a.references.lookup(qualifier[qualifier.length - 2]!, name, WITH_COLUMNS));
    const statement = statementAround(source, offset);
    const named = (statement?.aliases ?? []).filter((x) => sameName(x.alias, name));
    // An alias of a relation the statement refers to: not of a common table expression (the parser drops those).
    const aliased = named.filter((x) =>
      statement!.references.some(
        (r) =>
          r.kind === 'relation' &&
          sameName(r.name, x.name) &&
          (r.schema === undefined || x.schema === undefined || sameName(r.schema, x.schema)),
      ),
    );
    if (aliased.length) {
      const found = new Set(
        aliased.flatMap((x) =>
          this.a.references.targets(source.project, { kind: 'relation', schema: x.schema, name: x.name }),
        ),
      );
      // An alias given to two relations in the statement (two subqueries) is not guessed.
      return found.size === 1 ? only(found, WITH_COLUMNS) : null;
    }
    // An alias of something else (a common table expression): its columns are not known.
    if (named.length) return null;
    return one(this.a.references.targets(source.project, { kind: 'relation', name }));
  }

  /**
   * The column written at `position` of `path` (`o.customer_id` with the cursor on `customer_id`), or defined there
   * (its name in its CREATE TABLE); null for anything else.
   */
  columnAt(path: string, position: TextPosition): ColumnAt | null {
    const source = this.ws.source(path);
    if (!source) return null;
    const offset = source.lines.offsetAt(position);
    const chain = source.lines.chainAround(offset);
    if (!chain) return null;
    const i = chain.parts.findIndex((p) => p.start <= offset && offset <= p.end);
    if (i < 1) return i === 0 && chain.parts.length === 1 ? this.definedAt(source, offset) : null;
    const object = this.relationOf(
      source,
      offset,
      chain.parts.slice(0, i).map((p) => p.value),
    );
    const part = chain.parts[i]!;
    const column = object ? this.columnsOf(object).find((c) => sameName(c.name, part.value)) : undefined;
    if (!object || !column) return null;
    return { object, column, range: source.lines.range(part.start, part.end) };
  }

  /** The column whose definition is written at `offset` of `source`. */
  private definedAt(source: IndexedSource, offset: number): ColumnAt | null {
    for (const st of source.statements) {
      if (!st.key || !st.columns) continue;
      const object = this.a.objects.find((o) => o.id === formatKey(st.key!));
      for (const column of st.columns) {
        const at = object && this.definitionOf(column);
        if (!at || at.file !== source.path) continue;
        const start = source.lines.offsetAt(at.range.start);
        if (start <= offset && offset <= source.lines.offsetAt(at.range.end))
          return { object, column, range: at.range };
      }
    }
    return null;
  }

  /**
   * Every place of the workspace's sources (definition files and migrations, every project) that writes `column` of
   * `object` qualified (`o.customer_id`, `orders.total`, `sales.orders.total`), in file order. A column written
   * without its table's name or alias (`SELECT total FROM sales.orders`) is not found.
   */
  usesOf(object: SourceObject, column: ColumnDefinition): Array<{ file: string; range: TextRange }> {
    const out: Array<{ file: string; range: TextRange }> = [];
    for (const p of this.ws.projects())
      for (const s of [...p.sources.values()].sort((x, y) => (x.path < y.path ? -1 : 1)))
        for (const chain of s.lines.chains())
          for (let i = 1; i < chain.parts.length; i++) {
            const part = chain.parts[i]!;
            if (!sameName(part.value, column.name)) continue;
            const prefix = chain.parts.slice(0, i).map((x) => x.value);
            if (this.relationOf(s, part.start, prefix) === object)
              out.push({ file: s.path, range: s.lines.range(part.start, part.end) });
          }
    return out;
  }

  /** Where a column is defined: its name in its table's statement, or the name of a view's output column. */
  definitionOf(column: ColumnDefinition): { file: string; range: TextRange } | null {
    const source = this.ws.source(column.location.file);
    if (!source) return null;
    const offset = offsetOf(source, column.location);
    for (const chain of source.lines.chains()) {
      if (chain.end < offset) continue;
      if (chain.start > offset + 2000) break;
      const part = chain.parts.find((p) => p.start >= offset && sameName(p.value, column.name));
      if (part) return { file: source.path, range: source.lines.range(part.start, part.end) };
    }
    return { file: source.path, range: source.lines.wordRange(offset) };
  }
}

/** The statement of `source` whose text holds `offset`: the last one starting before it. */
function statementAround(source: IndexedSource, offset: number) {
  let found: IndexedSource['statements'][number] | undefined;
  for (const st of source.statements) {
    if (offsetOf(source, st.location) > offset) break;
    found = st;
  }
  return found;
}

function one(objects: SourceObject[]): SourceObject | null {
  return only(new Set(objects), WITH_COLUMNS);
}

function only(objects: Set<SourceObject>, kinds: readonly ObjectKind[]): SourceObject | null {
  const list = [...objects].filter((o) => kinds.includes(o.key.kind));
  return list.length === 1 ? list[0]! : null;
}

/** A column as a hover or a completion's detail shows it: `text not null default now()`. */
export function columnDetail(column: ColumnDefinition): string {
  const parts = [column.type ?? 'view column'];
  if (column.notNull) parts.push('not null');
  if (column.default !== undefined)
    parts.push(column.default.startsWith('generated') ? column.default : `default ${column.default}`);
  return parts.join(' ');
}
