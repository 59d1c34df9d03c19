import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Client } from 'pg';
import type { SchemaModel } from '../../packages/core/src/schema';
import { diffModels } from '../support/pg-diff';
import { introspect } from '../../packages/postgres/src/introspect';
import { renderPlanSteps, type RenderedStep } from '../../packages/postgres/src/render/plan-steps';
import { applySteps, openScratch, type Scratch } from './helpers';
import { scratchDatabase } from '../support/pg';

// The lint test cases of hazards.test.ts, with the constraints the safe rewrites change: a check and a foreign key
// added to an existing table, one added to a partitioned table (NOT VALID refused there), and a new table; an index
// added to a partitioned table of two partitions (built per partition).
const LIVE = `
create schema h;
create table h.t (
  id bigint primary key,
  note text,
  code varchar(10),
  amount bigint,
  flag boolean,
  qty integer,
  other_id integer
);
create table h.other (id integer primary key);
create table h.part (id integer, t_id bigint) partition by range (id);
create table h.part1 partition of h.part for values from (0) to (100);
create table h.part2 partition of h.part for values from (100) to (200);
create table h.kept (id integer);
insert into h.other values (1);
insert into h.t (id, note, code, amount, flag, qty, other_id) values (1, 'n', 'c', 1, true, 2, 1);
insert into h.part values (1, 1), (150, 1);
`;

const DESIRED = `
create schema h;
create table h.other (id integer primary key);
create table h.t (
  id bigint primary key,
  code varchar(20),
  amount integer,
  flag boolean not null,
  qty integer check (qty >= 0),
  other_id integer references h.other (id),
  created timestamptz default now(),
  constraint t_code_key unique (code)
);
create index t_code_idx on h.t (code);
create table h.part (id integer, t_id bigint references h.t (id)) partition by range (id);
create table h.part1 partition of h.part for values from (0) to (100);
create table h.part2 partition of h.part for values from (100) to (200);
create index part_t_id_idx on h.part (t_id);
create table h.kept (id integer);
create table h.fresh (id integer primary key, other integer not null);
create index fresh_other_idx on h.fresh (other);
`;

const SAFE = { lockTimeoutMs: 5000 } as const;

/** The models of LIVE and DESIRED, read back from two scratch databases of `engine`. */
async function models(live: Scratch, desired: Scratch): Promise<{ from: SchemaModel; to: SchemaModel }> {
  await live.conn.execute(LIVE);
  await desired.conn.execute(DESIRED);
  return {
    from: await introspect(live.conn, { schemas: ['h'] }),
    to: await introspect(desired.conn, { schemas: ['h'] }),
  };
}

/** The steps that touch `what` (a statement's text), as `[transactional, statements]`. */
function stepsWith(steps: RenderedStep[], what: string): RenderedStep[] {
  return steps.filter((s) => s.statements.some((sql) => sql.includes(what)));
}

