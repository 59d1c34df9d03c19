import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import type { Connection, SourceParser } from '../engine/engine';
import { DbeeError } from '../errors';
import type { Reference } from '../model/source';

/**
 * The running application's queries, from wherever a team can get them: files of SQL (what it exports from its ORM's
 * query log or its tests), a PostgreSQL CSV log, or `pg_stat_statements` of an environment. The compatibility check
 * (compat.ts) asks the database to parse and analyse each one before and after a plan.
 */
export interface AppQuery {
  /** The statement as the application sends it, parameters as `$1`... */
  text: string;
  /** Where it came from, for messages: `app/queries/orders.sql:12`, `postgresql.csv:40`, `pg_stat_statements`. */
  origin: string;
  /** Times it ran, when the source counts them (`pg_stat_statements`). */
  calls?: number;
  /** The relations and functions it names, from the engine's parser: what ties a broken query to a plan step. */
  references: Reference[];
}

/** Where queries come from: a path (a `.sql` file, a folder of them, a `.csv` server log) or an environment's statistics. */
export type QuerySource =
  | { kind: 'files'; path: string }
  | { kind: 'csv-log'; path: string }
  | { kind: 'pg_stat_statements'; environment: string | null };

/**
 * `pg_stat_statements` (the target environment's), `pg_stat_statements:<env>` (another environment's), a path ending
 * in `.csv` (a PostgreSQL CSV log), or any other path (a `.sql` file or a folder searched for `*.sql`).
 */
export function parseQuerySource(spec: string): QuerySource {
  const stats = /^pg_stat_statements(?::(.+))?$/.exec(spec.trim());
  if (stats) return { kind: 'pg_stat_statements', environment: stats[1] ?? null };
  if (extname(spec).toLowerCase() === '.csv') return { kind: 'csv-log', path: spec };
  return { kind: 'files', path: spec };
}

/** Statement kinds an application sends and the server can describe; session and transaction commands are left out. */
const QUERY_START = /^\s*(\(\s*)*(select|insert|update|delete|merge|with|values|table)\b/i;

/**
 * The queries of a `.sql` file or of every `*.sql` under a folder, one per statement, split by the engine's parser
 * (which also gives the objects each one names). A file that does not parse is refused with its line.
 */
export async function readQueryFiles(
  path: string,
  workspaceRoot: string,
  parser: SourceParser,
  searchPath: string[],
): Promise<AppQuery[]> {
  let files: string[];
  try {
    files = statSync(path).isDirectory() ? sqlFilesUnder(path) : [path];
  } catch {
    throw new DbeeError(`query source ${relative(workspaceRoot, path) || path} does not exist`, {
      code: 'QUERY_SOURCE_MISSING',
      hint: 'give a .sql file, a folder of .sql files, a PostgreSQL .csv log, or pg_stat_statements',
    });
  }
  const queries: AppQuery[] = [];
  for (const file of files) {
    const shown = relative(workspaceRoot, file) || file;
    const statements = await parser.parse(readFileSync(file, 'utf8'), shown, { searchPath });
    for (const s of statements) {
      if (!QUERY_START.test(s.sql)) continue;
      queries.push({ text: s.sql, origin: `${shown}:${s.location.line}`, references: s.references });
    }
  }
  return queries;
}

function sqlFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sqlFilesUnder(full));
    else if (entry.name.endsWith('.sql')) out.push(full);
  }
  return out;
}

/**
 * The statements of a PostgreSQL CSV log (`log_destination = 'csvlog'` with `log_statement` or
 * `log_min_duration_statement`): the `message` column (the 14th) holds `statement: ...`, `execute <name>: ...` or
 * `duration: 1.2 ms  statement: ...`. Each distinct statement once, at its first line.
 */
export async function readCsvLog(
  path: string,
  workspaceRoot: string,
  parser: SourceParser,
  searchPath: string[],
): Promise<AppQuery[]> {
  const shown = relative(workspaceRoot, path) || path;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new DbeeError(`query source ${shown} does not exist`, {
      code: 'QUERY_SOURCE_MISSING',
      hint: 'give the path of a PostgreSQL CSV log (log_destination = csvlog)',
    });
  }
  const seen = new Set<string>();
  const queries: AppQuery[] = [];
  for (const { fields, line } of csvRecords(text)) {
    const message = fields[13];
    if (message === undefined) continue;
    const m = /^(?:duration: [\d.]+ ms\s+)?(?:statement|execute [^:]*):\s*([\s\S]+)$/.exec(message);
    if (!m) continue;
    const sql = m[1]!.trim().replace(/;\s*$/, '');
    if (!QUERY_START.test(sql) || seen.has(sql)) continue;
    seen.add(sql);
    const parsed = await parser.parse(sql, `${shown}:${line}`, { searchPath }).catch(() => null);
    queries.push({ text: sql, origin: `${shown}:${line}`, references: parsed?.flatMap((s) => s.references) ?? [] });
  }
  return queries;
}

/** RFC 4180 records (quoted fields may hold commas, quotes doubled, newlines), each with the line it starts on. */
export function csvRecords(text: string): { fields: string[]; line: number }[] {
  const records: { fields: string[]; line: number }[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let start = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else {
        if (c === '\n') line++;
        field += c;
      }
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      fields.push(field);
      if (fields.length > 1 || fields[0] !== '') records.push({ fields, line: start });
      fields = [];
      field = '';
      line++;
      start = line;
    } else field += c;
  }
  if (field !== '' || fields.length) records.push({ fields: [...fields, field], line: start });
  return records;
}

/**
 * The statements `pg_stat_statements` holds for the connection's database (normalised: constants as `$n`), the most
 * called first. Refused when the extension is not installed in that database or its library not loaded.
 */
export async function readStatStatements(
  conn: Connection,
  parser: SourceParser,
  searchPath: string[],
  environment: string,
): Promise<AppQuery[]> {
  const installed = await conn.query<{ schema: string | null }>(
    `SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'`,
  );
  const schema = installed.rows[0]?.schema;
  if (!schema) {
    throw new DbeeError(`pg_stat_statements is not installed in the database of environment ${environment}`, {
      code: 'QUERY_SOURCE_UNAVAILABLE',
      hint: "CREATE EXTENSION pg_stat_statements there (the server needs shared_preload_libraries = 'pg_stat_statements'), or give the queries as files",
    });
  }
  let rows: { query: string; calls: string | number }[];
  try {
    rows = (
      await conn.query<{ query: string; calls: string | number }>(
        `SELECT s.query, sum(s.calls) AS calls FROM "${schema.replace(/"/g, '""')}".pg_stat_statements s
          WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
          GROUP BY s.query ORDER BY sum(s.calls) DESC, s.query`,
      )
    ).rows;
  } catch (e) {
    throw new DbeeError(
      `pg_stat_statements of environment ${environment} cannot be read: ${(e as Error).message.split('\n')[0]}`,
      {
        code: 'QUERY_SOURCE_UNAVAILABLE',
        hint: "the server needs shared_preload_libraries = 'pg_stat_statements' (a restart), and the role needs pg_read_all_stats to see other roles' queries",
      },
    );
  }
  const queries: AppQuery[] = [];
  for (const r of rows) {
    const sql = r.query.trim().replace(/;\s*$/, '');
    if (!QUERY_START.test(sql)) continue;
    const parsed = await parser.parse(sql, 'pg_stat_statements', { searchPath }).catch(() => null);
    queries.push({
      text: sql,
      origin: 'pg_stat_statements',
      calls: Number(r.calls),
      references: parsed?.flatMap((s) => s.references) ?? [],
    });
  }
  return queries;
}
