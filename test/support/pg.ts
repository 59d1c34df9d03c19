import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** The PostgreSQL server the suites use. CI sets it; the default is the local server. */
export const SERVER_URL = process.env.DBEE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * A scratch database on the test server, dropped by `drop()`. Fails (never skips) when the server is down:
 * a missing server must turn CI red.
 */
export async function scratchDatabase(prefix = 'dbee_t'): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  return {
    url: await createDatabase(name),
    name,
    async drop() {
      const c = new Client({ connectionString: SERVER_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** CREATE DATABASE <name> on the test server; returns its URL. */
export async function createDatabase(name: string): Promise<string> {
  const admin = new Client({ connectionString: SERVER_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(SERVER_URL);
  url.pathname = '/' + name;
  return url.toString();
}

/** Run one query on a database URL. */
export async function queryUrl<T = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows as T[];
  } finally {
    await c.end();
  }
}
