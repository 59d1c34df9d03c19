import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { readNxJson, updateNxJson, type Tree } from '@nx/devkit';
import { createTree, createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { runDbeeCommand } from '@dbee/cli';
import { Workspace, discoverSources } from '@dbee/core';
import { initGenerator, STARTER_WORKSPACE_CONFIG } from './init/init';
import { projectGenerator } from './project/project';
import { migrationGenerator, nextVersion, slugOf } from './migration/migration';
import { GeneratorError } from './workspace-projects';

/** Every file of the tree with its content, to compare a tree before and after a second run. */
function contents(tree: Tree): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const child of tree.children(dir)) {
      const path = dir === '' ? child : `${dir}/${child}`;
      if (tree.isFile(path)) out[path] = tree.read(path, 'utf-8') ?? '';
      else walk(path);
    }
  };
  walk('');
  return out;
}

async function initialized(): Promise<Tree> {
  const tree = createTreeWithEmptyWorkspace();
  await initGenerator(tree, {});
  return tree;
}

async function failure(run: Promise<unknown>): Promise<string> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GeneratorError);
  return (error as Error).message;
}

describe('init generator (nx add @dbee/nx)', () => {
  it("adds the plugin to nx.json, pins the cache folder, writes the starter dbee.yaml, git-ignores .dbee/, dist/ and Nx's folders", async () => {
    const tree = createTreeWithEmptyWorkspace();
    tree.write('.gitignore', 'node_modules');

    await initGenerator(tree, {});

    expect(readNxJson(tree)?.plugins).toEqual([{ plugin: '@dbee/nx', options: { projectPrefix: 'db-' } }]);
    expect(readNxJson(tree)?.cacheDirectory).toBe('.nx/cache');
    expect(tree.read('dbee.yaml', 'utf-8')).toBe(STARTER_WORKSPACE_CONFIG);
    expect(tree.read('.gitignore', 'utf-8')).toBe(
      'node_modules\n\n# dbee: embedded databases and caches\n.dbee/\n\n# dbee and Nx: build artifacts (packages, graph pages, diff reports)\ndist/\n\n' +
        '# Nx: task cache and workspace data\n.nx/cache\n.nx/workspace-data\n',
    );
  });

  it('writes nx.json where the workspace has none (Nx run from package.json alone), then changes nothing', async () => {
    const tree = createTree();
    tree.write('package.json', '{ "name": "my-db", "devDependencies": { "nx": "24.0.6" } }');

    await initGenerator(tree, {});
    const once = contents(tree);
    await initGenerator(tree, {});

    expect(JSON.parse(tree.read('nx.json', 'utf-8')!)).toEqual({
      $schema: './node_modules/nx/schemas/nx-schema.json',
      plugins: [{ plugin: '@dbee/nx', options: { projectPrefix: 'db-' } }],
      cacheDirectory: '.nx/cache',
    });
    expect(contents(tree)).toEqual(once);
  });

  it('keeps a cache folder the workspace chose, and a dist/ line in another spelling', async () => {
    const tree = createTreeWithEmptyWorkspace();
    updateNxJson(tree, { ...readNxJson(tree)!, cacheDirectory: 'tmp/nx-cache' });
    tree.write('.gitignore', '.dbee\n/dist\n.nx\n');
    await initGenerator(tree, {});
    expect(readNxJson(tree)?.cacheDirectory).toBe('tmp/nx-cache');
    expect(tree.read('.gitignore', 'utf-8')).toBe('.dbee\n/dist\n.nx\n');
  });

  it("adds only the ignore lines not already covered (a line for .nx covers both of Nx's)", async () => {
    const tree = createTreeWithEmptyWorkspace();
    tree.write('.gitignore', '/.nx/\ndist\n');
    await initGenerator(tree, {});
    expect(tree.read('.gitignore', 'utf-8')).toBe('/.nx/\ndist\n\n# dbee: embedded databases and caches\n.dbee/\n');

    tree.write('.gitignore', '.dbee\n.nx/cache\ndist/**\n');
    await initGenerator(tree, {});
    expect(tree.read('.gitignore', 'utf-8')).toBe(
      '.dbee\n.nx/cache\ndist/**\n\n# Nx: task cache and workspace data\n.nx/workspace-data\n',
    );
  });

  it('changes nothing when run again, and keeps the other plugins, an existing dbee.yaml and ignore line', async () => {
    const tree = createTreeWithEmptyWorkspace();
    const nxJson = readNxJson(tree)!;
    updateNxJson(tree, {
      ...nxJson,
      cacheDirectory: '.nx/cache',
      plugins: ['@nx/js/typescript', { plugin: '@dbee/nx', options: { projectPrefix: 'sql-' } }],
    });
    tree.write('dbee.yaml', 'version: 1\nenvironments: {}\n');
    tree.write('.gitignore', '/.dbee\n.nx\ndist/\n');
    const before = contents(tree);

    await initGenerator(tree, {});
    await initGenerator(tree, { projectPrefix: 'other-' });

    expect(contents(tree)).toEqual(before);
  });

  it('adds itself after the plugins already listed, and is idempotent from an empty workspace', async () => {
    const tree = createTreeWithEmptyWorkspace();
    updateNxJson(tree, { ...readNxJson(tree)!, plugins: ['@nx/js/typescript'] });

    await initGenerator(tree, { projectPrefix: 'sql-' });
    const once = contents(tree);
    await initGenerator(tree, {});

    expect(readNxJson(tree)?.plugins).toEqual([
      '@nx/js/typescript',
      { plugin: '@dbee/nx', options: { projectPrefix: 'sql-' } },
    ]);
    expect(contents(tree)).toEqual(once);
  });
});

