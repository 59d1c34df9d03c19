import type { SourceLocation } from '@dbee/core';
import { DbeeError } from '@dbee/core/errors';
import type { RawStmt } from '@pgsql/types';
import { BUILTIN_TYPES } from './builtins';
import { FixedFrame, type Frame, PiecesFrame, TextFrame } from './frame';
import { parsePlpgsql, parseSql, scanSql } from './libpg';
import { parseQualifiedName, splitQualified } from './names';
import { makeReference, type ReferenceSink, walk } from './references';
import { skipSpaceAndComments, SourceText } from './source-text';
import type { StatementContext } from './statement-context';

/** The body of a routine or DO block: its text and where it starts in the file. */
export interface RoutineBody {
  content: string;
  /** String index in the file of the body's first character (after the opening quote). */
  start: number;
  /** True when `content` appears verbatim at `start` (dollar quoting, or a quoted string without escapes). */
  exact: boolean;
}

/**
 * Find a body string in the file, from the position of its `AS` option (`CREATE FUNCTION`) or of the string itself
 * (`DO`), skipping the keyword, comments and the opening quote.
 */
export function locateBody(ctx: StatementContext, byteLocation: number | undefined, content: string): RoutineBody {
  const text = ctx.source.text;
  let i = byteLocation === undefined ? ctx.start : ctx.source.indexOfByte(byteLocation);
  if (/^as\b/i.test(text.slice(i, i + 3))) i = skipSpaceAndComments(text, i + 2);
  if (text[i] === '$') {
    const close = text.indexOf('$', i + 1);
    if (close !== -1 && text.startsWith(content, close + 1)) return { content, start: close + 1, exact: true };
  } else if (text[i] === "'" || ((text[i] === 'E' || text[i] === 'e') && text[i + 1] === "'")) {
    const open = text[i] === "'" ? i + 1 : i + 2;
    return { content, start: open, exact: text.startsWith(content, open) && text[open + content.length] === "'" };
  }
  return { content, start: i, exact: false };
}

/** The frame of a body: exact positions when the body is verbatim in the file, else the body's start. */
function bodyFrame(ctx: StatementContext, body: RoutineBody, parsed: SourceText): Frame {
  const start = ctx.source.location(ctx.file, body.start);
  return body.exact ? new TextFrame(ctx.file, ctx.source, parsed, body.start, start) : new FixedFrame(start);
}

/** References of a `LANGUAGE sql` body written as a string; its syntax errors are the statement's. */
export function analyzeSqlBody(ctx: StatementContext, body: RoutineBody, sink: ReferenceSink, what: string): void {
  const parsed = new SourceText(body.content);
  let stmts: RawStmt[];
  try {
    stmts = parseSql(body.content).stmts ?? [];
  } catch (e) {
    const cursor = (e as { sqlDetails?: { cursorPosition?: number } }).sqlDetails?.cursorPosition;
    const index =
      body.exact && cursor !== undefined && cursor >= 0 ? body.start + parsed.indexOfCodePoint(cursor) : body.start;
    throw new DbeeError(`${(e as Error).message} (in the body of ${what})`, {
      code: 'SQL_SYNTAX',
      location: ctx.source.location(ctx.file, index),
      cause: e,
    });
  }
  walk(stmts, { sink, frame: bodyFrame(ctx, body, parsed), via: 'body', ctes: [] });
}

interface PlExpression {
  query: string;
  parseMode: number;
  lineno: number;
  perform: boolean;
}

interface PlDeclaredType {
  typname: string;
  lineno: number;
}

/** PostgreSQL's RawParseMode values that PL/pgSQL uses for its expressions. */
const PARSE_MODE_DEFAULT = 0;
const PARSE_MODE_EXPR = 2;
const SELECT_PREFIX = 'SELECT ';

