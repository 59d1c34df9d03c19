import type { ParsedStatement } from '@dbee/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { removeConstraints } from './foreign-keys';
import { loadPostgresParser, parseSql } from './libpg';
import { PostgresParser } from './postgres-parser';

const parser = new PostgresParser();

async function table(sql: string): Promise<ParsedStatement> {
  const [statement] = await parser.parse(sql, 'db/t.sql', { searchPath: ['app'] });
  return statement!;
}

/** The statement parses, as exactly one CREATE TABLE. */
function reparses(sql: string): void {
  const stmts = parseSql(sql).stmts ?? [];
  expect(stmts).toHaveLength(1);
  expect(Object.keys(stmts[0]!.stmt!)).toEqual(['CreateStmt']);
}

beforeAll(() => loadPostgresParser());

describe('deferrable foreign keys', () => {
  const create = [
    'create table sales.lines (',
    '  id int primary key,',
    '  order_id int not null references sales.orders (id) on delete cascade,',
    '  product_id int,',
    '  constraint lines_product_fk foreign key (product_id) references catalog.products (id) deferrable initially deferred',
    ')',
  ].join('\n');

  it('splits out table-level and column-level foreign keys, keeping the rest as written', async () => {
    const s = await table(create);
    expect(s.deferrable).toHaveLength(2);
    const [column, tableLevel] = s.deferrable!;
    expect(column!.target).toMatchObject({
      kind: 'relation',
      schema: 'sales',
      name: 'orders',
      foreignKey: true,
      via: 'foreign key',
    });
    expect(column!.addStatement).toBe(
      'ALTER TABLE sales.lines ADD CONSTRAINT lines_order_id_fkey FOREIGN KEY (order_id) references sales.orders (id) on delete cascade',
    );
    expect(column!.statementWithout).toBe(create.replace(' references sales.orders (id) on delete cascade', ''));
    expect(tableLevel!.target).toMatchObject({
      kind: 'relation',
      schema: 'catalog',
      name: 'products',
      foreignKey: true,
    });
    expect(tableLevel!.addStatement).toBe(
      'ALTER TABLE sales.lines ADD CONSTRAINT lines_product_fk foreign key (product_id) references catalog.products (id) deferrable initially deferred',
    );
    expect(tableLevel!.statementWithout).toBe(
      create.replace(
        ',\n  constraint lines_product_fk foreign key (product_id) references catalog.products (id) deferrable initially deferred',
        '',
      ),
    );
    for (const d of s.deferrable!) reparses(d.statementWithout);
  });

  it('keeps the constraint attributes of a column foreign key with it, and the other constraints in place', async () => {
    const s = await table('create table t (a int references u not deferrable collate "C" not null default 1, b int)');
    expect(s.deferrable!.map((d) => [d.addStatement, d.statementWithout])).toEqual([
      [
        'ALTER TABLE app.t ADD CONSTRAINT t_a_fkey FOREIGN KEY (a) references u not deferrable',
        'create table t (a int collate "C" not null default 1, b int)',
      ],
    ]);
  });

  it('names unnamed foreign keys as PostgreSQL does, also when names collide', async () => {
    const s = await table(
      'create table "Order" (a int, b int, foreign key (a, b) references x, foreign key (a, b) references y, constraint "Order_a_fkey" check (a > 0), a2 int references z)',
    );
    expect(s.deferrable!.map((d) => /ADD CONSTRAINT (\S+)/.exec(d.addStatement)![1])).toEqual([
      '"Order_a_b_fkey"',
      '"Order_a_b_fkey1"',
      '"Order_a2_fkey"',
    ]);
    expect(s.deferrable![0]!.addStatement.startsWith('ALTER TABLE app."Order" ADD')).toBe(true);
  });

  it('removes a first, a last and an only element with the right comma', async () => {
    const first = await table('create table t (foreign key (a) references u, a int)');
    expect(first.deferrable![0]!.statementWithout).toBe('create table t (a int)');
    const only = await table('create table t (constraint f foreign key (a) references u)');
    expect(only.deferrable![0]!.statementWithout).toBe('create table t ()');
    reparses(only.deferrable![0]!.statementWithout);
  });

  it('keeps comments and text outside the constraint byte for byte, with multi-byte characters', async () => {
    const sql = "create table t ( -- é\n  a int /* ü */ references u, -- the order\n  b text default 'ç'\n)";
    const s = await table(sql);
    expect(s.deferrable![0]!.statementWithout).toBe(
      "create table t ( -- é\n  a int, -- the order\n  b text default 'ç'\n)",
    );
  });
});

describe('removeConstraints', () => {
  const create =
    'create table s.t (\n  a int references s.x,\n  constraint f1 foreign key (a) references s.y,\n  constraint f2 foreign key (a) references s.z,\n  b int,\n  constraint f3 foreign key (b) references s.w\n)';

  it('removes several foreign keys at once', async () => {
    const s = await table(create);
    const out = removeConstraints(create, s.deferrable!);
    expect(out).toBe('create table s.t (\n  a int,\n  b int\n)');
    reparses(out);
  });

  it('accepts names, and keeps commas right when the first elements go', () => {
    const sql =
      'create table s.t (constraint f1 foreign key (a) references s.y, constraint f2 foreign key (a) references s.z, a int, b int references s.q)';
    expect(removeConstraints(sql, ['f1', 'f2'])).toBe('create table s.t (a int, b int references s.q)');
    expect(removeConstraints(sql, ['f2', 't_b_fkey'])).toBe(
      'create table s.t (constraint f1 foreign key (a) references s.y, a int, b int)',
    );
    expect(removeConstraints(sql, ['f1', 'f2', 't_b_fkey'])).toBe('create table s.t (a int, b int)');
    expect(() => removeConstraints(sql, ['nope'])).toThrow(/no foreign key named nope/);
  });

  it('is what PostgresParser.removeConstraints does', async () => {
    const s = await table(create);
    expect(parser.removeConstraints(create, s.deferrable!.slice(1, 3))).toBe(
      'create table s.t (\n  a int references s.x,\n  b int,\n  constraint f3 foreign key (b) references s.w\n)',
    );
  });
});
