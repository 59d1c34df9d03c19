import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { formatKey } from '../../packages/core/src/model/object-key';
import { changeObjectKey } from '../../packages/core/src/schema';
import { catalog } from '../diff-property/harness';
import { CREATE_READER_ROLE, ENGINES, openScratch, type Scratch, convergeScratch } from './helpers';

/**
 * Issue #15: a change to a table's partitioning (key, strategy, bounds, partitioned or not) is planned by
 * re-creating the partition tree through a copy: the old tables renamed aside, the new ones created, the rows
 * copied where they fit, the old tables dropped; indexes, constraints, dependents and grants come back.
 */
describe.each(ENGINES)('partitioning changes re-create the table through a copy [%s]', (engine) => {
  let live: Scratch;
  let desired: Scratch;

  beforeAll(async () => {
    [live, desired] = await Promise.all([openScratch(engine), openScratch(engine)]);
    await live.conn.execute(CREATE_READER_ROLE);
    await desired.conn.execute(CREATE_READER_ROLE);
  });

  afterAll(async () => {
    await Promise.all([live, desired].filter(Boolean).map((s) => s.dispose()));
  });

  /** Apply the plan, re-read: the next diff is empty and the catalog equals the desired one, read independently. */
  async function converge(schema: string, liveSql: string, desiredSql: string, rowsSql = '') {
    const r = await convergeScratch(live, desired, schema, `${liveSql}\n${rowsSql}`, desiredSql);
    expect(await catalog(live.conn, schema)).toEqual(await catalog(desired.conn, schema));
    return r;
  }
  const rows = async (sql: string) => (await live.conn.query(sql)).rows;

  test('range -> list with a default partition: rows, serial and identity positions, indexes, views, foreign keys and grants come back', async () => {
    const common = `
      create index pt_v on p1.pt (v);
      create view p1.vv as select id, v from p1.pt;
      grant select on p1.pt to dbee_t_reader;
      comment on table p1.pt is 'kept';
      create table p1.r (id int, k int, constraint r_fk foreign key (id, k) references p1.pt (id, k));`;
    const { changes, steps } = await converge(
      'p1',
      `create table p1.pt (id serial, k int not null, v text default 'x', g int generated always as identity, primary key (id, k)) partition by range (k);
       create table p1.pt_1 partition of p1.pt for values from (0) to (100);
       create table p1.pt_2 partition of p1.pt for values from (100) to (200);
       ${common}`,
      `create table p1.pt (id serial, k int not null, v text default 'x', g int generated always as identity, primary key (id, k)) partition by list (k);
       create table p1.pt_1 partition of p1.pt for values in (1, 2, 3);
       create table p1.pt_d partition of p1.pt default;
       ${common}`,
      `insert into p1.pt (k, v) select g, 'r' || g from generate_series(1, 150) g;
       delete from p1.pt where k > 140;
       insert into p1.r select id, k from p1.pt where k < 5;`,
    );
    const kinds = changes.map((c) => `${c.kind} ${formatKey(changeObjectKey(c))}`);
    expect(kinds).toContain('copy-rows table:p1.pt');
    // The old root carries the hazards: a rewrite, and rows that could fit no partition.
    const rootStep = steps.find((s) => s.key === 'table:p1.pt' && s.action === 'drop')!;
    expect(rootStep.hazards.map((h) => h.kind).sort()).toEqual(['data-loss', 'table-rewrite']);
    expect(
      await rows(
        `select count(*)::int as n, count(*) filter (where tableoid = 'p1.pt_1'::regclass)::int as first from p1.pt`,
      ),
    ).toEqual([{ n: 140, first: 3 }]);
    expect(await rows(`select count(*)::int as n from p1.r`)).toEqual([{ n: 4 }]);
    await live.conn.execute(`insert into p1.pt (k) values (2)`);
    // Serial and identity go on after the 150 numbers handed out before (rows 141..150 were deleted).
    expect(await rows(`select id, g from p1.pt where v = 'x'`)).toEqual([{ id: 151, g: 151 }]);
    expect(
      await rows(
        `select has_table_privilege('dbee_t_reader', 'p1.pt', 'SELECT') as ok, obj_description('p1.pt'::regclass) as c`,
      ),
    ).toEqual([{ ok: true, c: 'kept' }]);
    expect(await rows(`select count(*)::int as n from pg_class where relname like '%dbee%'`)).toEqual([{ n: 0 }]);
  });

  test('rows that fit no partition of the new table are not copied; a regular table becomes partitioned and back', async () => {
    await converge(
      'p2',
      `create table p2.t (k int not null, v text) partition by range (k);
       create table p2.t_a partition of p2.t for values from (0) to (1000);
       create table p2.plain (k int primary key, v text);`,
      `create table p2.t (k int not null, v text) partition by range (k);
       create table p2.t_a partition of p2.t for values from (0) to (10);
       create table p2.plain (k int primary key, v text) partition by hash (k);
       create table p2.plain_0 partition of p2.plain for values with (modulus 2, remainder 0);
       create table p2.plain_1 partition of p2.plain for values with (modulus 2, remainder 1);`,
      `insert into p2.t select g, 'v' from generate_series(1, 20) g; insert into p2.plain select g, 'v' from generate_series(1, 5) g;`,
    );
    expect(await rows(`select count(*)::int as n from p2.t`)).toEqual([{ n: 9 }]);
    expect(await rows(`select count(*)::int as n from p2.plain`)).toEqual([{ n: 5 }]);
    await converge(
      'p3',
      `create table p3.t (k int not null, v text) partition by range (k);
       create table p3.t_a partition of p3.t for values from (0) to (1000);`,
      `create table p3.t (k int not null, v text);`,
      `insert into p3.t select g, 'v' from generate_series(1, 20) g;`,
    );
    expect(await rows(`select count(*)::int as n from p3.t`)).toEqual([{ n: 20 }]);
  });

  test('a changed bound of one partition re-creates the tree; a new partition alone is only created', async () => {
    const { changes } = await converge(
      'p4',
      `create table p4.t (k int not null, v text) partition by range (k);
       create table p4.t_a partition of p4.t for values from (0) to (10);
       create table p4.t_b partition of p4.t for values from (10) to (20);`,
      `create table p4.t (k int not null, v text) partition by range (k);
       create table p4.t_a partition of p4.t for values from (0) to (15);
       create table p4.t_b partition of p4.t for values from (15) to (30);`,
      `insert into p4.t select g, 'v' from generate_series(0, 19) g;`,
    );
    expect(changes.filter((c) => c.kind === 'copy-rows')).toHaveLength(1);
    expect(
      await rows(
        `select count(*)::int as n, count(*) filter (where tableoid = 'p4.t_a'::regclass)::int as a from p4.t`,
      ),
    ).toEqual([{ n: 20, a: 15 }]);
    const added = await converge(
      'p5',
      `create table p5.t (k int not null) partition by range (k); create table p5.t_a partition of p5.t for values from (0) to (10);`,
      `create table p5.t (k int not null) partition by range (k); create table p5.t_a partition of p5.t for values from (0) to (10);
       create table p5.t_b partition of p5.t for values from (10) to (20);`,
    );
    expect(added.changes.map((c) => c.kind)).toEqual(['create-table']);
  });

  test("a partition's own index attached under its name keeps it (not a name PostgreSQL makes up)", async () => {
    const tree = `
      create table p7.p (a int, b int) partition by range (a);
      create table p7.p1 partition of p7.p for values from (0) to (10);
      create table p7.p2 partition of p7.p for values from (10) to (20);`;
    const { changes } = await converge(
      'p7',
      tree,
      `${tree}
      create index p1_local on p7.p1 (a);
      create index p_a on p7.p (a);`,
    );
    expect(changes.map((c) => `${c.kind} ${formatKey(changeObjectKey(c))}`)).toEqual([
      'create-index index:p7.p1_local@p7.p1',
      'create-index index:p7.p_a@p7.p',
    ]);
    const attached = await rows(`select c.relname from pg_inherits h join pg_class c on c.oid = h.inhrelid
      where h.inhparent = 'p7.p_a'::regclass order by 1`);
    expect(attached.map((r) => r.relname)).toEqual(['p1_local', 'p2_a_idx']);
  });

  test('partition trees whose foreign keys reference each other (a cycle) become plain tables, rows kept', async () => {
    // Issue #72 point 8: the old tables renamed aside still referenced each other, so the first one dropped after its
    // copy failed ("cannot drop table a__dbee_old because other objects depend on it"). The keys between old tables go
    // first now; the new tables get theirs after both copies.
    const keys = `
      create index a_b on p8.a (b_id);
      alter table p8.a add constraint a_b_fk foreign key (b_id, b_k) references p8.b (id, k);
      alter table p8.b add constraint b_a_fk foreign key (a_id, a_k) references p8.a (id, k);`;
    await converge(
      'p8',
      `create table p8.a (id int not null, k int not null, b_id int, b_k int, primary key (id, k)) partition by range (k);
       create table p8.a_1 partition of p8.a for values from (0) to (100);
       create table p8.a_2 partition of p8.a for values from (100) to (200);
       create table p8.b (id int not null, k int not null, a_id int, a_k int, primary key (id, k)) partition by range (k);
       create table p8.b_1 partition of p8.b for values from (0) to (100);
       ${keys}`,
      `create table p8.a (id int not null, k int not null, b_id int, b_k int, primary key (id, k));
       create table p8.b (id int not null, k int not null, a_id int, a_k int, primary key (id, k));
       ${keys}`,
      `insert into p8.a values (1, 5, null, null), (2, 150, null, null);
       insert into p8.b values (1, 5, 1, 5);
       update p8.a set b_id = 1, b_k = 5;`,
    );
    expect(await rows(`select id, k, b_id from p8.a order by id`)).toEqual([
      { id: 1, k: 5, b_id: 1 },
      { id: 2, k: 150, b_id: 1 },
    ]);
    expect(await rows(`select count(*)::int as n from pg_class where relname like '%dbee_old%'`)).toEqual([{ n: 0 }]);
  });
});