/**
 * Check a PL/pgSQL body with the PL/pgSQL compiler, then collect the references of every SQL statement and
 * expression in it (each `PLpgSQL_expr.query`, parsed with the main parser) and of declared variable types
 * (`t%ROWTYPE`, `t.c%TYPE`, user types). Strings run by EXECUTE are not parsed.
 */
export function analyzePlpgsqlBody(ctx: StatementContext, body: RoutineBody, sink: ReferenceSink, what: string): void {
  let tree: unknown;
  try {
    tree = parsePlpgsql(ctx.sql);
  } catch (e) {
    tree = withRowtypesAsComposite(ctx, body, e);
    if (tree === undefined) {
      const retried = withoutArraysInHead(ctx, body, e);
      if (retried === undefined) throw plpgsqlError(ctx, body, e, what);
      // The body's own error, found once the head no longer hides it.
      if ('error' in retried) throw plpgsqlError({ ...ctx, sql: retried.sql }, body, retried.error, what);
      tree = retried.tree;
    }
  }
  const expressions: PlExpression[] = [];
  const types: PlDeclaredType[] = [];
  collect(tree, 0, false, expressions, types);
  const bodyText = new SourceText(body.content);
  const bodyStartLine = ctx.source.position(body.start).line;

  /** Location of the first non-blank character of a body line (1-based, PL/pgSQL's `lineno`). */
  const lineLocation = (lineno: number, needle?: string): SourceLocation => {
    if (!body.exact || lineno < 1) return { file: ctx.file, line: bodyStartLine + Math.max(lineno, 1) - 1, column: 1 };
    const from = bodyText.lineStart(lineno);
    const lineEnd = body.content.indexOf('\n', from);
    const line = body.content.slice(from, lineEnd === -1 ? undefined : lineEnd);
    let at = needle ? line.toLowerCase().indexOf(needle.toLowerCase()) : -1;
    if (at === -1) at = line.length - line.trimStart().length;
    return ctx.source.location(ctx.file, body.start + from + at);
  };

  for (const t of types) declaredType(t, sink, new FixedFrame(lineLocation(t.lineno, t.typname)));

  const pieces: Piece[] = [];
  for (const e of expressions) {
    const piece = toPiece(e);
    if (!piece) continue;
    const at = body.exact ? findQuery(body.content, bodyText.lineStart(e.lineno), e.query, e.perform) : -1;
    piece.frame =
      at === -1
        ? new FixedFrame(lineLocation(e.lineno))
        : new TextFrame(ctx.file, ctx.source, new SourceText(e.query), body.start + at, lineLocation(e.lineno));
    pieces.push(piece);
  }
  for (const { stmts, frame } of parsePieces(pieces, ctx.location)) walk(stmts, { sink, frame, via: 'body', ctes: [] });
}

/**
 * Without a catalog, libpg-query compiles a `t%ROWTYPE` variable as a scalar, so assigning one of its fields
 * (`r.total := 0`) fails with `"r.total" is not a known variable`, which PostgreSQL accepts. On that error only,
 * compile again with each `%ROWTYPE` blanked out (`r s.t`, which it takes for a composite type; positions and lines
 * unchanged). Returns the tree, or undefined when that does not help.
 */
function withRowtypesAsComposite(ctx: StatementContext, body: RoutineBody, error: unknown): unknown {
  const bodyInStatement = body.start - ctx.start;
  if (!body.exact || !ctx.sql.startsWith(body.content, bodyInStatement)) return undefined;
  if (!(error instanceof Error) || !/^"[^"]+\.[^"]+" is not a known variable$/.test(error.message)) return undefined;
  let tokens;
  try {
    tokens = scanSql(body.content);
  } catch {
    return undefined;
  }
  const own = new SourceText(body.content);
  let content = body.content;
  for (let i = 0; i + 1 < tokens.length; i++) {
    if (tokens[i]!.text !== '%' || tokens[i + 1]!.text.toLowerCase() !== 'rowtype') continue;
    const from = own.indexOfByte(tokens[i]!.start);
    const to = own.indexOfByte(tokens[i + 1]!.end);
    content = content.slice(0, from) + ' '.repeat(to - from) + content.slice(to);
  }
  if (content === body.content) return undefined;
  try {
    return parsePlpgsql(
      ctx.sql.slice(0, bodyInStatement) + content + ctx.sql.slice(bodyInStatement + body.content.length),
    );
  } catch {
    return undefined;
  }
}

