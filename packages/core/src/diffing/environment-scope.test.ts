import { describe, expect, test } from 'vitest';
import { emptyModel, type Privilege, type SchemaModel } from '../schema/model';
import { compareEnvironments } from './environment-scope';

const t = { kind: 'table' as const, schema: 's', name: 't' };
const grant = (grantee: string, privileges: string[]): Privilege => ({ target: t, grantee, privileges, grantable: [] });
const model = (privileges: Privilege[]): SchemaModel => ({ ...emptyModel(), privileges });
const sides = { fromLabel: 'test', toLabel: 'prod', grants: true };

describe('compareEnvironments', () => {
  test('compares the grants of roles both sides have and PUBLIC, and names a role one side lacks', () => {
    const r = compareEnvironments(
      undefined,
      model([grant('app', ['SELECT'])]),
      model([grant('app', ['INSERT', 'SELECT']), grant('PUBLIC', ['SELECT']), grant('etl', ['SELECT'])]),
      { ...sides, from: ['app', 'postgres'], to: ['app', 'etl', 'postgres'] },
    );
    expect(r.to.privileges.map((p) => p.grantee).sort()).toEqual(['PUBLIC', 'app']);
    expect(r.uncompared).toEqual(['grants to etl: the role exists only on prod']);
  });

  test('with grants off, names the grantees whose grants differ, and nothing when they do not', () => {
    const a = model([grant('app', ['SELECT'])]);
    const off = { ...sides, grants: false, from: ['app'], to: ['app'] };
    expect(compareEnvironments(undefined, a, model([]), off).uncompared).toEqual([
      'grants (manage.grants is false): they differ for app',
    ]);
    expect(compareEnvironments(undefined, a, a, off).uncompared).toEqual([]);
  });
});
