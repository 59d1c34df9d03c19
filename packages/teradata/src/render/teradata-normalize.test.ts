import { describe, expect, it } from 'vitest';
import { compareDefinitions, normalizeDefinition, tableAttributesFromSql } from './teradata-normalize';

/** SHOW TABLE output as Teradata writes it: every default spelled out, `\r` line ends. */
const SHOW_ORDERS = [
  'CREATE MULTISET TABLE DEV_EDW.ORDERS ,FALLBACK ,',
  '     NO BEFORE JOURNAL,',
  '     NO AFTER JOURNAL,',
  '     CHECKSUM = DEFAULT,',
  '     DEFAULT MERGEBLOCKRATIO,',
  '     MAP = TD_MAP1',
  '     (',
  '      ORDER_ID INTEGER NOT NULL,',
  '      CUSTOMER_ID INTEGER,',
  "      ORDER_DATE DATE FORMAT 'YY/MM/DD' NOT NULL,",
  '      STATUS CHAR(1) CHARACTER SET LATIN NOT CASESPECIFIC,',
  '      NOTE VARCHAR(200) CHARACTER SET UNICODE NOT CASESPECIFIC,',
  '      AMOUNT DECIMAL(18,2),',
  '      CREATED_AT TIMESTAMP(6))',
  'PRIMARY INDEX ( ORDER_ID )',
  "PARTITION BY RANGE_N(ORDER_DATE  BETWEEN DATE '2020-01-01' AND DATE '2030-12-31' EACH INTERVAL '1' MONTH );",
].join('\r');

const SOURCE_ORDERS = `-- orders, partitioned by month
CREATE MULTISET TABLE dev_edw.orders, FALLBACK (
  order_id    INTEGER NOT NULL,
  customer_id INT,
  order_date  DATE NOT NULL,
  status      CHAR,
  note        VARCHAR(200) CHARACTER SET UNICODE,
  amount      DECIMAL(18,2),
  created_at  TIMESTAMP
)
PRIMARY INDEX (order_id)
PARTITION BY RANGE_N(order_date BETWEEN DATE '2020-01-01' AND DATE '2030-12-31' EACH INTERVAL '1' MONTH);`;

