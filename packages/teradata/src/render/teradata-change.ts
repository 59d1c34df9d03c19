import { formatKey, type Connection, type Hazard, type ObjectKey, type RenderedStep } from '@dbee/core';
import { sessionMode } from '../connection/teradata-connection';
import { isSignificant, tokenize } from '../parse/splitter';
import { backupNameFromStamp } from '../introspect/teradata-objects';
import { captureDefinition as showDefinition, tableDependents } from '../catalog/teradata-deploy';
import { normalizeName, qualify, quoteString } from '../parse/teradata-identifiers';
import { compareDefinitions } from './teradata-normalize';
import { definitionStatements, qualifiedName, REPLACEABLE_KINDS, renderDrop, toReplace } from './teradata-renderer';
import { liveStatistics, statisticsToCollect } from './teradata-statistics';
import { diffTables, tableModel } from './teradata-table-diff';

type Planned = { steps: RenderedStep[] } | { migration: string[] };

/**
 * `InPlaceChanges.planChange` on Teradata: a deployed object whose file changed, planned against the target (there is no
 * shadow database to diff in).
 *
 * - **Table**: its CREATE TABLE against `SHOW TABLE` of the target (`diffTables`: ALTER TABLE ... ADD / DROP columns,
 *   DEFAULT and TITLE, secondary indexes), then its COMMENT statements whose text differs from the target's
 *   (`DBC.TablesV` / `DBC.ColumnsV.CommentString`; reverse: the old comment), then the groups of its COLLECT
 *   STATISTICS statements that read a column the change adds or that the target has no statistics on
 *   (`statisticsToCollect`: a table is not re-collected in full for a comment; a group removed from the file keeps its
 *   statistics) and its GRANT / REVOKE statements again (both are idempotent; a GRANT removed from the file is not
 *   revoked). Anything else asks for a migration, naming what changed.
 * - **Join index, hash index** (written with CREATE): dropped and created again (they hold no rows of their own);
 *   reverse: the same with the SHOW text they had.
 * - **View, macro, procedure, function, trigger written with CREATE**: the `REPLACE` of the new text; the runner
 *   captures the old one as the reverse.
 */
