import { DbeeError } from '../errors';
import { formatKey, type ObjectKey } from '../model/object-key';
import type { Change, RenameDeclaration } from './change';
import type { Column, ColumnRef, Constraint, SchemaModel, Table } from './model';

/** The `from` model as it will be once the declared renames have run, and the rename changes themselves. */
export interface RenamedModel {
  model: SchemaModel;
  changes: Change[];
}

/**
 * Apply declared renames to the `from` model, so that the rest of the differ compares objects under their new
 * names. A declaration whose rename is already done (the old name is gone, the new one is there) is a no-op, so
 * declarations can stay in the project after the deployment that ran them.
 */
export function applyRenames(from: SchemaModel, to: SchemaModel, renames: RenameDeclaration[]): RenamedModel {
  if (renames.length === 0) return { model: from, changes: [] };
  const fromTables = new Map(from.tables.map((t) => [formatKey(t.key), t]));
  const toTables = new Map(to.tables.map((t) => [formatKey(t.key), t]));
  const tableKey = (schema: string, name: string): ObjectKey => ({ kind: 'table', schema, name });
  const changes: Change[] = [];
  /** formatKey of old table key -> new key. */
  const tableMap = new Map<string, ObjectKey>();
  /** formatKey of the (new) table key -> old column name -> new column name. */
  const columnMap = new Map<string, Map<string, string>>();

  for (const r of renames.filter((d) => d.kind === 'table')) {
    const oldKey = tableKey(r.schema, r.from);
    const newKey = tableKey(r.schema, r.to);
    const hasOld = fromTables.has(formatKey(oldKey));
    const hasNew = fromTables.has(formatKey(newKey));
    if (!hasOld) continue;
    if (hasNew) throw renameError(r, `both ${r.schema}.${r.from} and ${r.schema}.${r.to} exist in the current schema`);
    if (!toTables.has(formatKey(newKey))) throw renameError(r, `${r.schema}.${r.to} is not in the desired schema`);
    tableMap.set(formatKey(oldKey), newKey);
    changes.push({ kind: 'rename-table', table: newKey, from: r.from, to: r.to });
  }

  for (const r of renames.filter((d) => d.kind === 'column')) {
    // The table may be declared under its new name or its old one.
    let newKey = tableKey(r.schema, r.table);
    const renamedFrom = [...tableMap].find(([, k]) => formatKey(k) === formatKey(newKey));
    const oldKeyText = renamedFrom ? renamedFrom[0] : formatKey(newKey);
    if (tableMap.has(oldKeyText)) newKey = tableMap.get(oldKeyText)!;
    const fromTable = fromTables.get(oldKeyText);
    const toTable = toTables.get(formatKey(newKey));
    if (!fromTable || !toTable) continue;
    const hasOld = fromTable.columns.some((c) => c.name === r.from);
    const hasNew = fromTable.columns.some((c) => c.name === r.to);
    if (!hasOld) continue;
    if (hasNew)
      throw renameError(r, `both columns ${r.from} and ${r.to} exist in ${fromTable.key.schema}.${fromTable.key.name}`);
    if (!toTable.columns.some((c) => c.name === r.to)) {
      throw renameError(r, `column ${r.to} is not in the desired ${toTable.key.schema}.${toTable.key.name}`);
    }
    const k = formatKey(newKey);
    if (!columnMap.has(k)) columnMap.set(k, new Map());
    columnMap.get(k)!.set(r.from, r.to);
    changes.push({ kind: 'rename-column', table: newKey, from: r.from, to: r.to });
  }

  for (const r of renames) {
    if (r.kind !== 'view' && r.kind !== 'function') continue;
    const old = renamedObject(from, r, r.from);
    if (!old) continue;
    const newKey: ObjectKey = { ...old, name: r.to };
    if (renamedObject(from, r, r.to, old.args))
      throw renameError(r, `both ${r.schema}.${r.from} and ${r.schema}.${r.to} exist in the current schema`);
    if (!renamedObject(to, r, r.to, old.args)) throw renameError(r, `${r.schema}.${r.to} is not in the desired schema`);
    tableMap.set(formatKey(old), newKey);
    changes.push({ kind: 'rename-object', object: newKey, from: r.from, to: r.to });
  }

  if (changes.length === 0) return { model: from, changes };
  return { model: translateModel(from, tableMap, columnMap), changes };
}

/**
 * The view or routine a view or function rename names in `model` under `name` (with `args`: that signature; else the
 * declaration's, or the only overload). Null when there is none; several overloads and no `args` are refused.
 */
