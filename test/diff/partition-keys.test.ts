import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { formatKey } from '../../packages/core/src/model/object-key';
import { changeObjectKey } from '../../packages/core/src/schema';
import { catalog } from '../diff-property/harness';
import { ENGINES, type Scratch, convergeScratch, openScratch } from './helpers';

/**
 * Issue 88, failure 6: partitions and names. A partitioned table's key whose index is invalid (added ON ONLY, a
 * partition's key not attached) is a difference; a partition's key named by hand is the partition's own, taken in by
 * the parent's; a table that becomes a partition takes its parent's default, its old serial sequence going with it.
 */
describe.each(ENGINES)('partitions and names [%s]', (engine) => {
  let live: Scratch;
  let desired: Scratch;

  beforeAll(async () => {
    [live, desired] = await Promise.all([openScratch(engine), openScratch(engine)]);
  });

  afterAll(async () => {
    await Promise.all([live, desired].filter(Boolean).map((s) => s.dispose()));
  });

  /** Apply the plan, re-read: the next diff is empty and the catalog equals the desired one, read independently. */
  async function converge(schema: string, liveSql: string, desiredSql: string) {
    const r = await convergeScratch(live, desired, schema, liveSql, desiredSql);
    expect(await catalog(live.conn, schema)).toEqual(await catalog(desired.conn, schema));
    return r;
  }
  const rows = async (sql: string) => (await live.conn.query(sql)).rows;

  test("a partitioned key left invalid is a difference; a partition's key named by hand is attached under its name", async () => {
    // The target: the parent's key added ON ONLY, the partition's own never attached (invalid: it takes duplicates
    // across partitions that the source refuses).
    const tree = `create table k1.p (id int not null, k int not null) partition by range (k);
      create table k1.p1 partition of k1.p for values from (0) to (10);
      create table k1.p2 partition of k1.p for values from (10) to (20);
      alter table only k1.p add constraint p_pkey primary key (id, k);
      alter table k1.p1 add constraint p1_own primary key (id, k);
      alter table k1.p2 add constraint p2_pkey primary key (id, k);`;
    const { changes } = await converge(
      'k1',
      tree,
      `${tree}
      alter index k1.p_pkey attach partition k1.p1_own;
      alter index k1.p_pkey attach partition k1.p2_pkey;`,
    );
    // The parent's key made again takes in p1_own; p2's, not attached and of PostgreSQL's name, is made again with it.
    expect(
      changes.map(
        (c) =>
          `${c.kind} ${formatKey(changeObjectKey(c))} ${c.kind.endsWith('-constraint') ? (c as { constraint: { name: string } }).constraint.name : ''}`,
      ),
    ).toEqual([
      'drop-constraint table:k1.p p_pkey',
      'drop-constraint table:k1.p2 p2_pkey',
      'add-constraint table:k1.p p_pkey',
    ]);
    expect(
      await rows(`select c.relname, i.indisvalid from pg_index i join pg_class c on c.oid = i.indexrelid
        where c.relnamespace = 'k1'::regnamespace order by 1`),
    ).toEqual([
      { relname: 'p1_own', indisvalid: true },
      { relname: 'p2_pkey', indisvalid: true },
      { relname: 'p_pkey', indisvalid: true },
    ]);
    // Built from nothing, the tree's keys keep their names: the parent's key is added after its partitions'.
    const { changes: made } = await converge(
      'k2',
      '',
      `create table k2.p (id int not null, k int not null) partition by range (k);
      create table k2.p1 partition of k2.p for values from (0) to (10);
      alter table k2.p1 add constraint p1_own primary key (id, k);
      alter table k2.p add primary key (id, k);
      create table k2.p2 partition of k2.p for values from (10) to (20);`,
    );
    const order = made.map((c) => `${c.kind} ${formatKey(changeObjectKey(c))}`);
    expect(order.indexOf('add-constraint table:k2.p')).toBeGreaterThan(order.indexOf('create-table table:k2.p1'));
    expect(
      await rows(
        `select conname from pg_constraint where connamespace = 'k2'::regnamespace and contype = 'p' order by 1`,
      ),
    ).toEqual([{ conname: 'p1_own' }, { conname: 'p2_pkey' }, { conname: 'p_pkey' }]);
  });

  test('a table with a serial column becomes a partition, in its schema and in another: its old sequence goes', async () => {
    await converge(
      's1',
      `create table s1.p (id int, k int not null) partition by range (k);
       create table s1.t (id serial, k int not null);`,
      `create table s1.p (id int, k int not null) partition by range (k);
       create table s1.t partition of s1.p for values from (0) to (10);`,
    );
    await converge(
      's2',
      `create schema s2p; create table s2p.p (id serial, k int not null) partition by range (k);
       create table s2.t (id serial, k int not null);`,
      `create schema s2p; create table s2p.p (id serial, k int not null) partition by range (k);
       create table s2.t partition of s2p.p for values from (0) to (10);`,
    );
    expect(
      await rows(`select relname from pg_class where relkind = 'S' and relnamespace = 's2'::regnamespace`),
    ).toEqual([]);
  });
});