describe('compareDefinitions', () => {
  it('a deployed table compares equal to its source despite the defaults SHOW spells out', () => {
    const c = compareDefinitions(SOURCE_ORDERS, SHOW_ORDERS);
    expect(c.live).toBe(c.source);
    expect(c.equal).toBe(true);
    expect(c.source).toBe(
      'CREATE MULTISET TABLE DEV_EDW.ORDERS, FALLBACK(ORDER_ID INTEGER NOT NULL, CUSTOMER_ID INTEGER, ORDER_DATE DATE NOT NULL, ' +
        'STATUS CHAR(1), NOTE VARCHAR(200) CHARACTER SET UNICODE, AMOUNT DECIMAL(18, 2), CREATED_AT TIMESTAMP(6)) ' +
        "PRIMARY INDEX(ORDER_ID) PARTITION BY RANGE_N(ORDER_DATE BETWEEN DATE '2020-01-01' AND DATE '2030-12-31' EACH INTERVAL '1' MONTH)",
    );
  });

  it('sees a real difference', () => {
    const changed = SOURCE_ORDERS.replace('amount      DECIMAL(18,2)', 'amount      DECIMAL(18,4)');
    expect(compareDefinitions(changed, SHOW_ORDERS).equal).toBe(false);
    expect(compareDefinitions(SOURCE_ORDERS.replace(', FALLBACK', ''), SHOW_ORDERS).equal).toBe(false);
    expect(compareDefinitions(SOURCE_ORDERS.replace("'1' MONTH", "'3' MONTH"), SHOW_ORDERS).equal).toBe(false);
  });

  it("a table without SET/MULTISET gets the session mode's default", () => {
    const show =
      'CREATE SET TABLE S.T ,NO FALLBACK ,\r     NO BEFORE JOURNAL,\r     NO AFTER JOURNAL,\r     CHECKSUM = DEFAULT,\r     DEFAULT MERGEBLOCKRATIO\r     (\r      A INTEGER)\rPRIMARY INDEX ( A );';
    expect(compareDefinitions('CREATE TABLE s.t (a INT) PRIMARY INDEX (a)', show).equal).toBe(true);
    expect(compareDefinitions('CREATE TABLE s.t (a INT) PRIMARY INDEX (a)', show, { tmode: 'ANSI' }).equal).toBe(false);
    expect(
      compareDefinitions(
        'CREATE TABLE s.t (c VARCHAR(5) CASESPECIFIC) NO PRIMARY INDEX',
        'CREATE MULTISET TABLE S.T (C VARCHAR(5) CHARACTER SET LATIN CASESPECIFIC) NO PRIMARY INDEX',
        { tmode: 'ANSI' },
      ).equal,
    ).toBe(true);
  });

  it('views, macros and procedures: case, whitespace, comments and REPLACE/CREATE do not matter; strings do', () => {
    const source =
      "REPLACE VIEW dev_edw.v_orders AS\n-- open orders\nLOCKING ROW FOR ACCESS\nSELECT order_id, status FROM dev_edw.orders WHERE status = 'O'";
    const show =
      "CREATE VIEW DEV_EDW.V_ORDERS AS\rLOCKING ROW FOR ACCESS SELECT ORDER_ID,STATUS\rFROM DEV_EDW.ORDERS WHERE STATUS = 'O';";
    expect(compareDefinitions(source, show).equal).toBe(true);
    expect(compareDefinitions(source, show.replace("'O'", "'o'")).equal).toBe(false);
  });

  it('qualifies an unqualified object name with the default database', () => {
    expect(
      compareDefinitions('REPLACE VIEW v AS SELECT 1 AS x', 'REPLACE VIEW DEV.V AS SELECT 1 AS x', {
        defaultDatabase: 'DEV',
      }).equal,
    ).toBe(true);
  });

  it('compares the statement of the SHOW output that defines the same object', () => {
    const show =
      'CREATE SET TABLE S.BASE (A INTEGER) PRIMARY INDEX (A);\rCREATE JOIN INDEX S.JI AS SELECT A FROM S.BASE PRIMARY INDEX (A);';
    expect(compareDefinitions('CREATE JOIN INDEX s.ji AS SELECT a FROM s.base PRIMARY INDEX (a)', show).equal).toBe(
      true,
    );
  });

  it('normalizeDefinition keeps the text of strings and quoted names', () => {
    expect(normalizeDefinition('replace view "My Db".v as select \'Mixed Case\' as "x y"')).toBe(
      'CREATE VIEW "MY DB".V AS SELECT \'Mixed Case\' AS "X Y"',
    );
  });
});

describe('tableAttributesFromSql', () => {
  it('reads SET/MULTISET, FALLBACK, primary index and partitioning from source and from SHOW alike', () => {
    const expected = {
      tableKind: 'MULTISET',
      fallback: true,
      primaryIndex: { unique: false, columns: ['ORDER_ID'], amp: false },
      partitioning: "RANGE_N(ORDER_DATE BETWEEN DATE '2020-01-01' AND DATE '2030-12-31' EACH INTERVAL '1' MONTH)",
    };
    expect(tableAttributesFromSql(SOURCE_ORDERS)).toEqual(expected);
    expect(tableAttributesFromSql(SHOW_ORDERS)).toEqual(expected);
  });

  it("reads a UNIQUE PRIMARY INDEX, NO PRIMARY INDEX and the mode's default table kind", () => {
    expect(tableAttributesFromSql('CREATE SET TABLE s.c (id INT, k INT) UNIQUE PRIMARY INDEX (id, k)')).toEqual({
      tableKind: 'SET',
      fallback: false,
      primaryIndex: { unique: true, columns: ['ID', 'K'], amp: false },
      partitioning: null,
    });
    expect(tableAttributesFromSql('CREATE TABLE s.stage (a INT) NO PRIMARY INDEX', { tmode: 'ANSI' })).toMatchObject({
      tableKind: 'MULTISET',
      primaryIndex: null,
    });
    expect(tableAttributesFromSql('REPLACE VIEW s.v AS SELECT 1 AS x')).toBeNull();
  });
});
