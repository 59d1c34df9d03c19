import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildManifest } from '../dbt/manifest-builder';
import { tempWorkspace } from '../support/workspace';
import { run } from '../support/run';
import { queryUrl, scratchDatabase } from '../support/pg';

const WS = `version: 1
defaultEnvironment: local
environments:
  local:
    engine: postgres
    connection: { embedded: .dbee/local }
  server:
    engine: postgres
    connection: { url: "\${RENAME_TEST_URL}" }
`;
const project = (extra = '') => `version: 1\nname: a\nengine: postgres\nschemas: [a]\n${extra}`;

describe.each([
  ['pglite', 'local'],
  ['postgres', 'server'],
])('declared renames [%s]', (_name, env) => {
  let w: ReturnType<typeof tempWorkspace>;
  let vars: NodeJS.ProcessEnv = {};
  let drop = async () => {};
  beforeAll(async () => {
    w = tempWorkspace({
      'dbee.yaml': WS,
      'a/db.yaml': project(),
      'a/t.sql': 'CREATE SCHEMA a;\nCREATE TABLE a.t (id int PRIMARY KEY, old_name text);',
    });
    if (env === 'server') {
      const db = await scratchDatabase();
      vars = { RENAME_TEST_URL: db.url };
      drop = db.drop;
    }
    const deployed = await run(w.root, 'deploy', { project: 'a', env }, vars);
    expect(deployed.stderr).toBe('');
    expect(deployed.code).toBe(0);
    w.write('a/t.sql', 'CREATE SCHEMA a;\nCREATE TABLE a.t (id int PRIMARY KEY, new_name text);');
  });
  afterAll(async () => {
    await drop();
    w.remove();
  });

  const steps = async () => {
    const r = await run(w.root, 'diff', { project: 'a', env, format: 'json', cache: false }, vars);
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout).steps as { statements: string[]; hazards: { kind: string }[] }[];
  };

  it('never guesses: an undeclared rename is a drop and an add, with a data-loss hazard', async () => {
    const s = await steps();
    const sql = s.flatMap((x) => x.statements).join('\n');
    expect(sql).toContain('DROP COLUMN old_name');
    expect(sql).toContain('ADD COLUMN new_name');
    expect(s.flatMap((x) => x.hazards.map((h) => h.kind))).toContain('data-loss');
  });

  it('renames the column when db.yaml declares it', async () => {
    w.write(
      'a/db.yaml',
      project('renames:\n  - { kind: column, schema: a, table: t, from: old_name, to: new_name }\n'),
    );
    const s = await steps();
    expect(s.flatMap((x) => x.statements)).toEqual(['ALTER TABLE a.t RENAME COLUMN old_name TO new_name']);
  });
});

/**
 * Issue 88 failure 3: a table renamed in the sources (its file renamed, `renames:` in db.yaml) was deployed from the
 * objects as a new, empty table beside the old one, which kept the rows; `check --dbt` then said no model was
 * affected. A declared rename the target has yet to run is planned by the diff: `ALTER TABLE ... RENAME`, rows kept.
 */
describe('a declared table rename, deployed [postgres]', () => {
  let w: ReturnType<typeof tempWorkspace>;
  let vars: NodeJS.ProcessEnv = {};
  let url = '';
  let drop = async () => {};
  beforeAll(async () => {
    w = tempWorkspace({
      'dbee.yaml': WS,
      'a/db.yaml': project(),
      'a/schema/a.sql': 'CREATE SCHEMA a;\n',
      'a/schema/orders.sql': 'CREATE TABLE a.orders (id int PRIMARY KEY, note text);\n',
      'a/schema/open_orders.sql': 'CREATE VIEW a.open_orders AS SELECT id, note FROM a.orders;\n',
    });
    const db = await scratchDatabase();
    vars = { RENAME_TEST_URL: db.url };
    url = db.url;
    drop = db.drop;
    const deployed = await run(w.root, 'deploy', { project: 'a', env: 'server' }, vars);
    expect(deployed.stderr).toBe('');
    expect(deployed.code).toBe(0);
    await queryUrl(url, `INSERT INTO a.orders SELECT g, 'n' || g FROM generate_series(1, 100) g`);
  });
  afterAll(async () => {
    await drop();
    w.remove();
  });

  it('renames the table and its column (rows kept), check --dbt names the model reading the old name', async () => {
    rmSync(join(w.root, 'a/schema/orders.sql'));
    w.write('a/schema/purchases.sql', 'CREATE TABLE a.purchases (id int PRIMARY KEY, remark text);\n');
    w.write('a/schema/open_orders.sql', 'CREATE VIEW a.open_orders AS SELECT id, remark AS note FROM a.purchases;\n');
    w.write(
      'a/db.yaml',
      project(
        'renames:\n  - { kind: table, schema: a, from: orders, to: purchases }\n  - { kind: column, schema: a, table: purchases, from: note, to: remark }\n',
      ),
    );
    mkdirSync(join(w.root, 'analytics/target'), { recursive: true });
    writeFileSync(
      join(w.root, 'analytics/target/manifest.json'),
      JSON.stringify(
        buildManifest(
          [
            { name: 'order_notes', compiled: 'select id, note from a.orders', sources: ['a.orders'] },
            { name: 'open', compiled: 'select id from a.open_orders', sources: ['a.open_orders'] },
          ],
          [
            { source: 'a', table: 'orders', schema: 'a' },
            { source: 'a', table: 'open_orders', schema: 'a' },
          ],
        ),
      ),
    );
    const dbt = await run(
      w.root,
      'check',
      { project: 'a', env: 'server', dbt: 'analytics/target/manifest.json', format: 'json' },
      vars,
    );
    expect(dbt.code, dbt.stderr).toBe(1);
    const report = JSON.parse(dbt.stdout) as { nodes: { name: string; verdict: string }[] };
    expect(report.nodes.map((n) => [n.name, n.verdict]).sort()).toEqual([
      ['open', 'pass'],
      ['order_notes', 'breaking'],
    ]);

    // A rename breaks the readers of the old names: a hazard the environment must allow.
    const allowHazards = 'backward-incompatible';
    const dry = await run(w.root, 'deploy', { project: 'a', env: 'server', dryRun: true, allowHazards }, vars);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('ALTER TABLE a.orders RENAME TO purchases');
    expect(dry.stdout).toContain('ALTER TABLE a.purchases RENAME COLUMN note TO remark');
    expect(dry.stdout).not.toMatch(/CREATE TABLE a\.purchases/);
    const real = await run(w.root, 'deploy', { project: 'a', env: 'server', allowHazards }, vars);
    expect(real.stderr).toBe('');
    expect(real.code).toBe(0);
    expect(
      await queryUrl(
        url,
        `SELECT count(*)::int AS n, count(remark)::int AS remarks, to_regclass('a.orders') AS old FROM a.purchases`,
      ),
    ).toEqual([{ n: 100, remarks: 100, old: null }]);
    const diff = await run(w.root, 'diff', { project: 'a', env: 'server', cache: false }, vars);
    expect(diff.stdout).toContain('no differences');
    expect(diff.code).toBe(0);
    // The declaration stays until every environment has run it: done here, it plans nothing and warns of nothing.
    const again = await run(w.root, 'deploy', { project: 'a', env: 'server', allowHazards }, vars);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/nothing to deploy/);
  });
});

