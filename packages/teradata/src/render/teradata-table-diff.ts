import type { Hazard } from '@dbee/core';
import { isSignificant, tokenize } from '../parse/splitter';
import { columnList, isColumnItem } from '../parse/table-columns';
import { normalizeDefinition, type NormalizeOptions } from './teradata-normalize';

/**
 * A table's definition as a model, from its CREATE TABLE (the source) or `SHOW TABLE` (the target), both read through
 * `normalizeDefinition` so that the defaults SHOW spells out compare equal to a source that omits them.
 */
export interface TeradataTableModel {
  /** Canonical qualified name, e.g. `DEV_EDW.ORDERS`. */
  name: string;
  /** Everything before the column list (kind, options): a change here needs a migration. */
  header: string;
  columns: TeradataColumnModel[];
  /** Table-level items of the column list (constraints), canonical. */
  constraints: string[];
  /** The primary index and partitioning (canonical text): a change needs a migration (copy and swap). */
  primary: string;
  /** Secondary indexes: canonical `[UNIQUE] INDEX [name] (cols)`. */
  indexes: string[];
}

export interface TeradataColumnModel {
  name: string;
  /** Type and attributes other than DEFAULT and TITLE (changing them needs a migration). */
  core: string;
  /** `DEFAULT ...` / `WITH DEFAULT` text, or null. */
  defaultClause: string | null;
  /** `TITLE '...'` text, or null. */
  title: string | null;
  /**
   * Multi-value compression, canonical: `COMPRESS` (nulls only), `COMPRESS ('a', 'b')` (values sorted: their order
   * means nothing), or null (none, or `NO COMPRESS`). Algorithmic compression (`COMPRESS USING`) stays in `core`.
   */
  compress: string | null;
  /** The whole canonical definition (name included). */
  definition: string;
}

/** One ALTER step of a table change. */
export interface TableAlter {
  statements: string[];
  /** Statements that undo it; null when it cannot be undone (a dropped column's values). */
  reverse: string[] | null;
  hazards: Hazard[];
  summary: string;
}

export interface TableDiff {
  /** The ALTER steps, in order; empty when the definitions are equal or a migration is needed. */
  alters: TableAlter[];
  /** What changed that ALTER steps do not cover (a migration must be written); empty when none. */
  needsMigration: string[];
  /**
   * Columns whose type the ALTERs change (widened), plain names: "If you change the data type of a column, Vantage no
   * longer uses the statistics that reference the column" (ALTER TABLE, "Rules for Changing Column Data Types"), so
   * their statistics are collected again.
   */
  retyped?: string[];
}

/** Split `text` at top-level commas (outside parentheses and quotes). */
function splitTop(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) {
        if (text[i + 1] === quote) i++;
        else quote = null;
      }
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = text.slice(start).trim();
  if (last) out.push(last);
  return out;
}

const LITERAL = `(?:'(?:[^']|'')*'|[^\\s,()]+(?:\\([^)]*\\))?)`;
const DEFAULT_RE = new RegExp(`\\s*\\b(WITH\\s+DEFAULT|DEFAULT\\s+${LITERAL})`, 'i');
const TITLE_RE = /\s*\bTITLE\s+'(?:[^']|'')*'/i;
const VALUE = `(?:'(?:[^']|'')*'|NULL|[-+]?[\\d.]+(?:E[+-]?\\d+)?)`;
const COMPRESS_RE = new RegExp(
  `\\s*\\b(NO\\s+COMPRESS|COMPRESS(?:\\s*\\(((?:'(?:[^']|'')*'|[^()'])*)\\)|\\s+(${VALUE})(?![\\w(]))?)`,
  'i',
);

/**
 * The canonical multi-value compression of a `COMPRESS` clause (see {@link TeradataColumnModel.compress}): "For
 * single-valued compression, the default for the compress value is NULL"; nulls of a nullable column are compressed
 * whatever the list says, and the values have no order (SQL Data Definition Language Detailed Topics, "Rules for
 * Adding or Modifying Multi-Value Compression for a Column").
 */
function canonicalCompress(match: RegExpExecArray): string | null {
  if (/^NO\s/i.test(match[1]!)) return null;
  const list = match[2] ?? match[3];
  const values = list === undefined ? [] : splitTop(list).filter((v) => !/^NULL$/i.test(v));
  return values.length ? `COMPRESS (${[...new Set(values)].sort().join(', ')})` : 'COMPRESS';
}