describe('the safe rewrites: the plan [pglite]', () => {
  let live: Scratch;
  let desired: Scratch;
  let plain: RenderedStep[];
  let safe: RenderedStep[];
  let from: SchemaModel;
  let to: SchemaModel;

  beforeAll(async () => {
    [live, desired] = await Promise.all([openScratch('pglite'), openScratch('pglite')]);
    const m = await models(live, desired);
    from = m.from;
    to = m.to;
    const changes = diffModels(m.from, m.to);
    plain = renderPlanSteps(changes, { from: m.from, to: m.to });
    safe = renderPlanSteps(changes, { from: m.from, to: m.to, safe: SAFE });
  });
  afterAll(async () => {
    await Promise.all([live, desired].filter(Boolean).map((s) => s.dispose()));
  });

  test('every step starts with its lock timeout: 5s for locks that block reads or writes, none for the others', () => {
    for (const step of safe) expect(step.statements[0]).toMatch(/^SET lock_timeout = /);
    const waits = (s: RenderedStep) => s.statements.filter((sql) => sql.startsWith('SET lock_timeout'));
    expect(waits(stepsWith(safe, 'DROP COLUMN')[0]!)).toEqual(["SET lock_timeout = '5s'"]);
    expect(waits(stepsWith(safe, 'CREATE INDEX CONCURRENTLY t_code_idx')[0]!)).toEqual(['SET lock_timeout = 0']);
    // The unique constraint: its index built concurrently (no timeout), then adopted under the timeout.
    expect(stepsWith(safe, 't_code_key')[0]!.statements).toEqual([
      'SET lock_timeout = 0',
      'CREATE UNIQUE INDEX CONCURRENTLY t_code_key ON h.t (code)',
      "SET lock_timeout = '5s'",
      'ALTER TABLE h.t ADD CONSTRAINT t_code_key UNIQUE USING INDEX t_code_key',
    ]);
    expect(plain.some((s) => s.statements.some((sql) => sql.includes('lock_timeout')))).toBe(false);
  });

  test('an index on an existing table is built CONCURRENTLY outside a transaction; on a new table it is not', () => {
    const [index] = stepsWith(safe, 't_code_idx');
    expect(index!.transactional).toBe(false);
    expect(index!.hazards.map((h) => h.rule)).toEqual(['index-build']);
    expect(stepsWith(plain, 't_code_idx')[0]!.hazards.map((h) => h.rule)).toEqual([
      'index-build',
      'require-concurrent-index-creation',
    ]);
    const [fresh] = stepsWith(safe, 'fresh_other_idx');
    expect(fresh!.statements).toEqual([
      "SET lock_timeout = '5s'",
      'CREATE INDEX fresh_other_idx ON h.fresh USING btree (other)',
    ]);
    expect(fresh!.transactional).toBe(true);
    expect(fresh!.notes).toEqual(['safe: not rewritten, h.fresh is created by this plan (it is empty)']);
  });

  test('SET NOT NULL goes through a check added NOT VALID, validated outside a transaction, then dropped', () => {
    const steps = stepsWith(safe, 'flag_not_null_dbee');
    expect(steps.map((s) => [s.transactional, s.statements.slice(1)])).toEqual([
      [true, ['ALTER TABLE h.t ADD CONSTRAINT flag_not_null_dbee CHECK (flag IS NOT NULL) NOT VALID']],
      [false, ['ALTER TABLE h.t VALIDATE CONSTRAINT flag_not_null_dbee']],
      [true, ['ALTER TABLE h.t ALTER COLUMN flag SET NOT NULL', 'ALTER TABLE h.t DROP CONSTRAINT flag_not_null_dbee']],
    ]);
    // The long-lock hazard is satisfied by the rewrite: --allow-hazards is not needed for it.
    expect(steps.flatMap((s) => s.hazards)).toEqual([]);
    expect(stepsWith(plain, 'SET NOT NULL')[0]!.hazards.map((h) => h.rule)).toEqual(['adding-not-nullable-field']);
    // Consecutive in the plan: nothing comes between the check and its use.
    expect(safe.indexOf(steps[1]!)).toBe(safe.indexOf(steps[0]!) + 1);
    expect(safe.indexOf(steps[2]!)).toBe(safe.indexOf(steps[1]!) + 1);
    // The column of the new table is created NOT NULL: no rewrite there.
    expect(stepsWith(safe, 'CREATE TABLE h.fresh')[0]!.statements.join('\n')).not.toContain('not_null_dbee');
  });

  test('a check and a foreign key are validated in a later step; on a partitioned table they are added valid', () => {
    for (const name of ['t_qty_check', 't_other_id_fkey']) {
      const steps = stepsWith(safe, name);
      expect(steps.map((s) => [s.transactional, s.statements[1]])).toEqual([
        [true, expect.stringMatching(new RegExp(`ADD CONSTRAINT ${name} .* NOT VALID$`))],
        [false, `ALTER TABLE h.t VALIDATE CONSTRAINT ${name}`],
      ]);
      expect(steps[1]!.reverse).toEqual([]);
      // Without the rewrites: one step, in a transaction that holds the add's lock while it validates.
      expect(stepsWith(plain, name).map((s) => s.statements.length)).toEqual([2]);
    }
    const [part] = stepsWith(safe, 'part_t_id_fkey');
    expect(part!.statements.slice(1)).toEqual([
      'ALTER TABLE h.part ADD CONSTRAINT part_t_id_fkey FOREIGN KEY (t_id) REFERENCES h.t(id)',
    ]);
    expect(part!.notes).toEqual([
      'safe: part_t_id_fkey is added valid at once: PostgreSQL refuses a NOT VALID foreign key on or to a partitioned table',
    ]);
  });

  test("a partitioned table's index is built per partition: ON ONLY the table, each partition's CONCURRENTLY and attached", () => {
    const partitionWise = [
      'CREATE INDEX part_t_id_idx ON ONLY h.part USING btree (t_id)',
      'CREATE INDEX CONCURRENTLY part1_t_id_idx ON h.part1 USING btree (t_id)',
      'ALTER INDEX h.part_t_id_idx ATTACH PARTITION h.part1_t_id_idx',
      'CREATE INDEX CONCURRENTLY part2_t_id_idx ON h.part2 USING btree (t_id)',
      'ALTER INDEX h.part_t_id_idx ATTACH PARTITION h.part2_t_id_idx',
    ];
    const [index, ...more] = stepsWith(safe, 'part_t_id_idx');
    expect(more).toEqual([]);
    expect(index!.statements).toEqual([
      "SET lock_timeout = '5s'",
      partitionWise[0],
      'SET lock_timeout = 0',
      partitionWise[1],
      "SET lock_timeout = '5s'",
      partitionWise[2],
      'SET lock_timeout = 0',
      partitionWise[3],
      "SET lock_timeout = '5s'",
      partitionWise[4],
    ]);
    expect(index!.transactional).toBe(false);
    // Reads the table, blocks no writes: index-build, not long-lock.
    expect(index!.hazards.map((h) => h.rule)).toEqual(['index-build']);
    expect(index!.reverse).toEqual(["SET lock_timeout = '5s'", 'DROP INDEX h.part_t_id_idx']);
    expect(index!.notes).toEqual([
      "safe: built per partition, outside a transaction (writes go on): h.part_t_id_idx ON ONLY h.part, each partition's index CONCURRENTLY, then attached",
    ]);
    // deploy.online without the other rewrites: the same statements.
    const changes = diffModels(from, to);
    const online = stepsWith(renderPlanSteps(changes, { from, to, online: true }), 'part_t_id_idx');
    expect(online.map((s) => [s.transactional, s.statements, s.hazards.map((h) => h.rule)])).toEqual([
      [false, partitionWise, ['index-build']],
    ]);
    // Without either: the table's index, blocking writes; the hazard says how not to.
    const [blocking] = stepsWith(plain, 'part_t_id_idx');
    expect(blocking!.statements).toEqual(['CREATE INDEX part_t_id_idx ON h.part USING btree (t_id)']);
    expect(blocking!.hazards.map((h) => h.message)).toEqual([
      'builds index h.part_t_id_idx on h.part',
      'builds index h.part_t_id_idx while blocking writes to h.part (--safe (or deploy.online) builds it per partition without blocking writes)',
    ]);
  });

  test('the safe plan applies and reaches the desired schema (the next diff is empty)', async () => {
    await applySteps(live.conn, safe);
    expect(diffModels(await introspect(live.conn, { schemas: ['h'] }), to)).toEqual([]);
    // The partitioned table's index is valid, each partition's attached to it.
    const r = await live.conn.query<{ name: string; valid: boolean; parent: string | null }>(
      `SELECT c.relname AS name, i.indisvalid AS valid, (SELECT p.relname FROM pg_inherits h JOIN pg_class p ON p.oid = h.inhparent
          WHERE h.inhrelid = c.oid) AS parent
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname LIKE 'part%' ORDER BY 1`,
    );
    expect(r.rows).toEqual([
      { name: 'part1_t_id_idx', valid: true, parent: 'part_t_id_idx' },
      { name: 'part2_t_id_idx', valid: true, parent: 'part_t_id_idx' },
      { name: 'part_t_id_idx', valid: true, parent: null },
    ]);
  });
});

