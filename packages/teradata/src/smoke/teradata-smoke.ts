import type { Connection, Engine, ObjectKey } from '@dbee/core';
import { normalizeName } from '../parse/teradata-identifiers';

/** The smoke-check role of the Teradata engine (`Engine.smoke`). */
export type TeradataSmokeDialect = NonNullable<Engine['smoke']>;

/**
 * DBC.TablesV.TableKind of each object kind (Teradata Vantage Data Dictionary, "TablesV": T table, O table with no
 * primary index, V view, M macro, P SQL procedure, E external procedure, F/R/... functions, I join index, N hash
 * index, G trigger).
 */
const TABLE_KINDS: Record<string, string[]> = {
  table: ['T', 'O'],
  view: ['V'],
  macro: ['M'],
  procedure: ['P', 'E'],
  function: ['F', 'R', 'A', 'B', 'S'],
  'join-index': ['I'],
  'hash-index': ['N'],
  trigger: ['G'],
};

function quote(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

function qualified(key: ObjectKey): string {
  return `${key.schema ? quote(key.schema) + '.' : ''}${quote(key.name)}`;
}

/**
 * Smoke checks on Teradata.
 *
 * - Every check runs with auto-commit off and is rolled back (`{fn teradata_rollback}`; Teradata mode: the driver's
 *   BT ... ABORT). DML, macros (`EXEC`) and procedure calls that change rows are undone. A DDL statement is legal only
 *   as the last statement of a transaction (Teradata Vantage SQL Request and Transaction Processing, "Transaction
 *   Processing": error 3932 in TERA mode, 3722 in ANSI mode), so a check is one request; a macro or procedure that
 *   runs DDL fails its check with that error rather than change the system.
 * - Teradata has no statement timeout a session can set (`request_timeout` is a connection parameter of
 *   `teradatasql`, set for the whole session), so the time bound is checked after the check returns: a check that
 *   never returns is not cancelled by dbee.
 * - The driver reports no result column types, so `columns:` cannot be checked on Teradata (the check fails and
 *   says so); `rows:` can.
 */
export const teradataSmoke: TeradataSmokeDialect = {
  timeoutStatement: () => null,

  /** One DBC.TablesV lookup per key (LOCKING ROW FOR ACCESS: the lookup never waits for a deployment's locks). */
  async missingObjects(conn: Connection, keys: ObjectKey[]): Promise<ObjectKey[]> {
    const missing: ObjectKey[] = [];
    for (const key of keys) {
      if (key.kind === 'schema' || key.kind === 'database') {
        const r = await conn.query(
          `LOCKING ROW FOR ACCESS SELECT DBKind AS db_kind FROM DBC.DatabasesV WHERE UPPER(DatabaseName) = ?`,
          [normalizeName(key.name)],
        );
        if (r.rows.length === 0) missing.push(key);
        continue;
      }
      const kinds = TABLE_KINDS[key.kind];
      if (!kinds || !key.schema) continue; // kinds not in DBC.TablesV are taken as present
      const r = await conn.query<{ table_kind: string }>(
        `LOCKING ROW FOR ACCESS SELECT TableKind AS table_kind FROM DBC.TablesV WHERE UPPER(DatabaseName) = ? AND UPPER(TableName) = ?`,
        [normalizeName(key.schema), normalizeName(key.name)],
      );
      const kind = r.rows[0] ? String(r.rows[0].table_kind).trim().toUpperCase() : null;
      if (!kind || !kinds.includes(kind)) missing.push(key);
    }
    return missing;
  },

  /**
   * A view compiles when EXPLAIN of a query over it succeeds: EXPLAIN parses and optimizes the request, resolving
   * every object the view reads, without running it (Teradata Vantage SQL Data Manipulation Language, "EXPLAIN
   * Request Modifier"), so no rows are read and no lock is waited for beyond the dictionary's.
   */
  compileStatement(key) {
    if (key.kind !== 'view') return null;
    return `EXPLAIN SELECT * FROM ${qualified(key)}`;
  },

  /** The driver reports no column types: nothing to name. */
  async typeNames() {
    return new Map();
  },

  /** `CALL db.p(?, ?)`; a scalar function: `SELECT db.f(?) AS result`. Teradata's parameter marker is `?`. */
  routineCall(kind, name, argCount) {
    const args = Array.from({ length: argCount }, () => '?').join(', ');
    return kind === 'procedure' ? `CALL ${name}(${args})` : `SELECT ${name}(${args}) AS result`;
  },
};
