import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import {
  dbYaml,
  ENGINES,
  snapshot,
  workspaceWith,
  workspaceYaml,
  type Target,
  type TestWorkspace,
} from '../runner/helpers';
import { PAGILA_ROWS, pagilaFiles } from './pagila';

/**
 * `deploy --dry-run --test-rollback` (docs/rollback-readiness.md): on a scratch copy of the target (with a sample of its
 * rows), the release is deployed and rolled back by the code `dbee rollback` runs, then compared with the copy before
 * it. One workspace per engine, its releases tried one after the other on the same target; the target never changes.
 */
const TABLE = 'CREATE TABLE shop.customers (id int PRIMARY KEY, name text NOT NULL, note text);\n';
const FILES = {
  'shop/db.yaml': dbYaml('shop'),
  'shop/a_schema.sql': 'CREATE SCHEMA shop;\n',
  'shop/customers.sql': `${TABLE}COMMENT ON TABLE shop.customers IS 'who buys';\n`,
  'shop/migrations/V1__seed.sql': "INSERT INTO shop.customers VALUES (1, 'ann', null), (2, 'bo', 'vip');\n",
  'shop/migrations/V1__seed.rollback.sql': 'DELETE FROM shop.customers WHERE id IN (1, 2);\n',
};

let workspaces: TestWorkspace[] = [];
afterAll(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

describe.each(ENGINES)('the rollback test of a dry run [%s]', (engine) => {
  it('proves a rollback that restores everything; names a rollback script that leaves its rows and a column drop without a backup unless declared irreversible; a package carries the proof verify.rollback asks for', async () => {
    const w = await workspaceWith(engine, {
      'dbee.yaml': workspaceYaml(engine, {
        environment:
          'verify:\n  rollback: true\n  rollbackWithin: 10m\n  sampleRows: 50\ndeploy:\n  allowHazards: [data-loss]',
      }),
      ...FILES,
    });
    workspaces.push(w);
    const first = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(first.code, first.stderr).toBe(0);
    const before = await snapshot(w.target);
    const real = await run(w.root, 'deploy', { project: 'shop', testRollback: true }, w.target.vars);
    expect(real.code, real.stderr).toBe(1);
    expect(real.stderr).toContain('give it with --dry-run');
    const tryIt = () => run(w.root, 'deploy', { project: 'shop', dryRun: true, testRollback: true }, w.target.vars);

    // A view with a comment and a grant: its rollback drops it, and the copy is as it was.
    w.write(
      'shop/names.sql',
      "CREATE VIEW shop.names AS SELECT id, upper(name) AS name FROM shop.customers;\nCOMMENT ON VIEW shop.names IS 'shouted';\n",
    );
    const good = await tryIt();
    expect(good.code, good.stdout + good.stderr).toBe(0);
    const out = good.stdout + good.stderr;
    expect(out).toMatch(
      /rollback test: the rollback took [^\n]+ on the copy \(bound 10 min 0 s\), and left the copy as it was/,
    );
    expect(out).toMatch(/step 1 view:shop\.names: [^\n]+%\)/);

    // A migration whose rollback script undoes nothing: the sampled rows stay changed.
    w.write('shop/migrations/V2__shout.sql', 'UPDATE shop.customers SET name = upper(name);\n');
    w.write('shop/migrations/V2__shout.rollback.sql', 'SELECT 1;\n');
    const script = await tryIt();
    expect(script.code, script.stdout + script.stderr).toBe(1);
    expect(script.stderr).toMatch(
      /shop\/migrations\/V2__shout\.rollback\.sql:1: [^\n]*migration:shop\/V2\): its rollback script shop\/migrations\/V2__shout\.rollback\.sql leaves its change on the copy/,
    );
    expect(script.stderr).toContain('rows not restored: 2 rows of before the release missing');
    expect(script.stderr).toContain('"name":"ANN"');
    for (const f of ['V2__shout.sql', 'V2__shout.rollback.sql']) rmSync(join(w.root, 'shop/migrations', f));

    // One whose rollback script leaves the column it added: the objects are compared by the check a deployment ends
    // with (diffing/converge.ts), over the copy's whole schemas, since a migration names no object.
    w.write('shop/migrations/V2__extra.sql', 'ALTER TABLE shop.customers ADD COLUMN extra int;\n');
    w.write('shop/migrations/V2__extra.rollback.sql', 'SELECT 1;\n');
    const column = await tryIt();
    expect(column.code, column.stdout + column.stderr).toBe(1);
    expect(column.stderr).toContain(
      'rollback test: the release: its rollback leaves a difference on the copy:\n    table:shop.customers: drop-column extra',
    );
    for (const f of ['V2__extra.sql', 'V2__extra.rollback.sql']) rmSync(join(w.root, 'shop/migrations', f));

    // A column dropped without a backup: named, until the release declares it irreversible on purpose.
    w.write('shop/customers.sql', TABLE.replace(', note text', ''));
    const drop = await tryIt();
    expect(drop.code, drop.stdout + drop.stderr).toBe(1);
    expect(drop.stderr).toMatch(
      /shop\/customers\.sql:1: rollback test: step 1 \(alter table:shop\.customers\) cannot be undone/,
    );
    w.write(
      'shop/customers.sql',
      `-- dbee:irreversible the notes moved to the CRM\n${TABLE.replace(', note text', '')}`,
    );
    const declared = await tryIt();
    expect(declared.code, declared.stdout + declared.stderr).toBe(0);
    expect(declared.stdout + declared.stderr).toContain('irreversible on purpose: the notes moved to the CRM');

    // ...or until the environment keeps dropped columns' values: the step keeps them in a backup its reverse restores.
    const yaml = (keep: string) =>
      w.write(
        'dbee.yaml',
        workspaceYaml(engine, {
          environment: `verify:\n  rollback: true\n  rollbackWithin: 10m\n  sampleRows: 50\ndeploy:\n  allowHazards: [data-loss]${keep}`,
        }),
      );
    yaml('\n  keepDroppedColumns: true');
    w.write('shop/customers.sql', TABLE.replace(', note text', ''));
    const kept = await tryIt();
    expect(kept.code, kept.stdout + kept.stderr).toBe(0);
    expect(kept.stdout).toMatch(
      /CREATE TABLE shop_dbee_bak\.customers_note_bak_\w+ AS SELECT id, note FROM shop\.customers;/,
    );
    expect(kept.stdout + kept.stderr).toMatch(/rollback test: [^\n]+, and left the copy as it was/);
    yaml('');

    // Nothing of it reached the target.
    expect((await snapshot(w.target)).hash).toBe(before.hash);

    // verify.rollback: a package deploys only with the proof `plan --out --test-rollback` records in it.
    w.write('shop/customers.sql', FILES['shop/customers.sql']);
    const bare = await run(w.root, 'plan', { project: 'shop', out: 'dist/bare' }, w.target.vars);
    expect(bare.code, bare.stderr).toBe(0);
    const refused = await run(w.root, 'deploy', { project: 'shop', package: 'dist/bare' }, w.target.vars);
    expect(refused.code, refused.stdout + refused.stderr).toBe(1);
    expect(refused.stderr).toContain('carries no proof that its rollback was tested');
    const proven = await run(
      w.root,
      'plan',
      { project: 'shop', out: 'dist/proven', testRollback: true },
      w.target.vars,
    );
    expect(proven.code, proven.stdout + proven.stderr).toBe(0);
    expect(proven.stdout + proven.stderr).toContain('rollback test: recorded in');
    const deployed = await run(w.root, 'deploy', { project: 'shop', package: 'dist/proven' }, w.target.vars);
    expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0);

    // Another project's view stands on shop.names: a release that widens names is rolled back by dropping and creating
    // it again, with crm's view dropped before and put back after; the copy holds crm's view, and the test passes.
    w.write('crm/db.yaml', dbYaml('crm', 'dependsOn: [shop]\n'));
    w.write('crm/vips.sql', 'CREATE SCHEMA crm;\nCREATE VIEW crm.vips AS SELECT id, name FROM shop.names;\n');
    const crm = await run(w.root, 'deploy', { project: 'crm' }, w.target.vars);
    expect(crm.code, crm.stdout + crm.stderr).toBe(0);
    const atCrm = await snapshot(w.target);
    // The comment stays in the file: without it the release would leave the view's comment in place (CREATE OR REPLACE
    // keeps it), and the dry run refuses it as not converged.
    w.write(
      'shop/names.sql',
      "CREATE OR REPLACE VIEW shop.names AS SELECT id, upper(name) AS name, note FROM shop.customers;\nCOMMENT ON VIEW shop.names IS 'shouted';\n",
    );
    // The smoke checks run on the copy once the release is applied: one that fails there refuses the dry run.
    const smoke = (name: string) =>
      w.write(
        'shop/smoke/shop.yaml',
        `checks:\n  - name: shouted\n    query: SELECT name FROM shop.names ORDER BY id\n    rows: [{ name: ${name} }, { name: BO }]\n`,
      );
    smoke('ann');
    const failing = await tryIt();
    expect(failing.code, failing.stdout + failing.stderr).toBe(1);
    expect(failing.stderr).toContain(
      'rollback test: 1 smoke check of shop fails on the copy after the release: shouted',
    );
    smoke('ANN');
    const widened = await tryIt();
    expect(widened.code, widened.stdout + widened.stderr).toBe(0);
    const said = widened.stdout + widened.stderr;
    expect(said).toContain('the copy holds the schemas of the views that stand on what the release changes (crm)');
    expect(said).toMatch(/rollback test: the rollback took [^\n]+, and left the copy as it was/);
    expect((await snapshot(w.target)).hash).toBe(atCrm.hash);
  });
});

