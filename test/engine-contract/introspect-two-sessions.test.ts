import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresEngine, PgConnection } from '@dbee/postgres';
import { scratchDatabase } from '../support/pg';

/**
 * The live schema read with a second session (`DiffRole.introspect(conn, scope, side)`: the lock's own session while a
 * deployment plans by a diff, or a diff reads the live side): the catalog queries are shared between the two sessions
 * and run at once, and the model is the one a single session reads.
 */
const SCHEMA = `
CREATE SCHEMA a;
CREATE SCHEMA b;
CREATE TYPE a.mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN a.email AS text CHECK (VALUE LIKE '%@%');
CREATE TYPE a.pair AS (x int, y int);
CREATE TYPE a.span AS RANGE (subtype = int4);
CREATE SEQUENCE a.tickets START 100 INCREMENT 5;
CREATE TABLE a.people (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email a.email NOT NULL UNIQUE,
  mood a.mood DEFAULT 'ok',
  ticket int DEFAULT nextval('a.tickets'),
  born date CHECK (born > '1900-01-01')
);
COMMENT ON TABLE a.people IS 'who';
COMMENT ON COLUMN a.people.mood IS 'how they are';
CREATE INDEX people_mood ON a.people (mood) WHERE mood <> 'sad';
CREATE INDEX people_lower ON a.people (lower(email));
CREATE TABLE b.orders (id serial PRIMARY KEY, person bigint REFERENCES a.people (id) ON DELETE CASCADE, total numeric(10, 2));
CREATE VIEW a.happy AS SELECT id, email FROM a.people WHERE mood = 'happy';
CREATE VIEW b.happy_orders AS SELECT o.id, h.email, o.total FROM b.orders o JOIN a.happy h ON h.id = o.person;
CREATE MATERIALIZED VIEW b.totals AS SELECT person, sum(total) AS total FROM b.orders GROUP BY person;
CREATE FUNCTION a.shout(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT upper(t) $$;
CREATE FUNCTION b.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.total := coalesce(NEW.total, 0); RETURN NEW; END $$;
CREATE TRIGGER orders_touch BEFORE INSERT ON b.orders FOR EACH ROW EXECUTE FUNCTION b.touch();
CREATE PROCEDURE b.reset() LANGUAGE sql AS $$ DELETE FROM b.orders $$;
CREATE POLICY own ON b.orders USING (total > 0);
GRANT SELECT ON a.happy TO PUBLIC;
`;

describe('the live schema read on two sessions at once [postgres]', () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let conn: PgConnection;
  let side: PgConnection;
  beforeAll(async () => {
    db = await scratchDatabase('dbee_introspect_two');
    conn = await PgConnection.open({ connectionString: db.url }, 'working');
    side = await PgConnection.open({ connectionString: db.url }, 'side');
    await conn.execute(SCHEMA);
  });
  afterAll(async () => {
    await conn?.close();
    await side?.close();
    await db?.drop();
  });

  it('gives the model one session gives, with a share of the queries on the second session', async () => {
    const diff = createPostgresEngine().diff!;
    const scope = { schemas: ['a', 'b'] };
    const alone = await diff.introspect(conn, scope);
    // Requests are counted as the server's ReadyForQuery messages (one per round trip).
    const counted = (c: PgConnection) => {
      const n = { trips: 0 };
      const wire = (c as unknown as { client: { connection: NodeJS.EventEmitter } }).client.connection;
      wire.on('readyForQuery', () => void n.trips++);
      return n;
    };
    const onWorking = counted(conn);
    const onSide = counted(side);
    const shared = await diff.introspect(conn, scope, side);
    expect(JSON.stringify(shared)).toBe(JSON.stringify(alone));
    // What the schema holds is there (each kind read by one session or the other).
    expect(
      [shared.tables, shared.views, shared.routines, shared.triggers, shared.types, shared.indexes].map(
        (x) => x.length,
      ),
    ).toEqual([2, 3, 3, 1, 4, 2]);
    // Each session sends its share of the 16 catalog queries (with the text search dictionaries and configurations),
    // with its catalog settings for them alone, in one request: 20 requests before they were sent together.
    expect(onWorking.trips).toBe(1);
    expect(onSide.trips).toBe(1);
    // The sessions' own settings are as they were.
    for (const c of [conn, side])
      expect((await c.query(`select current_setting('search_path') as s, current_setting('jit') as j`)).rows).toEqual([
        { s: '"$user", public', j: (await conn.query(`select current_setting('jit') as j`)).rows[0]!.j },
      ]);
  });

  it("sends its requests before it returns, so the caller's next synchronous work runs while they are answered", async () => {
    // A deployment's diff reads the live schema, then reads and parses the cached sources' model (tens of ms at 1,000
    // objects): the catalog queries must be on the wire by then, not sent after it (issue 90).
    const diff = createPostgresEngine().diff!;
    const scope = { schemas: ['a', 'b'] };
    const alone = JSON.stringify(await diff.introspect(conn, scope));
    const sent: string[] = [];
    const proto = PgConnection.prototype as unknown as { queryMany: (...a: unknown[]) => Promise<unknown> };
    const queryMany = proto.queryMany;
    proto.queryMany = function (this: PgConnection, ...a: unknown[]) {
      sent.push(this === conn ? 'working' : 'side');
      return queryMany.apply(this, a);
    };
    try {
      const reading = diff.introspect(conn, scope, side);
      expect(sent).toEqual(['working', 'side']);
      expect(JSON.stringify(await reading)).toBe(alone);
    } finally {
      proto.queryMany = queryMany;
    }
  });

  it("reads the second session's share on the first when the second fails (its lock lost, say)", async () => {
    const diff = createPostgresEngine().diff!;
    const scope = { schemas: ['a', 'b'] };
    const gone = await PgConnection.open({ connectionString: db.url }, 'gone');
    await gone.close();
    expect(JSON.stringify(await diff.introspect(conn, scope, gone))).toBe(
      JSON.stringify(await diff.introspect(conn, scope)),
    );
  });

  it('a second session still busy (a promise) takes its share when free before the first has read its own; else the first reads both', async () => {
    // A deployment's convergence check: the lock's session reads the fingerprint first, then its share of the check.
    const diff = createPostgresEngine().diff!;
    const scope = { schemas: ['a', 'b'], names: ['a.people', 'b.orders', 'a.happy'] };
    const alone = JSON.stringify(await diff.introspect(conn, scope));
    const wire = (side as unknown as { client: { connection: NodeJS.EventEmitter } }).client.connection;
    let onSide = 0;
    const count = () => void onSide++;
    wire.on('readyForQuery', count);
    try {
      // Free at once: its share goes there, in one request.
      expect(JSON.stringify(await diff.introspect(conn, scope, Promise.resolve(side)))).toBe(alone);
      expect(onSide).toBe(1);
      // Busy until the read is over: the first session reads the share after its own, and the second gets nothing.
      let free!: (c: PgConnection) => void;
      const busy = new Promise<PgConnection>((resolve) => (free = resolve));
      expect(JSON.stringify(await diff.introspect(conn, scope, busy))).toBe(alone);
      free(side);
      await busy;
      await side.query('select 1');
      expect(onSide).toBe(2);
      // None: the same.
      expect(JSON.stringify(await diff.introspect(conn, scope, Promise.resolve(undefined)))).toBe(alone);
      expect(onSide).toBe(2);
    } finally {
      wire.off('readyForQuery', count);
    }
  });
});
