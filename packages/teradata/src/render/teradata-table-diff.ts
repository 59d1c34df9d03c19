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

function columnModel(definition: string): TeradataColumnModel {
  const m = /^("(?:[^"]|"")+"|\S+)\s*([\s\S]*)$/.exec(definition)!;
  let rest = m[2]!;
  const def = DEFAULT_RE.exec(rest);
  if (def) rest = rest.replace(def[0], '');
  const title = TITLE_RE.exec(rest);
  if (title) rest = rest.replace(title[0], '');
  return {
    name: m[1]!,
    core: rest.trim(),
    defaultClause: def ? def[1]!.trim() : null,
    title: title ? title[0].trim() : null,
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

/**
 * Diff a table's definition from the sources (`source`) against the target's (`live`, from `SHOW TABLE`), as ALTER
 * TABLE steps (Teradata Vantage SQL Data Definition Language Syntax and Examples, "ALTER TABLE", "CREATE INDEX",
 * "DROP INDEX"):
 * - a new column: `ALTER TABLE t ADD c <definition>` (hazard table-rewrite; backward-incompatible when NOT NULL
 *   without a DEFAULT);
 * - columns gone: a copy of the table with its rows (`CREATE TABLE <backup> AS t WITH DATA`), then
 *   `ALTER TABLE t DROP c, DROP d` (hazards data-loss and table-rewrite; no reverse: the values are in the backup);
 * - a column's DEFAULT or TITLE changed: `ALTER TABLE t ADD c DEFAULT ... | TITLE '...'` (ADD on an existing
 *   column changes its attributes);
 * - a secondary index added or removed: `CREATE INDEX [name] (cols) ON t` (hazard index-build) /
 *   `DROP INDEX (cols) ON t` (first, so that a column it covers can go).
 * Anything else (the header, a column's type or other attributes, constraints, the primary index, partitioning,
 * column order) is named in `needsMigration`, and no ALTER step is returned.
 */
export function diffTables(
  source: TeradataTableModel,
  live: TeradataTableModel,
  options: { backupName?: string } = {},
): TableDiff {
  const t = source.name;
  const needsMigration: string[] = [];
  if (source.header !== live.header) needsMigration.push(`table options: ${live.header} → ${source.header}`);
  if (source.primary !== live.primary)
    needsMigration.push(`primary index or partitioning: ${live.primary || '(none)'} → ${source.primary || '(none)'}`);
  if (source.constraints.join(', ') !== live.constraints.join(', ')) needsMigration.push('constraints');
  const liveCols = new Map(live.columns.map((c) => [c.name, c]));
  const sourceCols = new Map(source.columns.map((c) => [c.name, c]));
  const kept = source.columns.filter((c) => liveCols.has(c.name)).map((c) => c.name);
  const liveKept = live.columns.filter((c) => sourceCols.has(c.name)).map((c) => c.name);
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
  const alters: TableAlter[] = [];
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
      const notNullNoDefault = /\bNOT NULL\b/i.test(c.core) && !c.defaultClause;
      alters.push({
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
      });
      continue;
    }
    if (old.core !== c.core) {
      needsMigration.push(`column ${c.name}: ${old.core} → ${c.core}`);
      continue;
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
  }
  // Columns that go: one copy of the table with its rows first (the values cannot come back otherwise), then one ALTER.
  const dropped = live.columns.filter((c) => !sourceCols.has(c.name)).map((c) => c.name);
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
  return needsMigration.length ? { alters: [], needsMigration } : { alters, needsMigration: [] };
}
