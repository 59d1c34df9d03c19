import { DbeeError, ExitCode, type BuildAside, type Connection, type ObjectKey } from '@dbee/core';
import { isSignificant, tokenize } from '../parse/splitter';
import { normalizeName, quoteIdent } from '../parse/teradata-identifiers';
import { MAX_NAME_LENGTH, qualifiedName, renderDrop } from '../render/teradata-renderer';
import { retarget } from '../render/teradata-retarget';
import { liveStatistics, statisticsGroups } from '../render/teradata-statistics';
import { tableModel } from '../render/teradata-table-diff';
import { sessionMode } from '../connection/teradata-connection';
import type { TableDependent } from '../catalog/teradata-deploy';

/** `ORDERS_NEW_20261121T103000`: the name a table is built under before the swap, at most 128 characters. */
export function builtNameFromStamp(name: string, stamp: string): string {
  const suffix = `_NEW_${stamp.toUpperCase()}`;
  return normalizeName(name).slice(0, MAX_NAME_LENGTH - suffix.length) + suffix;
}

/** Free PERM of a database (`MaxPerm - CurrentPerm` of `DBC.DiskSpaceV`, summed over its AMPs) and a table's size. */
async function room(conn: Connection, key: ObjectKey): Promise<{ free: number; needed: number }> {
  const db = normalizeName(key.schema);
  const free = await conn.query<{ free_bytes: unknown }>(
    'SELECT SUM(MaxPerm) - SUM(CurrentPerm) AS free_bytes FROM DBC.DiskSpaceV WHERE UPPER(DatabaseName) = ?',
    [db],
  );
  const size = await conn.query<{ needed_bytes: unknown }>(
    'SELECT SUM(CurrentPerm) AS needed_bytes FROM DBC.TableSizeV WHERE UPPER(DatabaseName) = ? AND UPPER(TableName) = ?',
    [db, normalizeName(key.name)],
  );
  return { free: Number(free.rows[0]?.free_bytes ?? 0), needed: Number(size.rows[0]?.needed_bytes ?? 0) };
}

const isCreate = (sql: string) => {
  const words = tokenize(sql, '<statement>').filter(isSignificant);
  return words[0]?.value === 'CREATE' && words.some((t) => t.value === 'TABLE');
};

/**
 * Build aside, then swap (#73 item 3), for `dbee deploy`: a table met under `ifExists: rename` stays live under its name
 * while its replacement is built as `<name>_NEW_<stamp>` (the step's statements, retargeted; with `copyData` the rows
 * of the live table's columns copied right after the CREATE, before the step's COLLECT STATISTICS; the live table's
 * grants given to it), then `RENAME TABLE t TO t_BKP_<stamp>` and `RENAME TABLE t_NEW_<stamp> TO t` make it live, with
 * the join indexes, hash indexes and triggers on it dropped right before and created again right after (Teradata
 * refuses to rename a table under them). RENAME TABLE keeps the rows, statistics and rights with the table (SQL Data
 * Definition Language, RENAME TABLE). A copy that cannot fit (`DBC.DiskSpaceV` free PERM below the table's
 * `DBC.TableSizeV` CurrentPerm) is refused before anything runs, naming the bytes needed (summed over the AMPs: a skewed
 * AMP can still run out, 2644; verify on a live system). What undoes a failure at each statement: `undoAt`.
 */
