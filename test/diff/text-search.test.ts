import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, test } from 'vitest';
import { formatKey } from '../../packages/core/src/model/object-key';
import { changeObjectKey } from '../../packages/core/src/schema';
import type { diffModels } from '../support/pg-diff';
import { catalog } from '../diff-property/harness';
import { envWorkspace, type Engine } from '../env-management/helpers';
import { dbYaml, workspaceWith, workspaceYaml, type TestWorkspace } from '../runner/helpers';
import { run } from '../support/run';
import { ENGINES, openScratch, type Scratch, convergeScratch } from './helpers';

const summary = (changes: ReturnType<typeof diffModels>) =>
  changes.map((c) => `${c.kind} ${formatKey(changeObjectKey(c))}`);

/** The mappings of configuration `schema.name`, `token: dictionaries` in the parser's token order. */
const MAPPINGS_SQL = `
select t.alias || ': ' || string_agg(m.mapdict::regdictionary::text, ', ' order by m.mapseqno) as mapping
from pg_ts_config c join pg_namespace n on n.oid = c.cfgnamespace
join pg_ts_config_map m on m.mapcfg = c.oid
join ts_token_type(c.cfgparser) t on t.tokid = m.maptokentype
where n.nspname = $1 and c.cfgname = $2
group by t.tokid, t.alias order by t.tokid`;

/**
 * Issue #72 failure 3: text search configurations and dictionaries are object kinds. PGlite ships no `unaccent`, so
 * these build on `simple` and `english_stem`; the server's own test below uses `unaccent`.
 */
