import type { BackfillKey, BackfillRole } from '@dbee/core';
import { postgresLockTimeouts } from './lock-timeouts';

/**
 * The backfill role of PostgreSQL (`BackfillRole`; the algorithm is core's `expand/backfill.ts`): keyset batches as
 * range UPDATEs, the cursor in the ledger's `backfills` table, unique keys from `pg_index`, the WAL position from
 * `pg_current_wal_insert_lsn()`, and `wal_compression` made per batch when the role may.
 */
export const postgresBackfill: BackfillRole = {
  lockTimeouts: postgresLockTimeouts,
  /**
   * A batch is a range of keys: above the cursor, up to the key of the `size`-th row after it (or the bound, for the
   * last batch). One statement updates the range's rows and moves the ledger's cursor to its end, in the batch's
   * transaction; ranges never overlap, so no row is updated twice. A range UPDATE needs no join and no row locks
   * taken beforehand (which cost a WAL record per row). The batch commits without waiting for the disk: its ledger
   * row commits with it, so a crash can only lose both.
   */
  statements({ ledgerSchema, table: t, key, set, where: condition, settings, readWal, readWaiters }) {
    const ledger = `${ident(ledgerSchema)}.backfills`;
    const table = `${ident(t.schema)}.${ident(t.name)}`;
    const keyList = key.map((k) => ident(k.name)).join(', ');
    const cast = (from: number) => `(${key.map((k, i) => `$${from + i}::${k.type}`).join(', ')})`;
    // User fragments end with a line break: a trailing `-- comment` in them must not swallow what follows.
    const where = condition?.trim() ? ` AND (${condition}\n)` : '';
    const lowerSql = (first: boolean) => (first ? '' : `(${keyList}) > ${cast(1)} AND `);
    const wal = readWal ? ', pg_current_wal_insert_lsn()::text AS wal' : '';
    // Read by the update's RETURNING, its rows locked, before its commit: the sessions queued behind them (the
    // application's transactions the batch delays). pg_blocking_pids takes the lock manager's locks: the CASE keeps it
    // to the sessions that wait on a lock.
    const blocked = `FROM pg_stat_activity
        WHERE CASE WHEN wait_event_type = 'Lock' THEN pg_backend_pid() = ANY(pg_blocking_pids(pid)) ELSE false END`;
    const waiters = readWaiters
      ? `, (SELECT count(*)::integer ${blocked}) AS waiting,
        (SELECT coalesce(max(extract(epoch FROM clock_timestamp() - query_start) * 1000), 0)::float8 ${blocked}) AS waited_ms`
      : '';
    return {
      snapshot: 'SET TRANSACTION ISOLATION LEVEL REPEATABLE READ',
      bound:
        `SELECT ${key.map((k, i) => `${ident(k.name)}::text AS k${i}`).join(', ')} FROM ${table}` +
        `${where ? ` WHERE true${where}` : ''} ORDER BY ${key.map((k) => `${ident(k.name)} DESC`).join(', ')} LIMIT 1`,
      count: `SELECT count(*) AS n FROM ${table} WHERE (${keyList}) <= ${cast(1)}${where}`,
      insert: `INSERT INTO ${ledger} (id, project, table_schema, table_name, key_columns, set_clause, where_clause, bound_key,
         total, batch_size, status)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'running')`,
      runStart: `UPDATE ${ledger} SET run_started_at = now(), run_start_done = done WHERE id = $1`,
      finish: `UPDATE ${ledger} SET status = 'done', finished_at = now(), updated_at = now(), total = GREATEST(total, done) WHERE id = $1`,
      // A second runner of the same backfill waits on the ledger row, then sees this one's cursor. The batch's settings
      // are made by the same statement (no round trip of their own), and the WAL position read when a bound needs it.
      lock: `SELECT cursor_key, status${settings.map((_, i) => `, set_config($${2 * i + 2}, $${2 * i + 3}, true) AS s${i}`).join('')}${wal}
      FROM ${ledger} WHERE id = $1 FOR UPDATE`,
      upper: (first) => {
        const p = first ? 0 : key.length;
        return `SELECT ${key.map((k, i) => `${ident(k.name)}::text AS k${i}`).join(', ')} FROM ${table}
      WHERE ${lowerSql(first)}(${keyList}) <= ${cast(p + 1)}${where}
      ORDER BY ${keyList} OFFSET $${p + key.length + 1} LIMIT 1`;
      },
      update: (first) => {
        const p = first ? 0 : key.length;
        return `WITH updated AS (
        UPDATE ${table} SET ${set}
        WHERE ${lowerSql(first)}(${keyList}) <= ${cast(p + 1)}${where}
        RETURNING 1)
      UPDATE ${ledger} SET cursor_key = $${p + key.length + 1}::jsonb, done = done + (SELECT count(*) FROM updated),
        batches = batches + 1, batch_size = $${p + key.length + 3}, updated_at = now()
      WHERE id = $${p + key.length + 2}
      RETURNING (SELECT count(*) FROM updated)::integer AS updated, set_config('synchronous_commit', 'off', true) AS async${wal}${waiters}`;
      },
    };
  },

  /** The unique indexes without predicate or expression (primary first, then the narrowest), valid ones only. */
  async keys(conn, table): Promise<BackfillKey[] | null> {
    const qualified = `${ident(table.schema)}.${ident(table.name)}`;
    const rel = await conn.query<{ oid: string | null }>(`SELECT to_regclass($1)::oid::text AS oid`, [qualified]);
    if (!rel.rows[0]?.oid) return null;
    const r = await conn.query<{ primary: boolean; columns: string[]; types: string[]; not_null: boolean }>(
      `SELECT i.indisprimary AS primary,
            array_agg(a.attname::text ORDER BY k.ord) AS columns,
            array_agg(format_type(a.atttypid, a.atttypmod) ORDER BY k.ord) AS types,
            bool_and(a.attnotnull) AS not_null
       FROM pg_index i
       CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = $1::oid AND i.indisunique AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL
        AND k.ord <= i.indnkeyatts
      GROUP BY i.indexrelid, i.indisprimary
      ORDER BY i.indisprimary DESC, count(*), i.indexrelid`,
      [rel.rows[0].oid],
    );
    return r.rows.map((k) => ({
      primary: k.primary,
      columns: pgArray(k.columns),
      types: pgArray(k.types),
      notNull: k.not_null,
    }));
  },

  async resolveTable(conn, name) {
    const r = await conn.query<{ schema: string | null; name: string | null }>(
      `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.oid = to_regclass($1)`,
      [name],
    );
    const table = r.rows[0];
    return table?.schema && table.name ? { schema: table.schema, name: table.name } : null;
  },

  /** `pg_current_wal_insert_lsn()` is refused by some PostgreSQL-compatible services, and can be revoked. */
  walReadable: (conn) =>
    conn.query('SELECT pg_current_wal_insert_lsn()').then(
      () => true,
      () => false,
    ),

  walBytes: (from, to) => Number(lsnBytes(to) - lsnBytes(from)),

  /**
   * `wal_compression` when the server does not compress already and the role may set it (a superuser, or `GRANT SET
   * ON PARAMETER wal_compression` on PostgreSQL 15+), with the best method the server was built with
   * (`pg_settings.enumvals`): zstd, lz4, else pglz (`on` before PostgreSQL 15).
   */
  async walCompression(conn, settings): Promise<Record<string, string>> {
    if ('wal_compression' in settings) return {};
    const r = await conn.query<{ now: string; methods: unknown; version: string; superuser: boolean }>(
      `SELECT current_setting('wal_compression') AS now, (SELECT enumvals FROM pg_settings WHERE name = 'wal_compression') AS methods,
            current_setting('server_version_num') AS version, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser`,
    );
    const row = r.rows[0];
    if (row?.now !== 'off') return {};
    let allowed = row.superuser === true;
    if (!allowed && Number(row.version) >= 150000) {
      const p = await conn.query<{ ok: boolean }>(`SELECT has_parameter_privilege('wal_compression', 'SET') AS ok`);
      allowed = p.rows[0]?.ok === true;
    }
    if (!allowed) return {};
    const methods = pgArray(row.methods);
    return { wal_compression: ['zstd', 'lz4', 'pglz'].find((m) => methods.includes(m)) ?? 'on' };
  },

  async rows(conn, ledgerSchema, filter) {
    const exists = await conn.query<{ t: string | null }>(`SELECT to_regclass($1)::text AS t`, [
      `${ident(ledgerSchema)}.backfills`,
    ]);
    if (!exists.rows[0]?.t) return [];
    const [where, params] =
      filter.id !== undefined
        ? ['WHERE id = $1', [filter.id]]
        : filter.project !== undefined
          ? ['WHERE project = $1', [filter.project]]
          : ['', []];
    const r = await conn.query<Record<string, unknown>>(
      `SELECT *, extract(epoch FROM updated_at - run_started_at) * 1000 AS run_ms FROM ${ident(ledgerSchema)}.backfills ${where}
     ORDER BY started_at DESC, id`,
      params,
    );
    return r.rows;
  },
};

/** A WAL position (`16/B374D848`) as a byte offset. */
function lsnBytes(lsn: string): bigint {
  const [hi, lo] = lsn.split('/');
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
}

/** A PostgreSQL identifier, always quoted. */
function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A text array as a driver returns it: an array (node-postgres, PGlite), or the literal `{a,b}` for unknown types. */
function pgArray(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  const text = String(value ?? '');
  if (!text.startsWith('{')) return [];
  return text
    .slice(1, -1)
    .match(/"(?:[^"\\]|\\.)*"|[^,]+/g)!
    .map((s) => (s.startsWith('"') ? s.slice(1, -1).replace(/\\(.)/g, '$1') : s));
}
