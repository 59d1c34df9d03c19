import { describe, expect, test } from 'vitest';
import type { EngineFacts } from '../engine/engine';
import type { ObjectKey } from '../model/object-key';
import type { Change } from './change';
import { classifyHazards } from './hazards';
import { hazardLine, LINT_RULES, lintRulesMarkdown } from './lint-rules';
import { emptyModel, type Column, type SchemaModel, type Table } from './model';

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
const facts: EngineFacts = {
  volatileFunctions: new Set(['random']),
  typeAliases: {},
  sequenceFunction: 'nextval',
  builtInRoles: /^public$/i,
  typeChange: () => ({ rewrite: true, loss: null }),
};
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
    ).toEqual(['changing-column-type']);
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