describe.each(ENGINES)('text search objects in the diff [%s]', (engine) => {
  let live: Scratch;
  let desired: Scratch;

  beforeAll(async () => {
    [live, desired] = await Promise.all([openScratch(engine), openScratch(engine)]);
  });

  afterAll(async () => {
    await Promise.all([live, desired].filter(Boolean).map((s) => s.dispose()));
  });

  async function converge(schema: string, liveSql: string, desiredSql: string) {
    const r = await convergeScratch(live, desired, schema, liveSql, desiredSql);
    expect(await catalog(live.conn, schema)).toEqual(await catalog(desired.conn, schema));
    return r;
  }
  const mappings = async (schema: string, name: string) =>
    (await live.conn.query<{ mapping: string }>(MAPPINGS_SQL, [schema, name])).rows.map((r) => r.mapping);

  test('a configuration is created after its dictionary and before the index that uses it', async () => {
    const { changes } = await converge(
      'ts1',
      `create table ts1.docs (id int primary key, body text);`,
      `create text search dictionary ts1.plain (template = pg_catalog.simple, accept = false);
       create text search configuration ts1.english_plain (copy = pg_catalog.english);
       alter text search configuration ts1.english_plain alter mapping for hword, hword_part, word with ts1.plain, english_stem;
       comment on text search configuration ts1.english_plain is 'english, plain words first';
       create table ts1.docs (id int primary key, body text);
       create index docs_body on ts1.docs using gin (to_tsvector('ts1.english_plain'::regconfig, body));`,
    );
    expect(summary(changes)).toEqual([
      'create-text-search-dictionary text-search-dictionary:ts1.plain',
      'create-text-search-configuration text-search-configuration:ts1.english_plain',
      'create-index index:ts1.docs_body@ts1.docs',
      'set-comment text-search-configuration:ts1.english_plain',
    ]);
    expect(await mappings('ts1', 'english_plain')).toContain('word: ts1.plain, english_stem');
  });

  test('a changed mapping and a changed dictionary option are altered in place, the index kept', async () => {
    const before = `create text search dictionary ts2.plain (template = pg_catalog.simple, accept = false);
       create text search configuration ts2.cfg (parser = pg_catalog."default");
       alter text search configuration ts2.cfg add mapping for asciiword, word with ts2.plain, english_stem;
       alter text search configuration ts2.cfg add mapping for int with simple;
       create table ts2.docs (id int primary key, body text);
       create index docs_body on ts2.docs using gin (to_tsvector('ts2.cfg'::regconfig, body));`;
    const { changes, steps } = await converge(
      'ts2',
      before,
      before
        .replace('accept = false', 'accept = true')
        .replace('asciiword, word with ts2.plain, english_stem', 'asciiword, word, numword with english_stem')
        .replace(/alter text search configuration ts2\.cfg add mapping for int with simple;/, ''),
    );
    expect(summary(changes)).toEqual([
      'alter-text-search-configuration text-search-configuration:ts2.cfg',
      'alter-text-search-dictionary text-search-dictionary:ts2.plain',
    ]);
    expect(steps.flatMap((s) => s.statements)).toEqual([
      'ALTER TEXT SEARCH CONFIGURATION ts2.cfg DROP MAPPING FOR "int"',
      'ALTER TEXT SEARCH CONFIGURATION ts2.cfg ALTER MAPPING FOR asciiword, word WITH pg_catalog.english_stem',
      'ALTER TEXT SEARCH CONFIGURATION ts2.cfg ADD MAPPING FOR numword WITH pg_catalog.english_stem',
      "ALTER TEXT SEARCH DICTIONARY ts2.plain (accept = 'true')",
    ]);
    expect(await mappings('ts2', 'cfg')).toEqual([
      'asciiword: english_stem',
      'word: english_stem',
      'numword: english_stem',
    ]);
  });

  test('a dictionary option taken out is removed; dropped objects go after what used them', async () => {
    const { changes } = await converge(
      'ts3',
      `create text search dictionary ts3.plain (template = pg_catalog.simple, accept = false, stopwords = english);
       create text search dictionary ts3.gone (template = pg_catalog.simple);
       create text search configuration ts3.cfg (parser = pg_catalog."default");
       alter text search configuration ts3.cfg add mapping for asciiword with ts3.gone;
       create table ts3.docs (id int primary key, body text);
       create index docs_body on ts3.docs using gin (to_tsvector('ts3.cfg'::regconfig, body));`,
      `create text search dictionary ts3.plain (template = pg_catalog.simple, accept = false);
       create table ts3.docs (id int primary key, body text);`,
    );
    expect(summary(changes)).toEqual([
      'drop-index index:ts3.docs_body@ts3.docs',
      'drop-text-search-configuration text-search-configuration:ts3.cfg',
      'drop-text-search-dictionary text-search-dictionary:ts3.gone',
      'alter-text-search-dictionary text-search-dictionary:ts3.plain',
    ]);
  });

  test('a configuration stops using a dictionary before the dictionary is dropped, its index kept', async () => {
    const { changes, steps } = await converge(
      'ts4',
      `create text search dictionary ts4.gone (template = pg_catalog.simple);
       create text search configuration ts4.cfg (parser = pg_catalog."default");
       alter text search configuration ts4.cfg add mapping for asciiword with ts4.gone, english_stem;
       create table ts4.docs (id int primary key, body text);
       create index docs_body on ts4.docs using gin (to_tsvector('ts4.cfg'::regconfig, body));`,
      `create text search configuration ts4.cfg (parser = pg_catalog."default");
       alter text search configuration ts4.cfg add mapping for asciiword with english_stem;
       create table ts4.docs (id int primary key, body text);
       create index docs_body on ts4.docs using gin (to_tsvector('ts4.cfg'::regconfig, body));`,
    );
    expect(summary(changes)).toEqual([
      'alter-text-search-configuration text-search-configuration:ts4.cfg',
      'drop-text-search-dictionary text-search-dictionary:ts4.gone',
    ]);
    expect(steps.flatMap((s) => s.statements)).toEqual([
      'ALTER TEXT SEARCH CONFIGURATION ts4.cfg ALTER MAPPING FOR asciiword WITH pg_catalog.english_stem',
      'DROP TEXT SEARCH DICTIONARY ts4.gone',
    ]);
  });

  test("a dictionary's new template re-creates it with the configuration and the index that use it", async () => {
    const schema = (template: string) =>
      `create text search dictionary ts5.words (${template});
       create text search configuration ts5.cfg (parser = pg_catalog."default");
       alter text search configuration ts5.cfg add mapping for asciiword with ts5.words;
       create table ts5.docs (id int primary key, body text);
       create index docs_body on ts5.docs using gin (to_tsvector('ts5.cfg'::regconfig, body));`;
    const { changes } = await converge(
      'ts5',
      schema('template = pg_catalog.simple'),
      schema('template = pg_catalog.snowball, language = english'),
    );
    expect(summary(changes)).toEqual([
      'drop-index index:ts5.docs_body@ts5.docs',
      'drop-text-search-configuration text-search-configuration:ts5.cfg',
      'drop-text-search-dictionary text-search-dictionary:ts5.words',
      'create-text-search-dictionary text-search-dictionary:ts5.words',
      'create-text-search-configuration text-search-configuration:ts5.cfg',
      'create-index index:ts5.docs_body@ts5.docs',
    ]);
  });
});

