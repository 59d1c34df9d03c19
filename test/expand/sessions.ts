import { Client, type QueryResultRow } from 'pg';
import type { Connection } from '@dbee/core';

/**
 * Sessions a test opens on a server database beside dbee's (holding locks, old snapshots, reading the catalog):
 * `connect` opens one that stays open until `endAll` (the test's `afterAll`); `one` runs one statement on a session
 * of its own and closes it.
 */
export function testSessions(url: () => string): {
  connect(): Promise<Client>;
  one(sql: string): Promise<QueryResultRow[]>;
  endAll(): Promise<void>;
} {
  const clients: Client[] = [];
  const connect = async () => {
    const c = new Client({ connectionString: url() });
    await c.connect();
    clients.push(c);
    return c;
  };
  return {
    connect,
    async one(sql) {
      const c = await connect();
      try {
        return (await c.query(sql)).rows;
      } finally {
        await c.end();
        clients.splice(clients.indexOf(c), 1);
      }
    },
    async endAll() {
      for (const c of clients.splice(0)) await c.end().catch(() => undefined);
    },
  };
}

/** `sql` in order on one connection from `open` (settings and all), closed after: the last statement's rows. */
export async function inSession(open: () => Promise<Connection>, ...sql: string[]): Promise<Record<string, unknown>[]> {
  const c = await open();
  try {
    let rows: Record<string, unknown>[] = [];
    for (const s of sql) rows = (await c.query(s)).rows;
    return rows;
  } finally {
    await c.close();
  }
}
