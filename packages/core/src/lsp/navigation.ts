import { formatKey, type ObjectKind } from '../model/object-key';
import { REFERENCE_TARGETS, type Reference, type ReferenceKind } from '../model/source';
import type { SourceObject } from '../planner/objects';
import type { WorkspaceAnalysis } from './analysis';
import { keyChain, keyRange, referenceRange, statementSpan } from './places';
import { sameName, type NameChain, type TextPosition, type TextRange } from './text';
import type { IndexedSource, WorkspaceIndex } from './workspace-index';

/** A place in a file of the workspace. */
export interface EditorLocation {
  /** Workspace-relative, `/`-separated. */
  file: string;
  range: TextRange;
}

/** An object defined in the sources, as a symbol: its name, kind and where it is defined. */
export interface EditorSymbol {
  /** `schema.name` (`name` alone for a schema). */
  name: string;
  kind: ObjectKind;
  /** The object's key (`formatKey`). */
  id: string;
  project: string;
  /** The whole defining statement. */
  location: EditorLocation;
  /** The name in the defining statement. */
  selection: TextRange;
}

/** One use of an object by another: where it is written, and who writes it. */
export interface ObjectUse {
  user: SourceObject | null;
  reference: Reference;
  location: EditorLocation;
}

/**
 * Navigation over the objects the index holds: which object a name in a file stands for, where it is defined, who
 * uses it and what it uses. Names resolve as the planner resolves them (`ReferenceIndex`: qualified in their schema,
 * unqualified through the project's search path); nothing is found by searching the text for a word.
 */
export class Navigator {
  /** Object id → the objects it uses. */
  private readonly uses = new Map<string, Set<SourceObject>>();
  /** Object id → every place that uses it (definition files and migrations). */
  private readonly usedBy = new Map<string, ObjectUse[]>();

  constructor(
    private readonly ws: WorkspaceIndex,
    private readonly a: WorkspaceAnalysis,
  ) {
    for (const o of a.objects) for (const ref of o.references) this.record(o.project, o, ref);
    // Migrations use objects too (an UPDATE of a table): their places count among the table's uses.
    for (const p of ws.projects())
      for (const s of p.sources.values()) {
        if (s.role === 'object' || !p.project) continue;
        for (const st of s.statements) for (const ref of st.references) this.record(p.project.name, null, ref);
      }
  }

  private record(project: string, user: SourceObject | null, ref: Reference): void {
    const targets = this.a.references.targets(project, ref);
    for (const t of targets) {
      if (user && t !== user) {
        const set = this.uses.get(user.id) ?? new Set();
        set.add(t);
        this.uses.set(user.id, set);
      }
      const file = ref.location?.file ?? user?.location.file;
      const source = file === undefined ? undefined : this.ws.source(file);
      if (!source || !ref.location) continue;
      const range = referenceRange(source, ref.location, ref.name, ref.schema);
      const list = this.usedBy.get(t.id) ?? [];
      if (!list.some((u) => u.location.file === source.path && sameRange(u.location.range, range)))
        list.push({ user, reference: ref, location: { file: source.path, range } });
      this.usedBy.set(t.id, list);
    }
  }

  /** The objects `object` uses (its dependencies), by key. */
  dependencies(object: SourceObject): SourceObject[] {
    return [...(this.uses.get(object.id) ?? [])].sort((x, y) => (x.id < y.id ? -1 : 1));
  }

  /** The objects that use `object` (its dependents), by key. */
  dependents(object: SourceObject): SourceObject[] {
    const users = new Set<SourceObject>();
    for (const u of this.usedBy.get(object.id) ?? []) if (u.user && u.user !== object) users.add(u.user);
    return [...users].sort((x, y) => (x.id < y.id ? -1 : 1));
  }

  /** Every place that names `object` (in definitions and migrations), in file order. */
  usesOf(object: SourceObject): ObjectUse[] {
    return [...(this.usedBy.get(object.id) ?? [])].sort(
      (x, y) =>
        x.location.file.localeCompare(y.location.file) ||
        x.location.range.start.line - y.location.range.start.line ||
        x.location.range.start.character - y.location.range.start.character,
    );
  }

  /** Where `object` is defined: its name in its defining statement. */
  definitionOf(object: SourceObject): EditorLocation | null {
    const source = this.ws.source(object.location.file);
    const statement = object.statements[0];
    if (!source) return null;
    const template = statement?.template ?? '';
    return { file: source.path, range: keyRange(source, { location: object.location, template }, object.key) };
  }

  /**
   * The objects the name at `position` of `path` stands for (several for overloaded routines), and the range of that
   * name; null when there is no name there or it names no object of the sources (a column, an alias, a built-in).
   */
  objectsAt(path: string, position: TextPosition): { objects: SourceObject[]; range: TextRange } | null {
    const source = this.ws.source(path);
    if (!source) return null;
    const offset = source.lines.offsetAt(position);
    const chain = source.lines.chainAround(offset);
    if (!chain) return null;
    let i = chain.parts.findIndex((p) => p.start <= offset && offset <= p.end);
    if (i < 0) i = chain.parts.length - 1;
    const range = source.lines.range(chain.parts[0]!.start, chain.parts[i]!.end);
    const defined = this.definedAt(source, chain);
    if (defined && i === chain.parts.length - 1) return { objects: [defined], range };
    const objects = this.resolve(source, chain, i);
    return objects.length ? { objects, range } : null;
  }

