import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { dbYaml, ENGINES, snapshot, workspaceWith, workspaceYaml, type TestWorkspace } from '../runner/helpers';

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
      /shop\/migrations\/V2__shout\.sql[^\n]*migration:shop\/V2[^\n]*its rollback leaves a difference/,
    );
    expect(script.stderr).toContain('rows not restored: 2 rows of before the release missing');
    expect(script.stderr).toContain('"name":"ANN"');
    for (const f of ['V2__shout.sql', 'V2__shout.rollback.sql']) rmSync(join(w.root, 'shop/migrations', f));

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
    w.write(
      'shop/names.sql',
      'CREATE OR REPLACE VIEW shop.names AS SELECT id, upper(name) AS name, note FROM shop.customers;\n',
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
