import { DbeeError } from '@dbee/core';
import { describe, expect, it } from 'vitest';
import { splitStatements, tokenize } from './splitter';

const sqls = (text: string) => splitStatements(text, 'db/x.sql').map((s) => s.sql);

function syntaxError(text: string): DbeeError {
  try {
    splitStatements(text, 'db/bad.sql');
  } catch (e) {
    if (e instanceof DbeeError) return e;
    throw e;
  }
  throw new Error('expected a DbeeError');
}

describe('splitStatements', () => {
  it('does not split at ; -- or " inside strings, and keeps escaped quotes', () => {
    const text = [
      "INSERT INTO s.t VALUES ('a;b', 'it''s -- not a comment', 'say \"hi\"; ok');",
      'SELECT 1 AS "semi;colon" FROM s.t;',
    ].join('\n');
    expect(sqls(text)).toEqual([
      "INSERT INTO s.t VALUES ('a;b', 'it''s -- not a comment', 'say \"hi\"; ok')",
      'SELECT 1 AS "semi;colon" FROM s.t',
    ]);
  });

  it('ignores ; inside -- and /* */ comments and drops comments before a statement', () => {
    const text = `-- header; with a semicolon
/* block; comment
   over lines; */
CREATE VIEW s.v AS SELECT 1 AS x -- trailing; comment
;
SELECT 2;`;
    const out = splitStatements(text, 'v.sql');
    expect(out.map((s) => s.sql)).toEqual(['CREATE VIEW s.v AS SELECT 1 AS x', 'SELECT 2']);
    expect(out[0]).toMatchObject({ line: 4, column: 1 });
    expect(out[1]).toMatchObject({ line: 6, column: 1 });
  });

  it('keeps a macro body AS ( ...; ...; ) in one statement', () => {
    const text = `CREATE MACRO sales.refresh (d DATE) AS (
  DELETE FROM sales.daily WHERE day_date = :d;
  INSERT INTO sales.daily SELECT * FROM sales.staging WHERE day_date = :d;
);
EXEC sales.refresh(DATE '2024-01-01');`;
    const out = sqls(text);
    expect(out).toHaveLength(2);
    expect(out[0]).toMatch(/^CREATE MACRO sales\.refresh[\s\S]*:d;\n\)$/);
    expect(out[1]).toBe("EXEC sales.refresh(DATE '2024-01-01')");
  });

  it('keeps a procedure body with nested BEGIN/END, IF, LOOP, WHILE, FOR and CASE in one statement', () => {
    const text = `REPLACE PROCEDURE sales.p (IN n INTEGER)
BEGIN
  DECLARE i INTEGER DEFAULT 0;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    INSERT INTO sales.errors VALUES (:SQLCODE);
  END;
  IF n > 0 THEN
    SET i = 1;
  ELSEIF n < 0 THEN
    SET i = -1;
  END IF;
  L1: LOOP
    SET i = i + 1;
    IF i > 10 THEN LEAVE L1; END IF;
  END LOOP L1;
  WHILE i > 0 DO
    SET i = i - 1;
  END WHILE;
  FOR r AS c CURSOR FOR SELECT x FROM sales.t DO
    SET i = i + r.x;
  END FOR;
  CASE n WHEN 1 THEN SET i = 2; ELSE SET i = 3; END CASE;
  SET i = CASE WHEN n > 1 THEN 1 ELSE 0 END;
  BEGIN TRANSACTION;
  END TRANSACTION;
END;
CREATE VIEW sales.v AS SELECT 1 AS one;`;
    const out = sqls(text);
    expect(out).toHaveLength(2);
    expect(out[0]).toMatch(/^REPLACE PROCEDURE[\s\S]*END TRANSACTION;\nEND$/);
    expect(out[1]).toBe('CREATE VIEW sales.v AS SELECT 1 AS one');
  });

  it('treats BEGIN/END as plain words outside routines (BT/ET, logging statements)', () => {
    expect(
      sqls('BEGIN TRANSACTION; END TRANSACTION; BEGIN QUERY LOGGING ON ALL; SELECT CASE WHEN 1=1 THEN 1 END;'),
    ).toEqual([
      'BEGIN TRANSACTION',
      'END TRANSACTION',
      'BEGIN QUERY LOGGING ON ALL',
      'SELECT CASE WHEN 1=1 THEN 1 END',
    ]);
  });

  it('keeps a trigger body with parentheses in one statement', () => {
    const text = `CREATE TRIGGER sales.trg AFTER INSERT ON sales.orders
REFERENCING NEW AS n FOR EACH ROW
(INSERT INTO sales.audit VALUES (n.order_id, CURRENT_TIMESTAMP);
 UPDATE sales.counters SET n = n + 1;);
SELECT 1;`;
    expect(sqls(text)).toHaveLength(2);
  });

  it('returns a last statement without a terminating ;', () => {
    expect(sqls('SELECT 1;\nSELECT 2\n-- end')).toEqual(['SELECT 1', 'SELECT 2']);
  });

  it('reports an unterminated string, quoted name and comment at the opening character', () => {
    expect(syntaxError("SELECT 1;\nSELECT 'abc\nFROM t;")).toMatchObject({
      code: 'SQL_SYNTAX',
      location: { file: 'db/bad.sql', line: 2, column: 8 },
    });
    expect(syntaxError('SELECT "abc FROM t;').message).toMatch(/unterminated quoted identifier/);
    expect(syntaxError('SELECT 1;\n  /* never closed').location).toEqual({ file: 'db/bad.sql', line: 2, column: 3 });
  });

  it('reports unbalanced parentheses and a procedure without END', () => {
    expect(syntaxError('CREATE MACRO m AS (SELECT 1;').message).toMatch(/unclosed "\("/);
    expect(syntaxError('SELECT 1);').message).toMatch(/unbalanced "\)"/);
    expect(syntaxError('REPLACE PROCEDURE s.p () BEGIN SELECT 1; ').message).toMatch(/BEGIN has no matching END/);
  });

  it('rejects BTEQ dot-commands at line start with a clear error, or skips them', () => {
    const text = '.LOGON tdp/user,secret\nSELECT 1;\n.QUIT 0\n';
    try {
      splitStatements(text, 'db/x.sql');
      throw new Error('expected an error');
    } catch (e) {
      expect(e).toBeInstanceOf(DbeeError);
      expect((e as DbeeError).code).toBe('BTEQ_COMMAND');
      expect((e as DbeeError).location).toEqual({ file: 'db/x.sql', line: 1, column: 1 });
      expect((e as DbeeError).message).not.toContain('secret');
    }
    expect(splitStatements(text, 'db/x.sql', { bteq: 'skip' }).map((s) => s.sql)).toEqual(['SELECT 1']);
  });

  it('does not take a leading dot inside a statement for a dot-command', () => {
    expect(sqls('SELECT a\n.5 AS x FROM t;')).toEqual(['SELECT a\n.5 AS x FROM t']);
  });
});

describe('tokenize', () => {
  it('gives 1-based lines and columns and unescapes quoted names', () => {
    const t = tokenize('a\r\n  "b""c" \'x\'', 'f.sql').filter((x) => x.type !== 'whitespace');
    expect(t.map((x) => [x.type, x.value, x.line, x.column])).toEqual([
      ['word', 'A', 1, 1],
      ['quoted', 'B"C', 2, 3],
      ['string', 'x', 2, 10],
    ]);
  });
});
