#!/usr/bin/env node
'use strict';
/**
 * Installed-product test: dbee as a user gets it, from the packed tarballs, in a fresh Nx workspace OUTSIDE this
 * repository (`npm run test:installed`; .ci/run calls it after `npm test`).
 *
 *   1. `npm pack --workspaces` (prepack compiles every package with tsc -b and bundles it, tools/bundle.js) into a
 *      temporary folder; each package's main is a stub of its bundle, which is in the tarball with its source map;
 *   2. a new workspace: package.json + nx.json (no analytics, no cloud, local cache) and nothing else, no tsconfig;
 *      `npm install -D nx @nx/devkit` at this repository's Nx version and the tarballs of a PostgreSQL user
 *      (@dbee/core, @dbee/postgres, @dbee/cli, @dbee/nx: not @dbee/teradata);
 *   3. `nx g @dbee/nx:init` (what `nx add @dbee/nx` runs once the package is installed; `nx add` itself would fetch
 *      @dbee/nx from the registry, where these unreleased tarballs are not), `nx g @dbee/nx:project a`,
 *      `nx g @dbee/nx:project b --depends-on=a`;
 *   4. `nx run db-b:deploy --env=local` deploys db-a then db-b (each one's deployment shown); a second run applies
 *      nothing; `nx affected -t deploy` on a git branch deploys what changed: a view of b -> b only; a view of a -> a,
 *      then b; no change -> nothing, exit 0; artifacts under dist/ stay out of git status;
 *   5. `nx g @dbee/nx:ci --provider=github` refuses a dbee.yaml without a server environment, then writes the workflow;
 *   6. `nx show project db-b --json`: every target, and inputs with no absolute path and no
 *      `{workspaceRoot}/packages/...` glob; `nx graph --file=graph.json`: db-b depends on db-a;
 *   7. `npx dbee diff b --env local` is empty; `npx dbee --help` works; `dbee lsp` answers an editor (a syntax error
 *      in an open file, tools/lsp-handshake.js); an `engine: teradata` environment fails with
 *      exit 1 naming `npm install -D @dbee/teradata teradatasql`;
 *   8. `npm ls --all` has no @swc-node/register, no typescript and no teradatasql; no tsconfig was written.
 *
 * Fast on purpose: one workspace, npm's cache with --prefer-offline, NX_DAEMON=false. Run in a separate script
 * (not in vitest) because it compiles and installs, which needs a minute; `--keep` leaves the workspace for a look.
 */