describe('project generator', () => {
  it('writes db.yaml, one CREATE SCHEMA file per schema and a smoke check', async () => {
    const tree = await initialized();
    await projectGenerator(tree, { name: 'core' });
    await projectGenerator(tree, {
      name: 'sales',
      schemas: 'sales, sales_audit',
      dependsOn: 'db-core',
      directory: 'db/sales/',
    });

    expect(
      Object.entries(contents(tree)).filter(([f]) => f.startsWith('databases/') || f.startsWith('db/')),
    ).toMatchInlineSnapshot(`
      [
        [
          "databases/core/db.yaml",
          "# Database project "core". Objects: one file per object under schema/<schema>/ (tables, views, functions...).
      # Migrations (run once, with a rollback script): nx g @dbee/nx:migration core "what it does".
      version: 1
      name: core
      engine: postgres
      schemas: [core]
      ",
        ],
        [
          "databases/core/schema/core/schema.sql",
          "CREATE SCHEMA core;
      ",
        ],
        [
          "databases/core/smoke/core.yaml",
          "# Smoke checks, run by \`nx run <project>:smoke-test\` and after each deployment; see the README, "Smoke checks".
      checks:
        - name: the project's schemas exist
          query: SELECT count(*)::int AS schemas FROM pg_namespace WHERE nspname IN ('core')
          rows: [{ schemas: 1 }]
      ",
        ],
        [
          "db/sales/db.yaml",
          "# Database project "sales". Objects: one file per object under schema/<schema>/ (tables, views, functions...).
      # Migrations (run once, with a rollback script): nx g @dbee/nx:migration sales "what it does".
      version: 1
      name: sales
      engine: postgres
      schemas: [sales, sales_audit]
      dependsOn: [core]
      # Unqualified names are looked up in these schemas, in order.
      searchPath: [sales, sales_audit, public]
      ",
        ],
        [
          "db/sales/schema/sales/schema.sql",
          "CREATE SCHEMA sales;
      ",
        ],
        [
          "db/sales/schema/sales_audit/schema.sql",
          "CREATE SCHEMA sales_audit;
      ",
        ],
        [
          "db/sales/smoke/sales.yaml",
          "# Smoke checks, run by \`nx run <project>:smoke-test\` and after each deployment; see the README, "Smoke checks".
      checks:
        - name: the project's schemas exist
          query: SELECT count(*)::int AS schemas FROM pg_namespace WHERE nspname IN ('sales', 'sales_audit')
          rows: [{ schemas: 2 }]
      ",
        ],
      ]
    `);
  });

  it('derives the schema from the name and accepts a list of dependencies', async () => {
    const tree = await initialized();
    await projectGenerator(tree, { name: 'core' });
    await projectGenerator(tree, { name: 'hr' });
    await projectGenerator(tree, { name: 'order-history', dependsOn: ['core', 'hr'] });

    expect(tree.read('databases/order-history/db.yaml', 'utf-8')).toContain(
      'schemas: [order_history]\ndependsOn: [core, hr]\n',
    );
    expect(tree.exists('databases/order-history/schema/order_history/schema.sql')).toBe(true);
  });

  it('refuses a missing dependency, a taken name or folder, and invalid names, writing nothing', async () => {
    const tree = await initialized();
    await projectGenerator(tree, { name: 'core' });
    const before = contents(tree);

    expect(await failure(projectGenerator(tree, { name: 'sales', dependsOn: 'core,billing' }))).toBe(
      '--depends-on names no database project "billing" (projects: core): create it first with nx g @dbee/nx:project',
    );
    expect(await failure(projectGenerator(tree, { name: 'core', directory: 'other/core' }))).toBe(
      'a database project named "core" already exists in databases/core/db.yaml: choose another name',
    );
    expect(await failure(projectGenerator(tree, { name: 'core2', directory: 'databases/core' }))).toBe(
      'databases/core/db.yaml already exists: choose another --directory',
    );
    expect(await failure(projectGenerator(tree, { name: '9lives' }))).toMatch(/^project name "9lives" is not valid/);
    expect(await failure(projectGenerator(tree, { name: 'x', schemas: 'Sales' }))).toMatch(
      /^schema name "Sales" is not valid/,
    );
    expect(await failure(projectGenerator(tree, { name: 'x', directory: '../x' }))).toMatch(
      /must be a folder inside the workspace/,
    );
    expect(contents(tree)).toEqual(before);
  });
});

