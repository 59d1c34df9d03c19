import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Connection } from '@dbee/core';
import { run } from '../support/run';
import { dbYaml, snapshot, workspaceWith, workspaceYaml, type Target, type TestWorkspace } from '../runner/helpers';
import { workspaceCopies } from '../runner/shop';

/** Version 1 of project `shop`: a schema, a table with rows, a view, a function, a seed migration. */
export const V1: Record<string, string> = {
  'shop/db.yaml': dbYaml('shop'),
  'shop/schema.sql': 'CREATE SCHEMA shop;\n',
  'shop/customers.sql': 'CREATE TABLE shop.customers (id int PRIMARY KEY, name text NOT NULL);\n',
  'shop/names.sql': 'CREATE OR REPLACE VIEW shop.names AS SELECT id, name FROM shop.customers;\n',
  'shop/greet.sql':
    "CREATE OR REPLACE FUNCTION shop.greet(n text) RETURNS text LANGUAGE sql AS $$ SELECT 'hello ' || n $$;\n",
  'shop/migrations/V1__seed.sql': "INSERT INTO shop.customers VALUES (1, 'ada'), (2, 'bob');\n",
  'shop/migrations/V1__seed.rollback.sql': 'DELETE FROM shop.customers WHERE id IN (1, 2);\n',
};

/** Version 2: the view and the function changed, a column added to customers, a new table. */
export const V2: Record<string, string> = {
  'shop/customers.sql': 'CREATE TABLE shop.customers (id int PRIMARY KEY, name text NOT NULL, email text);\n',
  'shop/names.sql': 'CREATE OR REPLACE VIEW shop.names AS SELECT id, upper(name) AS name, email FROM shop.customers;\n',
  'shop/greet.sql':
    "CREATE OR REPLACE FUNCTION shop.greet(n text) RETURNS text LANGUAGE sql AS $$ SELECT 'hi ' || n $$;\n",
  'shop/orders.sql':
    'CREATE TABLE shop.orders (id int PRIMARY KEY, customer int REFERENCES shop.customers (id), total numeric);\n',
};

/** Files of V2 that V1 does not have (removed when going back to V1's sources). */
export const V2_ONLY = ['shop/orders.sql'];

export function writeAll(w: TestWorkspace, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) w.write(rel, text);
}

/** Put V1's sources back in the working tree. */
export function backToV1(w: TestWorkspace): void {
  for (const rel of V2_ONLY) rmSync(join(w.root, rel), { force: true });
  writeAll(w, V1);
}

/** A workspace with shop V1 deployed (deployment 1); `environment` is YAML under the environment. */
export async function shopAtV1(
  engine: Target['engine'],
  environment = '',
  extra: Record<string, string> = {},
): Promise<TestWorkspace> {
  const w = await workspaceWith(engine, { ...V1, ...extra, 'dbee.yaml': workspaceYaml(engine, { environment }) });
  const r = await run(w.root, 'deploy', { project: 'shop', assumeYes: true, countdownFrom: 0 }, w.target.vars);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return w;
}

/**
 * `shopAtV1` made once per file for each engine, environment and extra files, each case given a copy of it (the
 * workspace, its database and ledger: `workspaceCopies`), for cases that start from the same deployment. Measured with
 * a deployment of V2 after it: on PGlite a copy costs the worker 0.37 s less than `shopAtV1`, but the first case of a
 * state 0.24 s more (the made one's instance closed, the copy's opened), so a state of one case there deploys in place;
 * on the server each copy costs about 0.18 s less (see `workspaceCopies`). `removeAll()` in `afterAll`.
 */
export function shopsAtV1(): {
  atV1(engine: Target['engine'], environment?: string, extra?: Record<string, string>): Promise<TestWorkspace>;
  removeAll(): Promise<void>;
} {
  const copies = workspaceCopies();
  return {
    atV1: (engine, environment = '', extra = {}) =>
      copies.copy(engine, JSON.stringify([environment, extra]), () => shopAtV1(engine, environment, extra)),
    removeAll: () => copies.removeAll(),
  };
}

export async function deployOk(w: TestWorkspace, options: Record<string, unknown> = {}): Promise<string> {
  const r = await run(w.root, 'deploy', { project: 'shop', ...options }, w.target.vars);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

/** The catalog of the project's schemas only (the ledger excluded). */
export async function catalog(w: TestWorkspace): Promise<string[]> {
  return (await snapshot(w.target, { withLedger: false })).catalog;
}

/** Number of differences `dbee diff` finds between the database and the working tree's sources. */
export async function diffCount(w: TestWorkspace): Promise<number> {
  const r = await run(w.root, 'diff', { project: 'shop', format: 'json', cache: false }, w.target.vars);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout).changes;
}

export async function deployments(
  target: Target,
): Promise<{ id: number; kind: string; status: string; reverts: number | null; steps_applied: number }[]> {
  return target.query('SELECT id::int, kind, status, reverts::int, steps_applied FROM dbee.deployments ORDER BY id');
}

export async function objects(target: Target): Promise<Record<string, unknown>[]> {
  return target.query('SELECT object_key, checksum FROM dbee.objects ORDER BY 1');
}

/** Run `sql` as `role` (SET LOCAL ROLE in a transaction that is rolled back); resolves to the rows or the error message. */
export async function asRole(
  target: Target,
  role: string,
  sql: string,
): Promise<{ rows?: Record<string, unknown>[]; error?: string }> {
  const c: Connection = await target.connect();
  try {
    return await c
      .transaction(async (tx) => {
        await tx.execute(`SET LOCAL ROLE ${role}`);
        const rows = (await tx.query(sql)).rows;
        throw Object.assign(new Error('rollback'), { rows });
      })
      .catch((e: { rows?: Record<string, unknown>[]; message: string }) =>
        e.rows ? { rows: e.rows } : { error: e.message },
      );
  } finally {
    await c.close();
  }
}
