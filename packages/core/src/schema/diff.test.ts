import { describe, expect, test } from 'vitest';
import { formatKey, type ObjectKey } from '../model/object-key';
import { changeObjectKey, type Change } from './change';
import { diffModels as diffWith, enumAdditions, viewColumnsCompatible, type DiffOptions } from './diff';
import type { EngineFacts } from '../model/engine-facts';
import {
  emptyModel,
  type Column,
  type Constraint,
  type Index,
  type Routine,
  type SchemaModel,
  type Table,
  type View,
} from './model';

/** Engine facts for the differ (generic; PostgreSQL's are in @dbee/postgres): serial columns draw from `nextval`. */
const facts: EngineFacts = {
  volatileFunctions: new Set(),
  typeAliases: {},
  sequenceFunction: 'nextval',
  builtInRoles: /^public$/i,
  typeChange: () => ({ rewrite: true, loss: null }),
};
const diffModels = (from: SchemaModel, to: SchemaModel, options: Omit<DiffOptions, 'facts'> = {}) =>
  diffWith(from, to, { ...options, facts });

const k = (kind: ObjectKey['kind'], schema: string, name: string, extra: Partial<ObjectKey> = {}): ObjectKey => ({
  kind,
  schema,
  name,
  ...extra,
});
const col = (name: string, type = 'integer', extra: Partial<Column> = {}): Column => ({
  name,
  type,
  default: null,
  identity: null,
  generated: null,
  collation: null,
  notNull: false,
  position: 0,
  dependsOn: [],
  attrs: {},
  ...extra,
});
const table = (name: string, columns: Column[], constraints: Constraint[] = []): Table => ({
  key: k('table', 's', name),
  columns,
  constraints,
  dependsOn: [],
  attrs: {},
});
const pk = (name: string, columns: string[]): Constraint => ({
  name,
  kind: 'primary-key',
  columns,
  expression: null,
  references: null,
  deferrable: false,
  initiallyDeferred: false,
  definition: `PRIMARY KEY (${columns.join(', ')})`,
  dependsOn: [],
  attrs: {},
});
const fk = (name: string, column: string, target: string): Constraint => ({
  ...pk(name, [column]),
  kind: 'foreign-key',
  references: {
    table: k('table', 's', target),
    columns: ['id'],
    onUpdate: 'no-action',
    onDelete: 'no-action',
    match: 'simple',
  },
  definition: `FOREIGN KEY (${column}) REFERENCES s.${target}(id)`,
  dependsOn: [k('table', 's', target)],
});
const view = (
  name: string,
  definition: string,
  columns: [string, string][],
  dependsOn: ObjectKey[] = [],
  onColumns: [string, string][] = [],
): View => ({
  key: k('view', 's', name),
  definition,
  columns: columns.map(([n, t]) => ({ name: n, type: t })),
  dependsOn,
  dependsOnColumns: onColumns.map(([t, c]) => ({ table: k('table', 's', t), column: c })),
  attrs: {},
});
const fn = (name: string, returnType: string, body: string): Routine => ({
  key: k('function', 's', name, { args: ['integer'] }),
  identityArgs: 'a integer',
  arguments: 'a integer',
  returnType,
  language: 'sql',
  definition: `CREATE OR REPLACE FUNCTION s.${name}(a integer) RETURNS ${returnType} AS $$${body}$$`,
  volatility: 'immutable',
  dependsOn: [],
  attrs: {},
});
const model = (parts: Partial<SchemaModel>): SchemaModel => ({
  ...emptyModel(),
  schemas: [{ key: k('schema', '', 's'), dependsOn: [], attrs: {} }],
  defaultPrivileges: { function: [{ grantee: 'PUBLIC', privileges: ['EXECUTE'] }] },
  ...parts,
});
const summary = (changes: Change[]) => changes.map((c) => `${c.kind} ${formatKey(changeObjectKey(c))}`);

