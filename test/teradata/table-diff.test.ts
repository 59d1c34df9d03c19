import { describe, expect, it } from 'vitest';
import { diffTables, tableModel } from '../../packages/teradata/src/render/teradata-table-diff';

/**
 * The table model and diff of @dbee/teradata (pure: sources against SHOW TABLE text); `dbee deploy` runs it through
 * Engine.inPlace.planChange (test/teradata/table-change.test.ts). The SHOW text below is written as Teradata's canonical SHOW TABLE
 * output is documented (every default spelled out); it was not captured from a live system.
 */

const SHOW = `CREATE MULTISET TABLE DEV_EDW.orders ,NO FALLBACK ,
     NO BEFORE JOURNAL,
     NO AFTER JOURNAL,
     CHECKSUM = DEFAULT,
     DEFAULT MERGEBLOCKRATIO,
     MAP = TD_MAP1
     (
      order_id BIGINT NOT NULL,
      customer_id INTEGER NOT NULL,
      status CHAR(1) CHARACTER SET LATIN NOT CASESPECIFIC NOT NULL DEFAULT 'O',
      note VARCHAR(500) CHARACTER SET UNICODE NOT CASESPECIFIC)
PRIMARY INDEX ( customer_id )
INDEX ( status );`;

const source = (body: string, tail = 'PRIMARY INDEX (customer_id) INDEX (status)') =>
  `CREATE MULTISET TABLE DEV_EDW.orders, NO FALLBACK (\n${body}\n)\n${tail};`;
const BASE = `order_id BIGINT NOT NULL,\n customer_id INTEGER NOT NULL,\n status CHAR(1) NOT NULL DEFAULT 'O',\n note VARCHAR(500) CHARACTER SET UNICODE`;

function diff(src: string) {
  const a = tableModel(src);
  const b = tableModel(SHOW);
  expect(a).not.toBeNull();
  expect(b).not.toBeNull();
  return diffTables(a!, b!, { backupName: 'DEV_EDW.orders_bak' });
}

