import { describe, expect, it } from 'vitest';
import { DbeeError } from '../errors';
import { parseDbtManifest, splitRelationName } from './dbt-manifest';

const manifest = (version: string | undefined, extra: Record<string, unknown> = {}) => ({
  metadata:
    version === undefined ? {} : { dbt_schema_version: `https://schemas.getdbt.com/dbt/manifest/${version}.json` },
  nodes: {},
  sources: {},
  child_map: {},
  ...extra,
});

describe('dbt manifest', () => {
  it.each(['v7', 'v8', 'v9', 'v10', 'v11', 'v12', 'v20'])('reads schema %s', (v) => {
    expect(parseDbtManifest(manifest(v), 'm.json').version).toBe(Number(v.slice(1)));
  });

  it.each([
    ['v6', 'dbt manifest schema v6 is not one dbee reads', 'dbt Core 1.3 or later'],
    ['v13', 'dbt manifest schema v13 is not one dbee reads', 'upgrade dbee'],
    [undefined, 'this is not a dbt manifest ("metadata.dbt_schema_version" is null)', 'target/manifest.json'],
  ])('refuses %s with a message and a hint (exit 1)', (v, message, hint) => {
    let error: unknown;
    try {
      parseDbtManifest(manifest(v), 'm.json');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DbeeError);
    expect((error as DbeeError).message).toContain(message);
    expect((error as DbeeError).hint).toContain(hint);
    expect((error as DbeeError).exitCode).toBe(1);
  });

  it('keeps what the check reads of a node (v12 names) and of an older one (compiled_sql, raw_sql)', () => {
    const m = parseDbtManifest(
      manifest('v12', {
        nodes: {
          'model.p.a': {
            resource_type: 'model',
            name: 'a',
            original_file_path: 'models/a.sql',
            relation_name: '"db"."s"."a"',
            database: 'db',
            schema: 's',
            compiled_code: 'select 1',
            depends_on: { nodes: ['source.p.x.t'] },
          },
          'model.p.b': {
            resource_type: 'model',
            name: 'b',
            compiled_sql: 'select 2',
            raw_sql: 'select 2',
            config: { enabled: false },
          },
        },
      }),
      'm.json',
    );
    expect(m.nodes.get('model.p.a')).toMatchObject({
      file: 'models/a.sql',
      compiledCode: 'select 1',
      dependsOn: ['source.p.x.t'],
      relation: { database: 'db', schema: 's', identifier: 'a', relationName: '"db"."s"."a"' },
      enabled: true,
    });
    expect(m.nodes.get('model.p.b')).toMatchObject({ compiledCode: 'select 2', rawCode: 'select 2', enabled: false });
  });

  it('splits relation names: quoted parts keep their case and quotes, unquoted ones fold when asked', () => {
    expect(splitRelationName('"analytics"."Sales"."or""ders"', true)).toEqual(['analytics', 'Sales', 'or"ders']);
    expect(splitRelationName('analytics.Sales.orders', true)).toEqual(['analytics', 'sales', 'orders']);
    expect(splitRelationName('DEV_EDW.Customers', false)).toEqual(['DEV_EDW', 'Customers']);
    expect(splitRelationName('"unterminated', true)).toBeNull();
  });
});