/**
 * Issue 88: a view and a function renamed in the sources, declared in `renames:`. Without a declaration the old ones
 * would be dropped and new ones made (a view's grants and comment lost with it); declared, the dry run and the real
 * run say the same `ALTER VIEW ... RENAME TO` / `ALTER FUNCTION ... RENAME TO`, a view over the renamed view is kept,
 * and the next diff is empty.
 */
describe.each([
  ['pglite', 'local'],
  ['postgres', 'server'],
])('declared view and function renames, deployed [%s]', (_name, env) => {
  let w: ReturnType<typeof tempWorkspace>;
  let vars: NodeJS.ProcessEnv = {};
  let drop = async () => {};
  const files = (view: string, fn: string) => ({
    'a/schema/a.sql': 'CREATE SCHEMA a;\n',
    'a/schema/orders.sql': 'CREATE TABLE a.orders (id int PRIMARY KEY, total numeric NOT NULL);\n',
    [`a/schema/${view}.sql`]: `CREATE VIEW a.${view} AS SELECT id, total FROM a.orders WHERE total > 0;\nCOMMENT ON VIEW a.${view} IS 'kept';\nGRANT SELECT ON a.${view} TO PUBLIC;\n`,
    'a/schema/big.sql': `CREATE VIEW a.big AS SELECT id FROM a.${view} WHERE total > 100;\n`,
    [`a/schema/${fn}.sql`]: `CREATE FUNCTION a.${fn}(n int) RETURNS numeric LANGUAGE sql STABLE AS $$ SELECT sum(total) FROM a.orders WHERE id <= n $$;\n`,
  });
  beforeAll(async () => {
    w = tempWorkspace({ 'dbee.yaml': WS, 'a/db.yaml': project(), ...files('paid', 'total_to') });
    if (env === 'server') {
      const db = await scratchDatabase();
      vars = { RENAME_TEST_URL: db.url };
      drop = db.drop;
    }
    const deployed = await run(w.root, 'deploy', { project: 'a', env }, vars);
    expect(deployed.stderr).toBe('');
    expect(deployed.code).toBe(0);
  });
  afterAll(async () => {
    await drop();
    w.remove();
  });

  it('renames them: the dry run says what the deploy does, which converges', async () => {
    for (const f of ['a/schema/paid.sql', 'a/schema/total_to.sql']) rmSync(join(w.root, f));
    for (const [f, t] of Object.entries(files('settled', 'sum_to'))) w.write(f, t);
    w.write(
      'a/db.yaml',
      project(
        'renames:\n  - { kind: view, schema: a, from: paid, to: settled }\n  - { kind: function, schema: a, from: total_to, to: sum_to }\n',
      ),
    );
    const allowHazards = 'backward-incompatible';
    const renamed = ['ALTER VIEW a.paid RENAME TO settled', 'ALTER FUNCTION a.total_to(integer) RENAME TO sum_to'];
    const dry = await run(w.root, 'deploy', { project: 'a', env, dryRun: true, allowHazards }, vars);
    expect(dry.code, dry.stderr).toBe(0);
    for (const sql of renamed) expect(dry.stdout).toContain(sql);
    expect(dry.stdout).not.toMatch(/CREATE (OR REPLACE )?(VIEW a\.settled|FUNCTION a\.sum_to)|DROP (VIEW|FUNCTION)/);
    const real = await run(w.root, 'deploy', { project: 'a', env, allowHazards }, vars);
    expect(real.stderr).toBe('');
    expect(real.code).toBe(0);
    const diff = await run(w.root, 'diff', { project: 'a', env, cache: false }, vars);
    expect(diff.stdout).toContain('no differences');
    expect(diff.code).toBe(0);
    const again = await run(w.root, 'deploy', { project: 'a', env, allowHazards }, vars);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/nothing to deploy/);
  });
});