describe('Teradata table diff (sources against SHOW TABLE)', () => {
  it('the source as deployed equals its canonical SHOW TABLE text: nothing to do', () => {
    expect(diff(source(BASE))).toEqual({ alters: [], needsMigration: [] });
  });

  it('a new column is ALTER TABLE ... ADD, undone by DROP', () => {
    const d = diff(source(`${BASE},\n region CHAR(2)`));
    expect(d.needsMigration).toEqual([]);
    expect(d.alters.map((a) => [a.statements, a.reverse])).toEqual([
      [['ALTER TABLE DEV_EDW.ORDERS ADD REGION CHAR(2)'], ['ALTER TABLE DEV_EDW.ORDERS DROP REGION']],
    ]);
  });

  it('a new column rewrites every row (table-rewrite); NOT NULL without a DEFAULT is backward-incompatible too', () => {
    expect(diff(source(`${BASE},\n region CHAR(2)`)).alters[0]!.hazards.map((h) => h.kind)).toEqual(['table-rewrite']);
    const d = diff(source(`${BASE},\n region CHAR(2) NOT NULL`));
    expect(d.alters[0]!.hazards.map((h) => h.kind)).toEqual(['table-rewrite', 'backward-incompatible']);
  });

  it('a new column before existing ones asks for a migration (ALTER TABLE ... ADD appends at the end)', () => {
    const d = diff(source(`region CHAR(2),\n ${BASE}`));
    expect(d.alters).toEqual([]);
    expect(d.needsMigration).toEqual([expect.stringMatching(/^new column REGION before existing ones/)]);
  });

  it('dropped columns: one copy of the table with its rows first, then one ALTER; data-loss and table-rewrite, no reverse', () => {
    const d = diff(
      source(`order_id BIGINT NOT NULL,\n customer_id INTEGER NOT NULL,\n status CHAR(1) NOT NULL DEFAULT 'O'`),
    );
    expect(d.alters).toEqual([
      {
        statements: [
          'CREATE TABLE DEV_EDW.orders_bak AS DEV_EDW.ORDERS WITH DATA',
          'ALTER TABLE DEV_EDW.ORDERS DROP NOTE',
        ],
        reverse: null,
        hazards: [
          {
            kind: 'data-loss',
            message: 'drops column NOTE of DEV_EDW.ORDERS; the values are kept in DEV_EDW.orders_bak',
          },
          { kind: 'table-rewrite', message: 'drops NOTE: rewrites every row of DEV_EDW.ORDERS under a write lock' },
        ],
        summary: 'drop column NOTE (backup DEV_EDW.orders_bak)',
      },
    ]);
    const two = diff(source(`order_id BIGINT NOT NULL,\n customer_id INTEGER NOT NULL`, 'PRIMARY INDEX (customer_id)'));
    expect(two.alters.map((a) => a.statements)).toEqual([
      ['DROP INDEX (STATUS) ON DEV_EDW.ORDERS'],
      [
        'CREATE TABLE DEV_EDW.orders_bak AS DEV_EDW.ORDERS WITH DATA',
        'ALTER TABLE DEV_EDW.ORDERS DROP STATUS, DROP NOTE',
      ],
    ]);
  });

  it('a changed DEFAULT or TITLE is ALTER TABLE ... ADD <column> <attribute>, undone by the old one', () => {
    const d = diff(source(BASE.replace("DEFAULT 'O'", "DEFAULT 'N' TITLE 'Status'")));
    expect(d.needsMigration).toEqual([]);
    expect(d.alters.map((a) => [a.statements, a.reverse])).toEqual([
      [
        ["ALTER TABLE DEV_EDW.ORDERS ADD STATUS DEFAULT 'N' TITLE 'Status'"],
        ["ALTER TABLE DEV_EDW.ORDERS ADD STATUS DEFAULT 'O' TITLE ''"],
      ],
    ]);
  });

  it('secondary indexes: DROP INDEX (cols) ON t and CREATE INDEX (cols) ON t', () => {
    const d = diff(source(BASE, 'PRIMARY INDEX (customer_id) INDEX (order_id)'));
    expect(d.alters.map((a) => a.statements)).toEqual([
      ['DROP INDEX (STATUS) ON DEV_EDW.ORDERS'],
      ['CREATE INDEX (ORDER_ID) ON DEV_EDW.ORDERS'],
    ]);
    expect(d.alters.map((a) => a.hazards.map((h) => h.kind))).toEqual([[], ['index-build']]);
  });

  it('a type change, a new primary index or new table options ask for a migration, naming what changed', () => {
    expect(diff(source(BASE.replace('INTEGER NOT NULL', 'BIGINT NOT NULL'))).needsMigration).toEqual([
      expect.stringMatching(/^column CUSTOMER_ID: INTEGER NOT NULL → BIGINT NOT NULL$/),
    ]);
    expect(diff(source(BASE, 'PRIMARY INDEX (order_id) INDEX (status)')).needsMigration).toEqual([
      expect.stringMatching(/^primary index or partitioning: /),
    ]);
    const fallback = diff(source(BASE).replace('NO FALLBACK', 'FALLBACK'));
    expect(fallback.alters).toEqual([]);
    expect(fallback.needsMigration).toEqual([expect.stringMatching(/^table options: /)]);
  });
});

