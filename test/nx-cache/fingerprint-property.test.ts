import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fingerprint, fingerprints, introspect } from '../../packages/postgres/src/introspect';
import { PgliteConnection } from '../../packages/postgres/src/connection/pglite-connection';
import { ENGINES, openScratch, type Scratch } from '../diff/helpers';

/**
 * Property: the live fingerprint separates schemas. Drifts are generated from one base schema (a seeded random
 * sequence of one to three changes each: columns added, dropped, retyped, defaulted, made NOT NULL, indexes,
 * checks, views, functions, comments, grants, enum values); every drift is applied to the same base in one
 * database, and two drifts whose schemas differ (as dbee's own introspection reads them) must never share a
 * fingerprint, while a repeated drift must give the same one.
 */

const BASE = `
  create schema drift;
  create type drift.status as enum ('new', 'done');
  create table drift.orders (id bigint primary key, status drift.status not null default 'new', note text, amount numeric(10,2));
  create table drift.lines (order_id bigint references drift.orders, qty integer);
  create view drift.totals as select id, amount from drift.orders;
  create function drift.double(a integer) returns integer language sql immutable as $$ select a * 2 $$;
`;

/** Building blocks of a drift: each takes a random source and returns one statement. */
const CHANGES: Array<(pick: <T>(xs: readonly T[]) => T) => string> = [
  (pick) =>
    `alter table drift.${pick(['orders', 'lines'])} add column ${pick(['hotfix', 'legacy_flag', 'extra'])} ${pick(['integer', 'boolean', 'text', 'numeric(12,2)'])}`,
  (pick) => `alter table drift.orders drop column ${pick(['note', 'amount'])} cascade`,
  (pick) => `alter table drift.orders alter column note type ${pick(['varchar(40)', 'varchar(80)', 'char(10)'])}`,
  (pick) => `alter table drift.orders alter column note set default ${pick(["'a'", "'b'", "''"])}`,
  () => `alter table drift.lines alter column qty set not null`,
  (pick) =>
    `create index ${pick(['lines_qty_idx', 'lines_q_idx'])} on drift.lines (${pick(['qty', 'order_id', 'qty desc'])})`,
  (pick) => `alter table drift.lines add constraint qty_positive check (qty ${pick(['> 0', '>= 0', '< 1000'])})`,
  (pick) =>
    `create or replace view drift.totals as select id, amount from drift.orders where ${pick(['id > 0', 'id > 1', 'amount is not null'])}`,
  (pick) =>
    `create or replace function drift.double(a integer) returns integer language sql immutable as $$ select a * ${pick(['3', '4', '2 + 0'])} $$`,
  (pick) => `comment on table drift.orders is '${pick(['x', 'y', 'orders'])}'`,
  (pick) => `grant ${pick(['select', 'insert', 'update'])} on drift.orders to public`,
  (pick) => `alter type drift.status add value '${pick(['cancelled', 'refunded'])}'`,
];

