import { DbeeError, formatKey } from '@dbee/core';
import { describe, expect, it } from 'vitest';
import { parseTeradata, TeradataParser } from './teradata-parser';

const opts = { searchPath: ['DEV_SALES'] };
const one = (sql: string) => parseTeradata(sql, 'db/x.sql', opts)[0]!;
const keyOf = (sql: string) => {
  const s = one(sql);
  return s.key ? formatKey(s.key) : null;
};
const refs = (sql: string) =>
  one(sql).references.map((r) => `${r.kind}:${r.schema ?? ''}.${r.name}${r.foreignKey ? ' fk' : ''}`);

describe('classification: the kind comes from the statement', () => {
  it.each([
    ['CREATE MULTISET TABLE dev_sales.orders (id INTEGER) PRIMARY INDEX (id)', 'table:DEV_SALES.ORDERS', 'create'],
    ['CREATE SET TABLE orders (id INTEGER)', 'table:DEV_SALES.ORDERS', 'create'],
    ['CREATE TABLE "Sales"."Order Lines" (id INTEGER)', 'table:SALES.ORDER LINES', 'create'],
    ['CREATE MULTISET GLOBAL TEMPORARY TABLE s.gtt (id INTEGER) ON COMMIT PRESERVE ROWS', 'table:S.GTT', 'create'],
    ['CREATE VOLATILE TABLE vt (id INTEGER) ON COMMIT PRESERVE ROWS', 'table:DEV_SALES.VT', 'create'],
    ['CT s.t (a INT)', 'table:S.T', 'create'],
    ['REPLACE VIEW s.v AS SELECT 1 AS x', 'view:S.V', 'create-or-replace'],
    ['CREATE RECURSIVE VIEW s.rv (n) AS (SELECT 1 AS n FROM s.t)', 'view:S.RV', 'create'],
    ['REPLACE MACRO s.m AS (SELECT 1;)', 'macro:S.M', 'create-or-replace'],
    ['REPLACE PROCEDURE s.p () BEGIN END', 'procedure:S.P', 'create-or-replace'],
    [
      'CREATE FUNCTION s.f (x INTEGER) RETURNS INTEGER LANGUAGE SQL DETERMINISTIC CONTAINS SQL RETURN x + 1',
      'function:S.F',
      'create',
    ],
    ['CREATE JOIN INDEX s.ji AS SELECT a FROM s.t PRIMARY INDEX (a)', 'join-index:S.JI', 'create'],
    ['CREATE HASH INDEX s.hi (a) ON s.t', 'hash-index:S.HI', 'create'],
    ['CREATE UNIQUE INDEX idx_a (a) ON s.t', 'index:S.IDX_A@S.T', 'create'],
    ['CREATE INDEX (a, b) ON s.t', 'index:S.UNNAMED_A_B@S.T', 'create'],
    [
      'CREATE TRIGGER s.trg AFTER INSERT ON s.t FOR EACH ROW (INSERT INTO s.log VALUES (1);)',
      'trigger:S.TRG',
      'create',
    ],
    ['CREATE DATABASE dev_sales FROM dbc AS PERM = 1e9', 'database:DEV_SALES', 'create'],
    ['CREATE USER etl FROM dbc AS PERM = 0, PASSWORD = x', 'user:ETL', 'create'],
    ['CREATE ROLE reader', 'role:READER', 'create'],
    ['DROP TABLE s.t', 'table:S.T', 'drop'],
    ['DROP JOIN INDEX s.ji', 'join-index:S.JI', 'drop'],
    ['ALTER TABLE s.t ADD c INTEGER', 'table:S.T', 'alter'],
    ['RENAME TABLE s.t TO s.u', 'table:S.T', 'alter'],
    ["COMMENT ON TABLE s.t IS 'orders'", 'table:S.T', 'comment'],
    ["COMMENT ON COLUMN s.t.c AS 'the c'", 'table:S.T', 'comment'],
    ['GRANT SELECT ON s.v TO reader', 'other:S.V', 'grant'],
    ['GRANT SELECT ON DEV_SALES TO reader', 'database:DEV_SALES', 'grant'],
    ['GRANT reader TO etl', 'role:READER', 'grant'],
    ['COLLECT STATISTICS COLUMN (a) ON s.t', 'table:S.T', 'other'],
    ['COLLECT STATS ON s.t COLUMN (a)', 'table:S.T', 'other'],
  ])('%s', (sql, key, action) => {
    const s = one(sql);
    expect(s.key ? formatKey(s.key) : null).toBe(key);
    expect(s.action).toBe(action);
  });

  it('gives statements that define nothing a null key', () => {
    expect(keyOf('SELECT 1')).toBeNull();
    expect(keyOf('INSERT INTO s.t VALUES (1)')).toBeNull();
    expect(keyOf('BT')).toBeNull();
  });

  it('never looks at the file name', () => {
    const [s] = parseTeradata('REPLACE VIEW s.v AS SELECT 1 AS x;', 'db/tables/orders.table.sql', opts);
    expect(s!.key?.kind).toBe('view');
  });

  it('gives GRANT / COMMENT / COLLECT the kind of the object defined in the same file', () => {
    const out = parseTeradata(
      `REPLACE VIEW s.v AS SELECT 1 AS x;
GRANT SELECT ON s.v TO reader;
COMMENT ON s.v AS 'a view';`,
      'v.sql',
      opts,
    );
    expect(out.map((s) => (s.key ? formatKey(s.key) : null))).toEqual(['view:S.V', 'view:S.V', 'view:S.V']);
  });

  it('follows DATABASE x; for later unqualified names', () => {
    const out = parseTeradata('CREATE TABLE a (x INT);\nDATABASE other_db;\nCREATE TABLE b (x INT);', 'f.sql', opts);
    expect(out.map((s) => (s.key ? formatKey(s.key) : null))).toEqual(['table:DEV_SALES.A', null, 'table:OTHER_DB.B']);
  });

  it('records the 1-based location of the first token', () => {
    const out = parseTeradata('-- comment\n\n   REPLACE VIEW s.v AS SELECT 1 AS x;\n  SELECT 1;', 'db/v.sql', opts);
    expect(out.map((s) => s.location)).toEqual([
      { file: 'db/v.sql', line: 3, column: 4 },
      { file: 'db/v.sql', line: 4, column: 3 },
    ]);
  });

  it('rejects with SQL_SYNTAX through the SourceParser interface', async () => {
    await expect(new TeradataParser().parse("SELECT 'x;", 'db/a.sql', opts)).rejects.toMatchObject({
      code: 'SQL_SYNTAX',
      location: { file: 'db/a.sql', line: 1, column: 8 },
    });
    await expect(new TeradataParser().parse("SELECT 'x;", 'db/a.sql', opts)).rejects.toBeInstanceOf(DbeeError);
  });
});

