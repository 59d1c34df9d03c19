import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Workspace, loadProjectModel, settleBackground, type SourceParser } from '@dbee/core';
import { createPostgresEngine, loadPostgresParser } from '@dbee/postgres';
import { tempWorkspace } from '../support/workspace';
import { project } from '../support/plan';

/**
 * The parse cache (`.dbee/cache/parse`, one pack file per project and variables): a file parsed before with the same
 * text, path, search path and parser is read back instead of parsed, and gives the same model; anything else is parsed
 * again; a file that does not parse is never kept, and does not stop the others from being kept.
 */
describe('parse cache', () => {
  beforeAll(async () => {
    await loadPostgresParser();
  }, 120_000);
  const removals: (() => void)[] = [];
  afterEach(() => {
    for (const r of removals.splice(0)) r();
  });

  const setup = () => {
    const w = tempWorkspace({
      'dbee.yaml':
        'version: 1\ndefaultEnvironment: local\nenvironments:\n  local:\n    engine: postgres\n    connection: { embedded: .dbee/db }\n',
      'app/db.yaml': project('app'),
      'app/a.sql': 'CREATE SCHEMA app;\n',
      'app/t.sql': 'CREATE TABLE app.t (id int PRIMARY KEY, v text);\nCREATE INDEX t_v ON app.t (v);\n',
      'app/v.sql': 'CREATE VIEW app.v AS SELECT id FROM t;\n',
      'app/f.sql':
        'CREATE FUNCTION app.f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN (SELECT count(*) FROM app.t); END $$;\n',
    });
    removals.push(w.remove);
    const engine = createPostgresEngine();
    const parsed: string[] = [];
    const parser: SourceParser = {
      ...engine.parser,
      parse: (text, file, options) => (parsed.push(file), engine.parser.parse(text, file, options)),
    };
    const cache = { dir: join(w.root, '.dbee', 'cache', 'parse'), parser: 'postgres\u0000test' };
    const load = async (c = cache, extra: Record<string, string> = {}) => {
      const workspace = Workspace.load(w.root);
      const environment = workspace.environment('local', {});
      const p = workspace.project('app');
      parsed.length = 0;
      const model = await loadProjectModel(
        w.root,
        p,
        { ...workspace.settings(p, environment).variables, ...extra },
        parser,
        workspace.projects,
        c,
      );
      // The pack is written in the background (an operation waits for it before it ends).
      await settleBackground();
      return { model, parsed: [...parsed].sort() };
    };
    /** Entries per pack file. */
    const packs = () =>
      existsSync(cache.dir)
        ? readdirSync(cache.dir).map((f) => Object.keys(JSON.parse(readFileSync(join(cache.dir, f), 'utf8'))).length)
        : [];
    return { w, load, cache, packs };
  };

  it('a second load reads every file back, with the same model; a changed file alone is parsed again', async () => {
    const { w, load, cache, packs } = setup();
    const first = await load();
    expect(first.parsed).toEqual(['app/a.sql', 'app/f.sql', 'app/t.sql', 'app/v.sql']);
    expect(packs()).toEqual([4]);
    const second = await load();
    expect(second.parsed).toEqual([]);
    expect(second.model.objects).toEqual(first.model.objects);
    w.write('app/v.sql', 'CREATE VIEW app.v AS SELECT id, v FROM t;\n');
    const third = await load();
    expect(third.parsed).toEqual(['app/v.sql']);
    expect(third.model.objects.find((o) => o.id === 'view:app.v')?.statements[0]?.sql).toContain('SELECT id, v FROM t');
    // The pack holds the files of the last load: the old parse of v.sql is gone.
    expect(packs()).toEqual([4]);
    // Other variables (another environment) get a pack of their own; the first one stays.
    expect((await load(cache, { region: 'eu' })).parsed).toHaveLength(4);
    expect(packs()).toEqual([4, 4]);
    expect((await load()).parsed).toEqual([]);
    // Another parser (another dbee version or engine) parses everything again.
    expect((await load({ ...cache, parser: 'postgres\u0000other' })).parsed).toHaveLength(4);
  });

  it('a file that does not parse is reported every time, never kept; the files that parse are', async () => {
    const { w, load, packs } = setup();
    w.write('app/bad.sql', 'CREATE TABLE app.bad (id int PRIMARY KEY,);\n');
    await expect(load()).rejects.toThrow(/syntax error/);
    await settleBackground();
    expect(packs()).toEqual([4]);
    await expect(load()).rejects.toThrow(/syntax error/);
    await settleBackground();
    expect(packs()).toEqual([4]);
    w.write('app/bad.sql', 'CREATE TABLE app.bad (id int PRIMARY KEY);\n');
    expect((await load()).parsed).toEqual(['app/bad.sql']);
    expect(packs()).toEqual([5]);
  });
});
