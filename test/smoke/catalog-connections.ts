import type { Connection } from '@dbee/core';
import { afterAll, beforeAll } from 'vitest';
import { PgConnection } from '../../packages/postgres/src/connection/postgres-connection';
import { openMemoryPglite } from '../support/pglite';
import { scratchDatabase } from '../support/pg';

/** An open connection to an empty database of a suite's own, and how to give it back. */
export interface CatalogConnection {
  conn: Connection;
  done(): Promise<void>;
}

/**
 * The two PostgreSQL transports a catalog query runs on, as `describe.each` rows: a scratch database on the server
 * (its name prefixed `prefix`) and an in-memory PGlite database.
 */
export function catalogConnections(prefix: string): [string, () => Promise<CatalogConnection>][] {
  return [
    [
      'postgres',
      async () => {
        const db = await scratchDatabase(prefix);
        const conn = await PgConnection.open({ connectionString: db.url }, 'the test server');
        return { conn, done: async () => (await conn.close(), await db.drop()) };
      },
    ],
    [
      'pglite',
      async () => {
        const conn = await openMemoryPglite(prefix);
        return { conn, done: () => conn.close() };
      },
    ],
  ];
}

/**
 * In a `describe`: open a database with `open` before its tests and run `schema` in it, give it back after them. Returns
 * the connection's getter (open once the tests run).
 */
export function withSchema(open: () => Promise<CatalogConnection>, schema: string): () => Connection {
  let opened: CatalogConnection | undefined;
  beforeAll(async () => {
    opened = await open();
    await opened.conn.execute(schema);
  }, 60_000);
  afterAll(async () => {
    await opened?.done();
  });
  return () => opened!.conn;
}
