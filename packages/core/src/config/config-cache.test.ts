import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DbeeError } from '../errors';
import { ConfigCache } from './config-cache';
import { Workspace } from './workspace';
import { tempWorkspace, WORKSPACE_YAML } from '../../../../test/support/workspace';

/**
 * The configuration files' values are kept between runs (`.dbee/cache/config-*.json`): a command reads them back
 * instead of parsing YAML, and says the same things, with the same lines, as a command that parsed them.
 */
const yaml = require('yaml') as typeof import('yaml');

let cleanup: (() => void)[] = [];
afterEach(() => {
  cleanup.forEach((f) => f());
  cleanup = [];
  vi.restoreAllMocks();
});

function ws(files: Record<string, string>) {
  const w = tempWorkspace(files);
  cleanup.push(w.remove);
  return w;
}

const project = (name: string, extra = '') =>
  `version: 1\nname: ${name}\nengine: postgres\nschemas: [${name}]\n${extra}`;

/** Load the workspace (its cache is written before the load returns) and count the YAML documents it parsed. */
async function load(root: string): Promise<{ workspace: Workspace; parsed: number }> {
  const parse = vi.spyOn(yaml, 'parseDocument');
  try {
    const workspace = Workspace.load(root);
    return { workspace, parsed: parse.mock.calls.length };
  } finally {
    parse.mockRestore();
  }
}

async function errorOf(root: string): Promise<{ error: DbeeError; parsed: number }> {
  const parse = vi.spyOn(yaml, 'parseDocument');
  try {
    Workspace.load(root);
  } catch (e) {
    if (e instanceof DbeeError) return { error: e, parsed: parse.mock.calls.length };
    throw e;
  } finally {
    parse.mockRestore();
  }
  throw new Error('expected a DbeeError');
}

describe('configuration cache', () => {
  it('a second load parses no YAML and yields the same configuration', async () => {
    const w = ws({
      'dbee.yaml': WORKSPACE_YAML,
      'db/core/db.yaml': project('core'),
      'db/sales/db.yaml': project('sales', 'dependsOn: [core]\n'),
    });
    const first = await load(w.root);
    expect(readdirSync(join(w.root, '.dbee', 'cache')).filter((f) => f.startsWith('config-'))).toHaveLength(1);
    expect(first.parsed).toBe(3);
    const second = await load(w.root);
    expect(second.parsed).toBe(0);
    expect(second.workspace.config).toEqual(first.workspace.config);
    for (const name of ['core', 'sales'])
      expect(second.workspace.project(name).config).toEqual(first.workspace.project(name).config);
  });

  it('a file whose text changed is parsed again, and its new value is used', async () => {
    const w = ws({ 'dbee.yaml': WORKSPACE_YAML, 'db/core/db.yaml': project('core') });
    await load(w.root);
    writeFileSync(join(w.root, 'db/core/db.yaml'), project('core').replace('[core]', '[core, core_extra]'));
    const again = await load(w.root);
    expect(again.parsed).toBe(1);
    expect(again.workspace.project('core').config.schemas).toEqual(['core', 'core_extra']);
  });

  it('an error found after the values came from the cache names the same file, line and column', async () => {
    const w = ws({
      'dbee.yaml': WORKSPACE_YAML,
      'db/core/db.yaml': project('core'),
      'db/sales/db.yaml': project('sales', '# a comment moves the line\ndependsOn: [core, nowhere]\n'),
    });
    const parsed = await errorOf(w.root);
    const cached = await errorOf(w.root);
    expect(cached.parsed).toBe(1); // the file the error is in, for its line
    expect(cached.error.message).toBe(parsed.error.message);
    expect(cached.error.location).toEqual(parsed.error.location);
    expect(parsed.error.location).toMatchObject({ file: 'db/sales/db.yaml', line: 6 });
  });

  it('a file with a YAML mistake is never kept: each load reports it with its line', async () => {
    const w = ws({ 'dbee.yaml': WORKSPACE_YAML, 'db/core/db.yaml': 'version: 1\nname: [core\n' });
    const first = await errorOf(w.root);
    const second = await errorOf(w.root);
    expect(second.error.code).toBe('CONFIG_YAML_SYNTAX');
    expect(second.error.location).toEqual(first.error.location);
    expect(second.parsed).toBe(1);
  });

  it('keeps only values JSON holds as they are, and an unreadable cache file is no cache', async () => {
    const w = ws({ 'dbee.yaml': WORKSPACE_YAML });
    const cache = ConfigCache.open(w.root);
    cache.keep('a.yaml', 'a: .inf', { a: Number.POSITIVE_INFINITY });
    cache.keep('b.yaml', 'b: 1', { b: 1 });
    cache.save();
    const reopened = ConfigCache.open(w.root);
    expect(reopened.value('a.yaml', 'a: .inf')).toBeUndefined();
    expect(reopened.value('b.yaml', 'b: 1')).toEqual({ b: 1 });
    expect(reopened.value('b.yaml', 'b: 2')).toBeUndefined();
    const file = readdirSync(join(w.root, '.dbee', 'cache')).find((f) => f.startsWith('config-'))!;
    writeFileSync(join(w.root, '.dbee', 'cache', file), '{ not json');
    expect(ConfigCache.open(w.root).value('b.yaml', 'b: 1')).toBeUndefined();
    expect((await load(w.root)).parsed).toBe(1);
  });
});