describe('references', () => {
  it('finds relations after FROM / JOIN, resolves unqualified names to the default database and skips aliases', () => {
    expect(
      refs(`REPLACE VIEW dev_edw.v AS LOCKING ROW FOR ACCESS
SELECT o.id, c.name FROM dev_sales.orders o
JOIN customers AS c ON c.id = o.cust_id
LEFT OUTER JOIN dev_ref.region r ON r.id = c.region_id
CROSS JOIN (SELECT * FROM dev_ref.calendar, dev_ref.holidays h WHERE h.d = calendar.d) cal
WHERE o.d > (SELECT MAX(d) FROM dev_sales.loads)`),
    ).toEqual([
      'relation:DEV_SALES.ORDERS',
      'relation:DEV_SALES.CUSTOMERS',
      'relation:DEV_REF.REGION',
      'relation:DEV_REF.CALENDAR',
      'relation:DEV_REF.HOLIDAYS',
      'relation:DEV_SALES.LOADS',
    ]);
  });

  it('does not take names from strings or comments', () => {
    expect(
      refs("REPLACE VIEW s.v AS SELECT 'FROM s.fake' AS x /* FROM s.fake2 */ -- JOIN s.fake3\n FROM s.real"),
    ).toEqual(['relation:S.REAL']);
  });

  it('does not take FROM inside EXTRACT, TRIM or SUBSTRING for a table', () => {
    expect(
      refs(
        "REPLACE VIEW s.v AS SELECT EXTRACT(YEAR FROM d), TRIM(BOTH ' ' FROM n), SUBSTRING(n FROM 2 FOR 3) FROM s.t",
      ),
    ).toEqual(['relation:S.T']);
  });

  it('leaves out CTE names', () => {
    expect(refs('REPLACE VIEW s.v AS WITH recent (id) AS (SELECT id FROM s.orders) SELECT * FROM recent')).toEqual([
      'relation:S.ORDERS',
    ]);
  });

  it('finds INTO / UPDATE / DELETE / MERGE targets, EXEC macros and CALL procedures in macro and procedure bodies', () => {
    expect(
      refs(`REPLACE MACRO s.m (d DATE) AS (
  DELETE FROM s.daily WHERE day_date = :d;
  INSERT INTO s.daily SELECT * FROM s.staging;
  UPDATE s.counters SET n = n + 1;
  EXEC s.other_macro(:d);
);`),
    ).toEqual(['relation:S.DAILY', 'relation:S.STAGING', 'relation:S.COUNTERS', 'object:S.OTHER_MACRO']);
    expect(
      refs(`REPLACE PROCEDURE s.p ()
BEGIN
  DECLARE v INTEGER;
  SELECT COUNT(*) INTO :v FROM s.t;
  MERGE INTO s.target t USING s.source src ON t.id = src.id
    WHEN MATCHED THEN UPDATE SET x = src.x WHEN NOT MATCHED THEN INSERT (id, x) VALUES (src.id, src.x);
  CALL s.log_run('p');
  DEL s.tmp ALL;
END;`),
    ).toEqual(['relation:S.T', 'relation:S.TARGET', 'relation:S.SOURCE', 'object:S.LOG_RUN', 'relation:S.TMP']);
  });

  it('finds the table of a join index, hash index, secondary index and trigger, and foreign keys', () => {
    expect(
      refs(
        'CREATE JOIN INDEX s.ji AS SELECT o.id, c.name FROM s.orders o INNER JOIN s.customers c ON o.c = c.id PRIMARY INDEX (id)',
      ),
    ).toEqual(['relation:S.ORDERS', 'relation:S.CUSTOMERS']);
    expect(refs('CREATE HASH INDEX s.hi (a) ON s.t BY (a) ORDER BY HASH (a)')).toEqual(['relation:S.T']);
    expect(refs('CREATE INDEX (a) ON s.t')).toEqual(['relation:S.T']);
    expect(
      refs('CREATE TRIGGER s.trg AFTER UPDATE OF (a) ON s.t FOR EACH ROW (INSERT INTO s.log VALUES (1);)'),
    ).toEqual(['relation:S.T', 'relation:S.LOG']);
    expect(
      refs(
        'CREATE TABLE s.lines (id INT, order_id INT REFERENCES WITH NO CHECK OPTION s.orders (id)) PRIMARY INDEX (id)',
      ),
    ).toEqual(['relation:S.ORDERS fk']);
    expect(refs('CREATE TABLE s.copy AS s.orig WITH NO DATA')).toEqual(['relation:S.ORIG']);
  });

  it('finds qualified function calls but not attribute syntax col (FORMAT ...)', () => {
    expect(refs("REPLACE VIEW s.v AS SELECT util.clean(t.name), t.d (FORMAT 'YYYY') FROM s.t")).toEqual([
      'function:UTIL.CLEAN',
      'relation:S.T',
    ]);
  });

  it('does not reference the object itself', () => {
    expect(refs('CREATE TABLE s.t AS (SELECT * FROM s.src) WITH DATA')).toEqual(['relation:S.SRC']);
    expect(refs('REPLACE VIEW s.v AS SELECT * FROM s.v_base')).toEqual(['relation:S.V_BASE']);
  });

  it('expanded placeholders resolve like any name ({{env}}_SALES.orders)', () => {
    expect(refs('REPLACE VIEW dev_EDW.v AS SELECT * FROM dev_SALES.orders')).toEqual(['relation:DEV_SALES.ORDERS']);
  });

  it('records where a reference is', () => {
    const r = one('REPLACE VIEW s.v AS\nSELECT * FROM\n  s.t').references[0]!;
    expect(r.location).toEqual({ file: 'db/x.sql', line: 3, column: 3 });
    expect(r.via).toBe('from');
  });
});

describe('text with placeholders not yet expanded (extracted files)', () => {
  it('a COLLECT STATISTICS or COMMENT on a {{placeholder}} name parses, without a key', () => {
    const text = "COLLECT STATISTICS COLUMN (a) ON {{env}}_EDW.t;\nCOMMENT ON TABLE {{env}}_EDW.t AS 'x';\n";
    const parsed = parseTeradata(text, 't.sql', { searchPath: [] });
    expect(parsed.map((s) => s.key)).toEqual([null, null]);
  });
});