function columnModel(definition: string): TeradataColumnModel {
  const m = /^("(?:[^"]|"")+"|\S+)\s*([\s\S]*)$/.exec(definition)!;
  let rest = m[2]!;
  const def = DEFAULT_RE.exec(rest);
  if (def) rest = rest.replace(def[0], '');
  const title = TITLE_RE.exec(rest);
  if (title) rest = rest.replace(title[0], '');
  // Algorithmic compression cannot change on a table with rows: left in `core`, where a change asks for a migration.
  const compress = /\bCOMPRESS\s+USING\b/i.test(rest) ? null : COMPRESS_RE.exec(rest);
  if (compress) rest = rest.replace(compress[0], '');
  return {
    name: m[1]!,
    core: rest.trim(),
    defaultClause: def ? def[1]!.trim() : null,
    title: title ? title[0].trim() : null,
    compress: compress ? canonicalCompress(compress) : null,
    definition,
  };
}

/** Read a CREATE TABLE (source or SHOW TABLE output) into a {@link TeradataTableModel}; null when it is not one. */
export function tableModel(sql: string, options: NormalizeOptions = {}): TeradataTableModel | null {
  const text = normalizeDefinition(sql, options);
  const head = /^CREATE\s+(?:\w+\s+)*?TABLE\s+((?:"(?:[^"]|"")+"|[^\s,(.]+)(?:\.(?:"(?:[^"]|"")+"|[^\s,(.]+))?)/i.exec(
    text,
  );
  if (!head) return null;
  const tokens = tokenize(text, '<table>').filter((t) => isSignificant(t) && t.type !== 'semicolon');
  const list = columnList(tokens);
  if (!list) return null;
  const open = tokens[list.open]!.start;
  const close = tokens[list.close]!.start;
  const columns: TeradataColumnModel[] = [];
  const constraints: string[] = [];
  for (const item of list.items) {
    const source = text.slice(item[0]!.start, item[item.length - 1]!.end);
    if (isColumnItem(item)) columns.push(columnModel(source));
    else constraints.push(source);
  }
  // After the column list: the primary index and partitioning, then secondary indexes (`[UNIQUE] INDEX [name] (...)`).
  const tail = text
    .slice(close + 1)
    .replace(/;\s*$/, '')
    .trim();
  const indexes: string[] = [];
  const primaryParts: string[] = [];
  for (const part of splitTop(
    tail.replace(/\)\s+(?=(?:UNIQUE\s+)?INDEX\b|PRIMARY\b|NO\s+PRIMARY\b|PARTITION\b)/gi, '), '),
  )) {
    if (/^(UNIQUE\s+)?INDEX\b/i.test(part)) indexes.push(part.replace(/\s*\(/, ' ('));
    else primaryParts.push(part);
  }
  return {
    name: head[1]!,
    header: text.slice(0, open).trim(),
    columns,
    constraints,
    primary: primaryParts.join(' '),
    indexes,
  };
}

function indexColumns(index: string): string {
  return index.slice(index.indexOf('('));
}

/** A column's name as the catalog compares it: unquoted, upper case. */
function plainName(name: string): string {
  return name
    .replace(/^"(.*)"$/, '$1')
    .replace(/""/g, '"')
    .toUpperCase();
}

/**
 * Columns the primary index, the partitioning or (unless `primaryOnly`) a secondary index reads (plain names): Teradata changes neither the
 * type nor the name of such a column in place ("Cannot change the data type for a column specified in a primary or
 * secondary index", SQL Data Definition Language Detailed Topics, ALTER TABLE, "Rules for Changing Column Data Types";
 * a column cannot be renamed when it "is an index field" or "a partitioning column", "Renaming Table Columns"), nor
 * compress a primary index column ("Rules for Adding or Modifying Multi-Value Compression for a Column").
 */
function indexedColumns(model: TeradataTableModel, primaryOnly = false): Set<string> {
  const names = new Set(model.columns.map((c) => plainName(c.name)));
  const out = new Set<string>();
  for (const text of [model.primary, ...(primaryOnly ? [] : model.indexes)])
    for (const w of text.matchAll(/"(?:[^"]|"")+"|[A-Za-z_$#][\w$#]*/g))
      if (names.has(plainName(w[0]))) out.add(plainName(w[0]));
  return out;
}

/** Types whose maximum length ALTER TABLE may raise in place ("VARCHAR(6) → VARCHAR(12): valid; VARCHAR(12) → VARCHAR(6): not valid"). */
const VARYING_TYPE = /^(VARCHAR|VARBYTE|VARGRAPHIC)\((\d+)\)(.*)$/i;

