import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { censusSql, RESET_SHADOW } from '../../packages/postgres/src/shadow/embedded-shadow';

/** The PostgreSQL server the suites use. CI sets it; the default is the local server. */
export const SERVER_URL = process.env.DBEE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * A scratch database on the test server, given back by `drop()`. Fails (never skips) when the server is down:
 * a missing server must turn CI red.
 *
 * Databases are recycled within a test worker (see `park`): `drop()` wipes the database and keeps it under a pool
 * name, and the next `scratchDatabase` renames it for its caller. A run created and dropped about 200 databases,
 * and each `DROP DATABASE` makes the server checkpoint at once (fsyncs included: 0.05-1.4 s each in the server's
 * log) while each `CREATE DATABASE` copies template1 through the WAL: ~0.25 s of server CPU a pair, measured.
 */
export async function scratchDatabase(
  prefix = 'dbee_t',
): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const parked = pool.pop();
  let url: string;
  if (parked) {
    await withClient(SERVER_URL, (c) => c.query(`ALTER DATABASE ${parked} RENAME TO ${name}`));
    url = urlOf(name);
    pristine.set(name, pristine.get(parked)!);
    pristine.delete(parked);
  } else {
    url = await createDatabase(name);
    pristine.set(name, await withClient(url, census));
  }
  return {
    url,
    name,
    async drop() {
      if (!(await park(name))) await dropDatabase(name);
    },
  };
}

/** `DROP DATABASE IF EXISTS <name> WITH (FORCE)`. */
async function dropDatabase(name: string): Promise<void> {
  pristine.delete(name);
  await withClient(SERVER_URL, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

/** Databases of this worker waiting for their next test, by pool name; and what each held when new, by name. */
const pool: string[] = [];
const pristine = new Map<string, string>();

/**
 * The run's pool names start with this (test/support/global-setup.ts drops what is left when the run ends, and only
 * this run's: another run may share the server). Outside Vitest nothing is pooled.
 */
function poolPrefix(): string | null {
  return process.env.VITEST ? (process.env.DBEE_TEST_DB_POOL ?? null) : null;
}

/**
 * Wipe `name` back to what it held when created and keep it under a pool name; false when it cannot be (no pool,
 * sessions that do not end, or anything the wipe leaves behind: an event trigger, a database setting, an extension
 * outside the dropped schemas...), and it is to be dropped instead.
 */
async function park(name: string): Promise<boolean> {
  const prefix = poolPrefix();
  const before = pristine.get(name);
  if (!prefix || before === undefined) return false;
  const admin = new Client({ connectionString: SERVER_URL });
  try {
    await admin.connect();
    // What the test left connected (a lock session, a pool) ends as DROP ... WITH (FORCE) would end it.
    const free = async () => {
      for (let i = 0; i < 50; i++) {
        const left = await admin.query<{ n: number }>(
          `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
          [name],
        );
        if (left.rows[0]!.n === 0) return true;
        await new Promise((r) => setTimeout(r, 20));
      }
      return false;
    };
    if (!(await free())) return false;
    await admin.query(`ALTER DATABASE ${name} RESET ALL`);
    const wiped = await withClient(urlOf(name), async (c) => {
      await c.query(RESET_SHADOW);
      return (await census(c)) === before;
    });
    if (!wiped || !(await free())) return false;
    const pooled = `${prefix}_${randomBytes(5).toString('hex')}`;
    await admin.query(`ALTER DATABASE ${name} RENAME TO ${pooled}`);
    pristine.set(pooled, before);
    pristine.delete(name);
    pool.push(pooled);
    return true;
  } catch {
    return false;
  } finally {
    await admin.end().catch(() => {});
  }
}

/** What a wiped database must share with a new one (the catalogs of one database: others change the shared ones). */
const CENSUS = censusSql('database');

async function census(c: Client): Promise<string> {
  return String((await c.query<{ census: string }>(CENSUS)).rows[0]!.census);
}

/** Drop every pooled database of this run (global-setup.ts, when the run ends). */
export async function dropPooledDatabases(prefix: string): Promise<void> {
  await withClient(SERVER_URL, async (c) => {
    const left = await c.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, [
      `${prefix}_`,
    ]);
    for (const { datname } of left.rows) await c.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
  });
}

async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

function urlOf(name: string): string {
  const url = new URL(SERVER_URL);
  url.pathname = '/' + name;
  return url.toString();
}

/** CREATE DATABASE <name> on the test server; returns its URL. */
export async function createDatabase(name: string): Promise<string> {
  await withClient(SERVER_URL, (c) => c.query(`CREATE DATABASE ${name}`));
  return urlOf(name);
}

/** Run one query on a database URL. */
export async function queryUrl<T = Record<string, unknown>>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  return withClient(url, async (c) => (await c.query(sql, params)).rows as T[]);
}
