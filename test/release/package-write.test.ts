import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DbeeError, readPackage, writePackage } from '@dbee/core';
import { tempWorkspace, WORKSPACE_YAML } from '../support/workspace';
import { planWorkspace, project } from '../support/plan';
import { run } from '../support/run';

const workspaces: ReturnType<typeof tempWorkspace>[] = [];
afterEach(() => {
  for (const w of workspaces.splice(0)) w.remove();
});

function ws() {
  const w = tempWorkspace({
    'dbee.yaml': WORKSPACE_YAML,
    'a/db.yaml': project('a'),
    'a/s.sql': 'CREATE SCHEMA a;\nCREATE TABLE a.t (id int);\nCREATE VIEW a.v AS SELECT id FROM a.t;',
  });
  workspaces.push(w);
  return w;
}

describe('writing a package that cannot be written', () => {
  it('refuses with what failed, and keeps nothing of a package it wrote only part of', async () => {
    const w = ws();
    const plan = await planWorkspace(w.root, ['a']);
    const dir = join(w.root, 'pkg');
    // The step scripts and plan.json are written; the smoke check after them has a name no file system takes.
    const smoke = new Map([['a', [{ path: `a/smoke/${'x'.repeat(300)}.sql`, text: 'SELECT 1;' }]]]);
    const release = {
      target: 'a',
      base: null,
      head: { ref: null, commit: null },
      variables: {},
      preconditions: [],
      dependsOn: {},
      smoke: {},
    };
    let error: unknown;
    try {
      writePackage(dir, plan, { toolVersion: 'test', sources: [], release, smoke });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DbeeError);
    expect((error as DbeeError).code).toBe('PACKAGE_WRITE_FAILED');
    expect((error as DbeeError).message).toContain(`could not write the package to ${dir} (ENAMETOOLONG`);
    expect(existsSync(dir)).toBe(false);
  });

  it('plan --out into a path under a file: exit 1 with the reason, not an internal error', async () => {
    const w = ws();
    writeFileSync(join(w.root, 'dist'), 'a file, not a folder');
    const r = await run(w.root, 'plan', { project: 'a', out: 'dist/pkg' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`could not write the package to ${join(w.root, 'dist', 'pkg')} (ENOTDIR`);
    expect(r.stderr).not.toContain('internal error');
  });

  it('writes the same package again over the one it replaces', async () => {
    const w = ws();
    const plan = await planWorkspace(w.root, ['a']);
    const dir = join(w.root, 'pkg');
    const first = writePackage(dir, plan, { toolVersion: 'test', sources: [] });
    writeFileSync(join(dir, 'steps', 'extra.sql'), 'DROP TABLE a.t;');
    expect(writePackage(dir, plan, { toolVersion: 'test', sources: [] })).toEqual(first);
    expect(readdirSync(join(dir, 'steps'))).not.toContain('extra.sql');
    expect(readPackage(dir).plan).toEqual(plan);
  });
});
