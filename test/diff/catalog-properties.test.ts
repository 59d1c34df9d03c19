import { describe, expect, test } from 'vitest';
import { diffModels } from '../support/pg-diff';
import { introspect } from '../../packages/postgres/src/introspect';
import { ENGINES, convergeScratch, scratchPair, summary } from './helpers';

/**
 * Round trips of catalog properties (`catalog-coverage.ts`). Issue 88, failure 2: per-column settings (SET STATISTICS, SET (n_distinct ...), SET COMPRESSION, SET STORAGE) and
 * CLUSTER ON were not modelled, so a diff between a table with them and one without was empty. Each is now read,
 * compared, rendered with its reverse, and converges both ways.
 */
describe.each(ENGINES)('catalog properties round trip: column settings, CLUSTER ON and others [%s]', (engine) => {
  const db = scratchPair(engine);

  const plain = (s: string) => `
    create table ${s}.t (a integer primary key, b text, c text, g text generated always as (lower(b)) stored);
    create index t_b on ${s}.t (b);`;
  const settings = (s: string) => `
    alter table ${s}.t alter column b set (n_distinct = -0.02);
    alter table ${s}.t alter column b set statistics 500;
    alter table ${s}.t alter column c set compression pglz;
    alter table ${s}.t alter column c set storage external;
    alter table ${s}.t alter column g set statistics 50;
    alter table ${s}.t cluster on t_b;`;

  /** Apply the reverse of every step, last first, and expect the model `before` again. */
  const undo = async (schema: string, steps: { reverse: string[] | null }[], before: string) => {
    for (const step of [...steps].reverse()) for (const sql of step.reverse ?? []) await db.live.conn.execute(sql);
    await db.desired.conn.execute(`create schema ${schema}_b; ${before.replaceAll(`${schema}.`, `${schema}_b.`)}`);
    const a = await introspect(db.live.conn, { schemas: [schema] });
    const b = await introspect(db.desired.conn, { schemas: [`${schema}_b`] });
    const strip = (m: typeof a, s: string) => JSON.parse(JSON.stringify(m.tables).replaceAll(`${s}`, 'X'));
    expect(strip(a, schema)).toEqual(strip(b, `${schema}_b`));
  };

  test('settings added to a table are a diff, deployed, and undone by the reverse statements', async () => {
    const { changes, steps } = await convergeScratch(
      db.live,
      db.desired,
      'cs1',
      plain('cs1'),
      plain('cs1') + settings('cs1'),
    );
    expect(summary(changes).sort()).toEqual([
      'alter-column-settings table:cs1.t',
      'alter-column-settings table:cs1.t',
      'alter-column-settings table:cs1.t',
      'alter-table-options table:cs1.t',
    ]);
    // The generated column keeps its data: a statistics target is no reason to drop and add it.
    expect(changes.some((c) => c.kind === 'drop-column')).toBe(false);
    expect(steps.flatMap((s) => s.statements)).toEqual(
      expect.arrayContaining([
        'ALTER TABLE cs1.t ALTER COLUMN b SET STATISTICS 500',
        'ALTER TABLE cs1.t ALTER COLUMN b SET (n_distinct=-0.02)',
        'ALTER TABLE cs1.t ALTER COLUMN c SET COMPRESSION pglz',
        'ALTER TABLE cs1.t ALTER COLUMN c SET STORAGE EXTERNAL',
        'ALTER TABLE cs1.t CLUSTER ON t_b',
      ]),
    );
    await undo('cs1', steps, plain('cs1'));
  });

  test('settings taken off a table are reset, and the reverse sets them again', async () => {
    const { changes, steps } = await convergeScratch(
      db.live,
      db.desired,
      'cs2',
      plain('cs2') + settings('cs2'),
      plain('cs2'),
    );
    expect(summary(changes)).toHaveLength(4);
    expect(steps.flatMap((s) => s.statements)).toEqual(
      expect.arrayContaining([
        'ALTER TABLE cs2.t ALTER COLUMN b SET STATISTICS -1',
        'ALTER TABLE cs2.t ALTER COLUMN b RESET (n_distinct)',
        'ALTER TABLE cs2.t ALTER COLUMN c SET COMPRESSION default',
        'ALTER TABLE cs2.t SET WITHOUT CLUSTER',
      ]),
    );
    await undo('cs2', steps, plain('cs2') + settings('cs2'));
  });

  test('a new table gets its settings, and CLUSTER ON once its index exists', async () => {
    const { changes } = await convergeScratch(db.live, db.desired, 'cs3', '', plain('cs3') + settings('cs3'));
    expect(summary(changes)).toEqual([
      'create-table table:cs3.t',
      'create-index index:cs3.t_b@cs3.t',
      'alter-table-options table:cs3.t',
    ]);
  });

  test('an index re-created that the table clusters on is clustered on again; a primary key index too', async () => {
    const base = (s: string, cols: string) => `
      create table ${s}.t (a integer primary key, b text);
      create index t_b on ${s}.t (${cols});
      alter table ${s}.t cluster on t_b;`;
    const { changes } = await convergeScratch(db.live, db.desired, 'cs4', base('cs4', 'b'), base('cs4', 'b, a'));
    expect(summary(changes)).toEqual([
      'drop-index index:cs4.t_b@cs4.t',
      'create-index index:cs4.t_b@cs4.t',
      'alter-table-options table:cs4.t',
    ]);
    const pk = (s: string) =>
      `create table ${s}.t (a integer primary key, b text); alter table ${s}.t cluster on t_pkey;`;
    await convergeScratch(db.live, db.desired, 'cs5', 'create table cs5.t (a integer primary key, b text);', pk('cs5'));
  });

  test('a materialized view clustered on its index: created, then clustered; clustered in place; its index re-created', async () => {
    const mv = (s: string, cols = 'a') => `
      create table ${s}.t (a integer primary key, b text);
      create materialized view ${s}.mv as select a, b from ${s}.t;
      create index mv_a on ${s}.mv (${cols});`;
    const clustered = (s: string, cols?: string) => `${mv(s, cols)} alter materialized view ${s}.mv cluster on mv_a;`;
    // New: the view, its index, then CLUSTER ON (the view's create cannot name an index that does not exist yet).
    const created = await convergeScratch(db.live, db.desired, 'cm1', '', clustered('cm1'));
    expect(summary(created.changes)).toEqual([
      'create-table table:cm1.t',
      'create-view materialized-view:cm1.mv',
      'create-index index:cm1.mv_a@cm1.mv',
      'alter-table-options materialized-view:cm1.mv',
    ]);
    // Only CLUSTER ON changed: in place, with its reverse (the materialized view is not dropped and filled again).
    const set = await convergeScratch(db.live, db.desired, 'cm2', mv('cm2'), clustered('cm2'));
    expect(summary(set.changes)).toEqual(['alter-table-options materialized-view:cm2.mv']);
    expect(set.steps.flatMap((x) => x.statements)).toEqual(['ALTER MATERIALIZED VIEW cm2.mv CLUSTER ON mv_a']);
    expect(set.steps.flatMap((x) => x.reverse ?? [])).toEqual(['ALTER MATERIALIZED VIEW cm2.mv SET WITHOUT CLUSTER']);
    // Its index re-created: clustered on again.
    const again = await convergeScratch(db.live, db.desired, 'cm3', clustered('cm3'), clustered('cm3', 'a, b'));
    expect(summary(again.changes)).toEqual([
      'drop-index index:cm3.mv_a@cm3.mv',
      'create-index index:cm3.mv_a@cm3.mv',
      'alter-table-options materialized-view:cm3.mv',
    ]);
    // Re-created as a dependent (a column it reads retyped): its index and CLUSTER ON made again after it.
    const retyped = (s: string, type: string) => clustered(s).replace('b text', `b ${type}`);
    const dependent = await convergeScratch(
      db.live,
      db.desired,
      'cm4',
      retyped('cm4', 'text'),
      retyped('cm4', 'varchar(20)'),
    );
    expect(summary(dependent.changes)).toContain('alter-table-options materialized-view:cm4.mv');
  });

  test('a retyped column keeps the storage the sources give it', async () => {
    const t = (s: string, type: string) =>
      `create table ${s}.t (a integer, b ${type}); alter table ${s}.t alter column b set storage external;`;
    const { changes } = await convergeScratch(db.live, db.desired, 'cs6', t('cs6', 'text'), t('cs6', 'varchar(20)'));
    expect(summary(changes)).toContain('alter-column-type table:cs6.t');
  });

  test('a column with no settings has none in the model (an undocumented pg_attver option is not one)', async () => {
    await db.live.conn.execute('create schema cs7; create table cs7.t (a integer, b text)');
    const m = await introspect(db.live.conn, { schemas: ['cs7'] });
    expect(m.tables[0]!.columns.map((c) => c.attrs)).toEqual([{}, {}]);
    expect(m.tables[0]!.attrs).toEqual({});
    expect(diffModels(m, m)).toEqual([]);
  });

  // Properties that catalog-coverage.ts classifies as modelled and no other case sets, set on one side only.
  const base = (s: string) => `
    create table ${s}.p (id integer primary key, code text);
    create table ${s}.t (id integer, p integer, code text);
    create function ${s}.f() returns trigger language plpgsql as $$ begin return new; end $$;
    create trigger t_touch before insert on ${s}.t for each row execute function ${s}.f();
    create function ${s}.g(x integer) returns integer language sql as $$ select x $$;`;
  const set = (s: string) => `
    alter table ${s}.t set unlogged;
    alter table ${s}.t set (fillfactor = 70);
    alter table ${s}.p add constraint p_code unique nulls not distinct (code);
    alter table ${s}.t add constraint t_p foreign key (p) references ${s}.p (id) match full;
    alter table ${s}.t add constraint t_pos check (p > 0) no inherit;
    alter table ${s}.t disable trigger t_touch;
    alter function ${s}.g(integer) parallel safe security definer set search_path = pg_catalog;`;

  test('set on the desired side: planned, applied, converged', async () => {
    const { steps } = await convergeScratch(db.live, db.desired, 'cp1', base('cp1'), base('cp1') + set('cp1'));
    const sql = steps.flatMap((s) => s.statements).join('\n');
    expect(sql).toContain('SET UNLOGGED');
    expect(sql).toContain('fillfactor=70');
    expect(sql).toContain('DISABLE TRIGGER t_touch');
    expect(sql).toContain('SECURITY DEFINER');
  });

  test('set on the live side only: taken off, converged', async () => {
    const { steps } = await convergeScratch(db.live, db.desired, 'cp2', base('cp2') + set('cp2'), base('cp2'));
    const sql = steps.flatMap((s) => s.statements).join('\n');
    expect(sql).toContain('SET LOGGED');
    expect(sql).toContain('RESET (fillfactor)');
    expect(sql).toContain('ENABLE TRIGGER t_touch');
  });
});
