import { loadModule, parsePlPgSQLSync, parseSync, scanSync } from 'libpg-query';
import type { ParseResult, ScanToken } from 'libpg-query';

/**
 * The WebAssembly build of PostgreSQL's parser, loaded once per process on first use. The synchronous entry points
 * below may only be called after {@link loadPostgresParser} has resolved.
 */
let loading: Promise<void> | undefined;
let loaded = false;

/** Load libpg-query's WebAssembly module (once; later calls return the same promise). */
export function loadPostgresParser(): Promise<void> {
  loading ??= loadModule().then(() => {
    loaded = true;
  });
  return loading;
}

/** Whether {@link loadPostgresParser} has completed, so that the synchronous functions can be used. */
export function isPostgresParserLoaded(): boolean {
  return loaded;
}

function requireLoaded(): void {
  if (!loaded) throw new Error('the PostgreSQL parser is not loaded yet: await loadPostgresParser() first');
}

/** `parseSync` for a non-empty text; an empty (or blank) text has no statements. */
export function parseSql(text: string): ParseResult {
  requireLoaded();
  return text.trim() === '' ? { stmts: [] } : parseSync(text);
}

/** The PL/pgSQL compiler's tree for every plpgsql function or DO block in `text`. */
export function parsePlpgsql(text: string): PlpgsqlParseResult {
  requireLoaded();
  return parsePlPgSQLSync(text) as unknown as PlpgsqlParseResult;
}

/** PostgreSQL's lexer: every token with its UTF-8 byte span, comments included. */
export function scanSql(text: string): ScanToken[] {
  requireLoaded();
  return text === '' ? [] : (scanSync(text).tokens ?? []);
}

/** What `parsePlPgSQLSync` returns (it is typed as a ParseResult, which it is not). */
export interface PlpgsqlParseResult {
  plpgsql_funcs?: unknown[];
}
