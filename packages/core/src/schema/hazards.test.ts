import { describe, expect, test } from 'vitest';
import type { ObjectKey } from '../model/object-key';
import type { Change } from './change';
import { classifyHazards } from './hazards';
import { hazardLine, LINT_RULES, lintRulesMarkdown } from './lint-rules';
import type { EngineFacts } from '../model/engine-facts';
import { emptyModel, type Column, type Index, type SchemaModel, type Table } from './model';

const tableKey: ObjectKey = { kind: 'table', schema: 's', name: 't' };
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
const t: Table = {
  key: tableKey,
  columns: [col('a', 'integer'), col('b', 'text')],
  constraints: [],
  dependsOn: [],
  attrs: {},
};
const withTable: SchemaModel = { ...emptyModel(), tables: [t] };
/**
 * Engine facts for these tests (the analyzer is generic; PostgreSQL's facts are tested in @dbee/postgres): two
 * volatile functions, one alias, and one type change that needs no rewrite, so that using them shows.
 */
const facts: EngineFacts = {
  volatileFunctions: new Set(['random', 'gen_random_uuid']),
  typeAliases: { 'character varying': 'varchar' },
  sequenceFunction: 'nextval',
  builtInRoles: /^public$/i,
  typeChange: (a, b) =>
    a.base === 'varchar' && b.base === 'text'
      ? { rewrite: false, loss: null }
      : { rewrite: true, loss: 'values may not convert' },
};
const kinds = (change: Change, from = withTable, to = withTable, online = false) =>
  classifyHazards(change, from, to, { online, facts })
    .map((h) => h.kind)
    .sort();

