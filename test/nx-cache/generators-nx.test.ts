import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { NxWorkspace } from './workspace';

/**
 * The generators through the real `nx` CLI, as a user runs them (positional arguments, --depends-on, Nx's schema
 * handling): init in a workspace without the plugin, two projects, a migration, then a deploy of both, in order,
 * to the embedded local environment, and a second deploy that applies nothing.
 */

let ws: NxWorkspace;
beforeAll(async () => {
  ws = NxWorkspace.create({ 'nx.json': JSON.stringify({ analytics: false, neverConnectToCloud: true, plugins: [] }) });
  await ws.commit();
});
afterAll(() => ws?.remove());

async function nx(...args: string[]): Promise<string> {
  const r = await ws.nx(args);
  expect(r.code, r.output).toBe(0);
  return r.output;
}

test('nx g @dbee/nx:init, :project and :migration give a workspace that deploys', async () => {
  await nx('g', '@dbee/nx:init');
  const again = await nx('g', '@dbee/nx:init');
  expect(again).not.toMatch(/UPDATE|CREATE/);
  expect(JSON.parse(readFileSync(join(ws.root, 'nx.json'), 'utf8')).plugins).toEqual([
    { plugin: '@dbee/nx', options: { projectPrefix: 'db-' } },
  ]);
  expect(readFileSync(join(ws.root, '.gitignore'), 'utf8')).toMatch(/^\.dbee\/$/m);

  // `public` among a project's schemas: every database has it, so its file must not create it (a plain CREATE SCHEMA
  // public is refused by the planner).
  await nx('g', '@dbee/nx:project', 'core', '--schemas=core,public');
  await nx('g', '@dbee/nx:project', 'sales', '--depends-on=core', '--schemas=sales,sales_audit');
  expect(await nx('g', '@dbee/nx:migration', 'db-sales', 'seed data')).toContain(
    'databases/sales/migrations/V1__seed_data.rollback.sql',
  );
  ws.write({
    'databases/core/schema/core/tables/customers.sql': 'CREATE TABLE core.customers (id bigint PRIMARY KEY);\n',
    'databases/core/schema/public/tables/settings.sql': 'CREATE TABLE public.settings (name text PRIMARY KEY);\n',
    'databases/sales/schema/sales/tables/orders.sql':
      'CREATE TABLE sales.orders (id bigint PRIMARY KEY, customer bigint REFERENCES core.customers);\n',
    'databases/sales/migrations/V1__seed_data.sql': 'INSERT INTO core.customers VALUES (1);\n',
    'databases/sales/migrations/V1__seed_data.rollback.sql': 'DELETE FROM core.customers WHERE id = 1;\n',
  });

  const first = await nx('run', 'db-sales:deploy', '--env=local', '--outputStyle=static');
  expect(first.indexOf('nx run db-core:deploy')).toBeGreaterThan(-1);
  expect(first.indexOf('nx run db-core:deploy')).toBeLessThan(first.indexOf('nx run db-sales:deploy'));
  expect(first).toContain('smoke:       sales 2/2 passed');

  const second = await nx('run', 'db-sales:diff', '--outputStyle=static');
  expect(second).toMatch(/no changes|no differences|0 changes/i);
});
