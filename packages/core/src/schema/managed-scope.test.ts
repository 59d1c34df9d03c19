import { describe, expect, it } from 'vitest';
import { emptyModel, type SchemaModel } from './model';
import { grantees, ignorePattern, managedScope, restrictModel } from './managed-scope';

const t = (schema: string, name: string) => ({
  key: { kind: 'table' as const, schema, name },
  columns: [],
  constraints: [],
  dependsOn: [],
  attrs: {},
});

describe('managed scope', () => {
  it('reads the grantees the sources name in GRANT and REVOKE', () => {
    expect(
      grantees([
        'GRANT SELECT, INSERT ON TABLE a.t TO app, "Report Reader" WITH GRANT OPTION',
        '-- a comment\nREVOKE ALL ON a.t FROM public CASCADE',
        'GRANT USAGE ON SCHEMA a TO GROUP ops GRANTED BY admin',
        'ALTER DEFAULT PRIVILEGES IN SCHEMA a GRANT SELECT ON TABLES TO auditor',
        'CREATE TABLE a.to_do (id int)',
      ]),
    ).toEqual(['PUBLIC', 'Report Reader', 'app', 'auditor', 'ops']);
  });

  it('turns ignore globs into anchored patterns over kind:schema.name', () => {
    const re = (g: string) => new RegExp(ignorePattern(g));
    expect(re('table:audit.*_bak_*').test('table:audit.orders_bak_1')).toBe(true);
    expect(re('table:audit.*_bak_*').test('view:audit.orders_bak_1')).toBe(false);
    expect(re('table:audit.*_bak_*').test('table:auditx.orders_bak_1')).toBe(false);
    expect(re('function:ext_*').test('function:any.ext_version')).toBe(true);
    expect(re('audit.tmp_?').test('sequence:audit.tmp_1')).toBe(true);
    expect(re('audit.tmp_?').test('sequence:audit.tmp_12')).toBe(false);
  });

  it('defaults: grants to the named roles, no owners, comments', () => {
    expect(managedScope(undefined, ['GRANT SELECT ON a.t TO app'])).toEqual({
      grantees: ['app'],
      owners: false,
      comments: true,
      ignore: [],
    });
    expect(managedScope({ grants: 'all' }, []).grantees).toBeNull();
    expect(managedScope({ grants: false }, ['GRANT SELECT ON a.t TO app']).grantees).toEqual([]);
  });

  it('restricts a model to what is managed: ignored objects and what hangs on them, other grantees, owners', () => {
    const m: SchemaModel = {
      ...emptyModel(),
      tables: [t('a', 't'), t('a', 't_bak_1')],
      indexes: [
        {
          key: { kind: 'index', schema: 'a', name: 'i', parent: 'a.t_bak_1' },
          table: t('a', 't_bak_1').key,
          unique: false,
          columns: [],
          predicate: null,
          expression: false,
          definition: '',
          dependsOn: [],
          attrs: {},
        },
      ],
      privileges: [
        { target: t('a', 't').key, grantee: 'app', privileges: ['SELECT'], grantable: [] },
        { target: t('a', 't').key, grantee: 'dba_reader', privileges: ['SELECT'], grantable: [] },
        { target: t('a', 't_bak_1').key, grantee: 'app', privileges: ['SELECT'], grantable: [] },
      ],
      owners: [{ target: t('a', 't').key, owner: 'x' }],
      comments: [{ target: t('a', 't_bak_1').key, text: 'old' }],
      defaultPrivileges: { function: [{ grantee: 'PUBLIC', privileges: ['EXECUTE'] }] },
    };
    const r = restrictModel(m, managedScope({ ignore: ['table:a.*_bak_*'] }, ['GRANT SELECT ON a.t TO app']));
    expect(r.tables.map((x) => x.key.name)).toEqual(['t']);
    expect(r.indexes).toEqual([]);
    expect(r.privileges.map((p) => `${p.target.name}:${p.grantee}`)).toEqual(['t:app']);
    expect(r.owners).toEqual([]);
    expect(r.comments).toEqual([]);
    expect(r.defaultPrivileges).toEqual({ function: [] });
  });
});
