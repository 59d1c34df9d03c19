import { chmodSync, chownSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import type { BlueGreenSide, ResolvedEnvironment, Router } from '@dbee/core';
import { DbeeError } from '@dbee/core/errors';
import { postgresTarget } from '../connection/target';
import { databaseOf } from './conninfo';

/** Where a PgBouncer is and which of its databases a blue/green deployment moves. */
export interface PgBouncerSettings {
  /** Its admin console: a user of `admin_users`, e.g. `{ host: '127.0.0.1', port: 6432, user: 'pgbouncer' }`. */
  admin: { host: string; port: number; user: string; password?: string };
  /** Its configuration file, whose `[databases]` entry for `database` is rewritten on each switch. */
  ini: string;
  /** The database name the application connects to (the key of the `[databases]` entry), e.g. `sales`. */
  database: string;
  /** The entry's value for each side, e.g. `host=10.0.0.5 port=5432 dbname=sales` (see `pgbouncerEntry`). */
  entries: Record<BlueGreenSide, string>;
  /** Bound of each admin command but PAUSE (which waits for the running transactions), in milliseconds. Default 5,000. */
  timeoutMs?: number;
}

/**
 * The `[databases]` entry that points PgBouncer at `environment`'s database: its host, port and database name, no
 * user or password (PgBouncer's `auth_file` or `auth_query` keeps those), e.g. `host=127.0.0.1 port=5432 dbname=sales`.
 */
export function pgbouncerEntry(environment: ResolvedEnvironment, workspaceRoot: string): string {
  const target = postgresTarget(environment, workspaceRoot);
  if (target.kind !== 'server')
    throw new DbeeError(`${environment.name} is an embedded database: PgBouncer cannot route to it`, {
      code: 'CONFIG_INVALID',
    });
  const c = target.config;
  const url = c.connectionString ? new URL(c.connectionString) : null;
  const host = url ? decodeURIComponent(url.hostname) || '127.0.0.1' : (c.host ?? '127.0.0.1');
  const port = url ? Number(url.port || 5432) : Number(c.port ?? 5432);
  return `host=${host} port=${port} dbname=${databaseOf(target)}`;
}

/** `key=value` pairs of a `[databases]` entry. */
function entryFields(entry: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of entry.matchAll(/(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)/g)) out[m[1]!] = m[2]!.replace(/^'|'$/g, '');
  return out;
}

/**
 * A PgBouncer driven through its admin console: `PAUSE <db>` (waits until the database's server connections are
 * released: the running transactions end, in transaction pooling), the `[databases]` entry rewritten in its
 * configuration file (written to a new file and renamed over the old, so PgBouncer never reads half of it) and
 * `RELOAD` (PgBouncer closes the paused pool's server connections and opens new ones to the new entry), `RESUME <db>`.
 * The application's clients keep their connections to PgBouncer throughout. Needs `pool_mode = transaction` (or
 * statement): in session pooling PAUSE waits for every client to disconnect.
 */
export function pgbouncerRouter(settings: PgBouncerSettings): Router {
  if (!/^[A-Za-z0-9_.-]+$/.test(settings.database))
    throw new DbeeError(
      `PgBouncer database name "${settings.database}" needs quoting, which its admin console does not read`,
      {
        code: 'CONFIG_INVALID',
        hint: 'give the application a [databases] name of letters, digits, _ . and -',
      },
    );
  const db = settings.database;
  const timeout = settings.timeoutMs ?? 5_000;
  const description = `pgbouncer ${settings.admin.host}:${settings.admin.port}, database ${db}`;
  /** One admin command on a connection of its own (a RESUME must get through while a PAUSE waits). */
  const admin = async (command: string, bounded = true) => {
    const client = new pg.Client({
      ...settings.admin,
      database: 'pgbouncer',
      connectionTimeoutMillis: timeout,
      ...(bounded ? { query_timeout: timeout } : {}),
    });
    await client.connect();
    try {
      return (await client.query(command)).rows as Record<string, unknown>[];
    } finally {
      await client.end().catch(() => {});
    }
  };
  return {
    description,
    pause: async () => void (await admin(`PAUSE ${db}`, false)),
    route: async (side) => {
      rewriteEntry(settings.ini, db, settings.entries[side]);
      await admin('RELOAD');
      const now = await servingEntry(admin, db);
      const want = entryFields(settings.entries[side]);
      if (now?.dbname !== want['dbname'] || (want['port'] && now?.port !== want['port']))
        throw new Error(
          `after RELOAD ${description} still points at ${now?.dbname ?? 'nothing'}, not at ${want['dbname']}`,
        );
    },
    resume: async () => {
      try {
        await admin(`RESUME ${db}`);
      } catch (e) {
        // Nothing paused: nothing to resume.
        if (!/not paused/i.test((e as Error).message)) throw e;
      }
    },
    serving: async () => {
      const now = await servingEntry(admin, db);
      for (const side of ['blue', 'green'] as const) {
        const want = entryFields(settings.entries[side]);
        if (now && now.dbname === want['dbname'] && (!want['port'] || now.port === want['port'])) return side;
      }
      return null;
    },
    describe: (to) => [
      `PAUSE ${db} on ${settings.admin.host}:${settings.admin.port}`,
      `write ${db} = ${settings.entries[to]} in [databases] of ${settings.ini}, then RELOAD`,
      `RESUME ${db}`,
    ],
  };
}

/** The database and port PgBouncer's pool `db` points at now (`SHOW DATABASES`). */
async function servingEntry(
  admin: (command: string) => Promise<Record<string, unknown>[]>,
  db: string,
): Promise<{ dbname: string; port: string } | null> {
  const row = (await admin('SHOW DATABASES')).find((r) => r['name'] === db);
  return row ? { dbname: String(row['database']), port: String(row['port']) } : null;
}

/**
 * The configuration file with the `[databases]` line of `db` replaced by `db = entry`; refused when the file has none
 * (the application would not be routed by it). Written beside it and renamed over it, with its mode kept.
 */
export function rewriteEntry(ini: string, db: string, entry: string): void {
  const text = readFileSync(ini, 'utf8');
  const lines = text.split('\n');
  let section = '';
  let found = false;
  const escaped = db.replace(/[.]/g, '\\.');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const header = /^\s*\[([^\]]+)\]/.exec(line);
    if (header) section = header[1]!.trim().toLowerCase();
    else if (section === 'databases' && new RegExp(`^\\s*"?${escaped}"?\\s*=`).test(line)) {
      lines[i] = `${db} = ${entry}`;
      found = true;
    }
  }
  if (!found)
    throw new DbeeError(`${ini} has no entry for database ${db} in [databases]`, {
      code: 'CONFIG_INVALID',
      hint: `add one (${db} = host=... port=... dbname=...): the application must reach its database through it`,
    });
  const next = `${ini}.dbee-${process.pid}`;
  writeFileSync(next, lines.join('\n'));
  const stat = statSync(ini);
  chmodSync(next, stat.mode & 0o777);
  try {
    // PgBouncer often runs as another user than dbee: the new file is theirs, as the old one was.
    chownSync(next, stat.uid, stat.gid);
  } catch {
    // Not allowed to give the file away: it is dbee's user's, readable as its mode says.
  }
  renameSync(next, ini);
}
