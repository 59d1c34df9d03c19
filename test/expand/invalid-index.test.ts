import { afterAll, describe, expect, it } from 'vitest';
import { testSessions } from './sessions';
import { expandStatements, runExpandStatement, type Connection, type ExpandPlan, type LockAttempt } from '@dbee/core';
import { PgConnection, createPostgresEngine, postgresLockTimeouts } from '@dbee/postgres';
import { run } from '../support/run';
import { scratchDatabase } from '../support/pg';
import { openMemoryPglite } from '../support/pglite';
import { tempWorkspace } from '../support/workspace';

/**
 * A unique constraint's index, built `CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS` at expand, cut short (by its
 * lock timeout while it waits for a transaction older than it, or by any failure) leaves an INVALID index behind.
 * The next attempt must not take it for built: it is dropped before every attempt, the index is checked valid
 * after, and a failure leaves no invalid index behind.
 */

/** A release of one table `s.t (id, email)` that adds `UNIQUE (email)` as `t_email_key`. */
const PLAN: ExpandPlan = {
  formatVersion: 1,
  project: 's',
  release: '1',
  previous: '0',
  schemas: ['s'],
  summary: [],
  tables: [
    {
      schema: 's',
      name: 't',
      newName: 't',
      oldColumns: [
        { name: 'id', type: 'integer', notNull: true },
        { name: 'email', type: 'text', notNull: false },
      ],
      columns: [
        {
          name: 'id',
          kind: 'same',
          physical: 'id',
          from: 'id',
          type: 'integer',
          notNull: true,
          default: null,
          up: null,
          down: null,
        },
        {
          name: 'email',
          kind: 'same',
          physical: 'email',
          from: 'email',
          type: 'text',
          notNull: false,
          default: null,
          up: null,
          down: null,
        },
      ],
      dropped: [],
      constraints: [{ name: 't_email_key', kind: 'unique', columns: ['email'], definition: 'UNIQUE (email)' }],
      key: ['id'],
    },
  ],
};
const indexStatement = () => {
  const s = expandStatements(createPostgresEngine().expand!, PLAN).find((x) =>
    x.sql.startsWith('CREATE UNIQUE INDEX CONCURRENTLY'),
  );
  if (!s) throw new Error('no index statement');
  return s;
};
const validity = async (c: Connection) =>
  (
    await c.query<{ valid: boolean }>(
      `SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = to_regclass('s.t_email_key')`,
    )
  ).rows;