  /** The object a defining statement names with `chain` (`CREATE TABLE sales.orders`), when it is that name. */
  private definedAt(source: IndexedSource, chain: NameChain): SourceObject | null {
    for (const st of source.statements) {
      if (!st.key || (st.action !== 'create' && st.action !== 'create-or-replace')) continue;
      const span = statementSpan(source, st);
      if (chain.start < span.start || chain.start >= span.end) continue;
      if (keyChain(source, span, st.key) !== chain) return null;
      return this.a.objects.find((o) => o.id === formatKey(st.key!)) ?? null;
    }
    return null;
  }

  /** What the first `i + 1` names of `chain` stand for, in the project of `source`. */
  private resolve(source: IndexedSource, chain: NameChain, i: number): SourceObject[] {
    const parts = chain.parts.slice(0, i + 1).map((p) => p.value);
    const name = parts[parts.length - 1]!;
    const call = /^\s*\(/.test(source.text.slice(chain.parts[i]!.end, chain.parts[i]!.end + 40));
    const kind: ReferenceKind | null = this.referenceKind(source, parts) ?? (call ? 'function' : null);
    const kinds: readonly ObjectKind[] = kind ? REFERENCE_TARGETS[kind] : [];
    if (parts.length >= 2) {
      const schema = parts[parts.length - 2]!;
      const found = this.a.references.lookup(schema, name, kinds);
      if (found.length) return found;
      // `sales.orders.id` with the cursor on `orders`, or `o.id`: only a qualified name of an object counts.
      return parts.length === 2 ? [] : this.a.references.lookup(parts[parts.length - 3]!, schema, kinds);
    }
    const ref = { kind: kind ?? ('object' as const), name };
    const found = this.a.references.targets(source.project, ref);
    if (found.length) return found;
    // A name followed by a dot may be a schema (`sales` in `sales.orders`).
    if (chain.parts.length > i + 1) return this.a.references.lookup('', name, ['schema', 'database']);
    return [];
  }

  /** The kind of reference the parser saw for this name in the file (a relation, a function, a type...). */
  private referenceKind(source: IndexedSource, parts: string[]): ReferenceKind | null {
    const name = parts[parts.length - 1]!;
    const schema = parts.length >= 2 ? parts[parts.length - 2] : undefined;
    for (const st of source.statements)
      for (const r of st.references)
        if (
          sameName(r.name, name) &&
          (schema === undefined || r.schema === undefined || sameName(r.schema, schema)) &&
          r.kind !== 'object'
        )
          return r.kind;
    return null;
  }

  /** The objects a file defines, as symbols, in file order. */
  documentSymbols(path: string): EditorSymbol[] {
    const source = this.ws.source(path);
    if (!source) return [];
    const ids = new Set(this.a.objects.map((o) => o.id));
    const out: EditorSymbol[] = [];
    for (const st of source.statements) {
      if (!st.key || (st.action !== 'create' && st.action !== 'create-or-replace')) continue;
      const id = formatKey(st.key);
      if (!ids.has(id) && source.role === 'object') continue;
      const span = statementSpan(source, st);
      out.push({
        name: st.key.schema ? `${st.key.schema}.${st.key.name}` : st.key.name,
        kind: st.key.kind,
        id,
        project: source.project,
        location: { file: source.path, range: source.lines.range(span.start, span.end) },
        selection: keyRange(source, st, st.key),
      });
    }
    return out;
  }

  /** Every object of the workspace whose `schema.name` holds `query` (case ignored), as symbols, by key. */
  workspaceSymbols(query: string, limit = 500): EditorSymbol[] {
    const q = query.toLowerCase();
    const out: EditorSymbol[] = [];
    for (const o of [...this.a.objects].sort((x, y) => (x.id < y.id ? -1 : 1))) {
      const name = o.key.schema ? `${o.key.schema}.${o.key.name}` : o.key.name;
      if (q && !name.toLowerCase().includes(q)) continue;
      const source = this.ws.source(o.location.file);
      const definition = this.definitionOf(o);
      if (!source || !definition) continue;
      const st = o.statements[0];
      const span = st ? statementSpan(source, { location: o.location, template: st.template }) : null;
      out.push({
        name,
        kind: o.key.kind,
        id: o.id,
        project: o.project,
        location: { file: source.path, range: span ? source.lines.range(span.start, span.end) : definition.range },
        selection: definition.range,
      });
      if (out.length >= limit) break;
    }
    return out;
  }
}

function sameRange(a: TextRange, b: TextRange): boolean {
  return (
    a.start.line === b.start.line &&
    a.start.character === b.start.character &&
    a.end.line === b.end.line &&
    a.end.character === b.end.character
  );
}
