import type { Token } from '../src/parse/splitter';

/**
 * The type attributes of a table column as `DBC.ColumnsV` shows them (Teradata Vantage Data Dictionary, "ColumnsV":
 * `ColumnType` CHAR(2), `ColumnLength` in bytes, `DecimalTotalDigits`, `DecimalFractionalDigits`, `Nullable` 'Y'/'N',
 * `CharType` 1 LATIN / 2 UNICODE, `UpperCaseFlag`), read from the column's definition in the table's CREATE text.
 *
 * `ColumnType` codes (Data Dictionary, "ColumnsV", ColumnType): I INTEGER, I1 BYTEINT, I2 SMALLINT, I8 BIGINT,
 * D DECIMAL, N NUMBER, F FLOAT, CF CHAR, CV VARCHAR, CO CLOB, BF BYTE, BV VARBYTE, BO BLOB, DA DATE, AT TIME,
 * TS TIMESTAMP, TZ TIME WITH TIME ZONE, SZ TIMESTAMP WITH TIME ZONE, JN JSON. One-letter codes end in a blank, as a
 * CHAR(2) value does. A DECIMAL takes 1, 2, 4, 8 or 16 bytes by its precision, `DECIMAL` alone is DECIMAL(5,0); a
 * TIMESTAMP(n) is 19 characters, plus n + 1 when n > 0 (`TIMESTAMP` alone is TIMESTAMP(6)), its precision in
 * `DecimalFractionalDigits` (SQL Data Types and Literals, "DECIMAL/NUMERIC", "TIMESTAMP"). A UNICODE character
 * column's length is twice its characters.
 *
 * `UpperCaseFlag`: 'C' CASESPECIFIC, 'N' NOT CASESPECIFIC, 'U' UPPERCASE (verify the codes); a column that says
 * neither is NOT CASESPECIFIC when created in a Teradata-mode session and CASESPECIFIC in an ANSI one (SQL Data Types
 * and Literals, "CASESPECIFIC Phrase"): the double uses the mode of the session that reads the view, not the one
 * that created the table. A column of a user-defined type (`money` or `SYSUDTLIB.money`, a type `isType` knows) is
 * ColumnType UT with its name in `ColumnUDTName`. Types it does not know have NULL attributes (a simplification: two
 * such columns compare equal).
 */
export interface FakeColumnAttributes {
  COLUMNTYPE: string | null;
  COLUMNLENGTH: number | null;
  DECIMALTOTALDIGITS: number | null;
  DECIMALFRACTIONALDIGITS: number | null;
  NULLABLE: 'Y' | 'N';
  CHARTYPE: number | null;
  UPPERCASEFLAG: string | null;
  /** The user-defined type of a column of ColumnType UT (its name in SYSUDTLIB), else NULL. */
  COLUMNUDTNAME: string | null;
}

const FIXED: Readonly<Record<string, [string, number]>> = {
  INTEGER: ['I ', 4],
  INT: ['I ', 4],
  SMALLINT: ['I2', 2],
  BYTEINT: ['I1', 1],
  BIGINT: ['I8', 8],
  FLOAT: ['F ', 8],
  REAL: ['F ', 8],
  DOUBLE: ['F ', 8],
  DATE: ['DA', 4],
  NUMBER: ['N ', 18],
  JSON: ['JN', 64000],
  CLOB: ['CO', 2097088000],
  BLOB: ['BO', 2097088000],
};

const decimalBytes = (p: number) => (p <= 2 ? 1 : p <= 4 ? 2 : p <= 9 ? 4 : p <= 18 ? 8 : 16);

