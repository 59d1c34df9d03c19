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
    const w = workspace({ 'p/db.yaml': dbYaml('p', `sources:\n  - "*.sql"\n  - "${'../'.repeat(12)}${outside.slice(1)}/*.sql"\n`) });
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
    expectRefused(r, /^error: p\/db\.yaml: more\/linked\/evil\.sql resolves outside the workspace \(through a symbolic link\)/);
  });

  it('--out (plan, graph), --output (diff) and --package (deploy, rollback) paths outside the workspace are refused, nothing written', async () => {
    const w = workspace({ 'p/db.yaml': dbYaml('p') });
    symlinkSync(outside, join(w.root, 'away'));
    for (const [command, options] of [
      ['plan', { out: join(outside, 'pkg') }],
      ['plan', { out: '../elsewhere' }],
      ['plan', { out: 'away/pkg' }],
      ['deploy', { package: outside }],
      ['rollback', { package: 'away' }],
      ['graph', { out: join(outside, 'graph.html') }],
      ['graph', { out: 'away/graph.html' }],
      ['diff', { output: '../diff.txt' }],
      ['diff', { output: 'away/diff.txt' }],
    ] as const) {
      const r = await run(w.root, command, { project: 'p', ...options }, {});
      expectRefused(r, /^error: --(out|output|package) \S+ resolves outside the workspace/);
    }
    expect(readdirSync(outside).sort()).toEqual(['evil.sql']);
  });

  it('a schema owned by two projects is a configuration error naming both db.yaml files', async () => {
    const w = workspace({ 'p/db.yaml': dbYaml('p'), 'q/db.yaml': 'version: 1\nname: q\nengine: postgres\nschemas: [p]\n', 'q/t.sql': 'CREATE TABLE p.t (id int);\n' });
    const r = await run(w.root, 'deploy', { project: 'q' }, {});
    expectRefused(r, /schema p is owned by two projects: /);
    expect(r.stderr).toContain('p/db.yaml:4');
    expect(r.stderr).toContain('q/db.yaml:4');
  });
});
