import { describe, expect, test } from 'vitest';
import type { ObjectKey } from '@dbee/core';
import type { Column } from '@dbee/core/src/schema';
import { ident, literal } from './quote';
import { dictionaryOptionNames, renderChange } from './render-change';

const t: ObjectKey = { kind: 'table', schema: 'Sales', name: 'order' };
const col = (name: string, type: string, extra: Partial<Column> = {}): Column => ({
  name,
  type,
  default: null,
  identity: null,
  generated: null,
  collation: null,
  notNull: false,
  position: 1,
  dependsOn: [],
  attrs: {},
  ...extra,
});

describe('quoting', () => {
  test('identifiers are quoted only when PostgreSQL would need it', () => {
    expect(ident('orders')).toBe('orders');
    expect(ident('order_2')).toBe('order_2');
    expect(ident('order')).toBe('"order"');
    expect(ident('Orders')).toBe('"Orders"');
    expect(ident('a"b')).toBe('"a""b"');
    expect(ident('2fa')).toBe('"2fa"');
    expect(literal("it's")).toBe("'it''s'");
  });
});

describe('renderChange', () => {
  test('alter-column-type casts with USING only when the base type changes', () => {
    const narrow = renderChange({
      kind: 'alter-column-type',
      table: t,
      column: 'code',
      from: col('code', 'character varying(20)'),
      to: col('code', 'character varying(10)'),
    });
    expect(narrow.statements).toEqual(['ALTER TABLE "Sales"."order" ALTER COLUMN code TYPE character varying(10)']);
    const retype = renderChange({
      kind: 'alter-column-type',
      table: t,
      column: 'n',
      from: col('n', 'text'),
      to: col('n', 'integer'),
    });
    expect(retype.statements).toEqual(['ALTER TABLE "Sales"."order" ALTER COLUMN n TYPE integer USING n::integer']);
    expect(retype.reverse).toEqual(['ALTER TABLE "Sales"."order" ALTER COLUMN n TYPE text USING n::text']);
  });

  test('reverses carry the old definition; data-destroying changes have none', () => {
    expect(renderChange({ kind: 'alter-column-default', table: t, column: 'at', from: 'now()', to: null })).toEqual({
      statements: ['ALTER TABLE "Sales"."order" ALTER COLUMN at DROP DEFAULT'],
      reverse: ['ALTER TABLE "Sales"."order" ALTER COLUMN at SET DEFAULT now()'],
      transactional: true,
    });
    expect(renderChange({ kind: 'drop-column', table: t, column: col('note', 'text') }).reverse).toBeNull();
    // A generated column's values come back with it (its expression over the row): the drop has a reverse.
    expect(
      renderChange({ kind: 'drop-column', table: t, column: col('key', 'text', { generated: 'lower(note)' }) }).reverse,
    ).toEqual(['ALTER TABLE "Sales"."order" ADD COLUMN key text GENERATED ALWAYS AS (lower(note)) STORED']);
    expect(
      renderChange({
        kind: 'add-column',
        table: t,
        column: col('note', 'text', { default: "''::text", notNull: true }),
      }),
    ).toEqual({
      statements: [`ALTER TABLE "Sales"."order" ADD COLUMN note text DEFAULT ''::text NOT NULL`],
      reverse: ['ALTER TABLE "Sales"."order" DROP COLUMN note'],
      transactional: true,
    });
  });

  test('enum values are added outside a transaction and cannot be reversed', () => {
    const r = renderChange({
      kind: 'alter-enum-add-value',
      type: { kind: 'type', schema: 's', name: 'status' },
      value: "it's",
      after: 'new',
    });
    expect(r).toEqual({
      statements: ["ALTER TYPE s.status ADD VALUE 'it''s' AFTER 'new'"],
      reverse: null,
      transactional: false,
    });
  });

  test('grants split WITH GRANT OPTION privileges and name routines by argument types', () => {
    const target: ObjectKey = { kind: 'function', schema: 's', name: 'f', args: ['integer', 'text[]'] };
    const r = renderChange({
      kind: 'grant',
      privilege: { target, grantee: 'PUBLIC', privileges: ['EXECUTE'], grantable: [] },
    });
    expect(r.statements).toEqual(['GRANT EXECUTE ON FUNCTION s.f(integer, text[]) TO PUBLIC']);
    const c = renderChange({
      kind: 'grant',
      privilege: { target: t, column: 'id', grantee: 'App', privileges: ['SELECT', 'UPDATE'], grantable: ['UPDATE'] },
    });
    expect(c.statements).toEqual([
      'GRANT SELECT (id) ON TABLE "Sales"."order" TO "App"',
      'GRANT UPDATE (id) ON TABLE "Sales"."order" TO "App" WITH GRANT OPTION',
    ]);
    expect(c.reverse).toEqual(['REVOKE SELECT (id), UPDATE (id) ON TABLE "Sales"."order" FROM "App"']);
  });

  test('changing the partitioning of a table is refused with a hint', () => {
    expect(() =>
      renderChange({ kind: 'alter-table-options', table: t, from: {}, to: { partitionBy: 'RANGE (at)' } }),
    ).toThrow(/cannot change the partitioning/);
  });
});

describe('text search dictionaries', () => {
  const dictionary = (options: string | null) => ({
    key: { kind: 'text-search-dictionary' as const, schema: 'app', name: 'words' },
    template: 'pg_catalog.simple',
    options,
    dependsOn: [],
    attrs: {},
  });

  test('option names are read from the catalog text, quoted names and values holding commas included', () => {
    expect(dictionaryOptionNames(null)).toEqual([]);
    expect(dictionaryOptionNames(`accept = 'false', "Stop, Words" = 'a, b = c', maxlen = 10`)).toEqual([
      'accept',
      '"Stop, Words"',
      'maxlen',
    ]);
  });

  test('an option taken out is named without a value, which removes it; the reverse puts it back', () => {
    const r = renderChange({
      kind: 'alter-text-search-dictionary',
      from: dictionary(`accept = 'false', stopwords = 'english'`),
      to: dictionary(`accept = 'true'`),
    });
    expect(r.statements).toEqual([`ALTER TEXT SEARCH DICTIONARY app.words (accept = 'true', stopwords)`]);
    expect(r.reverse).toEqual([`ALTER TEXT SEARCH DICTIONARY app.words (accept = 'false', stopwords = 'english')`]);
  });
});
