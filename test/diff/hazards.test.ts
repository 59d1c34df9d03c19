import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Change } from '../../packages/core/src/schema';
import { diffModels } from '../support/pg-diff';
import { introspect } from '../../packages/postgres/src/introspect';
import { renderPlanSteps } from '../../packages/postgres/src/render';
import { applySteps, ENGINES, openScratch, type Scratch } from './helpers';

const LIVE = `
create schema h;
create table h.t (
  id bigint primary key,
  note text,
  descr text,
  code varchar(10),
  label varchar(10),
  amount bigint,
  price numeric(10,2),
  flag boolean
);
create view h.v as select id, note from h.t;
create function h.f(a integer) returns integer language sql immutable as 'select a';
create function h.g(a integer) returns integer language sql immutable as 'select a';
create view h.uses_g as select h.g(1) as x;
create table h.gone (id integer);
create table h.kept (id integer);
insert into h.t (id, note, descr, code, label, amount, price, flag) values (1, 'n', 'short', 'c', 'l', 1, 1.5, true);
`;

const DESIRED = `
create schema h;
create table h.t (
  id bigint primary key,
  descr varchar(10),
  code varchar(20),
  label text,
  amount integer,
  price numeric(12,2),
  flag boolean not null,
  created timestamptz default now(),
  token uuid default gen_random_uuid()
);
create index t_code_idx on h.t (code);
create view h.v as select id from h.t;
create function h.f(a bigint) returns integer language sql immutable as 'select a::integer';
create function h.g(a integer) returns integer language sql immutable as 'select a';
create view h.uses_g as select h.g(1) as x;
create table h.kept (id integer);
create table h.fresh (id integer primary key, other integer);
create index fresh_other_idx on h.fresh (other);
`;

/** `kind:detail` for a change, to name it in expectations. */
function label(c: Change): string {
  switch (c.kind) {
    case 'add-column':
    case 'drop-column':
      return `${c.kind}:${c.column.name}`;
    case 'alter-column-type':
    case 'alter-column-nullability':
    case 'alter-column-default':
      return `${c.kind}:${c.column}`;
    case 'create-index':
      return `${c.kind}:${c.index.key.name}`;
    case 'create-table':
    case 'drop-table':
      return `${c.kind}:${c.table.key.name}`;
    case 'drop-view':
    case 'create-view':
      return `${c.kind}:${c.view.key.name}`;
    case 'drop-routine':
    case 'create-routine':
      return `${c.kind}:${c.routine.key.name}(${c.routine.key.args?.join(',')})`;
    default:
      return c.kind;
  }
}

describe.each(ENGINES)('hazards on introspected schemas [%s]', (engine) => {
  let live: Scratch;
  let desired: Scratch;
  let hazards: Map<string, string[]>;

  beforeAll(async () => {
    [live, desired] = await Promise.all([openScratch(engine), openScratch(engine)]);
    await live.conn.execute(LIVE);
    await desired.conn.execute(DESIRED);
    const from = await introspect(live.conn, { schemas: ['h'] });
    const to = await introspect(desired.conn, { schemas: ['h'] });
    const changes = diffModels(from, to);
    const steps = renderPlanSteps(changes, { from, to });
    hazards = new Map(changes.map((c, i) => [label(c), steps[i]!.hazards.map((h) => h.kind).sort()]));
    // The plan is also applicable: the one row survives every conversion.
    await applySteps(live.conn, steps);
    expect(diffModels(await introspect(live.conn, { schemas: ['h'] }), to)).toEqual([]);
  });

  afterAll(async () => {
    await Promise.all([live, desired].filter(Boolean).map((s) => s.dispose()));
  });

  test('drops of tables and columns lose data; a column a view reads is also a compatibility break', () => {
    expect(hazards.get('drop-table:gone')).toEqual(['data-loss']);
    expect(hazards.get('drop-column:note')).toEqual(['backward-incompatible', 'data-loss']);
  });

  test('narrowing type changes lose data and rewrite; widening ones are safe', () => {
    expect(hazards.get('alter-column-type:descr')).toEqual(['data-loss', 'table-rewrite']); // text -> varchar(10)
    expect(hazards.get('alter-column-type:amount')).toEqual(['data-loss', 'table-rewrite']); // bigint -> integer
    expect(hazards.get('alter-column-type:code')).toEqual([]); // varchar(10) -> varchar(20)
    expect(hazards.get('alter-column-type:label')).toEqual([]); // varchar(10) -> text
    expect(hazards.get('alter-column-type:price')).toEqual([]); // numeric(10,2) -> numeric(12,2)
  });

  test('a volatile default rewrites the table, a stable one does not', () => {
    expect(hazards.get('add-column:token')).toEqual(['table-rewrite']);
    expect(hazards.get('add-column:created')).toEqual([]);
  });

  test('SET NOT NULL and index builds on existing tables hold locks; on new tables nothing is flagged', () => {
    expect(hazards.get('alter-column-nullability:flag')).toEqual(['long-lock']);
    expect(hazards.get('create-index:t_code_idx')).toEqual(['index-build', 'long-lock']);
    expect(hazards.get('create-index:fresh_other_idx')).toEqual([]);
    expect(hazards.get('create-table:fresh')).toEqual([]);
  });

  test('a changed function signature and a view losing a column are backward-incompatible', () => {
    expect(hazards.get('drop-routine:f(integer)')).toEqual(['backward-incompatible']);
    expect(hazards.get('create-routine:f(bigint)')).toEqual([]);
    expect(hazards.get('drop-view:v')).toEqual(['backward-incompatible']);
  });
});