/**
 * Without a catalog, libpg-query takes a type it does not know (`t.e`, an enum of the schema) for `record`, and refuses
 * an array of it as a result (`RETURNS t.e[]`, an OUT parameter or a `TABLE` column of that type: "PL/pgSQL functions
 * cannot return type record[]"), which PostgreSQL accepts. On that error only, compile again with the array brackets
 * of the statement's head (everything before the body) blanked out (`t.e`, which it accepts; the body, its lines and
 * positions unchanged). Returns the tree, or the statement so compiled and the body's own error, or undefined when
 * that does not apply.
 */
function withoutArraysInHead(
  ctx: StatementContext,
  body: RoutineBody,
  error: unknown,
): { tree: unknown } | { sql: string; error: unknown } | undefined {
  if (!(error instanceof Error) || !/cannot return type record\[\]$/.test(error.message)) return undefined;
  const bodyInStatement = body.start - ctx.start;
  if (!ctx.sql.startsWith(body.content, bodyInStatement)) return undefined;
  const head = ctx.sql.slice(0, bodyInStatement);
  const own = new SourceText(ctx.sql);
  let tokens;
  try {
    // The whole statement (its head alone ends in an open quote), then the tokens before the body.
    tokens = scanSql(ctx.sql);
  } catch {
    return undefined;
  }
  const inHead = tokens.findIndex((t) => own.indexOfByte(t.start) >= bodyInStatement);
  if (inHead >= 0) tokens = tokens.slice(0, inHead);
  let blanked = head;
  const blank = (fromByte: number, toByte: number) => {
    const from = own.indexOfByte(fromByte);
    const to = own.indexOfByte(toByte);
    blanked = blanked.slice(0, from) + ' '.repeat(to - from) + blanked.slice(to);
  };
  // The end of a `[]` or `[3]` that starts at token i (a dimension of an array type), else -1.
  const dimension = (i: number): number => {
    if (tokens[i]?.text !== '[') return -1;
    if (tokens[i + 1]?.text === ']') return i + 1;
    return /^\d+$/.test(tokens[i + 1]?.text ?? '') && tokens[i + 2]?.text === ']' ? i + 2 : -1;
  };
  for (let i = 0; i < tokens.length; i++) {
    // `[]`, `[3]`, `ARRAY`, `ARRAY[3]` after a type name; `ARRAY[1, 2]` (a default's value) stays.
    const isArray = tokens[i]!.text.toLowerCase() === 'array';
    if (isArray && tokens[i + 1]?.text === '[' && dimension(i + 1) === -1) continue;
    const end = isArray ? Math.max(i, dimension(i + 1)) : dimension(i);
    if (end === -1) continue;
    blank(tokens[i]!.start, tokens[end]!.end);
    i = end;
  }
  if (blanked === head) return undefined;
  const sql = blanked + ctx.sql.slice(bodyInStatement);
  try {
    return { tree: parsePlpgsql(sql) };
  } catch (e) {
    return { sql, error: e };
  }
}

