import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { tempWorkspace, WORKSPACE_YAML } from '../support/workspace';
import { dbYaml } from '../runner/helpers';

// A folder outside the workspace with a file a glob or a link could reach.
const outside = mkdtempSync(join(tmpdir(), 'dbee-outside-'));
writeFileSync(join(outside, 'evil.sql'), 'CREATE TABLE p.evil (secret_first_words text);\n');
const cleanups: (() => void)[] = [() => rmSync(outside, { recursive: true, force: true })];
afterAll(() => cleanups.forEach((c) => c()));

function workspace(files: Record<string, string>) {
  const w = tempWorkspace({ 'dbee.yaml': WORKSPACE_YAML, 'p/s.sql': 'CREATE SCHEMA p;\n', ...files });
  cleanups.push(w.remove);
  return w;
}

const expectRefused = (r: { code: number; stdout: string; stderr: string }, pattern: RegExp) => {
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr).not.toContain('internal error');
  // Nothing of the outside file is echoed.
  expect(r.stderr + r.stdout).not.toContain('secret_first_words');
};

describe('fault: paths and names [pglite]', () => {
  it('a sources glob with ../ that reaches outside the workspace is refused with the db.yaml line, nothing read or applied', async () => {
    const w = workspace({
      'p/db.yaml': dbYaml('p', `sources:\n  - "*.sql"\n  - "${'../'.repeat(12)}${outside.slice(1)}/*.sql"\n`),
    });
    const r = await run(w.root, 'deploy', { project: 'p' }, {});
    expectRefused(r, /^error: p\/db\.yaml:7:\d+: .*evil\.sql resolves outside the workspace/);
  });

  it('an absolute sources glob is a user error with the db.yaml line', async () => {
    const w = workspace({ 'p/db.yaml': dbYaml('p', `sources:\n  - "${outside}/*.sql"\n`) });
    const r = await run(w.root, 'deploy', { project: 'p' }, {});
    expectRefused(r, /^error: p\/db\.yaml:6:\d+: sources\[0\] ".*" is an absolute path/);
  });

  it('a symlinked folder that leads out of the workspace is refused', async () => {
    const w = workspace({ 'p/db.yaml': dbYaml('p') });
    mkdirSync(join(w.root, 'p', 'more'), { recursive: true });
    symlinkSync(outside, join(w.root, 'p', 'more', 'linked'));
    const r = await run(w.root, 'deploy', { project: 'p' }, {});
    expectRefused(
      r,
      /^error: p\/db\.yaml: more\/linked\/evil\.sql resolves outside the workspace \(through a symbolic link\)/,
    );
  });

  it('a symlinked file that leads out of the workspace is refused, in a folder whose other files are read', async () => {
    const w = workspace({ 'p/db.yaml': dbYaml('p'), 'p/t/a.sql': 'CREATE TABLE p.a (id int);\n' });
    symlinkSync(join(outside, 'evil.sql'), join(w.root, 'p', 't', 'b.sql'));
    const r = await run(w.root, 'deploy', { project: 'p' }, {});
    expectRefused(r, /^error: p\/db\.yaml: t\/b\.sql resolves outside the workspace \(through a symbolic link\)/);
  });

  it('a symlinked folder and file that stay inside the workspace are read', async () => {
    const w = workspace({
      'p/db.yaml': dbYaml('p'),
      'shared/t/a.sql': 'CREATE TABLE p.a (id int);\n',
      'shared/c.sql': 'CREATE TABLE p.c (id int);\n',
    });
    symlinkSync(join(w.root, 'shared', 't'), join(w.root, 'p', 't'));
    symlinkSync(join(w.root, 'shared', 'c.sql'), join(w.root, 'p', 'c.sql'));
    const r = await run(w.root, 'plan', { project: 'p' }, {});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/table:p\.a/);
    expect(r.stdout).toMatch(/table:p\.c/);
  });

  it('a project folder that is itself a link out of the workspace is refused, its files never read', async () => {
    const away = mkdtempSync(join(tmpdir(), 'dbee-outside-project-'));
    cleanups.push(() => rmSync(away, { recursive: true, force: true }));
    writeFileSync(join(away, 'db.yaml'), dbYaml('q'));
    writeFileSync(join(away, 'evil.sql'), 'CREATE TABLE q.evil (secret_first_words text);\n');
    const w = workspace({ 'p/db.yaml': dbYaml('p') });
    symlinkSync(away, join(w.root, 'q'));
    const r = await run(w.root, 'deploy', { project: 'q' }, {});
    expectRefused(r, /^error: q\/db\.yaml: evil\.sql resolves outside the workspace/);
  });

  it('a link to a folder it is in is not followed: the project is found once and its files read once', async () => {
    const w = workspace({ 'p/db.yaml': dbYaml('p'), 'p/t/a.sql': 'CREATE TABLE p.a (id int);\n' });
    symlinkSync('..', join(w.root, 'p', 't', 'up'));
    const r = await run(w.root, 'plan', { project: 'p' }, {});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.match(/table:p\.a/g)).toHaveLength(1);
  });

  it('paths typed on the command line are honoured wherever they point, the same for every command (--out, --output, --report, --package)', async () => {
    // Issue #33, the decision on output paths: CI writes artifacts to its own temporary folders. (They were refused
    // outside the workspace by plan, graph, diff and deploy --package, and honoured by deploy --report.)
    // An embedded folder: extract reads what the package's deployment left (a new database's public holds nothing to
    // extract, and a new project of nothing is refused).
    const w = workspace({
      'p/db.yaml': dbYaml('p'),
      'dbee.yaml':
        'version: 1\ndefaultEnvironment: local\nenvironments:\n  local:\n    engine: postgres\n    connection:\n      embedded: .dbee/local\n',
    });
    const ci = mkdtempSync(join(tmpdir(), 'dbee-ci-'));
    cleanups.push(() => rmSync(ci, { recursive: true, force: true }));
    symlinkSync(ci, join(w.root, 'away'));
    const ok = async (command: 'plan' | 'graph' | 'diff' | 'deploy' | 'extract', options: Record<string, unknown>) => {
      const r = await run(w.root, command, { project: 'p', ...options }, {});
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    };
    await ok('plan', { out: join(ci, 'pkg') });
    await ok('plan', { out: 'away/linked-pkg' });
    await ok('graph', { out: join(ci, 'graph.html') });
    await ok('diff', { output: join(ci, 'diff.txt') });
    await ok('deploy', { package: join(ci, 'pkg'), report: join(ci, 'report.json') });
    await ok('extract', { project: 'q', schemas: 'p', out: join(ci, 'q') });
    expect(readdirSync(ci).sort()).toEqual(['diff.txt', 'graph.html', 'linked-pkg', 'pkg', 'q', 'report.json']);
    expect(readdirSync(join(ci, 'q'))).toContain('db.yaml');
    expect(readdirSync(outside).sort()).toEqual(['evil.sql']);
  });

  it("an object in a schema that is one of db.yaml's but for case is refused with its file and line, nothing applied", async () => {
    // db.yaml's names are read as SQL reads them: `schemas: [Shop]` owns shop, not the quoted "Shop" the sources use
    // (a db.yaml written before dbee read them so). Deployed, "Shop" would sit outside the project's scope.
    const w = tempWorkspace({
      'dbee.yaml': WORKSPACE_YAML,
      'shop/db.yaml': 'version: 1\nname: shop\nengine: postgres\nschemas: [Shop]\n',
      'shop/a.sql': 'CREATE SCHEMA "Shop";\nCREATE TABLE "Shop".items (id int PRIMARY KEY);\n',
    });
    cleanups.push(w.remove);
    const r = await run(w.root, 'plan', { project: 'shop' }, {});
    expectRefused(
      r,
      /^error: shop\/a\.sql:1: schema "Shop" is not a schema project shop owns: db.yaml's schemas name shop/,
    );
    expect(r.stderr).toContain(`write it quoted in db.yaml: schemas: ['"Shop"']`);
    w.write('shop/db.yaml', 'version: 1\nname: shop\nengine: postgres\nschemas: [\'"Shop"\']\n');
    const quoted = await run(w.root, 'plan', { project: 'shop' }, {});
    expect(quoted.code, quoted.stderr).toBe(0);
    expect(quoted.stdout).toContain('table:Shop.items');
  });

  it('two environments whose variables give the project other schema names are not compared (diff, plan, clone): refused, nothing changed', async () => {
    // Before: `diff --env qa --against-env dev` read dev under qa's names, found nothing and planned DROP TABLE
    // qa_mart.facts, DROP SCHEMA qa_mart; `clone --from dev --to qa` planned the same.
    const env = (name: string) =>
      `  ${name}:\n    engine: postgres\n    connection: { embedded: .dbee/${name} }\n    variables: { env: ${name} }\n`;
    const w = tempWorkspace({
      'dbee.yaml': `version: 1\ndefaultEnvironment: dev\nenvironments:\n${env('dev')}${env('qa')}`,
      'mart/db.yaml': "version: 1\nname: mart\nengine: postgres\nschemas: ['{{env}}_mart']\n",
      'mart/mart.sql': 'CREATE SCHEMA {{env}}_mart;\nCREATE TABLE {{env}}_mart.facts (id int PRIMARY KEY);\n',
    });
    cleanups.push(w.remove);
    for (const e of ['dev', 'qa']) {
      const d = await run(w.root, 'deploy', { project: 'mart', env: e, assumeYes: true }, {});
      expect(d.code, d.stderr).toBe(0);
    }
    const message =
      /^error: mart\/db\.yaml:4:\d+: project mart has other schema names on dev \(dev_mart\) than on qa \(qa_mart\)/;
    expectRefused(await run(w.root, 'diff', { project: 'mart', env: 'qa', againstEnv: 'dev' }, {}), message);
    expectRefused(await run(w.root, 'plan', { project: 'mart', env: 'qa', againstEnv: 'dev' }, {}), message);
    expectRefused(
      await run(
        w.root,
        'clone',
        { project: 'mart', from: 'dev', to: 'qa', assumeYes: true, allowHazards: ['data-loss'] },
        {},
      ),
      message,
    );
    const intact = await run(w.root, 'diff', { project: 'mart', env: 'qa', format: 'json', cache: false }, {});
    expect(intact.code, intact.stderr).toBe(0);
    expect(JSON.parse(intact.stdout).changes).toBe(0);
  });

  it('a schema owned by two projects is a configuration error naming both db.yaml files', async () => {
    const w = workspace({
      'p/db.yaml': dbYaml('p'),
      'q/db.yaml': 'version: 1\nname: q\nengine: postgres\nschemas: [p]\n',
      'q/t.sql': 'CREATE TABLE p.t (id int);\n',
    });
    const r = await run(w.root, 'deploy', { project: 'q' }, {});
    expectRefused(r, /schema p is owned by two projects: /);
    expect(r.stderr).toContain('p/db.yaml:4');
    expect(r.stderr).toContain('q/db.yaml:4');
  });
});
