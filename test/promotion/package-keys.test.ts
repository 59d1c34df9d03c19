import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { tempWorkspace } from '../support/workspace';
import { ENGINES, type EngineName, environmentTargets, targetQuery } from './helpers';

// A package built once deploys to every environment under that environment's names: project `sales` names its
// schema `{{env}}_sales`, so the package's step keys keep the placeholder (`table:{{env}}_sales.orders`) and each
// environment's ledger records its own schema (dev_sales, prod_sales, from `env: Dev` and `env: PROD`). See test/teradata/package-keys.test.ts for
// Teradata.

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function workspace(engine: EngineName) {
  const { target, drops, key } = await environmentTargets(engine, ['dev', 'prod'], 'dbee_pkgkeys');
  cleanups.push(...drops);
  const env = (name: string, value: string) => [
    `  ${name}:`,
    '    engine: postgres',
    `    connection: { ${key}: "\${K_${name.toUpperCase()}}" }`,
    `    variables: { env: ${value} }`,
  ];
  const w = tempWorkspace({
    'dbee.yaml': [
      'version: 1',
      'defaultEnvironment: dev',
      'environments:',
      // Values in capitals (d-bee's convention): PostgreSQL folds the unquoted `{{env}}_sales` of the sources and of
      // db.yaml alike, so the schema is dev_sales / prod_sales (before: the search path was "PROD_sales", quoted).
      ...env('dev', 'Dev'),
      ...env('prod', 'PROD'),
      '',
    ].join('\n'),
    'sales/db.yaml':
      "version: 1\nname: sales\nengine: postgres\nschemas: ['{{env}}_sales']\nsearchPath: ['{{env}}_sales']\n",
    'sales/schema.sql': 'CREATE SCHEMA {{env}}_sales;',
    'sales/orders.sql':
      'CREATE TABLE {{env}}_sales.orders (id int PRIMARY KEY, amount numeric NOT NULL);\n' +
      'CREATE INDEX orders_amount ON {{env}}_sales.orders (amount);',
    // Unqualified: its schema is the search path's.
    'sales/big.sql': 'CREATE VIEW big_orders AS SELECT id FROM orders WHERE amount > 100;',
    'sales/total.sql':
      "CREATE FUNCTION {{env}}_sales.total() RETURNS numeric LANGUAGE sql AS 'SELECT coalesce(sum(amount), 0) FROM {{env}}_sales.orders';",
    'sales/smoke/sales.yaml':
      'checks:\n  - name: total answers\n    query: SELECT {{env}}_sales.total() AS t\n    rows: [{ t: 0 }]\n',
  });
  const folder = mkdtempSync(join(tmpdir(), 'dbee-pkgkeys-'));
  cleanups.push(async () => {
    w.remove();
    rmSync(folder, { recursive: true, force: true });
  });
  const vars = { K_DEV: target.get('dev')!, K_PROD: target.get('prod')! };
  const query = targetQuery(engine, w.root, target);
  const dbee = (command: Parameters<typeof run>[1], options: Record<string, unknown>) =>
    run(w.root, command, { project: 'sales', ...options }, vars);
  return { dbee, query, pkg: join(folder, 'pkg') };
}

describe.each(ENGINES)('a package deploys to each environment under its own schema names [%s]', (engine) => {
  it('built on dev, deployed to dev then prod: each ledger holds its own keys, smoke passes, again: nothing', async () => {
    const { dbee, query, pkg } = await workspace(engine);
    const built = await dbee('plan', { out: pkg });
    expect(built.code, built.stderr).toBe(0);
    const plan = readFileSync(join(pkg, 'plan.json'), 'utf8');
    expect(plan).toContain('table:{{env}}_sales.orders');
    expect(plan).toContain('view:{{env}}_sales.big_orders');
    expect(plan).not.toContain('dev_sales');

    for (const [env, mine] of [
      ['dev', 'dev_sales'],
      ['prod', 'prod_sales'],
    ] as const) {
      const r = await dbee('deploy', { env, package: pkg, assumeYes: true });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const keys = (await query<{ k: string }>(env, 'SELECT DISTINCT object_key AS k FROM dbee.steps ORDER BY 1')).map(
        (o) => o.k,
      );
      expect(keys).toEqual(
        expect.arrayContaining([
          `schema:${mine}`,
          `table:${mine}.orders`,
          `index:${mine}.orders_amount@${mine}.orders`,
          `view:${mine}.big_orders`,
          `function:${mine}.total()`,
        ]),
      );
      expect(keys.join(' ')).not.toContain(env === 'dev' ? 'prod_sales' : 'dev_sales');
      expect(keys.join(' ')).not.toContain('{{');
      const again = await dbee('deploy', { env, package: pkg, assumeYes: true });
      expect(again.code, again.stdout + again.stderr).toBe(0);
      expect(again.stdout + again.stderr).toMatch(/nothing to deploy/i);
    }
    // The reverse statements the package recorded on prod undo prod's objects (they were written from dev's names).
    const undone = await dbee('rollback', { env: 'prod', package: pkg, assumeYes: true });
    expect(undone.code, undone.stdout + undone.stderr).toBe(0);
    const left = async (env: string) =>
      (await query<{ n: number }>(env, "SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'orders'"))[0]!.n;
    expect(await left('prod')).toBe(0);
    expect(await left('dev')).toBe(1);
  });
});
