import type { BlueGreenRole, Connection, ReplicaIdentity, ResolvedEnvironment, SubscriptionHealth } from '@dbee/core';
import { DbeeError } from '@dbee/core/errors';
import { PgConnection } from '../connection/postgres-connection';
import { onDatabase, postgresTarget, type PostgresTarget } from '../connection/target';
import { loadPostgresParser } from '../parse/libpg';
import { quoteIdent } from '../parse/names';
import { literal, qualified } from '../render/quote';
import { backupName } from '../catalog/postgres-objects';
import { conninfo, databaseOf } from './conninfo';

/** Bounds of the statements on the server's maintenance session (CREATE DATABASE copies a template). */
const ADMIN_SETTINGS = ['SET lock_timeout = 10000', 'SET statement_timeout = 300000'];

/**
 * Slots a blue/green deployment needs on blue's server at once: green's subscription's own, and one for each table the
 * subscription copies at a time (`max_sync_workers_per_subscription`, 2 by default).
 */
const SLOTS_NEEDED = 3;

/** The current database's own subscription `name` (subscriptions are kept per cluster, named per database). */
const OWN_SUBSCRIPTION = `subname = $1 AND subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())`;

/**
 * Blue/green on PostgreSQL: logical replication (a publication on the side serving, a slot made on its own, a
 * subscription on the other side with `disable_on_error`), sequences set with `setval`, and databases made and dropped
 * from the server's maintenance database. Core's `blue-green/` decides when each runs.
 */