describe('Teradata table diff: widen, rename, compress (#73 item 4)', () => {
  it('a VARCHAR made longer is ALTER TABLE ... ADD <column> <type>, with no reverse (Teradata cannot narrow it); shorter asks for a migration', () => {
    const d = diff(source(BASE.replace('VARCHAR(500)', 'VARCHAR(2000)')));
    expect(d.needsMigration).toEqual([]);
    expect(d.alters.map((a) => [a.statements, a.reverse, a.hazards])).toEqual([
      [['ALTER TABLE DEV_EDW.ORDERS ADD NOTE VARCHAR(2000) CHARACTER SET UNICODE'], null, []],
    ]);
    expect(d.retyped).toEqual(['NOTE']);
    expect(diff(source(BASE.replace('VARCHAR(500)', 'VARCHAR(50)'))).needsMigration).toEqual([
      expect.stringMatching(/^column NOTE: .* \(Teradata cannot narrow a column in place\)$/),
    ]);
    // An index column keeps its type.
    const indexed = tableModel(
      source(BASE.replace("CHAR(1) NOT NULL DEFAULT 'O'", "VARCHAR(2) NOT NULL DEFAULT 'O'")),
    )!;
    const wider = tableModel(source(BASE.replace("CHAR(1) NOT NULL DEFAULT 'O'", "VARCHAR(9) NOT NULL DEFAULT 'O'")))!;
    expect(diffTables(wider, indexed).needsMigration).toEqual([
      expect.stringMatching(/^column STATUS: .*index column/),
    ]);
  });

  it('a declared column rename is ALTER TABLE ... RENAME, undone by the rename back; undeclared it is a drop and an add', () => {
    const renamed = source(BASE.replace('note VARCHAR', 'remark VARCHAR'));
    const d = diff(renamed);
    expect(d.alters.map((a) => a.summary)).toEqual([
      'add column REMARK',
      'drop column NOTE (backup DEV_EDW.orders_bak)',
    ]);
    const declared = diffTables(tableModel(renamed)!, tableModel(SHOW)!, { renames: [{ from: 'note', to: 'remark' }] });
    expect(declared.alters.map((a) => [a.statements, a.reverse, a.hazards.map((h) => h.kind)])).toEqual([
      [
        ['ALTER TABLE DEV_EDW.ORDERS RENAME NOTE TO REMARK'],
        ['ALTER TABLE DEV_EDW.ORDERS RENAME REMARK TO NOTE'],
        ['backward-incompatible'],
      ],
    ]);
    // Done already (the live table has the new name): nothing to do.
    const live = tableModel(SHOW.replace('note VARCHAR', 'remark VARCHAR'))!;
    expect(diffTables(tableModel(renamed)!, live, { renames: [{ from: 'note', to: 'remark' }] }).alters).toEqual([]);
    // An index column cannot be renamed in place.
    const status = diffTables(
      tableModel(source(BASE.replace('status CHAR', 'state CHAR'), 'PRIMARY INDEX (customer_id) INDEX (state)'))!,
      tableModel(SHOW)!,
      {
        renames: [{ from: 'status', to: 'state' }],
      },
    );
    expect(status.needsMigration).toContainEqual(
      expect.stringMatching(/^column STATUS → STATE: an index or partitioning column/),
    );
  });

  it('multi-value compression changed is ALTER TABLE ... ADD <column> COMPRESS (...) or NO COMPRESS, values in any order', () => {
    const d = diff(source(BASE.replace("DEFAULT 'O'", "DEFAULT 'O' COMPRESS ('O', 'C')")));
    expect(d.alters.map((a) => [a.statements, a.reverse, a.hazards.map((h) => h.kind)])).toEqual([
      [
        ["ALTER TABLE DEV_EDW.ORDERS ADD STATUS COMPRESS ('C', 'O')"],
        ['ALTER TABLE DEV_EDW.ORDERS ADD STATUS NO COMPRESS'],
        ['table-rewrite'],
      ],
    ]);
    const compressed = tableModel(SHOW.replace("DEFAULT 'O'", "DEFAULT 'O' COMPRESS ('C','O')"))!;
    expect(
      diffTables(tableModel(source(BASE.replace("DEFAULT 'O'", "DEFAULT 'O' COMPRESS ('O', 'C')")))!, compressed)
        .alters,
    ).toEqual([]);
    expect(diffTables(tableModel(source(BASE))!, compressed).alters[0]!.statements).toEqual([
      'ALTER TABLE DEV_EDW.ORDERS ADD STATUS NO COMPRESS',
    ]);
  });
});
