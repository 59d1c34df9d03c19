import { cpSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { SourceParser } from '@dbee/core';
import { createPostgresEngine } from '@dbee/postgres';
import { registerEngine } from '../../packages/cli/src/engines';
import { referencesOf } from '../../packages/core/src/schema/body-dependencies';
import { scratchDatabase } from '../support/pg';
import { run } from '../support/run';
import { tempWorkspace } from '../support/workspace';

/**
 * Issue 90: the routines' definitions a desired model reads back from its shadow are parsed for what their bodies read
 * and call (`withBodyDependencies`) once per text: a definition read before in the process, or kept in
 * `.dbee/cache/parse` by an earlier build of the model, is not parsed again, and the model and the diff are the same.
 * The example workspace (sales depends on core; SQL and PL/pgSQL functions, a procedure), `diff sales --no-cache`
 * (the model built each time), on each engine with a shadow of its kind. Counted where the engine's real parser is
 * called with a definition read back (the text of `pg_get_functiondef`, `CREATE OR REPLACE ...`, named by its key,
 * not by a file).
 */
const EXAMPLES = join(__dirname, '..', '..', 'examples');

const ENGINES = [
  { engine: 'PGlite', shadow: 'embedded', connection: 'embedded: memory' },
  { engine: 'server', shadow: 'server', connection: 'url: ${URL_TEST}' },
] as const;

describe.each(ENGINES)('routines read back parsed once per text, on $engine', ({ shadow, connection }) => {
  const w = tempWorkspace({
    'dbee.yaml': `version: 1\ndefaultEnvironment: test\nshadow: ${shadow}\nenvironments:\n  test:\n    engine: postgres\n    connection:\n      ${connection}\n`,
  });
  for (const p of ['core', 'sales']) cpSync(join(EXAMPLES, p), join(w.root, p), { recursive: true });
  let parsed = 0;
  let unregister = () => {};
  /** `engine: postgres` made anew (a new parser: nothing read in this process before), its definitions counted. */
  const freshEngine = () => {
    unregister();
    unregister = registerEngine('postgres', () => {
      const engine = createPostgresEngine();
      const real = engine.parser;
      const parser: SourceParser = Object.create(real);
      parser.parse = (text, file, options) => {
        if (/^CREATE OR REPLACE (FUNCTION|PROCEDURE)/.test(text) && !file.endsWith('.sql')) parsed++;
        return real.parse(text, file, options);
      };
      return { ...engine, parser };
    });
  };
  const drops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const drop of drops.splice(0)) await drop();
  });
  afterAll(() => {
    unregister();
    w.remove();
  });

  const diff = async (env: Record<string, string>) => {
    parsed = 0;
    const out = await run(w.root, 'diff', { project: 'sales', env: 'test', cache: false }, env);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    return { stdout: out.stdout, parsed, model: models() };
  };
  const models = () => {
    const dir = join(w.root, '.dbee', 'cache', 'models');
    return readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8'));
  };
  const kept = () => {
    const dir = join(w.root, '.dbee', 'cache', 'parse');
    return existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith('bodies-')) : [];
  };

  it('a later build of the model reads the definitions it read before without parsing them', async () => {
    const db = await scratchDatabase();
    drops.push(db.drop);
    const env = { URL_TEST: db.url };
    rmSync(join(w.root, '.dbee'), { recursive: true, force: true });
    freshEngine();
    const first = await diff(env);
    // sales: order_total, line_amount, cancel_stale_orders.
    expect(first.parsed).toBe(3);
    expect(first.stdout).toMatch(/sales\.order_total/);
    await vi.waitFor(() => expect(kept()).toHaveLength(1));

    // Another process: nothing read in it before; the kept references serve.
    freshEngine();
    const second = await diff(env);
    expect(second.parsed).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    expect(second.model).toEqual(first.model);

    // The same process, the kept file gone: what it read before serves.
    rmSync(join(w.root, '.dbee'), { recursive: true, force: true });
    const third = await diff(env);
    expect(third.parsed).toBe(0);
    expect(third.stdout).toBe(first.stdout);
    expect(third.model).toEqual(first.model);
    // ... and is kept again for the next process.
    await vi.waitFor(() => expect(kept()).toHaveLength(1));
    freshEngine();
    expect((await diff(env)).parsed).toBe(0);
  });
});

describe('referencesOf', () => {
  const engine = createPostgresEngine();

  it('answers a text it read before without parsing it, and parses again a text it refused', async () => {
    let parsed = 0;
    const parser: SourceParser = Object.create(engine.parser);
    parser.parse = (text, file, options) => {
      parsed++;
      return engine.parser.parse(text, file, options);
    };
    const body = 'CREATE FUNCTION app.f() RETURNS int LANGUAGE sql AS $$ SELECT count(*)::int FROM orders $$';
    const first = await referencesOf(parser, body, 'function:app.f()', ['app', 'public']);
    expect(first).toEqual([{ kind: 'relation', names: ['app.orders', 'public.orders'] }]);
    expect(await referencesOf(parser, body, 'function:app.f()', ['app', 'public'])).toEqual(first);
    expect(parsed).toBe(1);
    // Another search path is another answer.
    expect(await referencesOf(parser, body, 'function:app.f()', ['public'])).toEqual([
      { kind: 'relation', names: ['public.orders'] },
    ]);
    expect(parsed).toBe(2);
    const refused = 'CREATE FUNCTION app.g() RETURNS int LANGUAGE sql AS $$ SELEC 1 $$';
    expect(await referencesOf(parser, refused, 'function:app.g()', ['app'])).toEqual([]);
    expect(await referencesOf(parser, refused, 'function:app.g()', ['app'])).toEqual([]);
    expect(parsed).toBe(4);
  });
});