/** Walk the PL/pgSQL compiler's tree for expressions and declared types, tracking the nearest line number. */
function collect(
  value: unknown,
  lineno: number,
  perform: boolean,
  expressions: PlExpression[],
  types: PlDeclaredType[],
): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const v of value) collect(v, lineno, perform, expressions, types);
    return;
  }
  const obj = value as Record<string, unknown>;
  for (const key in obj) {
    const child = obj[key] as Record<string, unknown> | null;
    if (child === null || typeof child !== 'object') continue;
    if (key === 'PLpgSQL_expr') {
      if (typeof child['query'] === 'string') {
        expressions.push({ query: child['query'], parseMode: Number(child['parseMode'] ?? 0), lineno, perform });
      }
    } else if (key === 'PLpgSQL_type') {
      // Parameters and the implicit FOUND have no line: their types come from the CREATE FUNCTION tree.
      if (lineno > 0 && typeof child['typname'] === 'string') types.push({ typname: child['typname'], lineno });
    } else {
      const own = child['lineno'];
      const line = typeof own === 'number' && own > 0 ? own : lineno;
      collect(child, line, perform || key === 'PLpgSQL_stmt_perform', expressions, types);
    }
  }
}

/** A declared variable's type: `s.t%ROWTYPE` and `s.t.c%TYPE` use the relation, other names a user type. */
function declaredType(t: PlDeclaredType, sink: ReferenceSink, frame: Frame): void {
  const text = t.typname.trim();
  const pct = /%(row)?type$/i.exec(text);
  if (pct) {
    const names = parseQualifiedName(text.slice(0, pct.index));
    const relation = pct[1] ? names : names?.slice(0, -1);
    if (relation && relation.length > 0) {
      const { schema, name } = splitQualified(relation);
      if (schema !== undefined || !name.startsWith('pg_'))
        sink.add(makeReference('relation', schema, name, 'body', frame, undefined));
    }
    return;
  }
  const base = text
    .toLowerCase()
    .replace(/\s*(\(.*|\[.*)$/s, '')
    .replace(/\s+/g, ' ');
  if (BUILTIN_TYPES.has(base)) return;
  // Anything else is parsed as a type name by the real grammar.
  let stmts: RawStmt[];
  try {
    stmts = parseSql(`SELECT NULL::${text}`).stmts ?? [];
  } catch {
    return;
  }
  walk(stmts, { sink, frame, via: 'body', ctes: [] });
}

interface Piece {
  /** The SQL given to the parser. */
  sql: string;
  /** Bytes to add to an offset in `sql` to get the offset in the original query text. */
  shift: number;
  frame?: Frame;
}

/**
 * The parseable SQL of an expression: statements as they are, expressions behind `SELECT `, assignments
 * (`x := expr`) as `SELECT expr`.
 */
function toPiece(e: PlExpression): Piece | undefined {
  if (e.parseMode === PARSE_MODE_DEFAULT) return { sql: e.query, shift: 0 };
  if (e.parseMode === PARSE_MODE_EXPR) return { sql: SELECT_PREFIX + e.query, shift: -SELECT_PREFIX.length };
  let at = e.query.indexOf(':=');
  let width = 2;
  if (at === -1) {
    at = e.query.indexOf('=');
    width = 1;
  }
  if (at === -1) return undefined;
  const target = e.query.slice(0, at + width);
  return {
    sql: SELECT_PREFIX + e.query.slice(at + width),
    shift: Buffer.byteLength(target, 'utf8') - SELECT_PREFIX.length,
  };
}

/**
 * Parse all pieces in one call (joined by `;`), which is much cheaper than one call each; if that fails, parse them
 * one by one and skip those that do not parse (the PL/pgSQL compiler has accepted them).
 */
function parsePieces(pieces: Piece[], fallback: SourceLocation): { stmts: RawStmt[]; frame: Frame }[] {
  if (pieces.length === 0) return [];
  const starts: { start: number; shift: number; frame: Frame }[] = [];
  let joined = '';
  let bytes = 0;
  for (const p of pieces) {
    if (joined !== '') {
      joined += ';\n';
      bytes += 2;
    }
    starts.push({ start: bytes, shift: p.shift, frame: p.frame! });
    joined += p.sql;
    bytes += Buffer.byteLength(p.sql, 'utf8');
  }
  try {
    return [{ stmts: parseSql(joined).stmts ?? [], frame: new PiecesFrame(starts, fallback) }];
  } catch {
    const out: { stmts: RawStmt[]; frame: Frame }[] = [];
    for (const p of pieces) {
      try {
        out.push({
          stmts: parseSql(p.sql).stmts ?? [],
          frame: new PiecesFrame([{ start: 0, shift: p.shift, frame: p.frame! }], fallback),
        });
      } catch {
        // Not SQL we can read (the compiler accepted it): no references from it.
      }
    }
    return out;
  }
}

/**
 * Where a PL/pgSQL expression's text starts in the body, searching from its statement's line. The compiler keeps
 * the text in place but blanks INTO clauses and rewrites PERFORM as SELECT, so blanks match anything and the first
 * word of a PERFORM is not compared. Returns -1 when not found.
 */
function findQuery(content: string, from: number, query: string, perform: boolean): number {
  const skip = perform && query.startsWith(SELECT_PREFIX) ? SELECT_PREFIX.length : 0;
  let anchorEnd = skip;
  while (anchorEnd < query.length && !/\s/.test(query[anchorEnd]!)) anchorEnd++;
  const anchor = query.slice(skip, anchorEnd);
  if (anchor === '') return -1;
  let tries = 0;
  for (let c = content.indexOf(anchor, from); c !== -1 && tries < 500; c = content.indexOf(anchor, c + 1), tries++) {
    const p = c - skip;
    if (p >= 0 && p + query.length <= content.length && sameText(content, p, query, skip)) return p;
  }
  return -1;
}

function sameText(content: string, p: number, query: string, from: number): boolean {
  for (let i = from; i < query.length; i++) {
    const q = query[i]!;
    if (q !== content[p + i] && !/\s/.test(q)) return false;
  }
  return true;
}

/**
 * A `SQL_SYNTAX` error for a body the PL/pgSQL compiler rejected. The compiler reports no position, so the line is
 * found by bisection: the same error on the body cut after line k means the error is on line k or before.
 */
function plpgsqlError(ctx: StatementContext, body: RoutineBody, cause: unknown, what: string): DbeeError {
  const message = cause instanceof Error ? cause.message : String(cause);
  let index = body.start;
  const bodyInStatement = body.start - ctx.start;
  if (body.exact && message.includes('at end of input')) {
    index = body.start + body.content.trimEnd().length;
  } else if (body.exact && ctx.sql.startsWith(body.content, bodyInStatement)) {
    const line = errorLine(ctx.sql, bodyInStatement, body.content, message);
    if (line !== undefined) {
      const lines = new SourceText(body.content);
      const from = lines.lineStart(line);
      const end = body.content.indexOf('\n', from);
      const text = body.content.slice(from, end === -1 ? undefined : end);
      const token = /"([^"]+)"/.exec(message)?.[1];
      let at = token === undefined ? -1 : text.indexOf(token);
      if (at === -1 && token !== undefined) at = text.toLowerCase().indexOf(token.toLowerCase());
      if (at === -1) at = text.length - text.trimStart().length;
      index = body.start + from + at;
    }
  }
  return new DbeeError(`${message} (in the PL/pgSQL body of ${what})`, {
    code: 'SQL_SYNTAX',
    location: ctx.source.location(ctx.file, index),
    cause,
  });
}

function errorLine(statement: string, bodyStart: number, content: string, message: string): number | undefined {
  const lineEnds: number[] = [];
  for (let i = content.indexOf('\n'); i !== -1; i = content.indexOf('\n', i + 1)) lineEnds.push(i);
  lineEnds.push(content.length);
  const before = statement.slice(0, bodyStart);
  const after = statement.slice(bodyStart + content.length);
  const reproduces = (lines: number): boolean => {
    try {
      parsePlpgsql(before + content.slice(0, lineEnds[lines - 1]) + after);
      return false;
    } catch (e) {
      return e instanceof Error && e.message === message;
    }
  };
  let lo = 1;
  let hi = lineEnds.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (reproduces(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