/** The attributes of one column definition (the tokens after its name). */
export function columnAttributes(
  rest: Token[],
  tmode: 'TERA' | 'ANSI',
  isType: (name: string) => boolean = () => false,
): FakeColumnAttributes {
  const words = rest.map((t) => t.value);
  const numbers = (at: number): number[] => {
    if (rest[at]?.text !== '(') return [];
    const out: number[] = [];
    for (let k = at + 1; k < rest.length && rest[k]!.text !== ')'; k++)
      if (/^\d+$/.test(rest[k]!.text)) out.push(Number(rest[k]!.text));
    return out;
  };
  const has = (...seq: string[]) => words.some((_, i) => seq.every((s, j) => words[i + j] === s));
  const notNull = has('NOT', 'NULL');
  const base: FakeColumnAttributes = {
    COLUMNTYPE: null,
    COLUMNLENGTH: null,
    DECIMALTOTALDIGITS: null,
    DECIMALFRACTIONALDIGITS: null,
    NULLABLE: notNull ? 'N' : 'Y',
    CHARTYPE: null,
    UPPERCASEFLAG: null,
    COLUMNUDTNAME: null,
  };
  const type = words[0] ?? '';
  const udt = type === 'SYSUDTLIB' && rest[1]?.text === '.' ? (words[2] ?? '') : type;
  if (isType(udt)) return { ...base, COLUMNTYPE: 'UT', COLUMNUDTNAME: udt };
  if (FIXED[type]) return { ...base, COLUMNTYPE: FIXED[type]![0], COLUMNLENGTH: FIXED[type]![1] };
  if (type === 'DECIMAL' || type === 'DEC' || type === 'NUMERIC') {
    const [p = 5, s = 0] = numbers(1);
    return {
      ...base,
      COLUMNTYPE: 'D ',
      COLUMNLENGTH: decimalBytes(p),
      DECIMALTOTALDIGITS: p,
      DECIMALFRACTIONALDIGITS: s,
    };
  }
  if (type === 'TIMESTAMP' || type === 'TIME') {
    const [p = 6] = numbers(1);
    const zone = has('WITH', 'TIME', 'ZONE');
    const code = type === 'TIMESTAMP' ? (zone ? 'SZ' : 'TS') : zone ? 'TZ' : 'AT';
    const length = (type === 'TIMESTAMP' ? 19 : 8) + (p > 0 ? p + 1 : 0) + (zone ? 6 : 0);
    return { ...base, COLUMNTYPE: code, COLUMNLENGTH: length, DECIMALFRACTIONALDIGITS: p };
  }
  const varying = type === 'VARCHAR' || (type === 'CHARACTER' && words[1] === 'VARYING') || type === 'VARBYTE';
  const char = type === 'CHAR' || type === 'CHARACTER' || type === 'VARCHAR';
  if (char || type === 'BYTE' || type === 'VARBYTE') {
    const [n = 1] = numbers(words[1] === 'VARYING' ? 2 : 1);
    if (!char) return { ...base, COLUMNTYPE: varying ? 'BV' : 'BF', COLUMNLENGTH: n };
    const unicode = has('CHARACTER', 'SET', 'UNICODE');
    const flag = has('UPPERCASE')
      ? 'U'
      : has('NOT', 'CASESPECIFIC')
        ? 'N'
        : has('CASESPECIFIC')
          ? 'C'
          : tmode === 'ANSI'
            ? 'C'
            : 'N';
    return {
      ...base,
      COLUMNTYPE: varying ? 'CV' : 'CF',
      COLUMNLENGTH: unicode ? 2 * n : n,
      CHARTYPE: unicode ? 2 : 1,
      UPPERCASEFLAG: flag,
    };
  }
  return base;
}

/** A view's columns, and a column the double cannot read: every type attribute NULL. */
export const NO_ATTRIBUTES: Omit<FakeColumnAttributes, 'NULLABLE'> & { NULLABLE: null } = {
  COLUMNTYPE: null,
  COLUMNLENGTH: null,
  DECIMALTOTALDIGITS: null,
  DECIMALFRACTIONALDIGITS: null,
  NULLABLE: null,
  CHARTYPE: null,
  UPPERCASEFLAG: null,
  COLUMNUDTNAME: null,
};