describe('the unique index of an expand, left INVALID by a build cut short', () => {
  it('[pglite] an INVALID index of that name is dropped and built again; a failed build or check leaves none', async () => {
    const c = await openMemoryPglite('invalid-index');
    try {
      await c.execute(`CREATE SCHEMA s; CREATE TABLE s.t (id int PRIMARY KEY, email text)`);
      await c.execute(`INSERT INTO s.t SELECT g, 'e' || g FROM generate_series(1, 100) g`);
      // What a build cut short leaves: the index exists, not valid.
      await c.execute(`CREATE UNIQUE INDEX t_email_key ON s.t (email)`);
      await c.execute(`UPDATE pg_index SET indisvalid = false WHERE indexrelid = 's.t_email_key'::regclass`);
      await runExpandStatement(c, postgresLockTimeouts, indexStatement(), { lockTimeoutMs: 200 });
      expect(await validity(c)).toEqual([{ valid: true }]);

      // A statement whose check does not hold fails (exit 2), after clearing what it left.
      await c.execute(`UPDATE pg_index SET indisvalid = false WHERE indexrelid = 's.t_email_key'::regclass`);
      const e = await runExpandStatement(c, postgresLockTimeouts, {
        ...indexStatement(),
        sql: 'SELECT 1',
        transactional: true,
      }).catch((x: unknown) => x);
      expect(e).toMatchObject({ code: 'EXPAND_INCOMPLETE', exitCode: 2 });
      expect((e as Error).message).toContain('unique index t_email_key on s.t, built concurrently');
      expect(await validity(c)).toEqual([]);

      // A build that fails on its own (duplicate values) leaves no INVALID index either.
      await c.execute(`UPDATE s.t SET email = 'same' WHERE id <= 2`);
      const dup = await runExpandStatement(c, postgresLockTimeouts, indexStatement(), { lockTimeoutMs: 200 }).catch(
        (x: unknown) => x,
      );
      expect(String(dup)).toMatch(/duplicate|unique/i);
      expect(await validity(c)).toEqual([]);
    } finally {
      await c.close();
    }
  });

  describe('[postgres] a transaction older than the build makes it wait; lock_timeout cuts it', () => {
    let db: Awaited<ReturnType<typeof scratchDatabase>>;
    const sessions = testSessions(() => db.url);
    const { connect } = sessions;
    const w = tempWorkspace({
      'dbee.yaml': `version: 1\ndefaultEnvironment: server\nenvironments:\n  server:\n    engine: postgres\n    connection: { url: "\${INVALID_INDEX_URL}" }\n`,
      's/db.yaml': 'version: 1\nname: s\nengine: postgres\nschemas: [s]\n',
      's/schema.sql': 'CREATE SCHEMA s;',
      's/t.sql': 'CREATE TABLE s.t (id int PRIMARY KEY, email text);',
    });
    afterAll(async () => {
      await sessions.endAll();
      w.remove();
      await db?.drop();
    });
    /** A transaction that holds a snapshot: a concurrent index build waits for it to end (its virtualxid). */
    const older = async () => {
      const c = await connect();
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await c.query('SELECT 1');
      return c;
    };

    it('deploy retries the build until it is valid; it never reports expanded over an INVALID index', async () => {
      db = await scratchDatabase('dbee_xinv');
      const vars = { INVALID_INDEX_URL: db.url };
      expect((await run(w.root, 'deploy', { project: 's' }, vars)).code).toBe(0);
      const q = await connect();
      await q.query(`INSERT INTO s.t SELECT g, 'e' || g FROM generate_series(1, 1000) g`);
      w.write('s/t.sql', 'CREATE TABLE s.t (id int PRIMARY KEY, email text, CONSTRAINT t_email_key UNIQUE (email));');

      const holder = await older();
      let ended = false;
      const deploy = run(w.root, 'deploy', { project: 's', strategy: 'expand-contract' }, vars).finally(() => {
        ended = true;
      });
      // Wait until a second attempt of the build waits for the older transaction (the first one was cut short).
      const attempts = new Set<string>();
      while (attempts.size < 2 && !ended) {
        const r = await q.query<{ started: string }>(
          `SELECT query_start::text AS started FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'CREATE UNIQUE INDEX CONCURRENTLY%' AND wait_event_type = 'Lock'`,
        );
        for (const row of r.rows) attempts.add(row.started);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      await holder.query('COMMIT');
      const r = await deploy;
      expect(r.stderr).toContain('waited');
      expect(r.code).toBe(0);
      expect(
        (await q.query(`SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = 's.t_email_key'::regclass`)).rows,
      ).toEqual([{ valid: true }]);
      expect(attempts.size).toBe(2);
      expect((await q.query(`SELECT phase, lock_retries >= 1 AS retried FROM dbee.expand_releases`)).rows).toEqual([
        { phase: 'expanded', retried: true },
      ]);
      expect((await run(w.root, 'complete', { project: 's' }, vars)).code).toBe(0);
      expect((await q.query(`SELECT contype FROM pg_constraint WHERE conname = 't_email_key'`)).rows).toEqual([
        { contype: 'u' },
      ]);
    });

    it('a build that gives up leaves no INVALID index behind', async () => {
      const conn = await PgConnection.open({ connectionString: db.url }, 'xinv');
      try {
        await conn.execute(`ALTER TABLE s.t DROP CONSTRAINT t_email_key`);
        const holder = await older();
        const attempts: LockAttempt[] = [];
        const e = await runExpandStatement(conn, postgresLockTimeouts, indexStatement(), {
          lockTimeoutMs: 100,
          maxAttempts: 2,
          baseDelayMs: 10,
          onAttempt: (a) => attempts.push(a),
        }).catch((x: unknown) => x);
        await holder.query('COMMIT');
        expect(e).toMatchObject({ code: 'LOCK_RETRY_EXHAUSTED', exitCode: 2 });
        expect(attempts.map((a) => a.error !== undefined)).toEqual([true, true]);
        expect(await validity(conn)).toEqual([]);
      } finally {
        await conn.close();
      }
    });
  });
});