describe.each(ENGINES)('text search configurations in the sources [%s]', (engine) => {
  let workspaces: TestWorkspace[] = [];
  afterEach(async () => {
    for (const w of workspaces) await w.remove();
    workspaces = [];
  });

  test('a configuration, a function, a generated column and a GIN index that use it deploy in one go', async () => {
    const w = await workspaceWith(engine, {
      'app/db.yaml': dbYaml('app'),
      // The files that use the configuration sort before it: the references order them.
      'app/a_docs.sql': `CREATE TABLE app.docs (
  id int PRIMARY KEY,
  body text NOT NULL,
  search tsvector GENERATED ALWAYS AS (to_tsvector('app.english_plain'::regconfig, body)) STORED
);
CREATE INDEX docs_body ON app.docs USING gin (to_tsvector('app.english_plain', body));
`,
      'app/b_search.sql': `CREATE FUNCTION app.search(q text) RETURNS SETOF int LANGUAGE sql STABLE
  BEGIN ATOMIC SELECT id FROM app.docs WHERE to_tsvector('app.english_plain', body) @@ plainto_tsquery('app.english_plain', q); END;
`,
      'app/z_text_search.sql': `CREATE TEXT SEARCH DICTIONARY app.plain (TEMPLATE = pg_catalog.simple, accept = false);
CREATE TEXT SEARCH CONFIGURATION app.english_plain (COPY = pg_catalog.english);
ALTER TEXT SEARCH CONFIGURATION app.english_plain ALTER MAPPING FOR hword, hword_part, word WITH app.plain, english_stem;
`,
    });
    workspaces.push(w);
    const first = await run(w.root, 'deploy', { project: 'app' }, w.target.vars);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect((await run(w.root, 'diff', { project: 'app', failOnDiff: true }, w.target.vars)).code).toBe(0);
    await w.target.query(`INSERT INTO app.docs (id, body) VALUES (1, 'Running dogs'), (2, 'a cat')`);
    expect(await w.target.query(`SELECT app.search('dog') AS id`)).toEqual([{ id: 1 }]);

    // A changed mapping is planned as an ALTER and applied; the next diff is empty.
    w.write(
      'app/z_text_search.sql',
      `CREATE TEXT SEARCH DICTIONARY app.plain (TEMPLATE = pg_catalog.simple, accept = false);
CREATE TEXT SEARCH CONFIGURATION app.english_plain (COPY = pg_catalog.english);
ALTER TEXT SEARCH CONFIGURATION app.english_plain ALTER MAPPING FOR hword, hword_part, word WITH english_stem;
`,
    );
    const changed = await run(w.root, 'diff', { project: 'app' }, w.target.vars);
    expect(changed.stdout).toContain(
      'ALTER TEXT SEARCH CONFIGURATION app.english_plain ALTER MAPPING FOR word, hword_part, hword WITH pg_catalog.english_stem',
    );
    const second = await run(w.root, 'deploy', { project: 'app' }, w.target.vars);
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    expect(
      (await w.target.query(MAPPINGS_SQL.replace('$1', "'app'").replace('$2', "'english_plain'"))).map(
        (r) => r['mapping'],
      ),
    ).toContain('word: english_stem');
    expect((await run(w.root, 'diff', { project: 'app', failOnDiff: true }, w.target.vars)).code).toBe(0);
  });
});

/** The issue's own file: a configuration on the `unaccent` extension (PGlite ships none), in one deployment. */
describe('a configuration on unaccent in the sources [postgres]', () => {
  let w: TestWorkspace | undefined;
  afterEach(async () => {
    await w?.remove();
  });

  test('is created after the extension and before the function and GIN index that use it', async () => {
    w = await workspaceWith('postgres', {
      'dbee.yaml': workspaceYaml('postgres', { top: 'shadow: server' }),
      'app/db.yaml': dbYaml('app'),
      'app/a_docs.sql': `CREATE TABLE app.docs (id int PRIMARY KEY, body text NOT NULL);
CREATE INDEX docs_body ON app.docs USING gin (to_tsvector('app.english_unaccent'::regconfig, body));
`,
      'app/b_search.sql': `CREATE FUNCTION app.search(q text) RETURNS SETOF int LANGUAGE sql STABLE
  BEGIN ATOMIC SELECT id FROM app.docs WHERE to_tsvector('app.english_unaccent', body) @@ plainto_tsquery('app.english_unaccent', q); END;
`,
      'app/m_text_search.sql': `CREATE TEXT SEARCH CONFIGURATION app.english_unaccent (COPY = pg_catalog.english);
ALTER TEXT SEARCH CONFIGURATION app.english_unaccent ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem;
`,
      'app/z_unaccent.sql': `CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA app;
`,
    });
    const d = await run(w.root, 'deploy', { project: 'app' }, w.target.vars);
    expect(d.stderr).toBe('');
    expect(d.code).toBe(0);
    const steps = [...d.stdout.matchAll(/\] create (\S+)\n/g)].map((m) => m[1]!);
    const at = (key: string) => steps.indexOf(key);
    expect(at('extension:unaccent')).toBeGreaterThanOrEqual(0);
    expect(at('extension:unaccent')).toBeLessThan(at('text-search-configuration:app.english_unaccent'));
    expect(at('text-search-configuration:app.english_unaccent')).toBeLessThan(at('index:app.docs_body@app.docs'));
    expect(at('text-search-configuration:app.english_unaccent')).toBeLessThan(at('function:app.search(text)'));
    expect((await run(w.root, 'diff', { project: 'app', failOnDiff: true }, w.target.vars)).code).toBe(0);
    await w.target.query(`INSERT INTO app.docs VALUES (1, 'Crème brûlée'), (2, 'tarte')`);
    expect(await w.target.query(`SELECT app.search('creme') AS id`)).toEqual([{ id: 1 }]);
  });
});