export const postgresBlueGreen: BlueGreenRole = {
  async serverProblems(conn, as) {
    return as === 'publisher' ? publisherProblems(conn) : subscriberProblems(conn);
  },
  replicaIdentity(table): ReplicaIdentity {
    const r = table.attrs['replicaIdentity'];
    if (r === 'full') return { kind: 'full', columns: [] };
    if (r === 'nothing') return { kind: 'none', columns: [] };
    if (typeof r === 'string' && r.startsWith('index:')) {
      const key = table.uniqueKeys.find((k) => k.name === r.slice('index:'.length));
      return { kind: 'index', columns: [...(key?.columns ?? [])] };
    }
    return table.primaryKey ? { kind: 'primary-key', columns: [...table.primaryKey] } : { kind: 'none', columns: [] };
  },
  async tablesOutside(conn, schemas, ledgerSchema) {
    // Extension members (PostGIS's spatial_ref_sys) come with the extension on green too.
    const r = await conn.query<{ t: string }>(
      `SELECT n.nspname || '.' || c.relname AS t
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
          AND n.nspname <> ALL ($1::text[]) AND n.nspname <> $2
          AND n.nspname NOT IN ('information_schema') AND n.nspname NOT LIKE 'pg\\_%'
          AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                           WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
        ORDER BY 1`,
      [[...schemas], ledgerSchema],
    );
    return r.rows.map((x) => x.t);
  },
  async sequences(conn, schemas) {
    const r = await conn.query<{ schema: string; name: string; value: string | null }>(
      `SELECT schemaname AS schema, sequencename AS name, last_value::text AS value
         FROM pg_catalog.pg_sequences WHERE schemaname = ANY ($1::text[]) ORDER BY 1, 2`,
      [[...schemas]],
    );
    return r.rows;
  },
  setSequences(values) {
    // Never lower: a side a client wrote to directly holds keys past the other side's.
    return values
      .filter((v) => v.value !== null)
      .map((v) => {
        const name = qualified(v.schema, v.name);
        return `SELECT pg_catalog.setval(${literal(name)}, greatest(${BigInt(v.value!)}, (SELECT last_value FROM ${name})), true)`;
      });
  },
  async openTransactions(conn, olderThanMs) {
    const r = await conn.query<{ pid: number; application: string; user: string; age_ms: string; state: string }>(
      `SELECT pid, coalesce(application_name, '') AS application, coalesce(usename::text, '') AS user,
              (extract(epoch FROM clock_timestamp() - xact_start) * 1000)::bigint::text AS age_ms, coalesce(state, '') AS state
         FROM pg_catalog.pg_stat_activity
        WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_catalog.pg_backend_pid()
          AND xact_start IS NOT NULL AND xact_start < clock_timestamp() - make_interval(secs => $1::float8 / 1000)
        ORDER BY xact_start`,
      [olderThanMs],
    );
    return r.rows.map((x) => ({
      pid: Number(x.pid),
      application: x.application,
      user: x.user,
      ageMs: Number(x.age_ms),
      state: x.state,
    }));
  },
  async endSessions(conn, pids) {
    if (!pids.length) return;
    await conn.query('SELECT pg_catalog.pg_terminate_backend(pid, 5000) FROM unnest($1::int[]) AS pid', [[...pids]]);
  },
  retire(readOnly) {
    const set = readOnly ? 'SET default_transaction_read_only = on' : 'RESET default_transaction_read_only';
    const alter = `DO $dbee$BEGIN EXECUTE format('ALTER DATABASE %I ${set}', current_database()); END$dbee$`;
    if (!readOnly) return [alter];
    // The clients' sessions open now keep the default they started with: ended, they reconnect read-only. Not dbee's
    // (application_name dbee...), not replication's (not client backends).
    return [
      alter,
      `SELECT count(pg_catalog.pg_terminate_backend(pid)) FROM pg_catalog.pg_stat_activity
        WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_catalog.pg_backend_pid()
          AND coalesce(application_name, '') !~ '^dbee($|[- ])'`,
    ];
  },
  writableSession() {
    return ['SET default_transaction_read_only = off'];
  },
  async countRows(conn, tables) {
    const out = [];
    for (const t of tables) {
      const [schema, ...rest] = t.split('.');
      const r = await conn.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM ${qualified(schema!, rest.join('.'))}`,
      );
      out.push({ table: t, rows: Number(r.rows[0]!.n) });
    }
    return out;
  },
  async confirmed(conn, slot) {
    const r = await conn.query<{ confirmed: string | null; current: string }>(
      `SELECT (confirmed_flush_lsn - '0/0'::pg_lsn)::text AS confirmed, (pg_catalog.pg_current_wal_lsn() - '0/0'::pg_lsn)::text AS current
         FROM pg_catalog.pg_replication_slots WHERE slot_name = $1`,
      [slot],
    );
    const s = r.rows[0];
    if (!s || s.confirmed === null) return null;
    return { confirmed: Number(s.confirmed), current: Number(s.current) };
  },
  async position(conn) {
    const r = await conn.query<{ p: string }>('SELECT pg_catalog.pg_current_wal_lsn()::text AS p');
    return r.rows[0]!.p;
  },
  async lag(conn, slot) {
    const r = await conn.query<{ active: boolean; wal_status: string | null; bytes: string | null }>(
      `SELECT active, wal_status, (pg_catalog.pg_current_wal_lsn() - confirmed_flush_lsn)::bigint::text AS bytes
         FROM pg_catalog.pg_replication_slots WHERE slot_name = $1`,
      [slot],
    );
    const s = r.rows[0];
    if (!s) return { exists: false, active: false, bytes: null, lost: null };
    return {
      exists: true,
      active: s.active,
      bytes: s.bytes === null ? null : Math.max(0, Number(s.bytes)),
      lost: s.wal_status === 'lost' ? 'the WAL it needs was removed (max_slot_wal_keep_size)' : null,
    };
  },
  async reached(conn, slot, position) {
    const r = await conn.query<{ ok: boolean | null }>(
      'SELECT confirmed_flush_lsn >= $2::pg_lsn AS ok FROM pg_catalog.pg_replication_slots WHERE slot_name = $1',
      [slot, position],
    );
    return r.rows[0]?.ok === true;
  },
  async health(conn, name): Promise<SubscriptionHealth> {
    const r = await conn.query<{ enabled: boolean; running: number; tables: number; copying: number; errors: number }>(
      `SELECT s.subenabled AS enabled,
              (SELECT count(*) FROM pg_catalog.pg_stat_subscription w
                WHERE w.subid = s.oid AND w.pid IS NOT NULL AND w.relid IS NULL)::int AS running,
              (SELECT count(*) FROM pg_catalog.pg_subscription_rel r WHERE r.srsubid = s.oid)::int AS tables,
              (SELECT count(*) FROM pg_catalog.pg_subscription_rel r
                WHERE r.srsubid = s.oid AND r.srsubstate NOT IN ('r', 's'))::int AS copying,
              coalesce((SELECT x.apply_error_count + x.sync_error_count FROM pg_catalog.pg_stat_subscription_stats x
                         WHERE x.subid = s.oid), 0)::int AS errors
         FROM pg_catalog.pg_subscription s WHERE ${OWN_SUBSCRIPTION}`,
      [name],
    );
    const s = r.rows[0];
    if (!s) return { exists: false, enabled: false, running: false, tables: 0, copying: 0, errors: 0, failed: null };
    // disable_on_error: a subscription that met an error stops there, disabled; the server log has the error.
    const failed =
      !s.enabled && s.errors > 0
        ? `it was disabled by an error (${s.errors} error${s.errors === 1 ? '' : 's'} applying changes or copying tables; the server log says which)`
        : null;
    return {
      exists: true,
      enabled: s.enabled,
      running: s.running > 0,
      tables: s.tables,
      copying: s.copying,
      errors: s.errors,
      failed,
    };
  },
  publish(name, tables) {
    const list = tables
      .map((t) => `${qualified(t.schema, t.name)}${t.columns ? ` (${t.columns.map(quoteIdent).join(', ')})` : ''}`)
      .join(', ');
    const create = `CREATE PUBLICATION ${quoteIdent(name)}${list ? ` FOR TABLE ${list}` : ''}`;
    // Made once: the publication of a side that streams already is never made again under its subscriber.
    return [
      `DO $dbee$BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_publication WHERE pubname = ${literal(name)}) THEN EXECUTE ${literal(create)}; END IF; END$dbee$`,
    ];
  },
  unpublish(name) {
    return [`DROP PUBLICATION IF EXISTS ${quoteIdent(name)}`];
  },
  createSlot(slot) {
    return `SELECT lsn::text AS position FROM pg_catalog.pg_create_logical_replication_slot(${literal(slot)}, 'pgoutput')`;
  },
  dropSlot(slot) {
    return `SELECT pg_catalog.pg_drop_replication_slot(slot_name) FROM pg_catalog.pg_replication_slots WHERE slot_name = ${literal(slot)}`;
  },
  subscribe({ name, slot, publication, conninfo: info, copyData }) {
    // streaming: a large transaction is sent while it runs instead of at its commit, so a switchover does not wait for
    // it to be decoded and sent whole; from PostgreSQL 16 applied by parallel workers as it arrives. Not binary: a
    // release may change a column's type, which binary transfer refuses between unlike types.
    const create = (streaming: string) =>
      `CREATE SUBSCRIPTION ${quoteIdent(name)} CONNECTION ${literal(info)} PUBLICATION ${quoteIdent(publication)} WITH (create_slot = false, slot_name = ${literal(slot)}, copy_data = ${copyData}, disable_on_error = true, synchronous_commit = 'on', streaming = ${streaming})`;
    return [
      `DO $dbee$BEGIN IF current_setting('server_version_num')::int >= 160000 THEN EXECUTE ${literal(create('parallel'))}; ELSE EXECUTE ${literal(create('on'))}; END IF; END$dbee$`,
    ];
  },
  enable(name, enabled) {
    return [`ALTER SUBSCRIPTION ${quoteIdent(name)} ${enabled ? 'ENABLE' : 'DISABLE'}`];
  },
  unsubscribe(name) {
    // Detached from its slot first (the slot is dropped on the publisher by `dropSlot`): DROP SUBSCRIPTION then neither
    // connects to the publisher nor refuses a transaction, so one guarded block drops it.
    const sub = quoteIdent(name);
    const steps = [
      `ALTER SUBSCRIPTION ${sub} DISABLE`,
      `ALTER SUBSCRIPTION ${sub} SET (slot_name = NONE)`,
      `DROP SUBSCRIPTION ${sub}`,
    ];
    return [
      `DO $dbee$BEGIN IF EXISTS (SELECT FROM pg_catalog.pg_subscription WHERE ${OWN_SUBSCRIPTION.replace('$1', literal(name))}) THEN ${steps.map((s) => `EXECUTE ${literal(s)};`).join(' ')} END IF; END$dbee$`,
    ];
  },
  conninfo(environment, { workspaceRoot }, redacted) {
    return conninfo(serverTarget(environment, workspaceRoot), redacted);
  },
  databaseName(environment, { workspaceRoot }) {
    return databaseOf(serverTarget(environment, workspaceRoot));
  },
  async createDatabase(environment, { workspaceRoot }) {
    const target = serverTarget(environment, workspaceRoot);
    const name = databaseOf(target);
    return withAdmin(target, async (admin) => {
      const found = await admin.query('SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1', [name]);
      if (found.rows.length) return false;
      await admin.execute(`CREATE DATABASE ${quoteIdent(name)}`);
      return true;
    });
  },
  async keepDatabase(environment, stamp, { workspaceRoot }) {
    const target = serverTarget(environment, workspaceRoot);
    const name = databaseOf(target);
    const kept = backupName(name, stamp);
    return withAdmin(target, async (admin) => {
      const found = await admin.query('SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1', [name]);
      if (!found.rows.length) return null;
      // No new session while the application's are ended (a pooler reconnects); the backup takes them again.
      await admin.execute(`ALTER DATABASE ${quoteIdent(name)} WITH ALLOW_CONNECTIONS false`);
      // pg_terminate_backend(pid, timeout) waits for each session to end (a rename refuses while one is there).
      await admin.query(
        'SELECT pg_catalog.pg_terminate_backend(pid, 10000) FROM pg_catalog.pg_stat_activity WHERE datname = $1 AND pid <> pg_catalog.pg_backend_pid()',
        [name],
      );
      await admin.execute(`ALTER DATABASE ${quoteIdent(name)} RENAME TO ${quoteIdent(kept)}`);
      await admin.execute(`ALTER DATABASE ${quoteIdent(kept)} WITH ALLOW_CONNECTIONS true`);
      return kept;
    });
  },
  async dropDatabase(environment, { workspaceRoot }) {
    const target = serverTarget(environment, workspaceRoot);
    const name = databaseOf(target);
    return withAdmin(target, async (admin) => {
      const found = await admin.query('SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1', [name]);
      if (!found.rows.length) return false;
      // WITH (FORCE): the application's sessions to the side no longer served are ended, not waited for.
      await admin.execute(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
      return true;
    });
  },
  async ledgerTableExists(conn, schema) {
    const r = await conn.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [
      `${quoteIdent(schema)}.blue_green`,
    ]);
    return r.rows[0]?.t != null;
  },
  ledgerTable(schema) {
    const table = `${quoteIdent(schema)}.blue_green`;
    return [
      `CREATE TABLE IF NOT EXISTS ${table} (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  project text NOT NULL,
  environment text NOT NULL,
  green text NOT NULL,
  phase text NOT NULL CHECK (phase IN ('deploy', 'switch', 'fallback', 'finish')),
  step text NOT NULL,
  status text NOT NULL CHECK (status IN ('started', 'done', 'failed', 'undone')),
  live text NOT NULL CHECK (live IN ('blue', 'green')),
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  duration_ms integer,
  detail jsonb,
  ticket text
)`,
      `CREATE INDEX IF NOT EXISTS blue_green_project_idx ON ${table} (project, id)`,
    ];
  },
};

async function publisherProblems(conn: Connection): Promise<string[]> {
  const r = await conn.query<{
    wal_level: string;
    slots: number;
    used: number;
    senders: number;
    role: string;
    replicate: boolean;
  }>(
    `SELECT current_setting('wal_level') AS wal_level,
            current_setting('max_replication_slots')::int AS slots,
            (SELECT count(*) FROM pg_catalog.pg_replication_slots)::int AS used,
            current_setting('max_wal_senders')::int AS senders,
            current_user AS role,
            (SELECT rolreplication OR rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) AS replicate`,
  );
  const s = r.rows[0]!;
  const out: string[] = [];
  if (s.wal_level !== 'logical')
    out.push(
      `wal_level is ${s.wal_level}, not logical (set wal_level = logical in postgresql.conf and restart the server)`,
    );
  if (!s.replicate)
    out.push(
      `role ${s.role} has no REPLICATION privilege (ALTER ROLE ${quoteIdent(s.role)} REPLICATION: it makes the replication slots, and green's subscription connects as it)`,
    );
  if (s.slots - s.used < SLOTS_NEEDED)
    out.push(
      `${s.slots - s.used} free replication slot${s.slots - s.used === 1 ? '' : 's'} (max_replication_slots = ${s.slots}, ${s.used} used): green needs ${SLOTS_NEEDED} while its tables are copied`,
    );
  if (s.senders < 1) out.push('max_wal_senders is 0: no subscriber can stream from it');
  return out;
}

async function subscriberProblems(conn: Connection): Promise<string[]> {
  const r = await conn.query<{ version: number; role: string; allowed: boolean; workers: number }>(
    `SELECT current_setting('server_version_num')::int AS version, current_user AS role,
            (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)
              OR (current_setting('server_version_num')::int >= 160000
                  AND pg_catalog.pg_has_role(current_user, 'pg_create_subscription', 'MEMBER')) AS allowed,
            current_setting('max_logical_replication_workers')::int AS workers`,
  );
  const s = r.rows[0]!;
  const out: string[] = [];
  if (!s.allowed)
    out.push(
      s.version >= 160000
        ? `role ${s.role} cannot create subscriptions (GRANT pg_create_subscription TO ${quoteIdent(s.role)})`
        : `role ${s.role} cannot create subscriptions (before PostgreSQL 16 only a superuser can)`,
    );
  if (s.workers < 1) out.push('max_logical_replication_workers is 0: no subscription can run');
  return out;
}

/** A server environment's target; an embedded database has no replication. */
function serverTarget(
  environment: ResolvedEnvironment,
  workspaceRoot: string,
): Extract<PostgresTarget, { kind: 'server' }> {
  const target = postgresTarget(environment, workspaceRoot);
  if (target.kind === 'server') return target;
  throw new DbeeError(`${environment.name} is an embedded database: blue/green needs a PostgreSQL server`, {
    code: 'REPLICATION_UNAVAILABLE',
    hint: 'deploy blue/green between server environments, or use --strategy expand-contract; nothing was changed',
  });
}

/** A session on the server's maintenance database (`postgres`): databases are made and dropped from outside them. */
async function withAdmin<T>(
  target: Extract<PostgresTarget, { kind: 'server' }>,
  work: (admin: PgConnection) => Promise<T>,
): Promise<T> {
  // Names are quoted with the parser's keyword list (parse/names.ts): loaded while the session opens.
  const [admin] = await Promise.all([
    PgConnection.open(
      { ...onDatabase(target.config, 'postgres'), application_name: 'dbee-blue-green' },
      target.description,
    ),
    loadPostgresParser(),
  ]);
  try {
    for (const s of ADMIN_SETTINGS) await admin.execute(s);
    return await work(admin);
  } finally {
    await admin.close();
  }
}
