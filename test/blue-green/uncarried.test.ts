import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DbeeError, makeGreen, uncarriedChanges, type Connection } from '@dbee/core';
import { createPostgresEngine, PgConnection, postgresBlueGreen } from '@dbee/postgres';
import { scratchDatabase } from '../support/pg';
import { run } from '../support/run';
import { tempWorkspace } from '../support/workspace';
import { context, sql, V1, IN_FLIGHT } from './setup';

/**
 * What logical replication cannot carry from blue to green and back, judged on models the engine reads from real
 * databases: blue's tables as they are, green's as a release leaves them. Each refused change names its table and why.
 */
describe('changes replication cannot carry', () => {
  const engine = createPostgresEngine();
  let blue: { url: string; drop(): Promise<void> };
  let green: { url: string; drop(): Promise<void> };
  let b: Connection;
  let g: Connection;
  beforeAll(async () => {
    [blue, green] = await Promise.all([scratchDatabase('dbee_bg'), scratchDatabase('dbee_bg')]);
    [b, g] = await Promise.all([
      PgConnection.open({ connectionString: blue.url }, 'blue'),
      PgConnection.open({ connectionString: green.url }, 'green'),
    ]);
  });
  afterAll(async () => {
    await Promise.all([b?.close(), g?.close()]);
    await Promise.all([blue?.drop(), green?.drop()]);
  });

  /** The reasons for the tables of schema `s` made by `before` on blue and by `after` on green. */
  const judge = async (before: string, after: string) => {
    await b.execute(`DROP SCHEMA IF EXISTS s CASCADE; CREATE SCHEMA s; ${before}`);
    await g.execute(`DROP SCHEMA IF EXISTS s CASCADE; CREATE SCHEMA s; ${after}`);
    const scope = { schemas: ['s'] };
    const [bm, gm] = await Promise.all([engine.diff!.introspect(b, scope), engine.diff!.introspect(g, scope)]);
    return uncarriedChanges(postgresBlueGreen, bm, gm, ['s']).map((u) => u.reason);
  };
  const orders = 'CREATE TABLE s.orders (id int PRIMARY KEY, token uuid NOT NULL, note text);';

  it('carries new nullable and defaulted columns, new tables, new indexes and wider types', async () => {
    expect(
      await judge(
        orders,
        `CREATE TABLE s.orders (id bigint PRIMARY KEY, token uuid NOT NULL, note text, channel text NOT NULL DEFAULT 'web', extra int);
         CREATE INDEX ON s.orders (note); CREATE TABLE s.tags (id int PRIMARY KEY);`,
      ),
    ).toEqual([]);
  });

  it('refuses a column blue writes that green drops or renames', async () => {
    expect(await judge(orders, 'CREATE TABLE s.orders (id int PRIMARY KEY, token uuid NOT NULL);')).toEqual([
      'column s.orders.note is dropped or renamed on green: the values blue writes to it would be lost',
    ]);
    expect(
      await judge(orders, 'CREATE TABLE s.orders (id int PRIMARY KEY, token uuid NOT NULL, remark text);'),
    ).toEqual(['column s.orders.note is dropped or renamed on green: the values blue writes to it would be lost']);
  });

  it('refuses a table green drops or renames', async () => {
    expect(
      await judge(orders, 'CREATE TABLE s.purchases (id int PRIMARY KEY, token uuid NOT NULL, note text);'),
    ).toEqual(["s.orders is dropped or renamed on green: blue's writes to it would have nowhere to go"]);
  });

  it('refuses a changed primary key or replica identity', async () => {
    expect(
      await judge(orders, 'CREATE TABLE s.orders (id int, token uuid NOT NULL, note text, PRIMARY KEY (id, token));'),
    ).toEqual([
      'the replica identity of s.orders changes from (id) to (id, token) on green: updates and deletes would not find their rows on the other side',
    ]);
    expect(await judge(orders, `${orders} ALTER TABLE s.orders REPLICA IDENTITY FULL;`)).toEqual([
      'the replica identity of s.orders changes from (id) to the full row on green: updates and deletes would not find their rows on the other side',
    ]);
  });

  it('refuses a table without a primary key or replica identity, and takes REPLICA IDENTITY FULL or a unique index', async () => {
    const bare = 'CREATE TABLE s.log (at timestamptz, line text);';
    expect(await judge(bare, bare)).toEqual([
      's.log has no primary key or replica identity: its updates and deletes cannot be replicated (give it a primary key first, or REPLICA IDENTITY FULL)',
    ]);
    const full = `${bare} ALTER TABLE s.log REPLICA IDENTITY FULL;`;
    expect(await judge(full, full)).toEqual([]);
    const keyed = `CREATE TABLE s.log (n int NOT NULL, line text); CREATE UNIQUE INDEX log_n ON s.log (n); ALTER TABLE s.log REPLICA IDENTITY USING INDEX log_n;`;
    expect(await judge(keyed, keyed)).toEqual([]);
  });

  it("refuses a column green adds NOT NULL without a default, or makes generated: blue's rows cannot fill it", async () => {
    expect(
      await judge(
        orders,
        'CREATE TABLE s.orders (id int PRIMARY KEY, token uuid NOT NULL, note text, channel text NOT NULL);',
      ),
    ).toEqual([
      'column s.orders.channel is new on green and NOT NULL without a default: the rows blue writes lack it (give it a default, or add NOT NULL after the switchover)',
    ]);
    expect(
      await judge(
        orders,
        "CREATE TABLE s.orders (id int PRIMARY KEY, token uuid NOT NULL, note text GENERATED ALWAYS AS ('x') STORED);",
      ),
    ).toEqual(['column s.orders.note becomes generated on green: it cannot take the values blue writes to it']);
  });
});

/**
 * A server whose `wal_level` is not `logical` (the shared test server: `replica`) cannot keep a green in sync: the
 * deploy phase is refused before anything is made, naming the setting and expand-contract.
 */
describe('blue/green on a server without logical replication', () => {
  it('refuses the deploy phase up front: wal_level named, expand-contract named, no green made', async () => {
    const db = await scratchDatabase('dbee_bg');
    const greenName = `${db.name}_green`;
    const url = new URL(db.url);
    url.pathname = `/${greenName}`;
    const w = tempWorkspace({
      'dbee.yaml': `version: 1\ndefaultEnvironment: blue\nenvironments:\n  blue:\n    engine: postgres\n    connection: { url: "${db.url}" }\n  green:\n    engine: postgres\n    connection: { url: "${url}" }\n`,
      ...V1,
    });
    try {
      expect((await run(w.root, 'deploy', { project: 's', env: 'blue' })).code).toBe(0);
      const refused = await makeGreen(context(w.root), {
        project: 's',
        env: 'blue',
        green: 'green',
        inFlight: IN_FLIGHT,
      }).catch((e) => e);
      expect(refused).toBeInstanceOf(DbeeError);
      expect(refused.code).toBe('REPLICATION_UNAVAILABLE');
      expect(refused.message).toContain('wal_level is replica, not logical');
      expect(refused.hint).toContain('--strategy expand-contract');
      expect(await sql(db.url, `SELECT count(*)::int AS n FROM pg_database WHERE datname = '${greenName}'`)).toEqual([
        { n: 0 },
      ]);
      expect(await sql(db.url, 'SELECT count(*)::int AS n FROM pg_publication')).toEqual([{ n: 0 }]);
    } finally {
      w.remove();
      await db.drop();
    }
  }, 120_000);
});
