import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CATALOG_COVERAGE } from '../../packages/postgres/src/introspect/catalog-coverage';
import { ENGINES, openScratch, type Scratch } from './helpers';

const ROOT = join(__dirname, '..', '..');

/**
 * The catalog coverage contract (issue 88): every column of the catalogs that define schema objects, as the server's
 * own catalog lists them, is classified in `catalog-coverage.ts` (modelled, not compared with its reason, or internal).
 * A PostgreSQL (or PGlite) version that adds a column fails here, naming it, until it is classified.
 */
describe.each(ENGINES)('catalog coverage [%s]', (engine) => {
  let db: Scratch;
  beforeAll(async () => {
    db = await openScratch(engine);
  });
  afterAll(async () => {
    await db?.dispose();
  });

  test('every column of the catalogs that define schema objects is classified', async () => {
    const catalogs = Object.keys(CATALOG_COVERAGE);
    const rows = (
      await db.conn.query<{ catalog: string; column: string }>(
        `select c.relname as catalog, a.attname as column
           from pg_attribute a join pg_class c on c.oid = a.attrelid
          where c.relnamespace = 'pg_catalog'::regnamespace and c.relkind = 'r' and c.relname = any($1::text[])
            and a.attnum > 0 and not a.attisdropped
          order by c.relname, a.attnum`,
        [catalogs],
      )
    ).rows;
    expect(new Set(rows.map((r) => r.catalog))).toEqual(new Set(catalogs));
    const unclassified = rows
      .filter((r) => !CATALOG_COVERAGE[r.catalog]![r.column])
      .map((r) => `${r.catalog}.${r.column}`);
    expect(unclassified, 'classify these columns in packages/postgres/src/introspect/catalog-coverage.ts').toEqual([]);
  });
});

describe('catalog coverage: the classification itself', () => {
  test('covers the catalogs the issue names', () => {
    for (const c of [
      'pg_class',
      'pg_attribute',
      'pg_index',
      'pg_constraint',
      'pg_trigger',
      'pg_policy',
      'pg_proc',
      'pg_type',
      'pg_namespace',
      'pg_default_acl',
      'pg_statistic_ext',
      'pg_sequence',
      'pg_publication',
      'pg_event_trigger',
      'pg_rewrite',
      'pg_inherits',
      'pg_partitioned_table',
      'pg_attrdef',
      'pg_description',
      'pg_collation',
      'pg_am',
      'pg_opclass',
    ])
      expect(CATALOG_COVERAGE, c).toHaveProperty(c);
  });

  test('each round-trip case it names is in that test file', () => {
    const missing: string[] = [];
    for (const [catalog, columns] of Object.entries(CATALOG_COVERAGE))
      for (const [column, c] of Object.entries(columns)) {
        if (c.class !== 'modelled' || !c.roundTrip) continue;
        const [file, text] = c.roundTrip;
        if (!readFileSync(join(ROOT, file), 'utf8').toLowerCase().includes(text.toLowerCase()))
          missing.push(`${catalog}.${column}: "${text}" in ${file}`);
      }
    expect(missing).toEqual([]);
  });

  test('the properties issue 88 starts from are modelled', () => {
    const modelled = (catalog: string, column: string) => CATALOG_COVERAGE[catalog]?.[column]?.class;
    for (const [catalog, column] of [
      ['pg_attribute', 'attoptions'],
      ['pg_attribute', 'attstattarget'],
      ['pg_class', 'reloptions'],
      ['pg_index', 'indisclustered'],
      ['pg_class', 'relreplident'],
      ['pg_attribute', 'attcompression'],
      ['pg_class', 'relpersistence'],
      ['pg_constraint', 'convalidated'],
      ['pg_trigger', 'tgenabled'],
      ['pg_policy', 'polpermissive'],
      ['pg_class', 'relrowsecurity'],
      ['pg_class', 'relforcerowsecurity'],
      ['pg_attribute', 'attcollation'],
      ['pg_attribute', 'attidentity'],
    ] as const)
      expect(modelled(catalog, column), `${catalog}.${column}`).toBe('modelled');
  });
});
