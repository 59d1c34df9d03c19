import { describe, expect, it } from 'vitest';
import type { RelationName } from '@dbee/core';
import { readQueryLineage } from './query-lineage';

const COLUMNS: Record<string, string[]> = {
  'raw.orders': ['id', 'customer', 'subtotal', 'tax'],
  'raw.items': ['id', 'order_id', 'sku'],
};
const columnsOf = (r: RelationName) => COLUMNS[`${r.schema ?? 'raw'}.${r.name}`] ?? null;

/** What a query reads, as `schema.table.column` lines, `schema.table.*` lines and unknown reasons. */
async function reads(sql: string) {
  const l = await readQueryLineage(sql, columnsOf);
  return {
    columns: [...new Set(l.columns.map((c) => `${c.relation.schema}.${c.relation.name}.${c.column}`))].sort(),
    stars: [...new Set(l.stars.map((s) => `${s.relation.schema}.${s.relation.name}.*`))].sort(),
    unknown: l.unknown.map((u) => u.reason),
  };
}

describe('query lineage through a `*` of a CTE or a subquery (dbt staging models)', () => {
  it("dbt's staging pattern reads the columns the renaming CTE names, not every column", async () => {
    const sql = `with source as (select * from "db"."raw"."orders"),
      renamed as (select id as order_id, customer as customer_id, (subtotal / 100)::numeric(16, 2) as subtotal from source)
      select * from renamed`;
    expect(await reads(sql)).toEqual({
      columns: ['raw.orders.customer', 'raw.orders.id', 'raw.orders.subtotal'],
      stars: [],
      unknown: [],
    });
  });

  it('a `*` of the output over such a CTE reads every column of the relation', async () => {
    expect(await reads('with source as (select * from raw.orders) select * from source')).toEqual({
      columns: [],
      stars: ['raw.orders.*'],
      unknown: [],
    });
  });

  it('follows a chain of CTEs, a FROM subquery, a qualified `t.*`, a join and a set operation', async () => {
    const sql = `with a as (select * from raw.orders), b as (select a.* from a join raw.items i on i.order_id = a.id),
      c as (select * from b union all select * from (select * from raw.orders) s)
      select c.tax, x.subtotal from c, (select * from a) x where c.customer = 'x'`;
    expect(await reads(sql)).toEqual({
      columns: ['raw.items.order_id', 'raw.orders.customer', 'raw.orders.id', 'raw.orders.subtotal', 'raw.orders.tax'],
      stars: [],
      unknown: [],
    });
  });

  it('an unused column of a CTE is not read; a column the CTE lacks is unknown; an EXISTS subquery still reads `*`', async () => {
    expect(await reads('with s as (select * from raw.orders) select id from s')).toEqual({
      columns: ['raw.orders.id'],
      stars: [],
      unknown: [],
    });
    expect((await reads('with s as (select * from raw.orders) select nope from s')).unknown).toEqual([
      'column nope is in no relation the check knows',
    ]);
    expect((await reads('select 1 where exists (select * from raw.items)')).stars).toEqual(['raw.items.*']);
  });

  it('a `*` over a relation of unknown columns is read whole where it is', async () => {
    expect(await reads('with s as (select * from other.t) select a from s')).toEqual({
      columns: [],
      stars: ['other.t.*'],
      unknown: [],
    });
  });
});
