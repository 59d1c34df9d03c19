import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { gitCommit } from './origin';

describe('gitCommit', () => {
  const root = mkdtempSync(join(tmpdir(), 'dbee-git-commit-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  test('null outside a repository; the commit inside one, from any folder of it, with -dirty for changed tracked files', async () => {
    const outside = join(root, 'plain');
    mkdirSync(outside);
    expect(await gitCommit(outside)).toBeNull();

    const repo = join(root, 'repo');
    mkdirSync(join(repo, 'db', 'sales'), { recursive: true });
    writeFileSync(join(repo, 'db', 'sales', 'db.yaml'), 'name: sales\n');
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], {
        cwd: repo,
        encoding: 'utf8',
      }).trim();
    git('init', '-q');
    git('add', '-A');
    git('commit', '-qm', 'sources');
    const sha = git('rev-parse', 'HEAD');
    expect(await gitCommit(repo)).toBe(sha);
    expect(await gitCommit(join(repo, 'db', 'sales'))).toBe(sha);
    writeFileSync(join(repo, 'db', 'sales', 'db.yaml'), 'name: sales\nschemas: [sales]\n');
    expect(await gitCommit(repo)).toBe(`${sha}-dirty`);
  });
});
