import { describe, expect, test } from 'vitest';
import type { ObjectKey } from '../model/object-key';
import { emptyModel, type Constraint, type SchemaModel, type Table } from '../schema/model';
import { withoutObjects } from './prune';

const k = (kind: ObjectKey['kind'], name: string, extra: Partial<ObjectKey> = {}): ObjectKey => ({
  kind,
  schema: 's',
  name,
  ...extra,
});
const check = (name: string): Constraint => ({
  name,
  kind: 'check',
  columns: [],
  expression: '(a > 0)',
  references: null,
  deferrable: false,
  initiallyDeferred: false,
  definition: 'CHECK ((a > 0))',
  dependsOn: [],
  attrs: {},
});
const table = (name: string): Table => ({
  key: k('table', name),
  columns: [],
  constraints: [check(`${name}_chk`)],
  dependsOn: [],
  attrs: { policies: [{ name: 'p' }, { name: 'q' }] },
});
const live: SchemaModel = {
  ...emptyModel(),
  tables: [table('t'), table('u')],
  views: [{ key: k('view', 'v'), definition: 'x', columns: [], dependsOn: [], dependsOnColumns: [], attrs: {} }],
  indexes: [
    {
      key: k('index', 'i', { parent: 's.t' }),
      table: k('table', 't'),
      definition: 'CREATE INDEX i ON s.t (a)',
      unique: false,
      columns: ['a'],
      expression: false,
      predicate: null,
      dependsOn: [],
      attrs: {},
    },
  ],
  comments: [
    { target: k('table', 't'), column: 'a', text: 'on t' },
    { target: k('table', 'u'), constraint: 'u_chk', text: 'on the check' },
    { target: k('view', 'v'), text: 'on v' },
  ],
  privileges: [{ target: k('table', 't'), grantee: 'app', privileges: ['SELECT'], grantable: [] }],
  owners: [{ target: k('view', 'v'), owner: 'app' }],
};

describe('withoutObjects (deploy --prune)', () => {
  test('a table goes with its indexes, comments and grants; other objects stay', () => {
    const m = withoutObjects(live, new Set(['table:s.t']));
    expect(m.tables.map((t) => t.key.name)).toEqual(['u']);
    expect(m.indexes).toEqual([]);
    expect(m.views.map((v) => v.key.name)).toEqual(['v']);
    expect(m.comments.map((c) => c.text)).toEqual(['on the check', 'on v']);
    expect(m.privileges).toEqual([]);
    expect(m.owners).toEqual(live.owners);
  });

  test("a policy or constraint of a kept table goes alone, with a constraint's comment", () => {
    const m = withoutObjects(live, new Set(['policy:s.p@s.u', 'constraint:s.u_chk@s.u', 'view:s.v']));
    const u = m.tables.find((t) => t.key.name === 'u')!;
    expect(u.attrs['policies']).toEqual([{ name: 'q' }]);
    expect(u.constraints).toEqual([]);
    expect(m.tables.find((t) => t.key.name === 't')).toBe(live.tables[0]);
    expect(m.comments.map((c) => c.text)).toEqual(['on t']);
    expect(m.views).toEqual([]);
    expect(m.owners).toEqual([]);
  });
});