/**
 * A column's type widened in place: the same varying type with a larger maximum length and the same attributes (SQL
 * Data Definition Language Detailed Topics, ALTER TABLE, "Data Type and Attribute Definitions": a type can change
 * "only if the new type does not require a change to the existing data"). `narrower` when the length shrinks (never
 * in place), null when the change is another one.
 */
function widening(from: string, to: string): 'wider' | 'narrower' | null {
  const a = VARYING_TYPE.exec(from);
  const b = VARYING_TYPE.exec(to);
  if (!a || !b || a[1]!.toUpperCase() !== b[1]!.toUpperCase() || a[3]!.trim() !== b[3]!.trim()) return null;
  return Number(b[2]) > Number(a[2]) ? 'wider' : 'narrower';
}

/** Options of {@link diffTables}. */
export interface TableDiffOptions {
  /** Name of the copy a column drop keeps (`CREATE TABLE <backupName> AS t WITH DATA`). Default `<t>_DBEE_BAK`. */
  backupName?: string;
  /**
   * Column renames the project declares for this table (db.yaml `renames:`, `kind: column`): a live column `from`
   * that the source calls `to` is renamed, never dropped and added (renames are never guessed). A rename already
   * made (the live table has `to`) is nothing to do.
   */
  renames?: readonly { from: string; to: string }[];
}

/**
 * Diff a table's definition from the sources (`source`) against the target's (`live`, from `SHOW TABLE`), as ALTER
 * TABLE steps (Teradata Vantage SQL Data Definition Language Syntax and Examples, "ALTER TABLE", "CREATE INDEX",
 * "DROP INDEX"; Detailed Topics, ALTER TABLE), in this order:
 * - a declared column rename: `ALTER TABLE t RENAME a TO b` (hazard backward-incompatible; reverse the other way);
 * - secondary indexes that go: `DROP INDEX (cols) ON t` (first, so that a column it covers can go);
 * - a new column: `ALTER TABLE t ADD c <definition>` (hazard table-rewrite; backward-incompatible when NOT NULL
 *   without a DEFAULT);
 * - a widened column (`VARCHAR(n)` to `VARCHAR(m)`, m > n, VARBYTE and VARGRAPHIC alike, nothing else changed):
 *   `ALTER TABLE t ADD c VARCHAR(m) ...` (no row is rewritten; no reverse: Teradata cannot narrow it again);
 * - a column's DEFAULT or TITLE changed: `ALTER TABLE t ADD c DEFAULT ... | TITLE '...'` (ADD on an existing
 *   column changes its attributes);
 * - a column's multi-value compression changed: `ALTER TABLE t ADD c COMPRESS (...)` or `... ADD c NO COMPRESS`
 *   (hazard table-rewrite: the rows are stored again with the new compression);
 * - columns gone: a copy of the table with its rows (`CREATE TABLE <backup> AS t WITH DATA`), then
 *   `ALTER TABLE t DROP c, DROP d` (hazards data-loss and table-rewrite; no reverse: the values are in the backup);
 * - secondary indexes that come: `CREATE INDEX [name] (cols) ON t` (hazard index-build).
 * One change per column per statement ("Only one change can be made per column per ALTER TABLE statement", "Rules
 * and Restrictions for the Number of Changes Made in One ALTER TABLE Statement"). Anything else (the header, another
 * type change, a narrower column, an index column's type, name or compression, algorithmic compression, constraints,
 * the primary index, partitioning, column order) is named in `needsMigration`, and no ALTER step is returned.
 */