describe('diffModels', () => {
  test('equal models give no changes', () => {
    const m = model({ tables: [table('a', [col('id')], [pk('a_pkey', ['id'])])] });
    expect(diffModels(m, structuredClone(m))).toEqual([]);
  });

  test('creates the schema first, tables next, foreign keys once both tables exist', () => {
    const from = { ...emptyModel(), defaultPrivileges: {} };
    const to = model({
      tables: [
        table(
          'child',
          [col('id'), col('parent_id')],
          [pk('child_pkey', ['id']), fk('child_parent_fk', 'parent_id', 'parent')],
        ),
        table('parent', [col('id')], [pk('parent_pkey', ['id'])]),
      ],
    });
    const changes = diffModels(from, to);
    expect(summary(changes)).toEqual([
      'create-schema schema:s',
      'create-table table:s.child',
      'create-table table:s.parent',
      'add-constraint table:s.child',
    ]);
    // The foreign key is not inline: it would need the parent to exist already.
    const created = changes[1] as Extract<Change, { kind: 'create-table' }>;
    expect(created.table.constraints.map((c) => c.name)).toEqual(['child_pkey']);
  });

  test('drops dependents before what they depend on, the schema last', () => {
    const from = model({
      tables: [
        table('child', [col('id'), col('parent_id')], [fk('child_parent_fk', 'parent_id', 'parent')]),
        table('parent', [col('id')], [pk('parent_pkey', ['id'])]),
      ],
      views: [view('v', 'select 1', [['x', 'integer']], [k('table', 's', 'parent')])],
    });
    const to = { ...emptyModel(), defaultPrivileges: {} };
    // The child goes first: its foreign key needs the parent.
    expect(summary(diffModels(from, to))).toEqual([
      'drop-view view:s.v',
      'drop-table table:s.child',
      'drop-table table:s.parent',
      'drop-schema schema:s',
    ]);
  });

  test('the result does not depend on the order of the input lists', () => {
    const tables = ['a', 'b', 'c', 'd'].map((n) => table(n, [col('id'), col('x', 'text')]));
    const from = model({ tables: tables.slice(0, 2) });
    const to = model({ tables: [...tables].reverse() });
    const shuffled = model({ tables: [tables[2]!, tables[0]!, tables[3]!, tables[1]!] });
    expect(diffModels(from, to)).toEqual(diffModels(from, shuffled));
  });

  test('a view losing a column is dropped and created again with the views on top of it', () => {
    const t = table('t', [col('a'), col('b', 'text')]);
    const base = view(
      'base',
      'select a, b from t',
      [
        ['a', 'integer'],
        ['b', 'text'],
      ],
      [t.key],
    );
    const top = view('top', 'select a from base', [['a', 'integer']], [base.key]);
    const from = model({ tables: [t], views: [base, top] });
    const to = model({ tables: [t], views: [view('base', 'select a from t', [['a', 'integer']], [t.key]), top] });
    const changes = diffModels(from, to);
    expect(summary(changes)).toEqual([
      'drop-view view:s.top',
      'drop-view view:s.base',
      'create-view view:s.base',
      'create-view view:s.top',
    ]);
    expect(changes.map((c) => ('recreate' in c ? c.recreate?.cause : undefined))).toEqual([
      'view:s.base',
      'view:s.base',
      'view:s.base',
      'view:s.base',
    ]);
  });

  test('a retyped column recreates the views that read it, and only those', () => {
    const before = table('t', [col('a'), col('b')]);
    const after = table('t', [col('a'), col('b', 'bigint')]);
    const readsA = view('reads_a', 'select a from t', [['a', 'integer']], [before.key], [['t', 'a']]);
    const readsB = view(
      'reads_b',
      'select count(*) from t where b > 0',
      [['count', 'bigint']],
      [before.key],
      [['t', 'b']],
    );
    const changes = diffModels(
      model({ tables: [before], views: [readsA, readsB] }),
      model({ tables: [after], views: [readsA, readsB] }),
    );
    expect(summary(changes)).toEqual([
      'drop-view view:s.reads_b',
      'alter-column-type table:s.t',
      'create-view view:s.reads_b',
    ]);
  });

  test('a function whose result type changes is recreated, with its dependents; a body change is replaced', () => {
    const f = fn('f', 'integer', 'select a');
    const v = view('v', 'select s.f(1)', [['f', 'integer']], [f.key]);
    // As introspected: the default EXECUTE for PUBLIC is part of the model, so recreating needs no GRANT.
    const privileges = [{ target: f.key, grantee: 'PUBLIC', privileges: ['EXECUTE'], grantable: [] }];
    const bodyOnly = diffModels(
      model({ routines: [f], views: [v], privileges }),
      model({ routines: [fn('f', 'integer', 'select a + 0')], views: [v], privileges }),
    );
    expect(summary(bodyOnly)).toEqual(['replace-routine function:s.f(integer)']);
    const retyped = diffModels(
      model({ routines: [f], views: [v], privileges }),
      model({ routines: [fn('f', 'bigint', 'select a')], views: [v], privileges }),
    );
    expect(summary(retyped)).toEqual([
      'drop-view view:s.v',
      'drop-routine function:s.f(integer)',
      'create-routine function:s.f(integer)',
      'create-view view:s.v',
    ]);
  });

  test('a created function starts from the default privileges: a revoked PUBLIC EXECUTE is revoked after creating it', () => {
    const f = fn('f', 'integer', 'select a');
    const to = model({
      routines: [f],
      privileges: [{ target: f.key, grantee: 'app', privileges: ['EXECUTE'], grantable: [] }],
    });
    const changes = diffModels(model({}), to);
    expect(
      changes.map((c) => (c.kind === 'grant' || c.kind === 'revoke' ? `${c.kind} ${c.privilege.grantee}` : c.kind)),
    ).toEqual(['create-routine', 'revoke PUBLIC', 'grant app']);
  });

  test('comments of a recreated view are written again even when they did not change', () => {
    const t = table('t', [col('a'), col('b')]);
    const v1 = view(
      'v',
      'select a, b from t',
      [
        ['a', 'integer'],
        ['b', 'integer'],
      ],
      [t.key],
    );
    const v2 = view(
      'v',
      'select b, a from t',
      [
        ['b', 'integer'],
        ['a', 'integer'],
      ],
      [t.key],
    );
    const comments = [{ target: v1.key, text: 'same text' }];
    const changes = diffModels(
      model({ tables: [t], views: [v1], comments }),
      model({ tables: [t], views: [v2], comments }),
    );
    expect(summary(changes)).toEqual(['drop-view view:s.v', 'create-view view:s.v', 'set-comment view:s.v']);
  });

  test('owners are compared only when asked', () => {
    const t = table('t', [col('a')]);
    const from = model({ tables: [t], owners: [{ target: t.key, owner: 'alice' }] });
    const to = model({ tables: [t], owners: [{ target: t.key, owner: 'bob' }] });
    expect(diffModels(from, to)).toEqual([]);
    expect(diffModels(from, to, { owners: true })).toEqual([
      { kind: 'set-owner', target: t.key, from: 'alice', to: 'bob' },
    ]);
  });

  test('identity, default and nullability changes on one column come in an order PostgreSQL accepts', () => {
    const from = model({
      tables: [table('t', [col('id', 'integer', { default: "nextval('s.t_id_seq'::regclass)" })])],
    });
    const to = model({ tables: [table('t', [col('id', 'integer', { identity: 'always', notNull: true })])] });
    expect(diffModels(from, to).map((c) => c.kind)).toEqual([
      'alter-column-default',
      'alter-column-nullability',
      'alter-column-identity',
    ]);
  });
});