/** `pg_dump --schema-only` of schema h, without the lines that differ between any two dumps (`\restrict` keys). */
function dump(url: string): string {
  return execFileSync('pg_dump', ['--schema-only', '--schema=h', '--no-owner', url], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => !/^\\(un)?restrict /.test(l))
    .join('\n');
}

describe('the safe rewrites: the schema [postgres]', () => {
  const dbs: { url: string; drop(): Promise<void> }[] = [];
  afterAll(async () => {
    await Promise.all(dbs.map((d) => d.drop()));
  });

  test('the plan with the rewrites leaves the schema the plan without them leaves (pg_dump); SET NOT NULL skips its scan', async () => {
    const [a, b, d] = await Promise.all([scratchDatabase(), scratchDatabase(), scratchDatabase()]);
    dbs.push(a, b, d);
    const open = async (url: string) => {
      const c = new Client({ connectionString: url });
      await c.connect();
      return c;
    };
    const [ca, cb, cd] = await Promise.all([open(a.url), open(b.url), open(d.url)]);
    try {
      await Promise.all([ca.query(LIVE), cb.query(LIVE), cd.query(DESIRED)]);
      const { PgConnection } = await import('../../packages/postgres/src/connection/postgres-connection');
      const read = async (url: string) => {
        const conn = await PgConnection.open({ connectionString: url }, 'safe-test');
        try {
          return await introspect(conn, { schemas: ['h'] });
        } finally {
          await conn.close();
        }
      };
      const [from, to] = await Promise.all([read(a.url), read(d.url)]);
      const changes = diffModels(from, to);
      // What PostgreSQL says while it runs the statements: DEBUG1 names a SET NOT NULL proven by a constraint.
      const notices: string[] = [];
      cb.on('notice', (n) => notices.push(n.message ?? ''));
      const apply = async (c: Client, steps: RenderedStep[]) => {
        for (const step of steps) {
          if (step.transactional) await c.query('BEGIN');
          for (const sql of step.statements) await c.query(sql);
          if (step.transactional) await c.query('COMMIT');
        }
      };
      await apply(ca, renderPlanSteps(changes, { from, to }));
      await cb.query('SET client_min_messages = debug1');
      await apply(cb, renderPlanSteps(changes, { from, to, safe: SAFE }));
      await cb.query('RESET client_min_messages');
      expect(notices).toContain(
        'existing constraints on column "t.flag" are sufficient to prove that it does not contain nulls',
      );
      const [plainDump, safeDump] = [dump(a.url), dump(b.url)];
      expect(safeDump).toContain('flag boolean NOT NULL');
      expect(safeDump).not.toContain('not_null_dbee');
      expect(safeDump).toEqual(plainDump);
    } finally {
      await Promise.all([ca.end(), cb.end(), cd.end()]);
    }
  });
});
