import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import type { Connection } from '../../packages/core/src';
import { formatKey } from '../../packages/core/src/model/object-key';
import { changeObjectKey, emptyModel, type Change } from '../../packages/core/src/schema';
import { diffModels } from '../support/pg-diff';
import type { Extension, SchemaModel } from '../../packages/core/src/schema';
import { introspect } from '../../packages/postgres/src/introspect';
import { pgliteTemplate } from '../../packages/postgres/src/connection/pglite-template';
import { renderPlanSteps } from '../../packages/postgres/src/render';
import { applySteps, openScratch, type Scratch } from './helpers';

const summary = (changes: Change[]) => changes.map((c) => `${c.kind} ${formatKey(changeObjectKey(c))}`);

// dbee's embedded connection loads no contrib extension: on PGlite, the test opens one with hstore loaded.
describe('extension version going back', () => {
  const ext = (version: string): Extension => ({
    key: { kind: 'extension', schema: 'public', name: 'hstore' },
    version,
    dependsOn: [],
    attrs: {},
  });
  const model = (version: string, used: boolean): SchemaModel => {
    const m = emptyModel();
    m.extensions.push(ext(version));
    if (used) {
      m.tables.push({
        key: { kind: 'table', schema: 'public', name: 't' },
        columns: [
          {
            name: 'h',
            type: 'public.hstore',
            default: null,
            identity: null,
            generated: null,
            collation: null,
            notNull: false,
            position: 1,
            dependsOn: [ext(version).key],
            attrs: {},
          },
        ],
        constraints: [],
        dependsOn: [],
        attrs: {},
      });
    }
    return m;
  };

  test('an extension nothing uses is dropped and created at the older version; one in use is refused with what to do', () => {
    expect(summary(diffModels(model('1.8', false), model('1.6', false)))).toEqual([
      'drop-extension extension:public.hstore',
      'create-extension extension:public.hstore',
    ]);
    expect(summary(diffModels(model('1.6', false), model('1.10', false)))).toEqual([
      'alter-extension-version extension:public.hstore',
    ]);
    const inUse = diffModels(model('1.8', true), model('1.6', true));
    expect(() => renderPlanSteps(inUse, { from: model('1.8', true), to: model('1.6', true) })).toThrow(
      /cannot take extension hstore back from version 1\.8 to 1\.6/,
    );
  });
});

describe('extension version going back [postgres]', () => {
  let live: Scratch;
  let desired: Scratch;
  beforeAll(async () => {
    [live, desired] = await Promise.all([openScratch('postgres'), openScratch('postgres')]);
  });
  afterAll(async () => {
    await Promise.all([live, desired].filter(Boolean).map((s) => s.dispose()));
  });

  test('hstore 1.8 -> 1.6 with nothing using it converges', async () => {
    await live.conn.execute(`create schema e1; create extension hstore schema e1 version '1.8'`);
    await desired.conn.execute(`create schema e1; create extension hstore schema e1 version '1.6'`);
    const scope = { schemas: ['e1'] };
    const from = await introspect(live.conn, scope);
    const to = await introspect(desired.conn, scope);
    const changes = diffModels(from, to);
    await applySteps(live.conn, renderPlanSteps(changes, { from, to }));
    expect((await live.conn.query(`select extversion from pg_extension where extname = 'hstore'`)).rows).toEqual([
      { extversion: '1.6' },
    ]);
    expect(diffModels(await introspect(live.conn, scope), to)).toEqual([]);
    // A column of the extension's type is a use: going back is refused instead of a DROP EXTENSION that would fail.
    await live.conn.execute(`alter extension hstore update to '1.8'; create table e1.t (h e1.hstore)`);
    await desired.conn.execute(`create table e1.t (h e1.hstore)`);
    const used = await introspect(live.conn, scope);
    expect(() => renderPlanSteps(diffModels(used, to), { from: used, to })).toThrow(
      /cannot take extension hstore back from version 1\.8 to 1\.6/,
    );
  });
});

/** An in-memory PGlite with the hstore contrib extension loaded, as a dbee Connection (for this test only). */
async function pgliteWithHstore(): Promise<Connection> {
  // A subpath export, which this workspace's module resolution does not type: loaded by name.
  const contrib = '@electric-sql/pglite/contrib/hstore';
  const { hstore } = (await import(contrib)) as { hstore: never };
  // Started from the run's template, as dbee starts a shadow, not by PGlite's own initdb (2-3 s of CPU each).
  const db = new PGlite({ extensions: { hstore }, loadDataDir: await pgliteTemplate(inject('pgliteTemplateRoot')) });
  await db.waitReady;
  const conn: Connection = {
    description: 'pglite:hstore',
    query: async (sql, params) => {
      const r = await db.query<never>(sql, params);
      return {
        rows: r.rows,
        rowCount: r.affectedRows ?? 0,
        fields: r.fields.map((f) => ({ name: f.name, typeId: f.dataTypeID })),
      };
    },
    execute: async (sql) => {
      await db.exec(sql);
    },
    transaction: async (fn) => {
      await db.exec('BEGIN');
      try {
        const out = await fn(conn);
        await db.exec('COMMIT');
        return out;
      } catch (e) {
        await db.exec('ROLLBACK');
        throw e;
      }
    },
    close: () => db.close(),
  };
  return conn;
}

describe('extension version going back [pglite]', () => {
  let live: Connection;
  let desired: Connection;
  beforeAll(async () => {
    [live, desired] = await Promise.all([pgliteWithHstore(), pgliteWithHstore()]);
  });
  afterAll(async () => {
    await Promise.all([live, desired].filter(Boolean).map((c) => c.close()));
  });

  test('hstore 1.8 -> 1.6 with nothing using it converges; with a column using it, the plan is refused', async () => {
    await live.execute(`create schema e1; create extension hstore schema e1 version '1.8'`);
    await desired.execute(`create schema e1; create extension hstore schema e1 version '1.6'`);
    const scope = { schemas: ['e1'] };
    const from = await introspect(live, scope);
    const to = await introspect(desired, scope);
    await applySteps(live, renderPlanSteps(diffModels(from, to), { from, to }));
    expect((await live.query(`select extversion from pg_extension where extname = 'hstore'`)).rows).toEqual([
      { extversion: '1.6' },
    ]);
    expect(diffModels(await introspect(live, scope), to)).toEqual([]);

    await live.execute(`alter extension hstore update to '1.8'; create table e1.t (h e1.hstore)`);
    await desired.execute(`create table e1.t (h e1.hstore)`);
    const used = await introspect(live, scope);
    expect(() => renderPlanSteps(diffModels(used, to), { from: used, to })).toThrow(
      /cannot take extension hstore back from version 1\.8 to 1\.6/,
    );
  });
});