describe('classifyHazards', () => {
  test('drops of tables, columns and sequences lose data', () => {
    expect(kinds({ kind: 'drop-table', table: t })).toEqual(['data-loss']);
    expect(kinds({ kind: 'drop-column', table: tableKey, column: col('b', 'text') })).toEqual(['data-loss']);
    const seq = {
      key: { kind: 'sequence', schema: 's', name: 'q' } as ObjectKey,
      dataType: 'bigint',
      start: '1',
      increment: '1',
      min: '1',
      max: '9',
      cache: '1',
      cycle: false,
      ownedBy: null,
      dependsOn: [],
      attrs: {},
    };
    expect(kinds({ kind: 'drop-sequence', sequence: seq })).toEqual(['data-loss']);
  });

  test('dropping a column a view reads is also backward-incompatible', () => {
    const from: SchemaModel = {
      ...withTable,
      views: [
        {
          key: { kind: 'view', schema: 's', name: 'v' },
          definition: '',
          columns: [],
          dependsOn: [tableKey],
          dependsOnColumns: [{ table: tableKey, column: 'b' }],
          attrs: {},
        },
      ],
    };
    expect(kinds({ kind: 'drop-column', table: tableKey, column: col('b', 'text') }, from)).toEqual([
      'backward-incompatible',
      'data-loss',
    ]);
  });

  test('a materialized view dropped and created again with its columns unchanged is said so, naming no column', () => {
    // Its query changed, its columns did not: the message read "appends column  (it is dropped and created again)".
    const mv = (definition: string) => ({
      key: { kind: 'materialized-view', schema: 's', name: 'm' } as ObjectKey,
      definition,
      columns: [{ name: 'a', type: 'integer' }],
      dependsOn: [tableKey],
      dependsOnColumns: [],
      attrs: {},
    });
    const from: SchemaModel = { ...withTable, views: [mv('SELECT a FROM s.t')] };
    const to: SchemaModel = { ...withTable, views: [mv('SELECT a FROM s.t WHERE a > 0')] };
    const change: Change = { kind: 'drop-view', view: from.views[0]!, recreate: { cause: 'materialized-view:s.m' } };
    expect(classifyHazards(change, from, to, { online: false, facts }).map((h) => h.message)).toEqual([
      'materialized-view s.m is dropped and created again, its columns unchanged',
    ]);
  });

  test('adding a column rewrites the table only for a volatile default, an identity or a stored expression', () => {
    const add = (c: Column): Change => ({ kind: 'add-column', table: tableKey, column: c });
    expect(kinds(add(col('c', 'timestamptz', { default: 'now()' })))).toEqual([]);
    expect(kinds(add(col('c', 'integer', { default: '0' })))).toEqual([]);
    expect(kinds(add(col('c', 'uuid', { default: 'gen_random_uuid()' })))).toEqual(['table-rewrite']);
    expect(kinds(add(col('c', 'double precision', { default: 'random()' })))).toEqual(['table-rewrite']);
    expect(kinds(add(col('c', 'integer', { identity: 'always', notNull: true })))).toEqual(['table-rewrite']);
    expect(kinds(add(col('c', 'integer', { generated: '(a * 2)' })))).toEqual(['table-rewrite']);
    expect(kinds(add(col('c', 'integer', { generated: '(a * 2)', attrs: { generatedKind: 'virtual' } })))).toEqual([]);
    // A user function is judged by its declared volatility.
    const to: SchemaModel = {
      ...withTable,
      routines: [
        {
          key: { kind: 'function', schema: 's', name: 'next_code', args: [] },
          identityArgs: '',
          arguments: '',
          returnType: 'text',
          language: 'sql',
          definition: '',
          volatility: 'volatile',
          dependsOn: [],
          attrs: {},
        },
      ],
    };
    expect(kinds(add(col('c', 'text', { default: 's.next_code()' })), withTable, to)).toEqual(['table-rewrite']);
  });

  test('nothing is flagged on a table the plan creates', () => {
    const empty = emptyModel();
    expect(
      kinds({ kind: 'add-column', table: tableKey, column: col('c', 'uuid', { default: 'gen_random_uuid()' }) }, empty),
    ).toEqual([]);
    expect(
      kinds({ kind: 'alter-column-nullability', table: tableKey, column: 'a', from: false, to: true }, empty),
    ).toEqual([]);
  });

  test('SET NOT NULL holds a long lock; DROP NOT NULL is safe', () => {
    expect(kinds({ kind: 'alter-column-nullability', table: tableKey, column: 'a', from: false, to: true })).toEqual([
      'long-lock',
    ]);
    expect(kinds({ kind: 'alter-column-nullability', table: tableKey, column: 'a', from: true, to: false })).toEqual(
      [],
    );
  });

  test('index builds block writes unless online', () => {
    const index: Index = {
      key: { kind: 'index', schema: 's', name: 'i', parent: 's.t' },
      table: tableKey,
      unique: false,
      columns: ['a'],
      predicate: null,
      expression: false,
      definition: '',
      dependsOn: [],
      attrs: {},
    };
    expect(kinds({ kind: 'create-index', index })).toEqual(['index-build', 'long-lock']);
    expect(kinds({ kind: 'create-index', index }, withTable, withTable, true)).toEqual(['index-build']);
  });

  test('constraints: keys build indexes; checks and foreign keys are validated without blocking writes', () => {
    const base = {
      columns: ['a'],
      expression: null,
      references: null,
      deferrable: false,
      initiallyDeferred: false,
      dependsOn: [],
      attrs: {},
    };
    expect(
      kinds({
        kind: 'add-constraint',
        table: tableKey,
        constraint: { ...base, name: 'u', kind: 'unique', definition: 'UNIQUE (a)' },
      }),
    ).toEqual(['index-build', 'long-lock']);
    expect(
      kinds({
        kind: 'add-constraint',
        table: tableKey,
        constraint: { ...base, name: 'c', kind: 'check', definition: 'CHECK ((a > 0))' },
      }),
    ).toEqual([]);
  });

  test('renames and revokes break clients', () => {
    expect(kinds({ kind: 'rename-column', table: tableKey, from: 'a', to: 'z' })).toEqual(['backward-incompatible']);
    expect(kinds({ kind: 'rename-table', table: tableKey, from: 'old', to: 't' })).toEqual(['backward-incompatible']);
    expect(
      kinds({ kind: 'revoke', privilege: { target: tableKey, grantee: 'app', privileges: ['SELECT'], grantable: [] } }),
    ).toEqual(['backward-incompatible']);
  });

  test('safe changes have no hazards', () => {
    expect(kinds({ kind: 'alter-column-default', table: tableKey, column: 'a', from: null, to: '0' })).toEqual([]);
    expect(kinds({ kind: 'set-comment', target: tableKey, from: null, to: 'x' })).toEqual([]);
    expect(
      kinds({
        kind: 'alter-column-type',
        table: tableKey,
        column: 'b',
        from: col('b', 'character varying(10)'),
        to: col('b', 'text'),
      }),
    ).toEqual([]);
  });
});