export async function planChange(
  conn: Connection,
  object: {
    key: ObjectKey;
    statements: string[];
    stamp: string;
    renames?: readonly { kind: string; schema: string; table?: string; from: string; to: string }[];
  },
): Promise<Planned> {
  const { key, statements, stamp } = object;
  const id = formatKey(key);
  const step = (part: Omit<RenderedStep, 'key' | 'objectKey' | 'transactional'>): RenderedStep => ({
    key: id,
    objectKey: key,
    transactional: true,
    ...part,
  });
  if (REPLACEABLE_KINDS.has(key.kind)) {
    return {
      steps: [
        step({
          action: 'replace',
          statements: statements.map((s, i) => (i === 0 ? toReplace(s) : s)),
          reverse: null,
          hazards: [],
        }),
      ],
    };
  }
  if (key.kind === 'join-index' || key.kind === 'hash-index') {
    const live = await showDefinition(conn, key);
    const [create, ...rest] = statements;
    if (!live || !create)
      return { migration: [`${key.kind} ${qualifiedName(key)} is in the ledger but not on the target`] };
    const liveCreate = definitionStatements(live)[0] ?? live;
    const same = compareDefinitions(create, liveCreate, { tmode: sessionMode(conn) }).equal;
    const hazards: Hazard[] = [
      {
        kind: 'index-build',
        message: `builds ${key.kind.replace('-', ' ')} ${qualifiedName(key)} again from its tables`,
      },
    ];
    const rebuild = same
      ? []
      : [
          step({
            action: 'alter',
            statements: [renderDrop(key), create],
            reverse: [renderDrop(key), liveCreate],
            hazards,
          }),
        ];
    return {
      steps: [
        ...rebuild,
        ...(rest.length ? [step({ action: 'alter', statements: rest, reverse: [], hazards: [] })] : []),
      ],
    };
  }
  if (key.kind === 'database' || key.kind === 'user') return planDatabaseChange(conn, key, statements);
  if (key.kind === 'profile') return planProfileChange(conn, key, statements);
  if (key.kind !== 'table') return { migration: [`a ${key.kind} cannot be changed in place on Teradata`] };
  const live = await showDefinition(conn, key);
  if (!live) return { migration: [`table ${qualifiedName(key)} is in the ledger but not on the target`] };
  const migration: string[] = [];
  const creates = statements.filter((s) => firstWord(s) === 'CREATE');
  const comments = statements.filter((s) => firstWord(s) === 'COMMENT');
  const rerun = statements.filter((s) => ['COLLECT', 'GRANT', 'REVOKE'].includes(firstWord(s)));
  const other = statements.filter((s) => !['CREATE', 'COMMENT', 'COLLECT', 'GRANT', 'REVOKE'].includes(firstWord(s)));
  for (const s of other)
    migration.push(
      `statement "${s.replace(/\s+/g, ' ').slice(0, 60)}..." (a table file's other statements run once, when the table is created)`,
    );
  if (creates.length !== 1) migration.push('a table file must hold one CREATE TABLE');
  if (migration.length) return { migration };
  const liveCreate = definitionStatements(live)[0] ?? live;
  // A source that leaves SET/MULTISET to the session's mode gets the target's (the mode is not known here).
  const kind = /^\s*CREATE\s+(?:(?:GLOBAL\s+TEMPORARY|VOLATILE)\s+)?(SET|MULTISET)\s+/i.exec(liveCreate)?.[1];
  const create =
    kind && !/^\s*CREATE\s+(?:\w+\s+)*?(SET|MULTISET)\s+TABLE\b/i.test(creates[0]!)
      ? creates[0]!.replace(/^(\s*CREATE\s+(?:(?:GLOBAL\s+TEMPORARY|VOLATILE)\s+)?)/i, `$1${kind.toUpperCase()} `)
      : creates[0]!;
  // The defaults SHOW TABLE writes out (CASESPECIFIC, SET/MULTISET) are the session mode's (#64 S2).
  const tmode = sessionMode(conn);
  const source = tableModel(create, { tmode });
  const target = tableModel(liveCreate, { tmode });
  if (!source || !target)
    return {
      migration: [
        'the CREATE TABLE could not be read (CREATE TABLE ... AS is created once: write a migration to change it)',
      ],
    };
  const diff = diffTables(source, target, {
    backupName: qualify(normalizeName(key.schema), backupNameFromStamp(key.name, stamp)),
    renames: columnRenames(key, object.renames ?? []),
  });
  if (diff.needsMigration.length) return { migration: diff.needsMigration };
  // "You cannot drop indexed columns from a table without first dropping the index on those columns" (SQL Data
  // Definition Language Detailed Topics, "Dropping Columns From a Table"): a join or hash index that reads a dropped
  // column must change first, which only a migration can order.
  const dropped = target.columns
    .filter((c) => !source.columns.some((x) => x.name === c.name))
    .map((c) => c.name.replace(/"/g, '').toUpperCase());
  if (dropped.length) {
    for (const d of await tableDependents(conn, key)) {
      if (d.key.kind === 'trigger') continue;
      const used = dropped.filter((c) =>
        tokenize(d.definition, '<dependent>').some((t) => (t.type === 'word' || t.type === 'quoted') && t.value === c),
      );
      if (used.length)
        migration.push(
          `column ${used.join(', ')} is read by ${d.key.kind} ${qualifiedName(d.key)}, which must change first`,
        );
    }
    if (migration.length) return { migration };
  }
  const steps = diff.alters.map((a) =>
    step({ action: 'alter', statements: a.statements, reverse: a.reverse, hazards: a.hazards }),
  );
  const changedComments = await commentChanges(conn, key, comments);
  for (const c of changedComments)
    steps.push(step({ action: 'alter', statements: [c.statement], reverse: [c.reverse], hazards: [] }));
  // Statistics only for the groups the change touches (a column it adds) or the target lacks (#64 S5); grants again.
  // A widened column's statistics are no longer used by the optimizer: its groups are collected again too.
  const added = new Set([
    ...source.columns
      .filter((c) => !target.columns.some((x) => x.name === c.name))
      .map((c) => c.name.replace(/"/g, '').toUpperCase()),
    ...(diff.retyped ?? []),
  ]);
  const collects = rerun.filter((s) => firstWord(s) === 'COLLECT');
  const again = [
    ...(collects.length ? statisticsToCollect(collects, await liveStatistics(conn, key), added) : []),
    ...rerun.filter((s) => firstWord(s) !== 'COLLECT'),
  ];
  if (again.length) steps.push(step({ action: 'alter', statements: again, reverse: [], hazards: [] }));
  return { steps };
}

/**
 * The column renames `renames` (db.yaml `renames:`, placeholders expanded) declare for the table `key`: `kind: column`
 * entries whose database and table name it, in any case.
 */
function columnRenames(
  key: ObjectKey,
  renames: readonly { kind: string; schema: string; table?: string; from: string; to: string }[],
): { from: string; to: string }[] {
  return renames
    .filter(
      (r) =>
        r.kind === 'column' &&
        normalizeName(r.schema) === normalizeName(key.schema) &&
        normalizeName(r.table ?? '') === normalizeName(key.name),
    )
    .map((r) => ({ from: r.from, to: r.to }));
}

/** The first keyword of a statement, upper case as written (`COLLECT`, `GRANT`...); `''` for none. */
export function firstWord(sql: string): string {
  return tokenize(sql, '<statement>').find(isSignificant)?.value ?? '';
}

/**
 * Of a table file's COMMENT statements, those whose text differs from the target's comment, with the statement that
 * puts the old one back (`''` when there was none). `COMMENT ON [TABLE] t [AS|IS] '...'` and
 * `COMMENT ON COLUMN t.c [AS|IS] '...'` (Teradata Vantage SQL Data Definition Language, COMMENT (Comment-Placing
 * Form)); the target's comments are `DBC.TablesV.CommentString` and `DBC.ColumnsV.CommentString` (Data Dictionary).
 */
async function commentChanges(
  conn: Connection,
  key: ObjectKey,
  comments: string[],
): Promise<{ statement: string; reverse: string }[]> {
  if (!comments.length) return [];
  const params = [normalizeName(key.schema), normalizeName(key.name)];
  const table = await conn.query<{ comment_string: string | null }>(
    'SELECT CommentString AS comment_string FROM DBC.TablesV WHERE UPPER(DatabaseName) = ? AND UPPER(TableName) = ?',
    params,
  );
  const columns = await conn.query<{ column_name: string; comment_string: string | null }>(
    'SELECT ColumnName AS column_name, CommentString AS comment_string FROM DBC.ColumnsV WHERE UPPER(DatabaseName) = ? AND UPPER(TableName) = ?',
    params,
  );
  const liveColumn = new Map(
    columns.rows.map((r) => [String(r.column_name).trim().toUpperCase(), r.comment_string ?? '']),
  );
  const out: { statement: string; reverse: string }[] = [];
  for (const statement of comments) {
    const words = tokenize(statement, '<comment>').filter(isSignificant);
    const text = [...words].reverse().find((t) => t.type === 'string')?.value ?? '';
    const columnAt = words.findIndex((t) => t.type === 'word' && t.value === 'COLUMN');
    let column: string | null = null;
    if (columnAt >= 0) {
      const names = words
        .slice(columnAt + 1)
        .filter((t, i, all) => (t.type === 'word' || t.type === 'quoted') && (i === 0 || all[i - 1]!.text === '.'));
      column = names[names.length - 1]?.value.toUpperCase() ?? null;
    }
    const old = column ? (liveColumn.get(column) ?? '') : (table.rows[0]?.comment_string ?? '');
    if (old === text) continue;
    const target = column ? `COLUMN ${qualifiedName(key)}.${column}` : `TABLE ${qualifiedName(key)}`;
    out.push({ statement, reverse: `COMMENT ON ${target} AS ${quoteString(old)}` });
  }
  return out;
}

/** Space limits that dbee changes in place, as `CREATE DATABASE|USER|PROFILE ... AS` writes them and DBC holds them. */
const SPACES: { word: RegExp; name: string; column: 'perm_space' | 'spool_space' | 'temp_space' }[] = [
  { word: /^PERM(ANENT)?$/i, name: 'PERM', column: 'perm_space' },
  { word: /^SPOOL$/i, name: 'SPOOL', column: 'spool_space' },
  { word: /^TEMPORARY$/i, name: 'TEMPORARY', column: 'temp_space' },
];

/**
 * The space limits a namespace file's `CREATE ... AS a = n, ...` sets (`wanted`), its owner (`FROM`), and one line per
 * attribute dbee does not change in place (`migration`). `skip` matches attributes that are neither (a user's
 * PASSWORD).
 */
function spaceAttributes(
  key: ObjectKey,
  statements: string[],
  spaces: typeof SPACES,
  skip: RegExp | null,
): { wanted: Map<string, number>; owner?: string; migration: string[] } {
  const word = key.kind.toUpperCase();
  const creates = statements.filter((s) => firstWord(s) === 'CREATE');
  if (creates.length !== 1 || statements.length !== 1)
    return {
      wanted: new Map(),
      migration: [`a ${key.kind} file holds its CREATE ${word} only to be changed in place`],
    };
  const create = creates[0]!;
  const words = tokenize(create, `<${key.kind}>`).filter(isSignificant);
  const fromAt = words.findIndex((t) => t.type === 'word' && t.value === 'FROM');
  const asAt = words.findIndex((t) => t.type === 'word' && t.value === 'AS');
  const wanted = new Map<string, number>();
  const migration: string[] = [];
  const names = spaces
    .map((s) => s.name)
    .join(', ')
    .replace(/, (\w+)$/, ' and $1');
  if (asAt >= 0) {
    for (const part of create
      .slice(words[asAt]!.end)
      .replace(/;\s*$/, '')
      .split(/,(?![^()]*\))/)) {
      if (skip?.test(part)) continue;
      const m = /^\s*(\w+)\s*=\s*([\d.]+(?:E[+-]?\d+)?)(?:\s+BYTES)?\s*$/i.exec(part);
      const space = m ? spaces.find((s) => s.word.test(m[1]!)) : undefined;
      if (!m || !space) {
        const shown = /^\s*PASSWORD\s*=/i.test(part) ? 'PASSWORD = ...' : part.trim() || 'an empty attribute';
        migration.push(`${shown}: dbee changes only ${names}${key.kind === 'profile' ? ' of a profile' : ''} in place`);
        continue;
      }
      wanted.set(space.name, Number(m[2]));
    }
  }
  const owner = fromAt >= 0 ? words[fromAt + 1]?.value : undefined;
  return { wanted, migration, ...(owner ? { owner } : {}) };
}

/**
 * `MODIFY <word> x AS a = n, ...` for the limits of `wanted` that differ from the catalog's `row`, reverse: the
 * catalog's values (`unset` writes one the catalog has none of, e.g. `NULL` for a profile; without it, such a change
 * has no reverse). No step when nothing differs.
 */
function modifySpaces(
  key: ObjectKey,
  word: string,
  spaces: typeof SPACES,
  wanted: Map<string, number>,
  row: Record<string, unknown>,
  unset: string | null,
): Planned {
  const set: string[] = [];
  const back: string[] = [];
  for (const space of spaces) {
    const value = wanted.get(space.name);
    if (value === undefined) continue;
    const current = row[space.column] === null || row[space.column] === undefined ? null : Number(row[space.column]);
    if (current === value) continue;
    set.push(`${space.name} = ${value}`);
    if (current !== null || unset !== null) back.push(`${space.name} = ${current ?? unset}`);
  }
  if (!set.length) return { steps: [] };
  return {
    steps: [
      {
        key: formatKey(key),
        objectKey: key,
        transactional: true,
        action: 'alter',
        statements: [`MODIFY ${word} ${qualifiedName(key)} AS ${set.join(', ')}`],
        reverse: back.length === set.length ? [`MODIFY ${word} ${qualifiedName(key)} AS ${back.join(', ')}`] : null,
        hazards: [],
      },
    ],
  };
}

/**
 * A deployed profile whose file changed, in the safe subset: `SPOOL` and `TEMPORARY` become `MODIFY PROFILE p AS
 * SPOOL = n, TEMPORARY = n` for the ones that differ from `DBC.ProfileInfoV` (SpoolSpace, TempSpace), reverse: the
 * target's values (SQL Data Control Language, MODIFY PROFILE; the view's columns: Data Dictionary, verify). Any other
 * attribute (ACCOUNT, DEFAULT DATABASE, PASSWORD rules, QUERY_BAND...) is a migration, named. A profile is never
 * dropped by a plan from the sources.
 */
async function planProfileChange(conn: Connection, key: ObjectKey, statements: string[]): Promise<Planned> {
  const spaces = SPACES.filter((s) => s.name !== 'PERM');
  const { wanted, migration } = spaceAttributes(key, statements, spaces, null);
  if (migration.length) return { migration };
  const live = await conn.query<Record<string, unknown>>(
    'SELECT SpoolSpace AS spool_space, TempSpace AS temp_space FROM DBC.ProfileInfoV WHERE UPPER(ProfileName) = ?',
    [normalizeName(key.name)],
  );
  const row = live.rows[0];
  if (!row) return { migration: [`profile ${qualifiedName(key)} is in the ledger but not on the target`] };
  return modifySpaces(key, 'PROFILE', spaces, wanted, row, 'NULL');
}

/**
 * A deployed database or user whose file changed, in the safe subset: its space limits (`PERM`, `SPOOL`, `TEMPORARY`)
 * become `MODIFY DATABASE|USER x AS PERM = n, ...` for the ones that differ from `DBC.DatabasesV` (PermSpace,
 * SpoolSpace, TempSpace), reverse: the same with the target's values (SQL Data Definition Language, MODIFY DATABASE,
 * MODIFY USER). A user's `PASSWORD` is never compared or changed (CREATE USER needs one; dbee does not manage
 * secrets). Anything else is a migration, named: another owner (`FROM`; moving a database is `GIVE`, which dbee does
 * not run), another attribute (FALLBACK, ACCOUNT, DEFAULT DATABASE, PROFILE, journals...), or other statements in the
 * file. A database or user is never dropped by a plan from the sources (a removed file is reported, not dropped).
 */
async function planDatabaseChange(conn: Connection, key: ObjectKey, statements: string[]): Promise<Planned> {
  const { wanted, owner, migration } = spaceAttributes(
    key,
    statements,
    SPACES,
    key.kind === 'user' ? /^\s*PASSWORD\s*=/i : null,
  );
  if (migration.length) return { migration };
  const live = await conn.query<Record<string, unknown>>(
    'SELECT OwnerName AS owner_name, PermSpace AS perm_space, SpoolSpace AS spool_space, TempSpace AS temp_space ' +
      'FROM DBC.DatabasesV WHERE UPPER(DatabaseName) = ?',
    [normalizeName(key.name)],
  );
  const row = live.rows[0];
  if (!row) return { migration: [`${key.kind} ${qualifiedName(key)} is in the ledger but not on the target`] };
  if (owner && normalizeName(owner) !== normalizeName(String(row.owner_name ?? '').trim()))
    return {
      migration: [
        `owner ${String(row.owner_name ?? '').trim()} -> ${owner} (GIVE ${qualifiedName(key)} TO ${owner}: dbee does not move databases or users)`,
      ],
    };
  return modifySpaces(key, key.kind === 'user' ? 'USER' : 'DATABASE', SPACES, wanted, row, null);
}