describe('migration generator', () => {
  it('adds V1, then the next version after the highest one, each with its rollback script', async () => {
    const tree = await initialized();
    await projectGenerator(tree, { name: 'sales' });

    await migrationGenerator(tree, { project: 'sales', description: 'Backfill order-status!' });
    tree.write('databases/sales/migrations/V7_1__hand_written.sql', 'select 1;\n');
    tree.write('databases/sales/migrations/U7_1__hand_written.sql', 'select 1;\n');
    await migrationGenerator(tree, { project: 'db-sales', description: 'drop legacy flag' });

    expect(tree.children('databases/sales/migrations').sort()).toEqual([
      'U7_1__hand_written.sql',
      'V1__backfill_order_status.rollback.sql',
      'V1__backfill_order_status.sql',
      'V7_1__hand_written.sql',
      'V8__drop_legacy_flag.rollback.sql',
      'V8__drop_legacy_flag.sql',
    ]);
    expect(tree.read('databases/sales/migrations/V1__backfill_order_status.sql', 'utf-8')).toMatch(
      /^-- Migration 1 of sales: Backfill order-status!\./,
    );
  });

  it('names the projects when the project does not exist, and refuses an empty description', async () => {
    const tree = await initialized();
    await projectGenerator(tree, { name: 'sales' });

    expect(await failure(migrationGenerator(tree, { project: 'crm', description: 'x' }))).toBe(
      'no database project "crm" (projects: sales): give a dbee name such as "sales" or an Nx name such as "db-sales"',
    );
    expect(await failure(migrationGenerator(tree, { project: 'sales', description: ' -- ' }))).toMatch(
      /must contain letters or digits/,
    );
  });

  it('slugs descriptions and numbers versions as dbee reads them', () => {
    expect(slugOf('  Crème brûlée: v2 (final) ')).toBe('creme_brulee_v2_final');
    expect(nextVersion(['V1__a.sql', 'V1__a.rollback.sql', 'U3__b.sql', 'V2.5__c.sql', 'notes.md'])).toBe(4);
    expect(nextVersion([])).toBe(1);
  });
});

describe('generated workspace', () => {
  const root = mkdtempSync(join(tmpdir(), 'dbee-generators-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('deploys to the embedded local environment and passes its smoke checks, as dbee reads it', async () => {
    const tree = await initialized();
    await projectGenerator(tree, { name: 'core' });
    await projectGenerator(tree, { name: 'sales', dependsOn: 'core' });
    await migrationGenerator(tree, { project: 'sales', description: 'seed' });
    tree.write('databases/sales/schema/sales/tables/seeded.sql', 'CREATE TABLE sales.seeded (id int);\n');
    tree.write('databases/sales/migrations/V1__seed.sql', 'INSERT INTO sales.seeded VALUES (1);\n');
    tree.write('databases/sales/migrations/V1__seed.rollback.sql', 'DELETE FROM sales.seeded;\n');
    for (const change of tree.listChanges()) {
      if (change.type === 'DELETE' || !change.content) continue;
      mkdirSync(dirname(join(root, change.path)), { recursive: true });
      writeFileSync(join(root, change.path), change.content);
    }

    const workspace = Workspace.load(root);
    expect([...workspace.projects.keys()].sort()).toEqual(['core', 'sales']);
    expect(discoverSources(root, workspace.projects.get('sales')!).migrations.map((m) => m.version)).toEqual(['1']);

    let output = '';
    const sink = new Writable({ write: (chunk, _enc, done) => ((output += String(chunk)), done()) });
    const context = { workspaceRoot: root, stdout: sink, stderr: sink, interactive: false };
    expect(await runDbeeCommand('deploy', { project: 'sales', env: 'local' }, context), output).toBe(0);
    expect(await runDbeeCommand('smoke-test', { project: 'sales', env: 'local' }, context), output).toBe(0);
    output = '';
    expect(await runDbeeCommand('diff', { project: 'sales', env: 'local', failOnDiff: true }, context), output).toBe(0);
  });
});