describe('materialized views', () => {
  const mv = (attrs: View['attrs']): View => ({
    ...view('mv', 'select a from t', [['a', 'integer']]),
    key: k('materialized-view', 's', 'mv'),
    attrs,
  });

  test('storage parameters alone are altered in place, not by dropping and creating it again', () => {
    // ALTER MATERIALIZED VIEW ... SET (fillfactor = 70): the plan dropped it and created it again (eVaka seed 11).
    const from = model({ views: [mv({})] });
    const to = model({ views: [mv({ reloptions: ['fillfactor=70'] })] });
    expect(diffModels(from, to).map((c) => c.kind)).toEqual(['alter-table-options']);
    expect(diffModels(to, from).map((c) => c.kind)).toEqual(['alter-table-options']);
  });
});

describe('declared renames', () => {
  const before = table('orders_old', [col('id'), col('note', 'text')], [pk('orders_pkey', ['id'])]);
  const after = table('orders', [col('id'), col('memo', 'text')], [pk('orders_pkey', ['id'])]);
  const idx = (t: Table, column: string): Index => ({
    key: k('index', 's', 'orders_note_idx', { parent: `s.${t.key.name}` }),
    table: t.key,
    unique: false,
    columns: [column],
    predicate: null,
    expression: false,
    definition: `CREATE INDEX orders_note_idx ON s.${t.key.name} USING btree (${column})`,
    dependsOn: [],
    attrs: {},
  });
  const renames = [
    { kind: 'table' as const, schema: 's', from: 'orders_old', to: 'orders' },
    { kind: 'column' as const, schema: 's', table: 'orders', from: 'note', to: 'memo' },
  ];

  test('rename instead of drop and create, and carry indexes along', () => {
    const from = model({ tables: [before], indexes: [idx(before, 'note')] });
    const to = model({ tables: [after], indexes: [idx(after, 'memo')] });
    // Undeclared: the index goes with the dropped table, and everything is created again.
    expect(summary(diffModels(from, to))).toEqual([
      'drop-table table:s.orders_old',
      'create-table table:s.orders',
      'create-index index:s.orders_note_idx@s.orders',
    ]);
    expect(diffModels(from, to, { renames })).toEqual([
      { kind: 'rename-table', table: k('table', 's', 'orders'), from: 'orders_old', to: 'orders' },
      { kind: 'rename-column', table: k('table', 's', 'orders'), from: 'note', to: 'memo' },
    ]);
  });

  test('a rename that is already done is a no-op', () => {
    const m = model({ tables: [after] });
    expect(diffModels(m, m, { renames })).toEqual([]);
  });

  test('a rename to a name the desired schema does not have is an error', () => {
    const from = model({ tables: [before] });
    const to = model({ tables: [table('other', [col('id')])] });
    expect(() => diffModels(from, to, { renames: [renames[0]!] })).toThrow(
      /cannot rename table s\.orders_old -> orders: s\.orders is not in the desired schema/,
    );
  });
});

