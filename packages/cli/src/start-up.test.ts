import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { scratchDatabase } from '../../../test/support/pg';
import { oneTableProject, tempWorkspace, URL_TEST_WORKSPACE_YAML } from '../../../test/support/workspace';

const REPO = join(__dirname, '..', '..', '..');
const BIN = join(REPO, 'packages', 'cli', 'bin', 'dbee.js');

/**
 * What a process evaluated, as a script's expression: the files Node loaded (`require.cache`) and the modules of the
 * packages' bundles (tools/bundle.js), each by the dist/ file tsc compiles it to.
 */
const LOADED = `[...new Set([...Object.keys(require.cache), ...(globalThis[Symbol.for('dbee.bundledModules')] ?? [])])]`;

/**
 * The modules a `dbee` process (the bundled dist/, as installed) loads for `args`, relative to the repository, with
 * its exit code. What the process prints is not checked here (options.test.ts and the e2e tests do).
 */
function modulesLoaded(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { code: number | null; modules: string[]; files: string[]; output: string } {
  const probe = `process.on('exit', () => process.stderr.write('\\nMODULES ' + JSON.stringify([${LOADED}, Object.keys(require.cache)])));
process.argv.splice(1, 0, ${JSON.stringify(BIN)});
require(${JSON.stringify(BIN)});`;
  const r = spawnSync(process.execPath, ['-e', probe, '--', ...args], {
    encoding: 'utf8',
    env: { ...process.env, DBEE_USE_DIST: '1', ...env },
  });
  const list = /\nMODULES (.*)$/.exec(r.stderr)?.[1];
  if (!list) throw new Error(`no module list from dbee ${args.join(' ')}:\n${r.stdout}${r.stderr}`);
  const [modules, files] = JSON.parse(list) as [string[], string[]];
  return {
    code: r.status,
    modules: modules.map((f) => relative(REPO, f)),
    files: files.map((f) => relative(REPO, f)),
    output: r.stdout + r.stderr.replace(/\nMODULES .*$/, ''),
  };
}

describe('the bundled packages (tools/bundle.js), as installed', () => {
  it('a command reads each dbee package from one file: its bundle, the stubs of the entries it came by, the leaves', () => {
    const run = modulesLoaded(['deploy', 'no-such-project']);
    expect(run.code).toBe(1);
    const own = run.files.filter((f) => /^(packages|plugins)\/[^/]+\/dist\//.test(f)).sort();
    expect(own).toEqual([
      'packages/cli/dist/cli.bundle.js',
      'packages/cli/dist/commands.generated.json',
      'packages/cli/dist/main.js',
      'packages/cli/dist/run-command.js',
      'packages/core/dist/compile-cache.js',
      'packages/core/dist/core.bundle.js',
      'packages/core/dist/errors.js',
      'packages/core/dist/operations/run.js',
    ]);
    // The stubs are one line each; the modules they stand for are in the bundle.
    expect(readFileSync(join(REPO, 'packages/core/dist/operations/run.js'), 'utf8')).toMatch(
      /^\/\/ bundled by tools\/bundle\.js: core\.bundle\.js\n'use strict';\nmodule\.exports = require\("\.\.\/core\.bundle\.js"\)\("operations\/run\.js"\);\n$/,
    );
    expect(run.modules).toContain('packages/core/dist/operations/deploy.js');
  });

  it("an internal error's stack names the TypeScript sources, through the bundles' source maps", () => {
    // Options that are no object: a programming error inside the bundle of @dbee/cli, printed with its stack.
    const probe = `require(${JSON.stringify(join(REPO, 'packages/cli/dist/index.js'))})
  .runDbeeCommand('deploy', null, { workspaceRoot: process.cwd() })
  .then((code) => process.stdout.write(String(code)));`;
    const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' });
    expect(r.stdout).toBe('1');
    expect(r.stderr).toMatch(/^internal error \(a bug in dbee, please report it\):\nTypeError/);
    expect(r.stderr).toMatch(/\(.*packages\/cli\/src\/[\w/-]+\.ts:\d+:\d+\)/);
    expect(r.stderr).not.toMatch(/\.bundle\.js/);
  });
});

describe('the start of the dbee process', () => {
  it.each([
    ['--help', 0],
    ['deploy --help', 0],
    ['deploy sales --dryrun', 1],
    ['no-such-command', 1],
  ])(
    '`dbee %s` loads the command table and core errors only: no zod, no option schema, no compile cache',
    (args, code) => {
      const run = modulesLoaded(args.split(' '));
      expect(run.code).toBe(code);
      expect(run.modules.filter((f) => !f.startsWith('packages/cli/')).sort()).toEqual([
        'packages/core/dist/errors.js',
      ]);
    },
  );
});

describe('a dbee process loads the modules of the command it runs', () => {
  /** The modules of core's operations/ and fleet/ folders, and whether the PostgreSQL engine loaded, for `args`. */
  function loadedFor(args: string) {
    const run = modulesLoaded(args.split(' '));
    const under = (folder: string) =>
      run.modules
        .filter((f) => f.startsWith(`packages/core/dist/${folder}/`))
        .map((f) => f.slice(`packages/core/dist/${folder}/`.length))
        .sort();
    return {
      code: run.code,
      operations: under('operations'),
      fleet: under('fleet'),
      policies: under('policies'),
      engine: run.modules.some((f) => f.startsWith('packages/postgres/')),
      barrel: run.modules.includes('packages/core/dist/index.js'),
    };
  }

  // An unknown project: the command's operation has loaded and refuses (exit 1) before it connects anywhere.
  it("`dbee log` loads the log operation and no other command's, nor the fleet, nor an engine it does not use", () => {
    expect(loadedFor('log no-such-project')).toEqual({
      code: 1,
      operations: ['index.js', 'log.js', 'run.js'],
      fleet: ['dispatch.js'],
      policies: [],
      engine: false,
      barrel: false,
    });
  });

  it('`dbee deploy` loads no policy rule: the catalogue loads when a workspace configures policies', () => {
    const run = loadedFor('deploy no-such-project');
    expect(run.code).toBe(1);
    expect(run.policies.filter((f) => f !== 'blocks.js')).toEqual([]);
  });

  it.each([['status'], ['deploy'], ['diff'], ['rollback']])(
    '`dbee %s` loads none of the operations of advise, extract, check, clone, preview and graph',
    (command) => {
      const run = loadedFor(`${command} no-such-project`);
      expect(run.code).toBe(1);
      expect(run.operations).toContain(`${command}.js`);
      const others = ['advise.js', 'extract.js', 'check.js', 'clone.js', 'preview.js', 'graph.js', 'dbt-sources.js'];
      expect(run.operations.filter((f) => others.includes(f))).toEqual([]);
      expect(run.fleet).toEqual(['dispatch.js']);
      expect(run.barrel).toBe(false);
    },
  );
});

describe('a deployment (dbee deploy, compiled, on the PostgreSQL server)', () => {
  let cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const f of cleanup.reverse()) await f();
    cleanup = [];
  });

  /** Deploy a one-table project to a scratch database with `dbee.yaml` extra lines; the modules it loaded. */
  async function deployWith(extra: string) {
    const db = await scratchDatabase();
    cleanup.push(() => db.drop());
    const w = tempWorkspace({
      'dbee.yaml': URL_TEST_WORKSPACE_YAML + extra,
      ...oneTableProject('sales'),
    });
    cleanup.push(w.remove);
    const run = modulesLoaded(['deploy', 'sales', '-y', '--cwd', w.root], { URL_TEST: db.url });
    const rules = run.modules.filter((f) => f.startsWith('packages/core/dist/policies/') && !f.endsWith('/blocks.js'));
    return { ...run, rules, barrel: run.modules.includes('packages/core/dist/index.js') };
  }

  it("loads no policy rule when the workspace configures none, nor core's barrel, nor the extractor", async () => {
    const run = await deployWith('');
    expect(run.output).toMatch(/sales: deployed 2 steps/);
    expect(run.code).toBe(0);
    expect(run.rules).toEqual([]);
    expect(run.barrel).toBe(false);
    expect(run.modules).not.toContain('packages/postgres/dist/extract/extract.js');
  });

  it('judges the policies a workspace configures: an error rule still refuses the deployment', async () => {
    const run = await deployWith('policies:\n  table-comment: error\n');
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/table-comment/);
    expect(run.rules).toContain('packages/core/dist/policies/catalogue.js');
  });
});