export function diffTables(
  source: TeradataTableModel,
  live: TeradataTableModel,
  options: TableDiffOptions = {},
): TableDiff {
  const t = source.name;
  const needsMigration: string[] = [];
  if (source.header !== live.header) needsMigration.push(`table options: ${live.header} → ${source.header}`);
  if (source.primary !== live.primary)
    needsMigration.push(`primary index or partitioning: ${live.primary || '(none)'} → ${source.primary || '(none)'}`);
  if (source.constraints.join(', ') !== live.constraints.join(', ')) needsMigration.push('constraints');
  const indexed = indexedColumns(live);
  const primary = indexedColumns(live, true);
  const alters: TableAlter[] = [];
  // Declared renames first: the rest of the diff compares the live columns under their new names.
  const renamed = new Map<string, string>();
  const sourceNames = new Map(source.columns.map((c) => [plainName(c.name), c.name]));
  for (const r of options.renames ?? []) {
    const from = live.columns.find((c) => plainName(c.name) === plainName(r.from));
    const to = sourceNames.get(plainName(r.to));
    if (!from || !to || live.columns.some((c) => plainName(c.name) === plainName(r.to))) continue;
    if (sourceNames.has(plainName(r.from))) continue;
    if (indexed.has(plainName(from.name))) {
      needsMigration.push(`column ${from.name} → ${to}: an index or partitioning column cannot be renamed in place`);
      continue;
    }
    renamed.set(from.name, to);
    alters.push({
      statements: [`ALTER TABLE ${t} RENAME ${from.name} TO ${to}`],
      reverse: [`ALTER TABLE ${t} RENAME ${to} TO ${from.name}`],
      hazards: [
        {
          kind: 'backward-incompatible',
          message: `renames column ${from.name} of ${t} to ${to}: views, macros and queries that name ${from.name} fail`,
        },
      ],
      summary: `rename column ${from.name} to ${to}`,
    });
  }
  const liveColumns = live.columns.map((c) => (renamed.has(c.name) ? { ...c, name: renamed.get(c.name)! } : c));
  const liveCols = new Map(liveColumns.map((c) => [c.name, c]));
  const sourceCols = new Map(source.columns.map((c) => [c.name, c]));
  const kept = source.columns.filter((c) => liveCols.has(c.name)).map((c) => c.name);
  const liveKept = liveColumns.filter((c) => sourceCols.has(c.name)).map((c) => c.name);
  if (kept.join() !== liveKept.join()) needsMigration.push(`column order: ${liveKept.join(', ')} → ${kept.join(', ')}`);
  // ALTER TABLE ... ADD appends a column after the last one: a new column before an existing one would never match.
  const lastKept = source.columns.findLastIndex((c) => liveCols.has(c.name));
  const early = source.columns
    .slice(0, lastKept)
    .filter((c) => !liveCols.has(c.name))
    .map((c) => c.name);
  if (early.length)
    needsMigration.push(
      `new column${early.length > 1 ? 's' : ''} ${early.join(', ')} before existing ones (ALTER TABLE ... ADD appends at the end: move ${early.length > 1 ? 'them' : 'it'} to the end of the column list, or write a migration)`,
    );
  // Secondary indexes that go are dropped first: a column they cover can then be dropped.
  const liveIdx = new Set(live.indexes);
  const sourceIdx = new Set(source.indexes);
  for (const i of live.indexes) {
    if (sourceIdx.has(i)) continue;
    alters.push({
      statements: [`DROP INDEX ${indexColumns(i)} ON ${t}`],
      reverse: [`CREATE ${i} ON ${t}`],
      hazards: [],
      summary: `drop ${i}`,
    });
  }
  // ALTER TABLE ... ADD or DROP of a column changes every row of a populated table, under a table-level write lock
  // (Teradata Vantage SQL Data Definition Language Detailed Topics, ALTER TABLE, "Adding Columns To a Table" /
  // "Dropping Columns From a Table": the rows are rewritten with the new row format).
  const rewrite = (what: string): Hazard => ({
    kind: 'table-rewrite',
    message: `${what}: rewrites every row of ${t} under a write lock`,
  });
  for (const c of source.columns) {
    const old = liveCols.get(c.name);
    if (!old) {
      alters.push(addColumn(t, c, rewrite));
      continue;
    }
    const liveName = plainName(live.columns[liveColumns.indexOf(old)]!.name);
    const column = columnChanges(
      t,
      c,
      old,
      { indexed: indexed.has(liveName), primary: primary.has(liveName) },
      rewrite,
    );
    if ('migration' in column) needsMigration.push(column.migration);
    else alters.push(...column.alters);
  }
  // Columns that go: one copy of the table with its rows first (the values cannot come back otherwise), then one ALTER.
  const dropped = liveColumns.filter((c) => !sourceCols.has(c.name)).map((c) => c.name);
  if (dropped.length) {
    const backup = options.backupName ?? `${t}_DBEE_BAK`;
    const list = dropped.join(', ');
    alters.push({
      statements: [
        `CREATE TABLE ${backup} AS ${t} WITH DATA`,
        `ALTER TABLE ${t} ${dropped.map((c) => `DROP ${c}`).join(', ')}`,
      ],
      reverse: null,
      hazards: [
        {
          kind: 'data-loss',
          message: `drops column${dropped.length > 1 ? 's' : ''} ${list} of ${t}; the values are kept in ${backup}`,
        },
        rewrite(`drops ${list}`),
      ],
      summary: `drop column${dropped.length > 1 ? 's' : ''} ${list} (backup ${backup})`,
    });
  }
  for (const i of source.indexes) {
    if (liveIdx.has(i)) continue;
    alters.push({
      statements: [`CREATE ${i} ON ${t}`],
      reverse: [`DROP INDEX ${indexColumns(i)} ON ${t}`],
      hazards: [{ kind: 'index-build', message: `builds ${i} on ${t}` }],
      summary: `add ${i}`,
    });
  }
  if (needsMigration.length) return { alters: [], needsMigration };
  const retyped = source.columns.filter((c) => liveCols.has(c.name) && liveCols.get(c.name)!.core !== c.core);
  return { alters, needsMigration: [], ...(retyped.length ? { retyped: retyped.map((c) => plainName(c.name)) } : {}) };
}

