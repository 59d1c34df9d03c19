import { afterAll, describe, expect, it } from 'vitest';
import { PgConnection } from '@dbee/postgres';
import { tempWorkspace } from '../support/workspace';
import { run } from '../support/run';
import { scratchDatabase } from '../support/pg';
import { inSession } from './sessions';
import { SERVER_YAML } from './workspace';

/**
 * The expand's backfill writes the new columns itself (`SET a_new = (a::bigint)`), so the sync trigger skips its rows:
 * the sync function is not called once by the backfill (the database counts PL/pgSQL calls: `track_functions`),
 * every row is still filled, and every other write is still synced, a write cascaded from another trigger of the
 * backfill's own kind of session included.
 */
const ROWS = 3000;

describe('the expand backfill and the sync trigger [postgres]', () => {
  const w = tempWorkspace({
    'dbee.yaml': SERVER_YAML,
    's/db.yaml': 'version: 1\nname: s\nengine: postgres\nschemas: [s]\n',
    's/schema.sql': 'CREATE SCHEMA s;',
    's/t.sql': 'CREATE TABLE s.t (id int PRIMARY KEY, a int NOT NULL);',
  });
  let db: Awaited<ReturnType<typeof scratchDatabase>> | undefined;
  afterAll(async () => {
    await db?.drop();
    w.remove();
  });

  it('does not call the sync function for the rows it fills; other writes still sync', async () => {
    db = await scratchDatabase('dbee_bft');
    const vars = { EXPAND_TEST_URL: db.url };
    const dbee = (extra: Record<string, unknown> = {}) => run(w.root, 'deploy', { project: 's', ...extra }, vars);
    /** One session: `sql` in order, the last statement's rows. */
    const session = (...sql: string[]) =>
      inSession(() => PgConnection.open({ connectionString: db!.url }, 'scratch'), ...sql);
    // PL/pgSQL calls are counted in every new session of the database (dbee's included); a session's counts are
    // reported when it ends.
    const calls = async () =>
      Number(
        (
          await session(
            `SELECT coalesce(sum(calls), 0) AS n FROM pg_stat_user_functions WHERE funcname LIKE 'expand_sync%'`,
          )
        )[0]!.n,
      );
    await session(`ALTER DATABASE ${db.name} SET track_functions = 'pl'`);
    expect((await dbee()).code).toBe(0);
    await session(`INSERT INTO s.t SELECT g, g FROM generate_series(1, ${ROWS}) g`);
    w.write('s/t.sql', 'CREATE TABLE s.t (id int PRIMARY KEY, a bigint NOT NULL);');

    const expanded = await dbee({ strategy: 'expand-contract' });
    expect(expanded.stderr).not.toMatch(/error/);
    expect(expanded.code).toBe(0);
    const shadow = String(
      (
        await session(
          `SELECT attname FROM pg_attribute WHERE attrelid = 's.t'::regclass AND attnum > 0 AND NOT attisdropped AND attname <> ALL ('{id,a}')`,
        )
      )[0]!.attname,
    );
    // Every row filled by the backfill, and no call of the sync function for it (before: one per row, 3,000).
    expect(await session(`SELECT count(*)::int AS n FROM s.t WHERE "${shadow}" IS DISTINCT FROM a`)).toEqual([
      { n: 0 },
    ]);
    expect(await calls()).toBe(0);

    // An ordinary write is synced (one call).
    await session('SET search_path = s_v0, s', 'UPDATE t SET a = -1 WHERE id = 1');
    expect(await session(`SELECT "${shadow}" AS v FROM s.t WHERE id = 1`)).toEqual([{ v: '-1' }]);
    expect(await calls()).toBe(1);

    // A session with the backfill's setting: its own statement's rows are skipped (what the backfill relies on), a
    // row another trigger writes during that statement is synced.
    const fn = String(
      (await session(`SELECT 'dbee.' || quote_ident(proname) AS fn FROM pg_proc WHERE proname LIKE 'expand_sync%'`))[0]!
        .fn,
    );
    await session(`CREATE TABLE s.side (id int PRIMARY KEY);
      CREATE FUNCTION s.side_touch() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN UPDATE s.t SET a = -2 WHERE id = NEW.id; RETURN NEW; END $$;
      CREATE TRIGGER side_touch AFTER INSERT ON s.side FOR EACH ROW EXECUTE FUNCTION s.side_touch();`);
    await session(
      `SELECT set_config('dbee.backfill', '${fn.replace(/'/g, "''")}', false)`,
      'UPDATE s.t SET a = -3 WHERE id = 3',
      'INSERT INTO s.side VALUES (2)',
    );
    expect(await session(`SELECT id, a, "${shadow}" AS v FROM s.t WHERE id IN (2, 3) ORDER BY id`)).toEqual([
      { id: 2, a: -2, v: '-2' },
      { id: 3, a: -3, v: '3' },
    ]);
    await session(`ALTER DATABASE ${db.name} RESET track_functions`);
  });
});