function renamedObject(
  model: SchemaModel,
  r: Extract<RenameDeclaration, { kind: 'view' | 'function' }>,
  name: string,
  args?: string[],
): ObjectKey | null {
  if (r.kind === 'view') {
    return model.views.find((v) => v.key.schema === r.schema && v.key.name === name)?.key ?? null;
  }
  const wanted = args ?? r.args;
  const found = model.routines.filter(
    (x) =>
      x.key.schema === r.schema &&
      x.key.name === name &&
      (wanted === undefined || (x.key.args ?? []).join(',') === wanted.join(',')),
  );
  if (found.length > 1) {
    const overloads = found.map((x) => `(${(x.key.args ?? []).join(', ')})`).join(', ');
    throw renameError(r, `${r.schema}.${name} has several overloads, ${overloads}: say which with args`);
  }
  return found[0]?.key ?? null;
}

/**
 * Whether `id` (an object's key as `formatKey` prints it, as the ledger records it) is the object a declaration
 * renames from (`r.from`) or to (`name`), whatever its exact kind (a view or materialized view, a function or
 * procedure with its arguments).
 */
export function namedByRename(r: RenameDeclaration, id: string, name = r.from): boolean {
  if (r.kind === 'column') return false;
  const kinds = { table: ['table'], view: ['view', 'materialized-view'], function: ['function', 'procedure'] }[r.kind];
  return kinds.some((k) => id === `${k}:${r.schema}.${name}` || id.startsWith(`${k}:${r.schema}.${name}(`));
}

function renameError(r: RenameDeclaration, why: string): DbeeError {
  const what =
    r.kind === 'column'
      ? `column ${r.schema}.${r.table}.${r.from} -> ${r.to}`
      : `${r.kind} ${r.schema}.${r.from} -> ${r.to}`;
  return new DbeeError(`cannot rename ${what}: ${why}`, {
    code: 'RENAME_INVALID',
    hint: 'fix or remove the rename declaration',
    details: { rename: r },
  });
}