const { execFileSync } = require('node:child_process');
const { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');

const REPO = resolve(__dirname, '..');
const keep = process.argv.includes('--keep');
const started = Date.now();
const root = mkdtempSync(join(tmpdir(), 'dbee-installed-'));
const packs = join(root, '.packs');
const ws = join(root, 'workspace');
let failures = 0;

function step(title) {
  process.stdout.write(`\n== ${title} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
}
function check(ok, what, detail = '') {
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${what}\n`);
  if (!ok) {
    failures++;
    if (detail)
      process.stdout.write(
        `${String(detail)
          .trimEnd()
          .split('\n')
          .map((l) => `     | ${l}`)
          .join('\n')}\n`,
      );
  }
}
/** Env of a user's shell: nothing of this repository's (no NODE_OPTIONS dev loader, no Nx/dbee/Vitest settings). */
const ENV = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) => !/^(NX_|DBEE_|VITEST|npm_|NODE_OPTIONS$|SWC_NODE_PROJECT$|INIT_CWD$)/.test(k),
  ),
);
Object.assign(ENV, { NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', CI: 'true', FORCE_COLOR: '0' });
/** Run a command; returns { code, out } with stdout+stderr, never throws. */
function run(cmd, args, cwd = ws) {
  try {
    const out = execFileSync(cmd, args, {
      cwd,
      env: ENV,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 << 20,
    });
    return { code: 0, out };
  } catch (e) {
    return { code: typeof e.status === 'number' ? e.status : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}
function must(cmd, args, cwd) {
  const r = run(cmd, args, cwd);
  check(r.code === 0, `${cmd} ${args.join(' ')}`, r.out);
  if (r.code !== 0) finish();
  return r.out;
}
function finish() {
  if (!keep) rmSync(root, { recursive: true, force: true });
  else process.stdout.write(`\nworkspace kept: ${ws}\n`);
  process.stdout.write(
    `\n${failures ? `${failures} check(s) FAILED` : 'installed product: all checks passed'} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
  process.exit(failures ? 1 : 0);
}

step('npm pack --workspaces (prepack builds)');
require('node:fs').mkdirSync(packs);
// Run from the repository with its own environment (the build needs its devDependencies), into our temp folder.
execFileSync('npm', ['pack', '--workspaces', '--pack-destination', packs, '--silent'], {
  cwd: REPO,
  stdio: ['ignore', 'ignore', 'inherit'],
});
// The VS Code extension (packages/vscode) is packaged for the Marketplace with vsce, never installed from npm.
const tarballs = readdirSync(packs).filter((f) => f.endsWith('.tgz') && !f.startsWith('dbee-vscode-'));
check(tarballs.length === 5, `five tarballs: ${tarballs.join(' ')}`);
for (const t of tarballs) {
  const files = execFileSync('tar', ['tzf', join(packs, t)], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
  const tests = files.filter((f) => /\.test\.|\.spec\.|(^|\/)src\/.*\.ts$/.test(f));
  check(tests.length === 0, `${t}: no tests and no TypeScript sources`, tests.join('\n'));
  const pkg = JSON.parse(execFileSync('tar', ['xzOf', join(packs, t), 'package/package.json'], { encoding: 'utf8' }));
  check(
    !pkg.private && String(pkg.main).startsWith('./dist/'),
    `${t}: public, main in dist/`,
    JSON.stringify({ private: pkg.private, main: pkg.main }),
  );
  const bundle = `package/dist/${pkg.name.split('/').pop()}.bundle.js`;
  const main = execFileSync('tar', ['xzOf', join(packs, t), `package/${pkg.main.replace(/^\.\//, '')}`], {
    encoding: 'utf8',
  });
  check(
    files.includes(bundle) && files.includes(`${bundle}.map`) && /^\/\/ bundled by tools\/bundle\.js/.test(main),
    `${t}: bundled (${bundle.slice('package/'.length)} and its map; main a stub of it)`,
    main,
  );
}

step('fresh Nx workspace outside the repository');
// The versions this repository is built and tested with (the registry has @nx/devkit releases only for some nx ones).
const NX_VERSION = require(require.resolve('nx/package.json', { paths: [REPO] })).version;
const DEVKIT_VERSION = require(require.resolve('@nx/devkit/package.json', { paths: [REPO] })).version;
require('node:fs').mkdirSync(ws);
writeFileSync(join(ws, 'package.json'), `${JSON.stringify({ name: 'installed-dbee', private: true }, null, 2)}\n`);
writeFileSync(
  join(ws, 'nx.json'),
  `${JSON.stringify({ analytics: false, neverConnectToCloud: true, cacheDirectory: '.nx/cache' }, null, 2)}\n`,
);
// As a user who set the workspace up by hand: only node_modules ignored; init adds the rest.
writeFileSync(join(ws, '.gitignore'), 'node_modules\n');
run('git', ['init', '-q']);
const userTarballs = tarballs.filter((t) => !t.includes('teradata')).map((t) => join(packs, t));
must('npm', [
  'install',
  '-D',
  '--prefer-offline',
  '--no-audit',
  '--no-fund',
  '--loglevel=error',
  `nx@${NX_VERSION}`,
  `@nx/devkit@${DEVKIT_VERSION}`,
  ...userTarballs,
]);

const NPX = ['--no-install'];
const nx = (...args) => must('npx', [...NPX, 'nx', ...args]);

step('nx g @dbee/nx:init, two projects (b depends on a)');
nx('g', '@dbee/nx:init');
check(existsSync(join(ws, 'dbee.yaml')), 'init wrote dbee.yaml');
check(
  JSON.stringify(JSON.parse(readFileSync(join(ws, 'nx.json'), 'utf8')).plugins ?? []).includes('@dbee/nx'),
  'init added the plugin to nx.json',
);
const ignores = readFileSync(join(ws, '.gitignore'), 'utf8');
check(
  /^\.dbee\/?$/m.test(ignores) &&
    /^dist\/$/m.test(ignores) &&
    /^\.nx\/cache$/m.test(ignores) &&
    /^\.nx\/workspace-data$/m.test(ignores),
  'init git-ignored .dbee/, dist/, .nx/cache and .nx/workspace-data',
  ignores,
);
nx('g', '@dbee/nx:project', 'a');
nx('g', '@dbee/nx:project', 'b', '--depends-on=a');

step('nx run db-b:deploy --env=local, twice');
// nx:run-commands' habit: the flags as one string. Nx hands `args` to the executor (every schema declares it), which
// reads it as dbee's command line does; it crashed Nx's batch with a SchemaError before. A dry run: nothing applied.
const viaArgs = nx('run', 'db-b:deploy', '--args=--env=local --dry-run', '--outputStyle=static', '--skip-nx-cache');
// Under Nx a dry run plans the dependencies too (their dry runs apply nothing): b's task plans a, then b.
check(
  /^dbee deploy a, b -> local .*\[dry run\]/m.test(viaArgs) &&
    /dry run: a planned first, as their own Nx tasks deploy them before b/.test(viaArgs) &&
    /dry run: nothing was applied/.test(viaArgs) &&
    !/SchemaError/.test(viaArgs),
  '--args="--env=local --dry-run" is a dry run on local',
  viaArgs,
);
const first = nx('run', 'db-b:deploy', '--env=local', '--outputStyle=static');
const ia = first.indexOf('nx run db-a:deploy');
const ib = first.indexOf('nx run db-b:deploy');
check(ia >= 0 && ib > ia, 'deploys db-a, then db-b', first);
check(!/swc|tsconfig/i.test(first), 'no TypeScript loader warning', first);
const second = nx('run', 'db-b:deploy', '--env=local', '--outputStyle=static', '--skip-nx-cache');
check(
  /a: nothing to deploy/.test(second) && /b: nothing to deploy/.test(second),
  'the second deploy applies nothing',
  second,
);
check(
  /^dbee deploy a -> local/m.test(first) && /^a: deployed \d+ steps?/m.test(first),
  "db-a's deployment is shown, not one line",
  first,
);
const untracked = run('git', ['status', '--porcelain', '--untracked-files=all']).out;
check(!/^\?\? (\.nx|\.dbee)\//m.test(untracked), 'nothing under .nx/ or .dbee/ shows in git status', untracked);

step('nx affected -t deploy on a git branch');
const git = (...args) => must('git', ['-c', 'user.email=user@example.com', '-c', 'user.name=user', ...args]);
git('add', '-A');
git('commit', '-qm', 'a and b');
git('branch', '-M', 'main');
git('checkout', '-q', '-b', 'feature');
const affected = (...range) =>
  run('npx', [
    ...NPX,
    'nx',
    'affected',
    '-t',
    'deploy',
    '--env=local',
    ...range,
    '--excludeTaskDependencies',
    '--outputStyle=static',
  ]);
const ran = (out, p) => out.indexOf(`nx run db-${p}:deploy`);
writeFileSync(
  join(ws, 'databases', 'b', 'schema', 'b', 'answer.sql'),
  'CREATE VIEW b.answer AS SELECT 42 AS answer;\n',
);
git('add', '-A');
git('commit', '-qm', 'a view of b');
const onlyB = affected('--base=main', '--head=HEAD');
check(
  onlyB.code === 0 && ran(onlyB.out, 'b') >= 0 && ran(onlyB.out, 'a') < 0 && /^b: deployed \d+ steps?/m.test(onlyB.out),
  'a view of b: deploys db-b only',
  onlyB.out,
);
writeFileSync(
  join(ws, 'databases', 'a', 'schema', 'a', 'question.sql'),
  'CREATE VIEW a.question AS SELECT 6 * 7 AS question;\n',
);
git('add', '-A');
git('commit', '-qm', 'a view of a');
const both = affected('--base=HEAD~1', '--head=HEAD');
check(
  both.code === 0 && ran(both.out, 'a') >= 0 && ran(both.out, 'b') > ran(both.out, 'a'),
  'a view of a: deploys db-a, then its dependent db-b',
  both.out,
);
const none = affected('--base=HEAD', '--head=HEAD');
check(none.code === 0 && /No tasks were run/.test(none.out), 'no change: nothing runs, exit 0', none.out);
// Back to the sources at main: b's view goes and the ledger records main's state, so deploying the working tree again
// brings back that view and nothing else.
const back = run('npx', [...NPX, 'nx', 'run', 'db-b:rollback', '--env=local', '--to-ref=main', '--outputStyle=static']);
check(
  back.code === 0 && /b: back to the sources at main/.test(back.out),
  'nx run db-b:rollback --to-ref=main goes back to the sources at main',
  back.out,
);
const again = run('npx', [
  ...NPX,
  'nx',
  'run',
  'db-b:deploy',
  '--env=local',
  '--excludeTaskDependencies',
  '--skip-nx-cache',
  '--outputStyle=static',
]);
check(
  again.code === 0 && /^b: deployed 1 step/m.test(again.out) && /create view:b\.answer/.test(again.out),
  'then deploying the working tree brings back b.answer alone',
  again.out,
);
nx('run', 'db-b:graph');
const artifacts = run('git', ['status', '--porcelain', '--untracked-files=all']).out;
check(
  existsSync(join(ws, 'dist', 'dbee')) && !/^\?\? dist\//m.test(artifacts),
  'nx run db-b:graph writes under dist/, which git status does not show',
  artifacts,
);
// The docs site as users build it: the inferred, cached `docs` target (its executor and the site's pages ship
// compiled; no asset file is read at run time). db-b's site names db-a's table, which its view reads.
nx('run', 'db-b:docs');
const site = join(ws, 'dist', 'dbee', 'db-b', 'docs');
const siteFiles = existsSync(site) ? readdirSync(site, { recursive: true }).map(String) : [];
const siteText = siteFiles
  .filter((f) => f.endsWith('.html'))
  .map((f) => readFileSync(join(site, f), 'utf8'))
  .join('\n');
check(
  siteFiles.includes('index.html') && /answer/.test(siteText),
  'nx run db-b:docs writes the site of db-b under dist/dbee/db-b/docs',
  siteFiles.join(' '),
);

step('nx g @dbee/nx:ci --provider=github');
const refused = run('npx', [...NPX, 'nx', 'g', '@dbee/nx:ci', '--provider=github']);
check(
  refused.code === 1 && /declares no server environment/.test(refused.out) && !existsSync(join(ws, '.github')),
  'refused: no server environment',
  refused.out,
);
const withTest = 'environments:\n  test:\n    engine: postgres\n    connection:\n      url: ${DBEE_TEST_URL}\n';
const initial = readFileSync(join(ws, 'dbee.yaml'), 'utf8');
writeFileSync(join(ws, 'dbee.yaml'), initial.replace(/^environments:\n/m, withTest));
nx('g', '@dbee/nx:ci', '--provider=github', '--environments=test');
const workflowFile = join(ws, '.github', 'workflows', 'dbee.yml');
const workflow = existsSync(workflowFile) ? readFileSync(workflowFile, 'utf8') : '';
check(
  workflow.includes('npx dbee deploy "$project" --env test --package "dist/release/$project"') &&
    workflow.includes('DBEE_TEST_URL: ${{ secrets.DBEE_TEST_URL }}'),
  'the workflow deploys the release package to test with its secret',
  workflow,
);
writeFileSync(join(ws, 'dbee.yaml'), initial);

step('nx show project db-b --json, nx graph --file');
const project = JSON.parse(nx('show', 'project', 'db-b', '--json'));
const targets = Object.keys(project.targets ?? {});
for (const t of ['build', 'diff', 'deploy', 'smoke-test', 'rollback', 'status'])
  check(targets.includes(t), `db-b has target ${t}`, targets.join(' '));
// The targets' inputs and the project's named inputs they name (`dbeeModel`, `dbeeChanges`: the plugin's own parts).
const inputs = JSON.stringify([
  ...Object.values(project.targets).map((t) => t.inputs ?? []),
  project.namedInputs ?? {},
]);
check(
  !inputs.includes(ws) && !inputs.includes(REPO) && !inputs.includes(tmpdir()),
  'no absolute path in any input',
  inputs,
);
check(
  !inputs.includes('{workspaceRoot}/packages') && !inputs.includes('{workspaceRoot}/plugins'),
  'no {workspaceRoot}/packages or /plugins input',
  inputs,
);
check(/externalDependencies|--versions/.test(inputs), 'dbee itself enters the hash as installed packages', inputs);
nx('graph', '--file=graph.json');
const graph = JSON.parse(readFileSync(join(ws, 'graph.json'), 'utf8')).graph;
check(
  (graph.dependencies['db-b'] ?? []).some((d) => d.target === 'db-a'),
  'graph: db-b depends on db-a',
  JSON.stringify(graph.dependencies['db-b']),
);

step('npx dbee');
const help = must('npx', [...NPX, 'dbee', '--help']);
check(/usage: dbee/.test(help), 'dbee --help');
const diff = must('npx', [...NPX, 'dbee', 'diff', 'b', '--env', 'local']);
check(/no differences|no changes|up to date/i.test(diff), 'dbee diff b --env local is empty', diff);
step('expand/contract: deploy --strategy, version, complete (PGlite)');
const zd = join(ws, 'databases', 'zd');
require('node:fs').mkdirSync(join(zd, 'schema', 'zd', 'tables'), { recursive: true });
writeFileSync(join(zd, 'db.yaml'), 'version: 1\nname: zd\nengine: postgres\nschemas: [zd]\n');
writeFileSync(join(zd, 'schema', 'zd', 'schema.sql'), 'CREATE SCHEMA zd;\n');
writeFileSync(
  join(zd, 'schema', 'zd', 'tables', 'items.sql'),
  'CREATE TABLE zd.items (id int PRIMARY KEY, name text);\n',
);
must('npx', [...NPX, 'dbee', 'deploy', 'zd', '--env', 'local']);
writeFileSync(
  join(zd, 'schema', 'zd', 'tables', 'items.sql'),
  'CREATE TABLE zd.items (id int PRIMARY KEY, title text);\n',
);
writeFileSync(
  join(zd, 'db.yaml'),
  'version: 1\nname: zd\nengine: postgres\nschemas: [zd]\nrenames:\n  - { kind: column, schema: zd, table: items, from: name, to: title }\n',
);
const expand = must('npx', [...NPX, 'dbee', 'deploy', 'zd', '--env', 'local', '--strategy', 'expand-contract']);
check(/expanded/.test(expand), 'deploy --strategy expand-contract leaves the release expanded', expand);
const version = must('npx', [...NPX, 'dbee', 'version', 'zd', '--env', 'local']);
check(/search_path: zd_v1, zd/.test(version), 'dbee version prints the new version schema', version);
must('npx', [...NPX, 'dbee', 'complete', 'zd', '--env', 'local']);
const zdStatus = must('npx', [...NPX, 'dbee', 'status', 'zd', '--env', 'local']);
check(/pending: nothing/.test(zdStatus), 'after complete, status has nothing pending', zdStatus);

step('dbee lsp: the installed language server answers an editor');
const lsp = run(process.execPath, [
  join(REPO, 'tools', 'lsp-handshake.js'),
  join(ws, 'node_modules', '.bin', 'dbee'),
  ws,
  'databases/zd/schema/zd/views/broken.sql',
  'CREATE VIEW zd.broken AS SELEC 1;\n',
]);
let handshake = null;
try {
  handshake = JSON.parse(lsp.out);
} catch {
  // reported below
}
check(
  handshake?.exit === 0 &&
    handshake.diagnostics?.length === 1 &&
    handshake.diagnostics[0].code === 'SQL_SYNTAX' &&
    handshake.diagnostics[0].range.start.character === 25,
  'dbee lsp: a syntax error in an open file is one diagnostic at its word; shutdown, exit 0',
  lsp.out,
);

writeFileSync(
  join(ws, 'dbee.yaml'),
  `${readFileSync(join(ws, 'dbee.yaml'), 'utf8').replace(/^environments:\n/m, 'environments:\n  td:\n    engine: teradata\n    connection:\n      host: 127.0.0.1\n      user: dbee\n      password: ${TD_PASSWORD}\n')}`,
);
ENV.TD_PASSWORD = 'x';
require('node:fs').mkdirSync(join(ws, 'databases', 'edw'), { recursive: true });
writeFileSync(join(ws, 'databases', 'edw', 'db.yaml'), 'version: 1\nname: edw\nengine: teradata\nschemas: [EDW]\n');
const td = run('npx', [...NPX, 'dbee', 'status', 'edw', '--env', 'td']);
check(
  td.code === 1 && td.out.includes('npm install -D @dbee/teradata teradatasql') && !/\n\s+at /.test(td.out),
  'engine: teradata without @dbee/teradata: exit 1 naming what to install, no stack',
  `exit ${td.code}\n${td.out}`,
);

step('npm ls, no tsconfig');
const ls = run('npm', ['ls', '--all', '--parseable']).out;
for (const name of ['@swc-node/register', 'typescript', 'teradatasql']) {
  check(!ls.split('\n').some((l) => l.endsWith(`/node_modules/${name}`)), `npm ls --all: no ${name}`);
}
const tsconfigs = readdirSync(ws).filter((f) => /^tsconfig.*\.json$/.test(f));
check(tsconfigs.length === 0, 'no tsconfig in the workspace', tsconfigs.join(' '));

finish();