export async function tableBuildAside(
  conn: Connection,
  key: ObjectKey,
  backup: ObjectKey,
  stamp: string,
  live: { columns: string[]; grants: string[]; dependents: TableDependent[]; definition: string | null },
): Promise<BuildAside> {
  const built: ObjectKey = { ...key, name: builtNameFromStamp(key.name, stamp) };
  const space = await room(conn, key);
  const held = live.definition ? await liveStatistics(conn, key) : new Set<string>();
  const table = qualifiedName(key);
  const builtSql = qualifiedName(built);
  const first = `RENAME TABLE ${table} TO ${qualifiedName(backup)}`;
  const second = `RENAME TABLE ${builtSql} TO ${table}`;
  const dropDependents = live.dependents.map((d) => renderDrop(d.key));
  const createDependents = live.dependents.map((d) => d.definition);
  return {
    check(copyData) {
      if (copyData && space.needed > space.free)
        throw new DbeeError(
          `copyData: ${key.schema} has ${space.free} bytes of free permanent space, and the copy of ${table} needs ${space.needed} while the old table is kept as the backup; nothing was changed`,
          {
            code: 'COPY_NO_ROOM',
            hint: `ask a DBA for at least ${space.needed - space.free} more bytes of PERM for ${key.schema} (MODIFY DATABASE ${quoteIdent(key.schema)} AS PERM = ...), or free some, then deploy again`,
            exitCode: ExitCode.invalid,
            details: { table, free: space.free, needed: space.needed },
          },
        );
    },
    statements(own, copyData) {
      const out: string[] = [];
      const create = own.find(isCreate);
      const copyStatistics = copyData && !!create && sameColumns(create, live.definition, sessionMode(conn));
      for (const sql of own) {
        out.push(
          ...(copyStatistics
            ? statisticsFrom(sql, table, builtSql, held)
            : [retarget(sql, key.schema, key.name, built.name)]),
        );
        if (!copyData || !isCreate(sql) || !live.columns.length) continue;
        const list = live.columns.map(quoteIdent).join(', ');
        // The comment names the backup the rows end up in after the swap: `dbee rollback` counts them as its rows.
        out.push(
          `/* copyData: the rows of ${table}, renamed to ${qualifiedName(backup)} at the swap */ INSERT INTO ${builtSql} (${list}) SELECT ${list} FROM ${table}`,
        );
      }
      const grants = live.grants.map((g) => retarget(g, key.schema, key.name, built.name));
      return [...out, ...grants, ...dropDependents, first, second, ...createDependents];
    },
    undoAt(statements, failed) {
      const ran = statements.slice(0, failed);
      const undo: string[] = [];
      if (ran.includes(second)) {
        undo.push(...createDependents.filter((d) => ran.includes(d)).map((_, i) => dropDependents[i]!));
        undo.push(`RENAME TABLE ${table} TO ${builtSql}`);
      }
      if (ran.includes(first)) undo.push(`RENAME TABLE ${qualifiedName(backup)} TO ${table}`);
      if (ran.some((sql) => isCreate(sql) && retargeted(sql, built))) undo.push(renderDrop(built));
      const dropped = dropDependents.filter((d) => ran.includes(d));
      if (dropped.length) undo.push(...createDependents.slice(0, dropped.length));
      return undo;
    },
  };
}

/** Whether a CREATE TABLE statement creates `built` (its name, qualified or not, anywhere among its first words). */
function retargeted(sql: string, built: ObjectKey): boolean {
  return tokenize(sql, '<statement>')
    .filter(isSignificant)
    .slice(0, 12)
    .some((t) => (t.type === 'word' || t.type === 'quoted') && t.value === built.name.toUpperCase());
}

/** Whether a CREATE TABLE defines the same columns (names, types, attributes, order) as the live table's SHOW text. */
function sameColumns(create: string, live: string | null, tmode: 'TERA' | 'ANSI'): boolean {
  const a = tableModel(create, { tmode });
  const b = live ? tableModel(live, { tmode }) : null;
  if (!a || !b || a.columns.length !== b.columns.length) return false;
  return a.columns.every((c, i) => c.name === b.columns[i]!.name && c.core === b.columns[i]!.core);
}

/**
 * Statistics copied, not collected again (#73 item 7): the groups of a `COLLECT STATISTICS` on the table, as
 * `COLLECT STATISTICS <groups> ON <built> FROM <table>` ("COLLECT STATISTICS FROM does not copy data. It copies only the
 * statistics for the specified column sets"; no USING clause is allowed with FROM: SQL Data Definition Language
 * Detailed Topics, "Rules and Guidelines for the COLLECT STATISTICS (Optimizer Form) FROM source_table Clause"). Only
 * when the column set is unchanged (`sameColumns`) and the rows were copied: the live table's statistics then describe
 * the new table's rows. A group the live table holds no statistics on (`held`: SHOW STATISTICS) would get none from
 * it: those are collected over the new table. Any other statement is retargeted as it is.
 */
function statisticsFrom(sql: string, table: string, built: string, held: Set<string>): string[] {
  const parsed = statisticsGroups(sql);
  const [schema, name] = table.split('.') as [string, string];
  const [, builtName] = built.split('.') as [string, string];
  if (!parsed) return [retarget(sql, schema, name, builtName.replace(/^"|"$/g, ''))];
  const copied = parsed.groups.filter((g) => held.has(g.columns.join(',')));
  const collected = parsed.groups.filter((g) => !held.has(g.columns.join(',')));
  const list = (groups: typeof copied) => groups.map((g) => g.text).join(', ');
  return [
    ...(copied.length ? [`COLLECT STATISTICS ${list(copied)} ON ${built} FROM ${table}`] : []),
    ...(collected.length
      ? [`COLLECT STATISTICS ${parsed.using ? `${parsed.using} ` : ''}${list(collected)} ON ${built}`]
      : []),
  ];
}