const rules = (change: Change, online = false) =>
  classifyHazards(change, withTable, withTable, { online, facts })
    .map((h) => h.rule)
    .sort();

describe('lint rules: every hazard names its rule, with the lock it takes', () => {
  test('the changes every peer tool flags name the rule a reviewer looks up', () => {
    const index = {
      key: { kind: 'index', schema: 's', name: 'i', parent: 's.t' } as ObjectKey,
      table: tableKey,
      definition: 'CREATE INDEX i ON s.t (a)',
      attrs: {},
    };
    expect(rules({ kind: 'create-index', index } as Change)).toEqual([
      'index-build',
      'require-concurrent-index-creation',
    ]);
    expect(rules({ kind: 'create-index', index } as Change, true)).toEqual(['index-build']);
    expect(rules({ kind: 'alter-column-nullability', table: tableKey, column: 'a', to: true } as Change)).toEqual([
      'adding-not-nullable-field',
    ]);
    expect(
      rules({
        kind: 'alter-column-type',
        table: tableKey,
        column: 'a',
        from: col('a', 'integer'),
        to: col('a', 'bigint'),
      } as Change),
    ).toEqual(['changing-column-type', 'column-type-loss']);
    expect(rules({ kind: 'rename-column', table: tableKey, from: 'a', to: 'c' } as Change)).toEqual([
      'renaming-column',
    ]);
    expect(rules({ kind: 'drop-column', table: tableKey, column: col('b', 'text') })).toEqual(['ban-drop-column']);
    expect(rules({ kind: 'add-column', table: tableKey, column: col('c', 'float8', { default: 'random()' }) })).toEqual(
      ['adding-field-with-volatile-default'],
    );
  });

  test("a rule's hazard kind is the kind the step carries (what allowHazards accepts)", () => {
    const hazards = classifyHazards(
      { kind: 'alter-column-nullability', table: tableKey, column: 'a', to: true } as Change,
      withTable,
      withTable,
      { facts },
    );
    expect(hazards).toEqual([
      {
        kind: 'long-lock',
        rule: 'adding-not-nullable-field',
        message: 'SET NOT NULL on s.t.a scans the table under an exclusive lock',
      },
    ]);
    for (const h of hazards) expect(LINT_RULES[h.rule as keyof typeof LINT_RULES].hazard).toBe(h.kind);
  });

  test('a plan line says the rule and how long its lock is held; a hazard without a rule prints as before', () => {
    expect(
      hazardLine({
        kind: 'long-lock',
        message: 'SET NOT NULL on s.t.a scans the table under an exclusive lock',
        rule: 'adding-not-nullable-field',
      }),
    ).toBe(
      'long-lock: SET NOT NULL on s.t.a scans the table under an exclusive lock [adding-not-nullable-field: ACCESS EXCLUSIVE while it scans every row]',
    );
    expect(hazardLine({ kind: 'data-loss', message: 'drops table s.t, which holds rows' })).toBe(
      'data-loss: drops table s.t, which holds rows',
    );
  });

  test('the docs table lists every rule once', () => {
    const md = lintRulesMarkdown();
    for (const id of Object.keys(LINT_RULES))
      expect(md.split('\n').filter((l) => l.startsWith(`| \`${id}\` |`))).toHaveLength(1);
  });
});
