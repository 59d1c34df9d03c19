import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { Connection, QueryResult } from '@dbee/core';
import { formatKey } from '../../packages/core/src/model/object-key';
import { changeObjectKey, type Change } from '../../packages/core/src/schema';
import { diffModels, type PgDiffOptions } from '../support/pg-diff';
import { introspect } from '../../packages/postgres/src/introspect';
import { renderPlanSteps } from '../../packages/postgres/src/render';
import { PgConnection } from '../../packages/postgres/src/connection/postgres-connection';
import { PgliteConnection } from '../../packages/postgres/src/connection/pglite-connection';
import { copyPgliteTemplate, openMemoryPglite } from '../support/pglite';
import { scratchDatabase } from '../support/pg';

/** The two engines every database suite runs on. */
export const ENGINES = [['pglite'], ['postgres']] as const satisfies readonly (readonly [EngineName])[];
export type EngineName = 'pglite' | 'postgres';

/** Server used by the `postgres` engine. There is no skip: an unreachable server fails the suite. */
export const SERVER_URL = process.env.DBEE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface Scratch {
  conn: Connection;
  /** Close the connection and, on the server, drop the scratch database. */
  dispose(): Promise<void>;
}

/**
 * An empty database: PGlite in a temporary folder copied from the run's initialised data folder, or `dbee_t_<random>`
 * on the server. A folder copy opens in about a fifth of the CPU an in-memory PGlite needs to start (initdb or
 * template alike), but its statements cost ~30 % more CPU: `memory` suits a scratch that runs thousands of them.
 */
export async function openScratch(engine: EngineName, options: { memory?: boolean } = {}): Promise<Scratch> {
  if (engine === 'pglite' && options.memory) {
    const conn = await openMemoryPglite('pglite:memory');
    return { conn, dispose: () => conn.close() };
  }
  if (engine === 'pglite') {
    const dir = mkdtempSync(join(tmpdir(), 'dbee-scratch-'));
    await copyPgliteTemplate(join(dir, 'db'));
    const conn = await PgliteConnection.open(join(dir, 'db'), 'pglite:scratch');
    return {
      conn,
      dispose: async () => {
        await conn.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const db = await scratchDatabase('dbee_t');
  const conn = await PgConnection.open({ connectionString: db.url }, `postgres:${db.name}`);
  return {
    conn,
    dispose: async () => {
      await conn.close();
      await db.drop();
    },
  };
}

/** A connection that counts the queries it runs (to prove introspection is set-based). */
export function counting(inner: Connection): Connection & { queries: number } {
  const wrapper = {
    queries: 0,
    description: inner.description,
    query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<Row>> {
      wrapper.queries++;
      return inner.query<Row>(sql, params);
    },
    execute(sql: string) {
      wrapper.queries++;
      return inner.execute(sql);
    },
    transaction<T>(fn: (tx: Connection) => Promise<T>) {
      return inner.transaction(fn);
    },
    close: () => inner.close(),
  };
  return wrapper;
}

/** Create a role once per cluster (roles are shared by every database of a server); concurrent-safe. */
export const CREATE_READER_ROLE = `
DO $$ BEGIN
  CREATE ROLE dbee_t_reader NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;`;

/**
 * Apply rendered steps the way a runner would: consecutive transactional steps share a transaction, the others
 * run on their own (CONCURRENTLY, enum values).
 */
export async function applySteps(
  conn: Connection,
  steps: { statements: string[]; transactional: boolean }[],
): Promise<void> {
  let batch: string[] = [];
  const flush = async () => {
    if (!batch.length) return;
    const statements = batch;
    batch = [];
    await conn.transaction(async (tx) => {
      for (const sql of statements) await tx.execute(sql);
    });
  };
  for (const step of steps) {
    if (step.transactional) {
      batch.push(...step.statements);
      continue;
    }
    await flush();
    for (const sql of step.statements) await conn.execute(sql);
  }
  await flush();
}

/**
 * The converge check of the diff suites: `liveSql` in `live` and `desiredSql` in `desired` (each in a new `schema`),
 * the plan of their diff applied to `live`, then re-read: the next diff must be empty. Returns the changes and steps
 * for the test's own assertions.
 */
export async function convergeScratch(
  live: Scratch,
  desired: Scratch,
  schema: string,
  liveSql: string,
  desiredSql: string,
  options: PgDiffOptions & { online?: boolean } = {},
) {
  await live.conn.execute(`create schema ${schema};\n${liveSql}`);
  await desired.conn.execute(`create schema ${schema};\n${desiredSql}`);
  const scope = { schemas: [schema] };
  const from = await introspect(live.conn, scope);
  const to = await introspect(desired.conn, scope);
  const changes = diffModels(from, to, options);
  const steps = renderPlanSteps(changes, { from, to, online: options.online });
  await applySteps(live.conn, steps);
  // Imported here, not at the top: tools/diff-fuzz.ts loads this module (through the property harness) outside Vitest.
  const { expect } = await import('vitest');
  expect(diffModels(await introspect(live.conn, scope), to, options)).toEqual([]);
  return { changes, steps };
}

/** Each change as `kind key` (`drop-index index:s.i@s.t`). */
export const summary = (changes: Change[]) => changes.map((c) => `${c.kind} ${formatKey(changeObjectKey(c))}`);

/**
 * Two scratch databases of `engine` for the tests of the calling `describe`: `live` and `desired`, opened before its
 * first test and disposed after its last.
 */
export function scratchPair(engine: EngineName): { readonly live: Scratch; readonly desired: Scratch } {
  const pair = {} as { live: Scratch; desired: Scratch };
  beforeAll(async () => {
    [pair.live, pair.desired] = await Promise.all([openScratch(engine), openScratch(engine)]);
  });
  afterAll(async () => {
    await Promise.all([pair.live, pair.desired].filter(Boolean).map((s) => s.dispose()));
  });
  return pair;
}
