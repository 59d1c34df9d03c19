/**
 * Teradata names: case-insensitive (even when quoted), so dbee keeps them upper case in object keys, and quotes
 * them in generated SQL only when they are not plain names or are reserved words.
 */

/**
 * Teradata reserved words that are also plausible object or column names. Not the whole list: a name outside it
 * that is reserved on some release still works when the user quotes it in the source; generated SQL quotes every
 * name in this set.
 */
export const RESERVED_WORDS: ReadonlySet<string> = new Set(
  (
    'ABORT ACCOUNT ACTION ADD AFTER ALL ALTER AMP AND ANY AS ASC AT AVERAGE AVG BEFORE BEGIN BETWEEN BIGINT BLOB BOTH BT BY BYTE ' +
    'BYTEINT BYTES CALL CASE CAST CHAR CHARACTER CHARACTERS CHARS CHECK CHECKPOINT CLOB COLLECT COLUMN COMMENT COMMIT COMPRESS ' +
    'CONSTRAINT CONTINUE COUNT CREATE CROSS CS CT CURRENT CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER CURSOR CV ' +
    'CYCLE DATABASE DATE DAY DEC DECIMAL DECLARE DEFAULT DEL DELETE DESC DISTINCT DO DOUBLE DROP DUMP EACH ECHO ELSE ELSEIF END ' +
    'EQ ERROR ERRORS ESCAPE ET EXCEPT EXEC EXECUTE EXISTS EXIT EXPAND EXTERNAL EXTRACT FALLBACK FETCH FIRST FLOAT FOR FOREIGN ' +
    'FORMAT FOUND FREESPACE FROM FULL FUNCTION GE GENERATED GIVE GRANT GRAPHIC GROUP GT HASH HAVING HELP HOUR IDENTITY IF IN ' +
    'INDEX INNER INOUT INS INSERT INT INTEGER INTERSECT INTERVAL INTO IS JOIN JOURNAL KEY LANGUAGE LE LEADING LEAVE LEFT LIKE ' +
    'LIMIT LOCAL LOCK LOCKING LOG LOGGING LOGON LOOP LOWER LT MACRO MAP MAX MAXIMUM MERGE MIN MINIMUM MINUS MINUTE MOD MODE ' +
    'MODIFY MONITOR MONTH MULTISET NAMED NATURAL NE NEW NEXT NO NONE NOT NOWAIT NULL NULLIF NUMERIC OBJECT OBJECTS OF OFF OLD ' +
    'ON ONLY OPEN OPTION OR ORDER OUT OUTER OVER OVERRIDE PARAMETER PASSWORD PERCENT PERM PERMANENT POSITION PRECISION PREPARE ' +
    'PRESERVE PRIMARY PRIVILEGES PROCEDURE PROFILE PROTECTION PUBLIC QUALIFY QUEUE RANDOM RANGE_N RANK READS REAL RECURSIVE ' +
    'REFERENCES RELEASE RENAME REPEAT REPLACE REQUEST RESTART RESTORE RESULT RETURN RETURNS REVOKE RIGHT RIGHTS ROLE ROLLBACK ' +
    'ROLLUP ROW ROWID ROWS SAMPLE SECOND SEL SELECT SESSION SET SETS SHOW SMALLINT SOME SPECIFIC SQL START STARTUP STATEMENT ' +
    'STATISTICS SUBSTR SUBSTRING SUM SUMMARY TABLE THEN TIME TIMESTAMP TITLE TO TOP TRACE TRAILING TRANSACTION TRIGGER TRIM TYPE ' +
    'UNION UNIQUE UNTIL UPD UPDATE UPPER USER USING VALUE VALUES VARBYTE VARCHAR VARGRAPHIC VARYING VIEW VOLATILE WHEN WHERE ' +
    'WHILE WITH WITHOUT WORK YEAR'
  ).split(' '),
);

const PLAIN_NAME = /^[A-Z_$#][A-Z0-9_$#]*$/;

/** Canonical form of a name for keys and comparisons: upper case. */
export function normalizeName(name: string): string {
  return name.toUpperCase();
}

/** A name as SQL: bare when it is a plain, non-reserved name, else double-quoted (`"` doubled). */
export function quoteIdent(name: string): string {
  const upper = name.toUpperCase();
  if (PLAIN_NAME.test(upper) && !RESERVED_WORDS.has(upper)) return upper;
  return '"' + name.replace(/"/g, '""') + '"';
}

/** `DB.NAME`, each part quoted when needed; just `NAME` when `database` is empty. */
export function qualify(database: string, name: string): string {
  return database ? `${quoteIdent(database)}.${quoteIdent(name)}` : quoteIdent(name);
}

/** A string literal: single quotes, `'` doubled. */
export function quoteString(value: string): string {
  return "'" + value.replace(/'/g, "''") + "'";
}
