import { describe, expect, it } from 'vitest';
import type { Change } from '../schema/change';
import { emptyModel, type Column, type SchemaModel, type Table, type Trigger } from '../schema/model';
import { ExpandDeclarations } from './declarations';
import { planExpand } from './expand-plan';
import { formatInFlight, inFlightOf, releaseMakes, withoutInFlight } from './in-flight';

// What a release in flight holds, on hand-made models (no database): table s.t has `a integer` renamed to `c` and
// retyped to bigint in the same release (a shadow column), and a column `n` added.

const col = (name: string, type: string): Column => ({
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
});
const table = (columns: Column[]): Table => ({
  key: { kind: 'table', schema: 's', name: 't' },
  dependsOn: [],
  attrs: {},
  columns: [col('id', 'integer'), ...columns],
  constraints: [
    {
      name: 't_pkey',
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
const model = (t: Table, triggers: Trigger[] = []): SchemaModel => ({ ...emptyModel(), tables: [t], triggers });
const T = { kind: 'table' as const, schema: 's', name: 't' };
const trigger: Trigger = {
  key: { kind: 'trigger', schema: 's', name: '_dbee_sync_1', parent: 's.t' },
  table: T,
  function: { kind: 'function', schema: 'dbee', name: 'expand_sync_t_1', args: [] },
  definition: 'CREATE TRIGGER _dbee_sync_1 ...',
  constraintTrigger: false,
  dependsOn: [],
  attrs: {},
};
const handMade: Trigger = {
  ...trigger,
  key: { ...trigger.key, name: 'audit' },
  definition: 'CREATE TRIGGER audit ...',
};
const release = planExpand({
  project: 'p',
  release: '1',
  previous: '0',
  schemas: ['s'],
  live: model(table([col('a', 'integer')])),
  desired: model(table([col('c', 'bigint'), col('n', 'integer')])),
  changes: [
    { kind: 'rename-column', table: T, from: 'a', to: 'c' },
    { kind: 'alter-column-type', table: T, column: 'c', from: col('a', 'integer'), to: col('c', 'bigint') },
    { kind: 'add-column', table: T, column: col('n', 'integer') },
  ],
  declarations: ExpandDeclarations.of({}),
  projectFile: 'p/db.yaml',
  castExists: async () => true,
});
/** The table while the release is expanded: the old column, its shadow, the new column, the sync trigger. */
const expanded = model(table([col('a', 'integer'), col('_dbee_new_c', 'bigint'), col('n', 'integer')]), [
  trigger,
  handMade,
]);
const names = (m: SchemaModel) => ({
  columns: m.tables[0]!.columns.map((c) => c.name),
  triggers: m.triggers.map((t) => t.key.name),
});
const retype = (type: string): Change => ({
  kind: 'alter-column-type',
  table: T,
  column: 'c',
  from: col('a', 'integer'),
  to: col('c', type),
});

describe('a release in flight', () => {
  it('is described once: its version schema, shadow columns, triggers and additions', async () => {
    const r = { release: '1', phase: 'expanded' as const, plan: await release };
    expect(inFlightOf(r)).toMatchObject({
      shadowColumns: ['s.t._dbee_new_c'],
      triggers: ['s.t'],
      addedColumns: ['s.t.n'],
    });
    expect(formatInFlight(inFlightOf(r), ' p --env qa')).toBe(
      'release 1 expanded: version schema s_v1, 1 shadow column, 1 trigger, 1 new column; dbee complete p --env qa or dbee abort p --env qa',
    );
  });

  it('is left out of a model: its scaffolding always, its additions for a comparison with another environment', async () => {
    const plan = await release;
    expect(names(withoutInFlight(expanded, plan, false))).toEqual({ columns: ['id', 'a', 'n'], triggers: ['audit'] });
    expect(names(withoutInFlight(expanded, plan, true))).toEqual({ columns: ['id', 'a'], triggers: ['audit'] });
  });

  it('makes the changes its plan records, while their carriers are there, and no other', async () => {
    const plan = await release;
    const makes = releaseMakes(plan, expanded);
    expect(makes({ kind: 'rename-column', table: T, from: 'a', to: 'c' })).toBe(true);
    expect(makes(retype('bigint'))).toBe(true);
    // The sources moved on after the release: another type is a difference.
    expect(makes(retype('numeric'))).toBe(false);
    expect(
      makes({ kind: 'alter-column-type', table: T, column: 'n', from: col('n', 'integer'), to: col('n', 'bigint') }),
    ).toBe(false);
    // The shadow column dropped by hand: the release can no longer make the new type.
    const cut = model(table([col('a', 'integer'), col('n', 'integer')]), [trigger]);
    expect(releaseMakes(plan, cut)(retype('bigint'))).toBe(false);
  });
});
