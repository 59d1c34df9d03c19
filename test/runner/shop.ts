import { randomBytes } from 'node:crypto';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { openPostgres, PgliteConnection } from '@dbee/postgres';
import { queryUrl, SERVER_URL } from '../support/pg';
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
  // The PGlite copies are workspaceCopies' (below), keyed by the environment settings.
  const copies = workspaceCopies();
  return {
    deployed: (engine, environment = '') =>
      engine === 'postgres'
        ? deployedShop(engine, environment)
        : copies.copy(engine, environment, () => deployedShop(engine, environment)),
    removeAll: () => copies.removeAll(),
  };
}

/**
 * Workspaces made once per file and key by `make` (a deployment, typically), each case given a copy of one: its folder
 * (sources and `.dbee` caches) and its database, ledger and deployment ids included. On PGlite the embedded folder is
 * copied with the workspace, as `deployedShops` does. On the server the database is copied by `CREATE DATABASE ...
 * TEMPLATE` and dropped by the copy's `remove()` (a `DROP DATABASE`, which makes the server checkpoint, where a
 * scratch database is recycled): for the rollback fixture's shop, a case from a copy cost the worker 0.17 s less than
 * one that deploys it, the server's sessions 0.04 s less and its checkpointer 0.035 s more. It is named under the
 * run's pool prefix, so the run's global teardown drops one a killed worker left. A copy is another database there:
 * dbee's caches of the made one's catalog name that database (its catalog version) and are read again. A key used by
 * one case only costs more (the copy comes on top of the making). `removeAll()` in `afterAll`.
 */
export function workspaceCopies(): {
  copy(engine: Target['engine'], key: string, make: () => Promise<TestWorkspace>): Promise<TestWorkspace>;
  removeAll(): Promise<void>;
} {
  const made = new Map<string, Promise<TestWorkspace>>();
  return {
    async copy(engine, key, make) {
      const id = `${engine}\0${key}`;
      let base = made.get(id);
      if (!base) {
        base = make();
        made.set(id, base);
      }
      const from = await base;
      // PGlite: the made one's instance writes its folder back before the copy (it is idle once its commands are done).
      if (engine === 'pglite') await releasePglite();
      const w = tempWorkspace({});
      cpSync(from.root, w.root, { recursive: true });
      if (engine === 'pglite') {
        const dataDir = join(w.root, '.dbee', 'db');
        const target = connectedTarget(
          'pglite',
          {},
          () => PgliteConnection.open(dataDir, 'pglite:test'),
          async () => {},
        );
        return { root: w.root, target, write: w.write, remove: async () => w.remove() };
      }
      const template = new URL(from.target.vars.DBEE_RUNNER_URL!).pathname.slice(1);
      const pool = process.env.VITEST ? process.env.DBEE_TEST_DB_POOL : undefined;
      const name = `${pool ?? 'dbee_run'}_copy_${randomBytes(5).toString('hex')}`;
      const url = new URL(SERVER_URL);
      url.pathname = `/${name}`;
      await queryUrl(SERVER_URL, `CREATE DATABASE ${name} TEMPLATE ${template}`);
      const target = connectedTarget(
        'postgres',
        { DBEE_RUNNER_URL: url.toString() },
        () => openPostgres({ kind: 'server', config: { connectionString: url.toString() }, description: name }),
        async () => void (await queryUrl(SERVER_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
      );
      return {
        root: w.root,
        target,
        write: w.write,
        async remove() {
          await target.done();
          w.remove();
        },
      };
    },
    async removeAll() {
      for (const base of made.values()) await (await base.catch(() => null))?.remove();
      made.clear();
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
