import type { DeferrableConstraint, ParsedStatement, ParseOptions, SourceParser } from '@dbee/core';
import { DbeeError } from '@dbee/core/errors';
import type { ParseResult } from '@pgsql/types';
import { removeConstraints, reviveDeferrable } from './foreign-keys';
import { TextFrame } from './frame';
import { loadPostgresParser, parseSql, scanSql } from './libpg';
import { KeyMaker } from './object-keys';
import { skipSpaceAndComments, SourceText } from './source-text';
import { relationAliases } from './columns';
import { analyzeStatement } from './statement-analysis';
import { isDumpSessionSetting, withoutDumpRestrict } from './dump-settings';

/**
 * Parses PostgreSQL sources with PostgreSQL's own parser (libpg-query): one parse per file, one more per routine
 * body. Each statement becomes a {@link ParsedStatement} with its exact text, the object it defines or acts on, and
 * the objects it uses, read from the syntax tree.
 */
export class PostgresParser implements SourceParser {
  constructor() {
    // Start compiling the WebAssembly module now; `parse` awaits it, and a failure surfaces there. Not on the first
    // parse only: the renderers quote identifiers with the scanner's keyword list (parse/names.ts), also in a process
    // whose sources all come from the parse cache or that parses nothing (a blue/green `finish` resumed after a kill
    // failed so: test/blue-green/kills.test.ts).
    loadPostgresParser().catch(() => undefined);
  }

  async parse(text: string, file: string, options: ParseOptions): Promise<ParsedStatement[]> {
    await loadPostgresParser();
    return parsePostgresSource(text, file, options);
  }

  /** Statements read back from the parse cache, made whole (foreign keys serialised before use: see `reviveDeferrable`). */
  async revive(statements: ParsedStatement[]): Promise<ParsedStatement[]> {
    if (!statements.some((s) => s.deferrable?.some((d) => 'deferred' in d))) return statements;
    await loadPostgresParser();
    return statements.map((s) =>
      s.deferrable && s.key ? { ...s, deferrable: reviveDeferrable(s.sql, s.key, s.deferrable) } : s,
    );
  }

  /** Remove several foreign keys from one CREATE TABLE at once; see {@link removeConstraints}. */
  removeConstraints(createTable: string, constraints: DeferrableConstraint[]): string {
    if (constraints.length === 1) return constraints[0]!.statementWithout;
    return removeConstraints(createTable, constraints);
  }
}

/**
 * Synchronous core of {@link PostgresParser.parse}; the parser must be loaded (`await loadPostgresParser()`).
 * Throws a `DbeeError` with code `SQL_SYNTAX` and the file, line and column of the error.
 */
export function parsePostgresSource(original: string, file: string, options: ParseOptions): ParsedStatement[] {
  // A byte-order mark is not whitespace to PostgreSQL, and editors do not count it as a column.
  const text = withoutDumpRestrict(original.charCodeAt(0) === 0xfeff ? original.slice(1) : original);
  const source = new SourceText(text);
  let result: ParseResult;
  try {
    result = parseSql(text);
  } catch (e) {
    throw syntaxError(e, source, file);
  }
  const keys = new KeyMaker(options.searchPath[0] ?? 'public');
  const out: ParsedStatement[] = [];
  for (const raw of result.stmts ?? []) {
    const from = raw.stmt_location ?? 0;
    const start = skipSpaceAndComments(text, source.indexOfByte(from));
    const end = raw.stmt_len ? source.indexOfByte(from + raw.stmt_len) : text.length;
    const sql = withoutTrailingComment(text.slice(start, end).trimEnd());
    const location = source.location(file, start);
    const frame = new TextFrame(file, source, source, 0, location);
    const analysis = analyzeStatement(raw.stmt!, { file, source, start, sql, location, keys, frame });
    const statement: ParsedStatement = {
      sql,
      location,
      key: analysis.key,
      action: analysis.action,
      references: analysis.references,
      transactional: analysis.transactional,
    };
    if (analysis.deferrable) statement.deferrable = analysis.deferrable;
    if (analysis.constraintIndexes) statement.constraintIndexes = analysis.constraintIndexes;
    if (analysis.columns) statement.columns = analysis.columns;
    if (analysis.serialSequences) statement.serialSequences = analysis.serialSequences;
    const aliases = relationAliases(raw.stmt);
    if (aliases.length) statement.aliases = aliases;
    if (!analysis.key && isDumpSessionSetting(sql)) statement.restoreSetting = true;
    out.push(statement);
  }
  return out;
}

/**
 * A statement's text runs to its `;` or to the end of the file, so it may end with a comment; cut it at its last
 * token, or a `--` comment would swallow whatever is appended to the statement. Lexing (slow) only when the end
 * may be a comment.
 */
function withoutTrailingComment(sql: string): string {
  const lastLine = sql.slice(sql.lastIndexOf('\n') + 1);
  if (!lastLine.includes('--') && !sql.endsWith('*/')) return sql;
  const tokens = scanSql(sql);
  for (let i = tokens.length - 1; i >= 0; i--) {
    const t = tokens[i]!;
    if (t.tokenName !== 'SQL_COMMENT' && t.tokenName !== 'C_COMMENT')
      return sql.slice(0, new SourceText(sql).indexOfByte(t.end));
  }
  return sql;
}

function syntaxError(e: unknown, source: SourceText, file: string): DbeeError {
  const message = e instanceof Error ? e.message : String(e);
  const cursor = (e as { sqlDetails?: { cursorPosition?: number } }).sqlDetails?.cursorPosition;
  // libpg-query reports the error position in characters, 0-based.
  const location =
    cursor !== undefined && cursor >= 0 ? source.location(file, source.indexOfCodePoint(cursor)) : { file };
  return new DbeeError(message, { code: 'SQL_SYNTAX', location, cause: e });
}
