import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { PgliteConnection } from '@dbee/postgres';
import { releasePglite } from '../support/pglite-share';
import { run } from '../support/run';
import { tempWorkspace } from '../support/workspace';
import { connectedTarget, dbYaml, workspaceWith, workspaceYaml, type Target, type TestWorkspace } from './helpers';

/** Version 1 of project `shop`: a schema, a table, a view, a function, and a seed migration (5 steps). */
export const SHOP_V1: Record<string, string> = {
  'shop/db.yaml': dbYaml('shop'),
  'shop/schema.sql': 'CREATE SCHEMA shop;\n',
  'shop/customers.sql': 'CREATE TABLE shop.customers (id int PRIMARY KEY, name text NOT NULL);\n',
  'shop/names.sql': 'CREATE OR REPLACE VIEW shop.names AS SELECT id, name FROM shop.customers;\n',
  'shop/greet.sql':
    "CREATE OR REPLACE FUNCTION shop.greet(n text) RETURNS text LANGUAGE sql AS $$ SELECT 'hello ' || n $$;\n",
  'shop/migrations/V1__seed.sql': "INSERT INTO shop.customers VALUES (1, 'ada'), (2, 'bob');\n",
  'shop/migrations/V1__seed.rollback.sql': 'DELETE FROM shop.customers WHERE id IN (1, 2);\n',
};

/**
 * Version 2: ten steps. 1-4 are objects (the view and the function replaced, a table and a function created),
 * 5-10 are migrations V2..V7; V2 ends with `SELECT 1/0` when `failing`.
 */
export function shopV2(failing = true): Record<string, string> {
  const files: Record<string, string> = {
    'shop/names.sql': 'CREATE OR REPLACE VIEW shop.names AS SELECT id, upper(name) AS name FROM shop.customers;\n',
    'shop/greet.sql':
      "CREATE OR REPLACE FUNCTION shop.greet(n text) RETURNS text LANGUAGE sql AS $$ SELECT 'hi ' || n $$;\n",
    'shop/orders.sql':
      'CREATE TABLE shop.orders (id int PRIMARY KEY, customer int REFERENCES shop.customers (id), total numeric);\n',
    'shop/order_count.sql':
      'CREATE OR REPLACE FUNCTION shop.order_count() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM shop.orders $$;\n',
    'shop/migrations/V2__orders.sql': `INSERT INTO shop.orders VALUES (1, 1, 10);\nUPDATE shop.customers SET name = name || '!';\n${failing ? 'SELECT 1/0;\n' : ''}`,
    'shop/migrations/V2__orders.rollback.sql':
      "DELETE FROM shop.orders;\nUPDATE shop.customers SET name = rtrim(name, '!');\n",
  };
  for (let v = 3; v <= 7; v++) {
    files[`shop/migrations/V${v}__step.sql`] = `SELECT ${v};\n`;
    files[`shop/migrations/V${v}__step.rollback.sql`] = 'SELECT 0;\n';
  }
  return files;
}

/** A workspace with shop v1 deployed; `environment` is YAML under the environment (e.g. `deploy: { autoRollback: true }`). */
export async function deployedShop(engine: Target['engine'], environment = ''): Promise<TestWorkspace> {
  const w = await workspaceWith(engine, { ...SHOP_V1, 'dbee.yaml': workspaceYaml(engine, { environment }) });
  const r = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return w;
}

/**
 * Shop v1 deployed once per file on PGlite (per `environment`), each case given a copy of that workspace, its
 * embedded database and its `.dbee` caches included: the state `deployedShop` leaves, for a folder copy instead of a
 * deployment (about a second of CPU on PGlite). On the server each case deploys its own, as `deployedShop` does (a
 * server deployment costs the worker a fifth of that). `removeAll()` in `afterAll`.
 */
export function deployedShops(): {
  deployed(engine: Target['engine'], environment?: string): Promise<TestWorkspace>;
  removeAll(): Promise<void>;
} {
  const bases = new Map<string, Promise<TestWorkspace>>();
  return {
    async deployed(engine, environment = '') {
      if (engine === 'postgres') return deployedShop(engine, environment);
      let base = bases.get(environment);
      if (!base) {
        base = deployedShop(engine, environment);
        bases.set(environment, base);
      }
      const from = (await base).root;
      // The base's instance writes its folder back before the copy (it is idle once its commands are done).
      await releasePglite();
      const w = tempWorkspace({});
      cpSync(from, w.root, { recursive: true });
      const dataDir = join(w.root, '.dbee', 'db');
      const target = connectedTarget(
        'pglite',
        {},
        () => PgliteConnection.open(dataDir, 'pglite:test'),
        async () => {},
      );
      return { root: w.root, target, write: w.write, remove: async () => w.remove() };
    },
    async removeAll() {
      for (const base of bases.values()) await (await base.catch(() => null))?.remove();
      bases.clear();
    },
  };
}

export function writeAll(w: TestWorkspace, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) w.write(rel, text);
}

export async function ledgerSteps(
  target: Target,
  deployment: number,
): Promise<{ step_order: number; object_key: string; action: string; status: string }[]> {
  return target.query(
    `SELECT step_order, object_key, action, status FROM dbee.steps WHERE deployment_id = $1 ORDER BY step_order`,
    [deployment],
  );
}
