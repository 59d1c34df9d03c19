import { describe, expect, it } from 'vitest';
import { DbeeAggregateError, DbeeError } from '../errors';
import type { Change } from '../schema/change';
import type { Column, Index, SchemaModel, Table } from '../schema/model';
import { ExpandDeclarations } from './declarations';
import { planExpand } from './expand-plan';

// How planExpand classifies a diff and what it refuses, on hand-made models (no database): the engine's cast check is
// a stand-in that knows integer ↔ bigint only.

const col = (name: string, type: string, notNull = false, dflt: string | null = null): Column => ({
  name,
  type,
  default: dflt,
  identity: null,
  generated: null,
  collation: null,
  notNull,
  position: 0,
  dependsOn: [],
  attrs: {},
});
const table = (name: string, columns: Column[]): Table => ({
  key: { kind: 'table', schema: 's', name },
  dependsOn: [],
  attrs: {},
  columns,
  constraints: [
    {
      name: `${name}_pkey`,
      kind: 'primary-key',
      columns: ['id'],
      expression: null,
      references: null,
      deferrable: false,
      initiallyDeferred: false,
      definition: 'PRIMARY KEY (id)',
      dependsOn: [],
      attrs: {},
    },
  ],
});
const model = (tables: Table[], indexes: Index[] = []): SchemaModel => ({
  schemas: [],
  tables,
  views: [],
  routines: [],
  triggers: [],
  sequences: [],
  types: [],
  indexes,
  comments: [],
  privileges: [],
  owners: [],
  extensions: [],
  defaultPrivileges: {},
});
const T = { kind: 'table' as const, schema: 's', name: 't' };
const plan = (live: Table, desired: Table, changes: Change[], decl = {}, indexes: Index[] = []) =>
  planExpand({
    project: 'p',
    release: '1',
    previous: '0',
    schemas: ['s'],
    live: model([live], indexes),
    desired: model([desired]),
    changes,
    declarations: ExpandDeclarations.of(decl),
    projectFile: 'p/db.yaml',
    castExists: async (from, to) => [from, to].every((x) => x === 'integer' || x === 'bigint'),
  });
const refusal = async (p: Promise<unknown>) => {
  const e = await p.catch((x: unknown) => x);
  expect(e).toBeInstanceOf(DbeeError);
  const all = e instanceof DbeeAggregateError ? e.errors : [e as DbeeError];
  return all.map((x) => x.format()).join('\n');
};
const id = col('id', 'integer', true);

describe('planExpand', () => {
  it('derives the casts of a type change when the server has them, and refuses one it cannot derive', async () => {
    const p = await plan(table('t', [id, col('n', 'integer')]), table('t', [id, col('n', 'bigint')]), [
      { kind: 'alter-column-type', table: T, column: 'n', from: col('n', 'integer'), to: col('n', 'bigint') },
    ]);
    expect(p.tables[0]!.columns[1]).toMatchObject({
      kind: 'shadow',
      physical: '_dbee_new_n',
      up: 'CAST(n AS bigint)',
      down: 'CAST(n AS integer)',
    });
    // text → integer has no cast in the stand-in: both expressions are needed, and the message says where.
    expect(
      await refusal(
        plan(table('t', [id, col('n', 'text')]), table('t', [id, col('n', 'integer')]), [
          { kind: 'alter-column-type', table: T, column: 'n', from: col('n', 'text'), to: col('n', 'integer') },
        ]),
      ),
    ).toMatch(/s\.t\.n: PostgreSQL has no cast .* declare it in <the table file of s\.t/s);
  });

  it('asks for up when NOT NULL is added, and for down when a NOT NULL column without default is dropped', async () => {
    const text = await refusal(
      plan(table('t', [id, col('a', 'text'), col('gone', 'text', true)]), table('t', [id, col('a', 'text', true)]), [
        { kind: 'alter-column-nullability', table: T, column: 'a', from: false, to: true },
        { kind: 'drop-column', table: T, column: col('gone', 'text', true) },
      ]),
    );
    expect(text).toContain('s.t.a: adding NOT NULL needs an up expression');
    expect(text).toContain('s.t.gone is dropped but NOT NULL without a default');
    const ok = await plan(
      table('t', [id, col('a', 'text'), col('gone', 'text', true)]),
      table('t', [id, col('a', 'text', true)]),
      [
        { kind: 'alter-column-nullability', table: T, column: 'a', from: false, to: true },
        { kind: 'drop-column', table: T, column: col('gone', 'text', true) },
      ],
      { 's.t': { file: 'p/t.expand.yaml', columns: { a: { up: "COALESCE(a, '')" }, gone: { down: "''" } } } },
    );
    expect(ok.tables[0]).toMatchObject({
      columns: [
        { name: 'id', kind: 'same' },
        { name: 'a', kind: 'shadow', up: "COALESCE(a, '')", down: 'a' },
      ],
      dropped: [{ name: 'gone', down: "''" }],
    });
  });

  it('refuses an added NOT NULL column with neither default nor up, and a change it does not support', async () => {
    const text = await refusal(
      plan(table('t', [id, col('a', 'text')]), table('t', [id, col('a', 'text'), col('b', 'int', true)]), [
        { kind: 'add-column', table: T, column: col('b', 'int', true) },
        { kind: 'alter-column-nullability', table: T, column: 'a', from: true, to: false },
      ]),
    );
    expect(text).toContain('s.t.b is added NOT NULL without a default');
    expect(text).toContain('dropping NOT NULL is not supported');
  });

  it('refuses a type change on an indexed column (the index would go with the old column)', async () => {
    const index: Index = {
      key: { kind: 'index', schema: 's', name: 't_n_idx', parent: 's.t' },
      dependsOn: [],
      attrs: {},
      table: T,
      unique: false,
      columns: ['n'],
      predicate: null,
      expression: false,
      definition: 'CREATE INDEX t_n_idx ON s.t USING btree (n)',
    };
    expect(
      await refusal(
        plan(
          table('t', [id, col('n', 'integer')]),
          table('t', [id, col('n', 'bigint')]),
          [{ kind: 'alter-column-type', table: T, column: 'n', from: col('n', 'integer'), to: col('n', 'bigint') }],
          {},
          [index],
        ),
      ),
    ).toContain('would drop index t_n_idx with the old column');
  });

  it('refuses a declaration for a column the table neither has nor drops', async () => {
    expect(
      await refusal(
        plan(
          table('t', [id]),
          table('t', [id, col('b', 'int')]),
          [{ kind: 'add-column', table: T, column: col('b', 'int') }],
          {
            's.t': { file: 'p/t.expand.yaml', columns: { c: { up: '1' } } },
          },
        ),
      ),
    ).toContain('p/t.expand.yaml: column c is neither in the new shape of s.t nor one it drops');
  });
});
