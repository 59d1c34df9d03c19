import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { catalog } from '../diff-property/harness';
import { applySteps, ENGINES, openScratch, type Scratch, convergeScratch } from './helpers';

/**
 * Issue 59: the plans that failed, each cause reduced to the smallest pair of schemas and converged in both directions
 * (A → B, then B → A on fresh schemas): the plan applies, the next diff is empty, the catalog read by independent
 * SQL equals the one built from B directly, and the plan's reverses, last first, give A's catalog back.
 */
describe.each(ENGINES)('diff correctness, third round [%s]', (engine) => {
  let live: Scratch;
  let desired: Scratch;
  let n = 0;

  beforeAll(async () => {
    [live, desired] = await Promise.all([openScratch(engine), openScratch(engine)]);
  });
  afterAll(async () => {
    await Promise.all([live, desired].filter(Boolean).map((s) => s.dispose()));
  });

  const one = async (a: string, b: string) => {
    const s = `r3_${++n}`;
    const result = await convergeScratch(live, desired, s, a.replaceAll('{s}', s), b.replaceAll('{s}', s));
    expect(await catalog(live.conn, s)).toEqual(await catalog(desired.conn, s));
    // The rollback: each step's reverse, last step first, gives A's catalog back (a plan that drops a table has no
    // reverse for that step: its rows are gone).
    if (result.steps.some((x) => x.reverse === null)) return { ...result, s };
    await applySteps(
      live.conn,
      [...result.steps].reverse().map((x) => ({ ...x, statements: x.reverse! })),
    );
    await desired.conn.execute(`drop schema ${s} cascade; create schema ${s}; ${a.replaceAll('{s}', s)}`);
    expect(await catalog(live.conn, s)).toEqual(await catalog(desired.conn, s));
    return { ...result, s };
  };
  const both = async (a: string, b: string) => {
    const forward = await one(a, b);
    const backward = await one(b, a);
    return { forward, backward };
  };

  test('a column moved to a new enum while its old enum is dropped', async () => {
    await both(
      "create type {s}.e1 as enum ('a', 'b'); create table {s}.t (c {s}.e1);",
      "create type {s}.e2 as enum ('a', 'b', 'c'); create table {s}.t (c {s}.e2);",
    );
    await both(
      "create type {s}.e1 as enum ('a', 'b'); create table {s}.t (c {s}.e1 default 'a', d {s}.e1[]);",
      "create type {s}.e2 as enum ('a', 'b', 'c'); create table {s}.t (c {s}.e2 default 'b', d {s}.e2[]);",
    );
  });
  test('a sequence OWNED BY a table the plan drops is released before the drop', async () => {
    await both('create table {s}.t (id int); create sequence {s}.q owned by {s}.t.id;', 'create sequence {s}.q;');
  });
  test('a sequence whose owner moves off a dropped table', async () => {
    await both(
      'create table {s}.t (id int); create table {s}.u (id int); create sequence {s}.q owned by {s}.t.id;',
      'create table {s}.u (id int); create sequence {s}.q owned by {s}.u.id;',
    );
  });
  test('partition indexes attached by hand (ON ONLY, ATTACH PARTITION) converge, and an invalid one is made as it is', async () => {
    const base =
      'create table {s}.t (k int not null, v int) partition by range (k); create table {s}.t1 partition of {s}.t for values from (0) to (10); create table {s}.t2 partition of {s}.t for values from (10) to (20);';
    await both(
      `${base} create index t_v on only {s}.t (v); create index t1_v on {s}.t1 (v);`,
      `${base} create index t_v on only {s}.t (v); create index t1_v on {s}.t1 (v); alter index {s}.t_v attach partition {s}.t1_v;`,
    );
    await both(base, `${base} create index t_v on only {s}.t (v);`);
    await both(
      `${base} create index t_v on {s}.t (v);`,
      `${base} create index t_v on only {s}.t (v); create index t1_v on {s}.t1 (v); alter index {s}.t_v attach partition {s}.t1_v;`,
    );
  });
  test('bigint to timestamp, which PostgreSQL does not cast, goes through the text form', async () => {
    await both('create table {s}.t (a bigint);', 'create table {s}.t (a timestamp);');
    await both('create table {s}.t (a bigint default 0);', 'create table {s}.t (a timestamp default now());');
  });
});