describe('a direct deployment loads what it runs (dbee deploy, compiled, its configuration from .dbee/cache)', () => {
  let cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const f of cleanup.reverse()) await f();
    cleanup = [];
  });

  /** A one-table workspace whose configuration a first command kept in .dbee/cache; the modules `args` then loads. */
  async function secondCommand(args: string[], files: Record<string, string> = {}) {
    const db = await scratchDatabase();
    cleanup.push(() => db.drop());
    const w = tempWorkspace({
      'dbee.yaml': URL_TEST_WORKSPACE_YAML,
      ...oneTableProject('sales'),
      ...files,
    });
    cleanup.push(w.remove);
    // Any command reads the workspace: this one refuses an unknown project once it has, and keeps it in the cache.
    expect(modulesLoaded(['log', 'no-such-project', '--cwd', w.root], { URL_TEST: db.url }).code).toBe(1);
    return { ...modulesLoaded([...args, '--cwd', w.root], { URL_TEST: db.url }), root: w.root, url: db.url };
  }

  it("loads neither zod, nor an option schema, nor dbee.yaml's, nor what expand-contract and blue/green run", async () => {
    const run = await secondCommand(['deploy', 'sales', '-y', '--wait-for-lock', '5', '--allow-hazards', 'data-loss']);
    expect(run.output).toMatch(/sales: deployed 2 steps/);
    expect(run.code).toBe(0);
    expect(run.modules.filter((f) => /(^|\/)node_modules\/zod\/.*\.c?js$/.test(f))).toEqual([]);
    expect(run.modules.filter((f) => f.startsWith('packages/core/dist/options/'))).toEqual([]);
    expect(run.modules).not.toContain('packages/core/dist/config/schema.js');
    expect(run.modules).not.toContain('packages/core/dist/smoke/smoke-schema.js');
    const strategies = run.modules.filter((f) =>
      /^packages\/core\/dist\/(expand\/(rules\/|expand-plan|in-flight)|operations\/strategies\/(expand-contract|blue-green)\/(status|release-work|deploy|expand|finish|switch))/.test(
        f,
      ),
    );
    expect(strategies).toEqual([]);
    // The engine's roles a direct deployment does not use load on first use; the dry run's checks with the dry run.
    const unused = run.modules.filter((f) =>
      /^packages\/postgres\/dist\/(blue-green|expand|advise|preview|check)\/|^packages\/postgres\/dist\/extract\/(audit|extensions)\.js$|^packages\/core\/dist\/(operations\/(compat|dbt|rollback-test|rollback)\.js|check\/)/.test(
        f,
      ),
    );
    expect(unused).toEqual([]);
  });

  it.each([
    ['status', ['status', 'sales'], /sales/],
    ['check', ['check', 'sales', '--queries', 'app.sql'], /compatibility: 1 query checked, 0 broken/],
  ])('`dbee %s` with valid options loads no zod, nor an option schema', async (_, args, output) => {
    const run = await secondCommand(args, { 'app.sql': 'SELECT 1 AS one;\n' });
    expect(run.output).toMatch(output);
    expect(run.code).toBe(0);
    expect(run.modules.filter((f) => /(^|\/)node_modules\/zod\/.*\.c?js$/.test(f))).toEqual([]);
    expect(run.modules.filter((f) => f.startsWith('packages/core/dist/options/'))).toEqual([]);
  });

  it('a project with a YAML smoke file (as `nx g @dbee/nx:project` writes one): its checks come from .dbee/cache, no YAML library, no zod', async () => {
    const smoke = {
      'sales/smoke/sales.yaml':
        "checks:\n  - name: the project's schemas exist\n" +
        "    query: SELECT count(*)::int AS schemas FROM pg_namespace WHERE nspname IN ('sales')\n" +
        '    rows: [{ schemas: 1 }]\n',
    };
    const first = await secondCommand(['deploy', 'sales', '-y'], smoke);
    expect(first.output).toMatch(/1 of 1 smoke checks? passed|smoke checks?: 1 passed|passed/);
    expect(first.code).toBe(0);
    expect(first.modules).toContain('packages/core/dist/smoke/smoke-schema.js');
    // A change to deploy, and its smoke checks run again: read back from the cache.
    writeFileSync(join(first.root, 'sales', 't.sql'), 'CREATE SCHEMA sales;\nCREATE TABLE sales.t (id int, v int);\n');
    const run = modulesLoaded(['deploy', 'sales', '-y', '--cwd', first.root], { URL_TEST: first.url });
    expect(run.output).toMatch(/sales: deployed 1 step/);
    expect(run.output).toMatch(/the project's schemas exist/);
    expect(run.code).toBe(0);
    expect(run.modules.filter((f) => /(^|\/)node_modules\/(zod|yaml)\/.*\.c?js$/.test(f))).toEqual([]);
    expect(run.modules).not.toContain('packages/core/dist/smoke/smoke-schema.js');
  });

  it('a wrong option loads the schemas, which say what is wrong as before (exit 1, nothing done)', async () => {
    const run = await secondCommand(['deploy', 'sales', '-y', '--wait-for-lock', 'soon']);
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/error: --wait-for-lock: expected a number of seconds, got "soon"/);
    expect(run.modules).toContain('packages/core/dist/options/deploy.js');
  });
});

describe('the PostgreSQL engine a command loads (@dbee/postgres/engine, compiled)', () => {
  it("loads neither core's barrel (every module of core, zod and yaml with them) nor the extractor", () => {
    const probe = `require(${JSON.stringify(join(REPO, 'packages', 'postgres', 'dist', 'engine.js'))}).createPostgresEngine();
process.stdout.write(JSON.stringify(${LOADED}));`;
    const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const modules = (JSON.parse(r.stdout) as string[]).map((f) => relative(REPO, f));
    expect(modules).toContain('packages/postgres/dist/engine.js');
    expect(modules.filter((f) => /^packages\/core\/dist\/index\.js$|\/extract\/extract\.js$|\/yaml\//.test(f))).toEqual(
      [],
    );
  });
});

describe('the dbee command from the sources (this repository, a TypeScript loader)', () => {
  it('reads the same command table: `dbee rollback --help` exits 0 (the table once resolved to its JSON file)', () => {
    const env = { ...process.env };
    delete env.DBEE_USE_DIST;
    const r = spawnSync(process.execPath, [BIN, 'rollback', '--help'], { encoding: 'utf8', env });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^dbee rollback <project> \[options\]/);
  });
});