function listFiles(dir: string, rel = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name), rel + e.name + '/') : [rel + e.name]))
    .sort();
}

/** Extract writes text search objects as files (it named them as objects to write by hand before), which deploy back. */
describe.each<[Engine]>([['pglite'], ['postgres']])('text search objects extracted [%s]', (engine) => {
  // The server's own `unaccent` builds the sources only in a scratch database there (PGlite ships none).
  const w = envWorkspace(engine, {}, engine === 'postgres' ? { extra: 'shadow: server\n' } : {});
  beforeAll(() => w.setup(), 120_000);
  afterAll(() => w.teardown());

  it('writes a dictionary and a configuration that deploy to a new database identically', async () => {
    const unaccent = engine === 'postgres';
    await w.exec(
      1,
      `CREATE SCHEMA shop;
       ${unaccent ? 'CREATE EXTENSION unaccent WITH SCHEMA public;' : ''}
       CREATE TEXT SEARCH DICTIONARY shop.plain (TEMPLATE = pg_catalog.simple, accept = false);
       CREATE TEXT SEARCH CONFIGURATION shop.english_plain (COPY = pg_catalog.english);
       ALTER TEXT SEARCH CONFIGURATION shop.english_plain
         ALTER MAPPING FOR hword, hword_part, word WITH ${unaccent ? 'public.unaccent, ' : ''}shop.plain, english_stem;
       COMMENT ON TEXT SEARCH DICTIONARY shop.plain IS 'plain words';
       CREATE TABLE shop.items (id int PRIMARY KEY, name text NOT NULL);
       CREATE INDEX items_name ON shop.items USING gin (to_tsvector('shop.english_plain'::regconfig, name));`,
    );
    const x = await w.dbee('extract', { project: 'shop', env: w.env(1), schemas: 'shop' });
    expect(x.stderr).toBe('');
    expect(x.code).toBe(0);
    expect(x.stdout).not.toContain('text search configuration shop.english_plain');
    const root = join(w.root, 'shop');
    expect(listFiles(root).filter((f) => f.includes('text-search'))).toEqual([
      'schema/shop/text-search/english_plain.sql',
      'schema/shop/text-search/plain.sql',
    ]);
    const read = (f: string) => readFileSync(join(root, f), 'utf8').replace(/^--.*\n/gm, '');
    expect(read('schema/shop/text-search/plain.sql')).toBe(
      "CREATE TEXT SEARCH DICTIONARY shop.plain (TEMPLATE = pg_catalog.simple, accept = 'false');\n\nCOMMENT ON TEXT SEARCH DICTIONARY shop.plain IS 'plain words';\n",
    );
    const config = read('schema/shop/text-search/english_plain.sql');
    expect(config).toMatch(
      /^CREATE TEXT SEARCH CONFIGURATION shop\.english_plain \(PARSER = pg_catalog\."default"\);\n/,
    );
    expect(config).toContain(
      `ADD MAPPING FOR word, hword_part, hword WITH ${unaccent ? 'public.unaccent, ' : ''}shop.plain, pg_catalog.english_stem;`,
    );
    // The extension of a dictionary it maps to, installed outside the project's schemas, is written too.
    if (unaccent)
      expect(read('schema/public/extensions/unaccent.sql')).toBe(
        'CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public;\n',
      );

    const d = await w.dbee('deploy', { project: 'shop', env: w.env(2) });
    expect(d.stderr).toBe('');
    expect(d.code).toBe(0);
    for (const n of [1, 2] as const) {
      const diff = await w.dbee('diff', { project: 'shop', env: w.env(n) });
      expect(diff.stderr).toBe('');
      expect(diff.stdout).toContain('no differences');
    }
    const search = `SELECT to_tsvector('shop.english_plain', 'Crème brûlées running')::text AS v`;
    expect(await w.query(2, search)).toEqual(await w.query(1, search));
    if (unaccent) expect(await w.query(2, search)).toEqual([{ v: "'brule':2 'creme':1 'run':3" }]);
  });
});
