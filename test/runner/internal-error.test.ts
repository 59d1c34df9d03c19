import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DbeeError, PLAN_FORMAT_VERSION, runPlan, type Connection, type Plan, type PlanStep } from '@dbee/core';
import { createPostgresEngine } from '@dbee/postgres';
import { openMemoryPglite } from '../support/pglite';

const engine = createPostgresEngine();
let conn: Connection;
beforeAll(async () => {
  conn = await openMemoryPglite('pglite:memory');
});
afterAll(async () => {
  await conn.close();
});

const step = (order: number, key: string, sql: string): PlanStep => ({
  order,
  project: 'p',
  key,
  objectKey: {
    kind: key.startsWith('schema') ? 'schema' : 'table',
    schema: key.startsWith('schema') ? '' : 'p',
    name: key.split(/[:.]/).pop()!,
  },
  action: 'create',
  statements: [sql],
  reverse: null,
  transactional: true,
  hazards: [],
  source: null,
  checksum: String(order),
});

describe('an internal error after the first applied step [pglite]', () => {
  it('still closes the deployment row (failed, with the error) and exits 2, not 1', async () => {
    const plan: Plan = {
      formatVersion: PLAN_FORMAT_VERSION,
      engine: 'postgres',
      projects: ['p'],
      sourceCommit: null,
      baseFingerprint: null,
      steps: [step(1, 'schema:p', 'CREATE SCHEMA p'), step(2, 'table:p.t', 'CREATE TABLE p.t (id int)')],
    };
    const error = await runPlan({
      engine,
      conn,
      plan,
      environment: 'local',
      variables: new Map(),
      identity: { package: null, gitCommit: null, toolVersion: 'test', osUser: 'me', ciJob: null, host: 'here' },
      planChecksum: 'x',
      reporter: { info: () => {}, warn: () => {}, step: () => {} },
      // A bug in the checks that run once the steps applied.
      verify: async () => {
        throw new TypeError("Cannot read properties of undefined (reading 'name')");
      },
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DbeeError);
    expect((error as DbeeError).exitCode).toBe(2);
    expect((error as DbeeError).message).toMatch(
      /^internal error \(a bug in dbee, please report it\) after 2 steps applied: TypeError: Cannot read properties/,
    );
    const rows = (
      await conn.query<{ status: string; error: string; finished: boolean }>(
        'SELECT status, error, finished_at IS NOT NULL AS finished FROM dbee.deployments',
      )
    ).rows;
    expect(rows).toEqual([
      { status: 'failed', error: "Cannot read properties of undefined (reading 'name')", finished: true },
    ]);
  });
});