/** Rewrite every reference to a renamed table or column in the model. */
function translateModel(
  model: SchemaModel,
  tableMap: Map<string, ObjectKey>,
  columnMap: Map<string, Map<string, string>>,
): SchemaModel {
  const mapKey = (key: ObjectKey): ObjectKey => tableMap.get(formatKey(key)) ?? key;
  /** `[schema, old name, new name]` of every renamed object, for definition texts. */
  const names = [...tableMap].map(([oldText, k]) => {
    const qualifiedName = oldText.slice(oldText.indexOf(':') + 1).replace(/\(.*$/, '');
    return [k.schema, qualifiedName.slice(k.schema.length + 1), k.name] as const;
  });
  const mapKeys = (keys: ObjectKey[]) => keys.map(mapKey);
  const mapParent = (parent: string | undefined): string | undefined => {
    if (!parent) return parent;
    const dot = parent.indexOf('.');
    const [schema, name] = [parent.slice(0, dot), parent.slice(dot + 1)];
    const mapped = (['table', 'view', 'materialized-view'] as const)
      .map((kind) => tableMap.get(formatKey({ kind, schema, name })))
      .find((k) => k !== undefined);
    return mapped ? `${mapped.schema}.${mapped.name}` : parent;
  };
  const columnsOf = (tableKey: ObjectKey) => columnMap.get(formatKey(mapKey(tableKey)));
  const mapColumn = (tableKey: ObjectKey, name: string) => columnsOf(tableKey)?.get(name) ?? name;
  const mapRef = (ref: ColumnRef): ColumnRef => ({
    table: mapKey(ref.table),
    column: mapColumn(ref.table, ref.column),
  });
  /** Replace qualified table names and, after `marker` (or everywhere), column names of `tableKey`. */
  const mapText = (text: string, tableKey: ObjectKey | null, afterMarker?: RegExp): string => {
    let out = text;
    for (const [schema, oldName, newName] of names) {
      out = replaceIdentifier(out, `${schema}.${oldName}`, `${schema}.${newName}`, schema);
    }
    const cols = tableKey ? columnsOf(tableKey) : undefined;
    if (cols) {
      let head = '';
      let tail = out;
      if (afterMarker) {
        const m = afterMarker.exec(out);
        if (!m) return out;
        head = out.slice(0, m.index + m[0].length);
        tail = out.slice(m.index + m[0].length);
      }
      for (const [o, n] of cols) tail = replaceIdentifier(tail, o, n);
      out = head + tail;
    }
    return out;
  };
  /**
   * A view's query: the renamed relations' qualified names, and the column references PostgreSQL prints qualified by
   * a relation's own name where no alias is given (`paid.id`), which read `settled.id` after the rename.
   */
  const mapQuery = (text: string): string => {
    let out = mapText(text, null);
    for (const [, oldName, newName] of names) {
      const escaped = printed(oldName).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      out = out.replace(new RegExp(`(?<![\\w$".])${escaped}(?=\\.)`, 'g'), () => printed(newName));
    }
    return out;
  };
  const mapConstraint = (table: Table, c: Constraint): Constraint => {
    let definition = mapText(c.definition, null);
    // Own columns appear before REFERENCES (or everywhere, for checks); referenced ones after it.
    const ref = /\bREFERENCES\b/.exec(definition);
    const own = columnsOf(table.key);
    if (own) {
      const head = ref ? definition.slice(0, ref.index) : definition;
      let mapped = head;
      for (const [o, n] of own) mapped = replaceIdentifier(mapped, o, n);
      definition = mapped + (ref ? definition.slice(ref.index) : '');
    }
    if (c.references && ref) definition = mapText(definition, c.references.table, /\bREFERENCES\b/);
    return {
      ...c,
      columns: c.columns.map((n) => mapColumn(table.key, n)),
      expression:
        c.expression === null
          ? null
          : own
            ? [...own].reduce((t, [o, n]) => replaceIdentifier(t, o, n), c.expression)
            : c.expression,
      references: c.references
        ? {
            ...c.references,
            table: mapKey(c.references.table),
            columns: c.references.columns.map((n) => mapColumn(c.references!.table, n)),
          }
        : null,
      definition,
      dependsOn: mapKeys(c.dependsOn),
    };
  };
  const mapColumnDef = (table: Table, col: Column): Column => ({
    ...col,
    name: mapColumn(table.key, col.name),
    dependsOn: mapKeys(col.dependsOn),
  });

  return {
    ...model,
    tables: model.tables.map((t) => ({
      ...t,
      key: mapKey(t.key),
      dependsOn: mapKeys(t.dependsOn),
      columns: t.columns.map((c) => mapColumnDef(t, c)),
      constraints: t.constraints.map((c) => mapConstraint(t, c)),
    })),
    // A view's query names what it reads as PostgreSQL prints it after a rename (by the new name).
    views: model.views.map((v) => ({
      ...v,
      key: mapKey(v.key),
      definition: mapQuery(v.definition),
      dependsOn: mapKeys(v.dependsOn),
      dependsOnColumns: v.dependsOnColumns.map(mapRef),
    })),
    // A renamed routine's definition names it in its header; its body is text PostgreSQL does not rewrite.
    routines: model.routines.map((r) => {
      const k = mapKey(r.key);
      const head = (name: string) => `${printed(k.schema)}.${printed(name)}(`;
      const definition = k === r.key ? r.definition : r.definition.replace(head(r.key.name), head(k.name));
      return { ...r, key: k, definition, dependsOn: mapKeys(r.dependsOn) };
    }),
    triggers: model.triggers.map((t) => ({
      ...t,
      key: { ...t.key, parent: mapParent(t.key.parent) },
      table: mapKey(t.table),
      function: mapKey(t.function),
      dependsOn: mapKeys(t.dependsOn),
      definition: mapText(t.definition, null),
    })),
    indexes: model.indexes.map((i) => ({
      ...i,
      key: { ...i.key, parent: mapParent(i.key.parent) },
      table: mapKey(i.table),
      columns: i.columns.map((c) => mapColumn(i.table, c)),
      predicate: i.predicate === null ? null : mapText(i.predicate, i.table),
      definition: mapText(i.definition, i.table, /\bUSING\b/),
      dependsOn: mapKeys(i.dependsOn),
    })),
    sequences: model.sequences.map((s) => ({ ...s, ownedBy: s.ownedBy ? mapRef(s.ownedBy) : null })),
    types: model.types.map((t) => ({ ...t, dependsOn: mapKeys(t.dependsOn) })),
    comments: model.comments.map((c) => ({
      ...c,
      target: mapKey(c.target),
      ...(c.column !== undefined ? { column: mapColumn(c.target, c.column) } : {}),
    })),
    privileges: model.privileges.map((p) => ({
      ...p,
      target: mapKey(p.target),
      ...(p.column !== undefined ? { column: mapColumn(p.target, p.column) } : {}),
    })),
    owners: model.owners.map((o) => ({ ...o, target: mapKey(o.target) })),
  };
}

const SIMPLE = /^[a-z_][a-z0-9_$]*$/;

/** How an engine prints an identifier: bare when simple lower case, double-quoted otherwise. */
function printed(name: string): string {
  return SIMPLE.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/**
 * Replace an identifier (or a `schema.name` pair) in definition text, bare or quoted, on word boundaries.
 * Heuristic by nature: a miss only makes the differ recreate an index or constraint it could have kept.
 */
export function replaceIdentifier(text: string, from: string, to: string, schema?: string): string {
  const forms = (qualified: string): string[] => {
    if (schema === undefined) return [printed(qualified)];
    const name = qualified.slice(schema.length + 1);
    return [`${printed(schema)}.${printed(name)}`];
  };
  const [oldForm] = forms(from);
  const [newForm] = forms(to);
  const escaped = oldForm!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = oldForm!.startsWith('"')
    ? new RegExp(escaped, 'g')
    : new RegExp(`(?<![\\w$"])${escaped}(?![\\w$"])`, 'g');
  return text.replace(pattern, () => newForm!);
}