/** Run a script of statements on the target (PGlite: while no command runs). */
async function execute(target: Target, sql: string): Promise<void> {
  const c = await target.connect();
  try {
    await c.execute(sql);
  } finally {
    await c.close();
  }
}

/** The files of the example workspace's projects (examples/core, examples/sales), as they are in the repository. */
function exampleFiles(): Record<string, string> {
  const root = join(__dirname, '..', '..', 'examples');
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else out[relative(root, path)] = readFileSync(path, 'utf8');
    }
  };
  for (const project of ['core', 'sales']) walk(join(root, project));
  return out;
}

/**
 * Issue 71: the sample copied into the copy is closed under foreign keys. Before, the sample took child rows without
 * the parents they reference, and every correct release of a schema with foreign keys failed with exit 2
 * (`order_lines_sku_fkey`, pagila's `rental_customer_id_fkey`...). On the server the copy is a scratch database there.
 */
describe.each(ENGINES)('the rollback test on schemas with foreign keys [%s]', (engine) => {
  const top = engine === 'postgres' ? 'shadow: server' : '';
  const verify = (extra = '') => `verify:\n  sampleRows: 40${extra}\ndeploy:\n  allowHazards: [data-loss]`;

  // The sample's closure under foreign keys is the same code on both engines (the copy's keys read from its catalog,
  // the referenced rows from the target by their keys, the same statements over either transport): the example
  // workspace runs on the server only, and Pagila, in `public` (which a PGlite copy starts with), on both
  // (CONTRIBUTING.md, "Engine-independent matrices run whole on one engine, one cell on the other"; a PGlite case
  // costs about three times a server one).
  if (engine === 'postgres')
    it('the example workspace: a correct release passes with its orders, lines, customers and products sampled; an undo script that undoes nothing is named (exit 1)', async () => {
      const files = exampleFiles();
      const w = await workspaceWith(engine, {
        'dbee.yaml': workspaceYaml(engine, { top, environment: verify() }),
        ...files,
      });
      workspaces.push(w);
      const first = await run(w.root, 'deploy', { project: 'sales' }, w.target.vars);
      expect(first.code, first.stdout + first.stderr).toBe(0);
      await execute(
        w.target,
        `INSERT INTO core.customers (email, full_name, country) SELECT 'c' || g || '@example.org', 'C ' || g, 'DE' FROM generate_series(1, 30) g;
         INSERT INTO sales.orders (customer_id) SELECT id FROM core.customers, generate_series(1, 3);
         INSERT INTO sales.order_lines SELECT o.id, l, CASE WHEN l = 1 THEN 'TEA-001' ELSE 'MUG-001' END, l, 6.5 FROM sales.orders o, generate_series(1, 2) l;`,
      );
      const tryIt = () =>
        run(
          w.root,
          'deploy',
          { project: 'sales', dryRun: true, testRollback: true, withDependencies: false },
          w.target.vars,
        );
      const lines = 'sales/schema/sales/tables/order_lines.sql';
      w.write(
        lines,
        files[lines]!.replace(
          '  unit_price  numeric(12, 2) NOT NULL,',
          '  unit_price  numeric(12, 2) NOT NULL,\n  discount    numeric(12, 2),',
        ),
      );
      const good = await tryIt();
      expect(good.code, good.stdout + good.stderr).toBe(0);
      expect(good.stdout + good.stderr).toMatch(/rollback test: the rollback took [^\n]+, and left the copy as it was/);

      w.write('sales/migrations/V2__double_quantity.sql', 'UPDATE sales.order_lines SET quantity = quantity * 2;\n');
      w.write('sales/migrations/U2__double_quantity.sql', 'SELECT 1;\n');
      const broken = await tryIt();
      expect(broken.code, broken.stdout + broken.stderr).toBe(1);
      expect(broken.stderr).toContain(
        'sales/migrations/U2__double_quantity.sql:1: rollback test: step 2 (migrate migration:sales/V2): its rollback script sales/migrations/U2__double_quantity.sql leaves its change on the copy',
      );
      expect(broken.stderr).toContain('rows not restored: 40 rows of before the release missing');
      expect(broken.stderr).not.toContain('foreign key');
    });

  it('Pagila in public: a correct release passes with film, language, customer, store... followed from the sampled rentals; a table given 0 rows that sampled rows reference refuses with its own message (exit 1)', async () => {
    const w = await workspaceWith(engine, {
      'dbee.yaml': workspaceYaml(engine, { top, environment: verify() }),
      ...pagilaFiles(),
    });
    workspaces.push(w);
    const first = await run(w.root, 'deploy', { project: 'pagila' }, w.target.vars);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    await execute(w.target, PAGILA_ROWS);
    const before = await snapshot(w.target);
    const tryIt = () => run(w.root, 'deploy', { project: 'pagila', dryRun: true, testRollback: true }, w.target.vars);
    const source = pagilaFiles()['pagila/pagila.sql']!;
    const rental = source.indexOf(');', source.indexOf('CREATE TABLE public.rental ('));
    w.write('pagila/pagila.sql', `${source.slice(0, rental)},\n    note text\n${source.slice(rental)}`);
    const good = await tryIt();
    expect(good.code, good.stdout + good.stderr).toBe(0);
    expect(good.stdout + good.stderr).toMatch(/rollback test: the rollback took [^\n]+, and left the copy as it was/);

    // A migration over film (film → language): its rollback script undoes nothing, and is named.
    w.write('pagila/migrations/V1__raise_rates.sql', 'UPDATE public.film SET rental_rate = rental_rate + 1;\n');
    w.write('pagila/migrations/V1__raise_rates.rollback.sql', 'SELECT 1;\n');
    const broken = await tryIt();
    expect(broken.code, broken.stdout + broken.stderr).toBe(1);
    expect(broken.stderr).toContain(
      'pagila/migrations/V1__raise_rates.rollback.sql:1: rollback test: step 2 (migrate migration:pagila/V1): its rollback script pagila/migrations/V1__raise_rates.rollback.sql leaves its change on the copy',
    );
    rmSync(join(w.root, 'pagila/migrations'), { recursive: true });

    // Per table: the customers are never read, and the sampled rentals reference them: refused, said so.
    w.write(
      'dbee.yaml',
      workspaceYaml(engine, { top, environment: verify('\n  sampleTables:\n    public.customer: 0') }),
    );
    const sample = await tryIt();
    expect(sample.code, sample.stdout + sample.stderr).toBe(1);
    expect(sample.stderr).toMatch(
      /rollback test: the sample of the target's rows cannot be loaded into the copy: the sampled rows of public\.rental reference \d+ rows of public\.customer \(rental_customer_id_fkey\), which verify\.sampleTables gives 0 rows/,
    );
    // ...and with the rentals left out too, the release passes.
    w.write(
      'dbee.yaml',
      workspaceYaml(engine, {
        top,
        environment: verify('\n  sampleTables:\n    public.customer: 0\n    public.rental: 0'),
      }),
    );
    const without = await tryIt();
    expect(without.code, without.stdout + without.stderr).toBe(0);
    expect((await snapshot(w.target)).hash).toBe(before.hash);
  });
});