describe('helpers', () => {
  test('enumAdditions places new values next to existing ones, or refuses removals and reorders', () => {
    expect(enumAdditions(['b', 'd'], ['a', 'b', 'c', 'd', 'e'])).toEqual([
      { value: 'a', before: 'b' },
      { value: 'c', after: 'b' },
      { value: 'e', after: 'd' },
    ]);
    expect(enumAdditions([], ['x'])).toEqual([{ value: 'x' }]);
    expect(enumAdditions(['a', 'b'], ['a'])).toBeNull();
    expect(enumAdditions(['a', 'b'], ['b', 'a'])).toBeNull();
  });

  test('viewColumnsCompatible accepts only appended columns', () => {
    const v = (cols: [string, string][]) => view('v', '', cols);
    expect(
      viewColumnsCompatible(
        v([['a', 'integer']]),
        v([
          ['a', 'integer'],
          ['b', 'text'],
        ]),
      ),
    ).toBe(true);
    expect(
      viewColumnsCompatible(
        v([
          ['a', 'integer'],
          ['b', 'text'],
        ]),
        v([['a', 'integer']]),
      ),
    ).toBe(false);
    expect(viewColumnsCompatible(v([['a', 'integer']]), v([['a', 'bigint']]))).toBe(false);
    expect(viewColumnsCompatible(v([['a', 'integer']]), v([['b', 'integer']]))).toBe(false);
  });
});