/** A small deterministic PRNG (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function drifts(count: number, seed: number): string[][] {
  const next = random(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const out: string[][] = [];
  for (let i = 0; i < count; i++) {
    const n = 1 + Math.floor(next() * 3);
    const changes = new Set<string>();
    for (let j = 0; j < n; j++) changes.add(pick(CHANGES)(pick));
    out.push([...changes]);
  }
  return out;
}

describe.each(ENGINES)('live fingerprint over generated drifts [%s]', (engine) => {
  let db: Scratch;
  const SCOPE = { schemas: ['drift'] };

  beforeAll(async () => {
    db = await openScratch(engine);
  });
  afterAll(async () => {
    await db?.dispose();
  });

  /** Apply BASE plus `drift` to a fresh schema; the schema as dbee reads it, and its fingerprint. */
  async function state(drift: readonly string[]): Promise<{ model: string; fingerprint: string } | null> {
    await db.conn.execute('drop schema if exists drift cascade');
    await db.conn.execute(BASE);
    try {
      for (const sql of drift) await db.conn.execute(sql);
    } catch {
      return null; // a combination the server refuses (a dropped column used later): not a schema
    }
    const model = await introspect(db.conn, SCOPE);
    return { model: JSON.stringify(model), fingerprint: await fingerprint(db.conn, SCOPE) };
  }

  test('different schemas never share a fingerprint; the same schema always gives the same one', async () => {
    const byFingerprint = new Map<string, Set<string>>();
    const byModel = new Map<string, Set<string>>();
    const cases = [[], ...drifts(60, 19), ...drifts(5, 19)]; // the last five repeat the first five drifts
    let applied = 0;
    for (const drift of cases) {
      const s = await state(drift);
      if (!s) continue;
      applied++;
      (byFingerprint.get(s.fingerprint) ?? byFingerprint.set(s.fingerprint, new Set()).get(s.fingerprint)!).add(
        s.model,
      );
      (byModel.get(s.model) ?? byModel.set(s.model, new Set()).get(s.model)!).add(s.fingerprint);
    }

    expect(applied).toBeGreaterThan(50);
    // Many distinct schemas were produced, so the property is not vacuous.
    expect(byModel.size).toBeGreaterThan(30);
    const shared = [...byFingerprint].filter(([, models]) => models.size > 1);
    expect(shared.map(([fp]) => fp)).toEqual([]);
    const unstable = [...byModel].filter(([, fps]) => fps.size > 1);
    expect(unstable.length).toBe(0);
  });

  test('two databases with the same definitions have different fingerprints', async () => {
    // Two independently created databases: on PGlite an initdb of its own (openScratch copies one initialised folder,
    // and a copy is a clone of that cluster, with its system identifier).
    const other: Scratch =
      engine === 'pglite'
        ? await PgliteConnection.open(null, 'pglite:memory').then((conn) => ({ conn, dispose: () => conn.close() }))
        : await openScratch(engine);
    try {
      await db.conn.execute('drop schema if exists drift cascade');
      await db.conn.execute(BASE);
      await other.conn.execute(BASE);
      const [a, b] = [await fingerprint(db.conn, SCOPE), await fingerprint(other.conn, SCOPE)];
      // Same definitions: the part after the database's identity is equal.
      expect(a.split(':').slice(2)).toEqual(b.split(':').slice(2));
      expect(a).not.toBe(b);
    } finally {
      await other.dispose();
    }
  });

  test('the fingerprints of many scopes, read in one query, equal the fingerprint of each scope alone', async () => {
    await db.conn.execute(
      'drop schema if exists drift cascade; drop schema if exists drift2 cascade; drop schema if exists empty cascade',
    );
    await db.conn.execute(BASE);
    await db.conn.execute(
      BASE.replaceAll('drift.', 'drift2.').replace('create schema drift;', 'create schema drift2;'),
    );
    await db.conn.execute(
      `create schema empty; grant usage on schema drift2 to public; comment on table drift2.orders is 'x'`,
    );
    const scopes = [
      { schemas: ['drift'] },
      { schemas: ['drift2'] },
      { schemas: ['drift', 'drift2'] },
      { schemas: ['empty'] },
      { schemas: ['no_such_schema'] },
      { schemas: ['drift2'], manage: { grantees: [], owners: false, comments: false, ignore: [] } },
      { schemas: ['drift2'], manage: { grantees: [], owners: false, comments: false, ignore: ['^view:drift2\\.'] } },
      { schemas: ['drift'], manage: { grantees: ['PUBLIC'], owners: true, comments: true, ignore: ['^function:'] } },
    ];
    const each = [];
    for (const scope of scopes) each.push(await fingerprint(db.conn, scope));
    expect(await fingerprints(db.conn, scopes)).toEqual(each);
    // The scopes are told apart: equal only where the definitions read are equal (drift and drift2 differ in name).
    expect(new Set(each).size).toBe(each.length);
  });
});
