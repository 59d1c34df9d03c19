import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { SchemaModel } from '../../packages/core/src/schema';
import { diffModels } from '../support/pg-diff';
import { fingerprint, introspect, INTROSPECT_QUERY_COUNT } from '../../packages/postgres/src/introspect';
import { renderPlanSteps } from '../../packages/postgres/src/render';
import { applySteps, counting, CREATE_READER_ROLE, ENGINES, openScratch, type Scratch } from './helpers';

/** About 1,400 objects: tables chained by foreign keys, each with checks, an index, a view, a function, a trigger. */
function largeSchema(tables: number): string {
  const out = [
    CREATE_READER_ROLE,
    'create schema big;',
    `create function big.touch() returns trigger language plpgsql as $$ begin return new; end $$;`,
  ];
  for (let i = 0; i < tables; i++) {
    out.push(
      `create table big.t${i} (id bigint generated always as identity primary key, ref bigint ${i > 0 ? `references big.t${i - 1}(id)` : ''},
         label text not null default 'x' check (label <> ''), amount numeric(12,2), at timestamptz default now());`,
      `create index t${i}_label_idx on big.t${i} (label) where amount is not null;`,
      `create view big.v${i} as select id, label from big.t${i};`,
      `create function big.f${i}(a integer) returns integer language sql immutable as $$ select a + ${i} $$;`,
      `create trigger t${i}_touch before update on big.t${i} for each row execute function big.touch();`,
      `comment on table big.t${i} is 'table ${i}';`,
      `grant select on big.v${i} to dbee_t_reader;`,
    );
  }
  return out.join('\n');
}

describe.each(ENGINES)('a schema of about 1,400 objects [%s]', (engine) => {
  const scope = { schemas: ['big'] };
  let source: Scratch;
  let target: Scratch;
  let model: SchemaModel;

  beforeAll(async () => {
    [source, target] = await Promise.all([openScratch(engine), openScratch(engine)]);
    await source.conn.execute(largeSchema(170));
    await target.conn.execute(CREATE_READER_ROLE);
    const conn = counting(source.conn);
    model = await introspect(conn, scope);
    expect(conn.queries).toBe(INTROSPECT_QUERY_COUNT);
  });

  afterAll(async () => {
    await Promise.all([source, target].filter(Boolean).map((s) => s.dispose()));
  });

  test('is read in full with the fixed number of queries', () => {
    expect(model.tables).toHaveLength(170);
    expect(model.views).toHaveLength(170);
    expect(model.routines).toHaveLength(171);
    expect(model.triggers).toHaveLength(170);
    expect(model.indexes).toHaveLength(170);
    expect(model.tables.reduce((n, t) => n + t.constraints.length, 0)).toBe(170 * 3 - 1);
  });

  test('is created in an empty database from its diff, after which the diff is empty and the fingerprint stable', async () => {
    const empty = await introspect(target.conn, scope);
    const changes = diffModels(empty, model);
    await applySteps(target.conn, renderPlanSteps(changes, { from: empty, to: model }));
    expect(diffModels(await introspect(target.conn, scope), model)).toEqual([]);
    expect(await fingerprint(target.conn, scope)).toBe(await fingerprint(target.conn, scope));
  });
});
