import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempWorkspace } from '../support/workspace';
import { run } from '../support/run';

const ws = (mode: string) => `version: 1
defaultEnvironment: local
environments:
  local:
    engine: postgres
    connection: { embedded: .dbee/local }
    compat: { queries: app/queries.sql, mode: ${mode} }
`;

describe("nx affected -t diff's Markdown carries the compatibility check [pglite]", () => {
  const w = tempWorkspace({
    'dbee.yaml': ws('fail'),
    'a/db.yaml': 'version: 1\nname: a\nengine: postgres\nschemas: [a]\n',
    'a/schema.sql': 'CREATE SCHEMA a;',
    'a/t.sql': 'CREATE TABLE a.t (id int PRIMARY KEY, note text, qty int);',
    'app/queries.sql': 'SELECT id, note FROM a.t WHERE id = $1;\nSELECT qty FROM a.t WHERE id = $1;\n',
  });
  afterAll(() => w.remove());

  it('names the query a dropped column breaks, and fails the diff unless compat.mode is warn', async () => {
    expect((await run(w.root, 'deploy', { project: 'a' })).code).toBe(0);
    const same = await run(w.root, 'diff', { project: 'a', format: 'markdown' });
    expect(same.code).toBe(0);
    expect(same.stdout).toContain('No differences.');
    expect(same.stdout).toContain('2 checked · **0 broken**');

    w.write('a/t.sql', 'CREATE TABLE a.t (id int PRIMARY KEY, qty int);');
    const broken = await run(w.root, 'diff', { project: 'a', format: 'markdown', cache: false });
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('1 of the application');
    expect(broken.stdout).toContain('### Application queries against this plan');
    expect(broken.stdout).toContain('2 checked · **1 broken**');
    expect(broken.stdout).toContain('| `SELECT id, note FROM a.t WHERE id = $1` | app/queries.sql:1 |');
    expect(broken.stdout).not.toContain('| `SELECT qty FROM a.t');

    w.write('dbee.yaml', ws('warn'));
    const warned = await run(w.root, 'diff', { project: 'a', format: 'markdown', cache: false });
    expect(warned.code).toBe(0);
    expect(warned.stdout).toContain('2 checked · **1 broken**');
    // The text report is the diff alone (the dry run and `dbee check` print the check).
    const text = await run(w.root, 'diff', { project: 'a', cache: false });
    expect(text.stdout).not.toContain('Application queries');
  });
});

describe('the Markdown of a diff between two git refs or two environments carries the check too [pglite]', () => {
  const w = tempWorkspace({
    'dbee.yaml': `${ws('fail')}  other:\n    engine: postgres\n    connection: { embedded: .dbee/other }\n`,
    'a/db.yaml': 'version: 1\nname: a\nengine: postgres\nschemas: [a]\n',
    'a/schema.sql': 'CREATE SCHEMA a;',
    'a/t.sql': 'CREATE TABLE a.t (id int PRIMARY KEY, note text, qty int);',
    'app/queries.sql': 'SELECT id, note FROM a.t WHERE id = $1;\nSELECT qty FROM a.t WHERE id = $1;\n',
  });
  afterAll(() => w.remove());
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], {
      cwd: w.root,
      stdio: 'pipe',
    });

  it('--base/--head (no database read: the base built in a scratch one) and --against-env', async () => {
    git('init', '-q');
    git('add', '.');
    git('commit', '-qm', 'v1');
    w.write('a/t.sql', 'CREATE TABLE a.t (id int PRIMARY KEY, qty int);');
    git('commit', '-qam', 'v2: note goes');

    const refs = await run(w.root, 'diff', { project: 'a', base: 'HEAD~1', head: 'HEAD', format: 'markdown' });
    expect(refs.code, refs.stdout + refs.stderr).toBe(1);
    expect(refs.stdout).toContain('### Application queries against this plan');
    expect(refs.stdout).toContain('2 checked · **1 broken**');
    expect(refs.stdout).toContain('| `SELECT id, note FROM a.t WHERE id = $1` | app/queries.sql:1 |');
    expect(refs.stderr).toContain("1 of the application's 2 queries would fail after this deployment");
    expect(existsSync(join(w.root, '.dbee', 'local')), 'the environment was not read').toBe(false);
    // The working tree as the head side.
    const tree = await run(w.root, 'diff', { project: 'a', base: 'HEAD~1', format: 'markdown' });
    expect(tree.code).toBe(1);
    expect(tree.stdout).toContain('2 checked · **1 broken**');

    // local runs v1, other v2: what local's application meets if local is made like other.
    git('checkout', '-q', 'HEAD~1', '--', '.');
    expect((await run(w.root, 'deploy', { project: 'a' })).code).toBe(0);
    git('checkout', '-q', 'HEAD', '--', '.');
    expect((await run(w.root, 'deploy', { project: 'a', env: 'other' })).code).toBe(0);
    const envs = await run(w.root, 'diff', { project: 'a', againstEnv: 'other', format: 'markdown', cache: false });
    expect(envs.code, envs.stdout + envs.stderr).toBe(1);
    expect(envs.stdout).toContain('2 checked · **1 broken**');
    expect(envs.stdout).toContain('| `SELECT id, note FROM a.t WHERE id = $1` | app/queries.sql:1 |');
  });
});