/** `ALTER TABLE t ADD c <definition>` of a new column, undone by DROP. */
function addColumn(t: string, c: TeradataColumnModel, rewrite: (what: string) => Hazard): TableAlter {
  const notNullNoDefault = /\bNOT NULL\b/i.test(c.core) && !c.defaultClause;
  return {
    statements: [`ALTER TABLE ${t} ADD ${c.definition}`],
    reverse: [`ALTER TABLE ${t} DROP ${c.name}`],
    hazards: [
      rewrite(`adds column ${c.name}`),
      ...(notNullNoDefault
        ? [
            {
              kind: 'backward-incompatible' as const,
              message: `${c.name} is NOT NULL without a DEFAULT: INSERTs that do not name it fail, and the ALTER fails on a table with rows`,
            },
          ]
        : []),
    ],
    summary: `add column ${c.name}`,
  };
}

/**
 * The ALTERs that change an existing column `old` into `c` (its type widened, DEFAULT and TITLE, compression), one
 * statement each; or the line a migration must answer. `indexed`: the column is an index or partitioning column;
 * `primary`: a primary index or partitioning column (never compressed).
 */
function columnChanges(
  t: string,
  c: TeradataColumnModel,
  old: TeradataColumnModel,
  where: { indexed: boolean; primary: boolean },
  rewrite: (what: string) => Hazard,
): { alters: TableAlter[] } | { migration: string } {
  const { indexed } = where;
  const alters: TableAlter[] = [];
  if (old.core !== c.core) {
    const widened = widening(old.core, c.core);
    if (widened !== 'wider' || indexed)
      return {
        migration: `column ${c.name}: ${old.core} → ${c.core}${widened === 'narrower' ? ' (Teradata cannot narrow a column in place)' : widened && indexed ? ' (an index column keeps its type)' : ''}`,
      };
    alters.push({
      statements: [`ALTER TABLE ${t} ADD ${c.name} ${c.core}`],
      reverse: null,
      hazards: [],
      summary: `widen column ${c.name} to ${c.core.split(/\s/)[0]}`,
    });
  }
  const attrs: string[] = [];
  const undo: string[] = [];
  if (old.defaultClause !== c.defaultClause) {
    attrs.push(c.defaultClause ?? 'DEFAULT NULL');
    undo.push(old.defaultClause ?? 'DEFAULT NULL');
  }
  if (old.title !== c.title) {
    attrs.push(c.title ?? `TITLE ''`);
    undo.push(old.title ?? `TITLE ''`);
  }
  if (attrs.length) {
    alters.push({
      statements: [`ALTER TABLE ${t} ADD ${c.name} ${attrs.join(' ')}`],
      reverse: [`ALTER TABLE ${t} ADD ${c.name} ${undo.join(' ')}`],
      hazards: [],
      summary: `change ${attrs.map((a) => a.split(/\s/)[0]!.toLowerCase()).join(' and ')} of ${c.name}`,
    });
  }
  if (old.compress !== c.compress) {
    if (where.primary)
      return { migration: `column ${c.name}: a primary index or partitioning column cannot be compressed` };
    alters.push({
      statements: [`ALTER TABLE ${t} ADD ${c.name} ${c.compress ?? 'NO COMPRESS'}`],
      reverse: [`ALTER TABLE ${t} ADD ${c.name} ${old.compress ?? 'NO COMPRESS'}`],
      hazards: [rewrite(`changes the compression of ${c.name}`)],
      summary: `${c.compress ? 'compress' : 'stop compressing'} column ${c.name}`,
    });
  }
  return { alters };
}
