import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import type { Connection, QuerySourceRole, SourceParser } from '../engine/engine';
import { DbeeError } from '../errors';
import type { Reference } from '../model/source';

/**
 * The running application's queries, from wherever a team can get them: files of SQL (what it exports from its ORM's
 * query log or its tests), a PostgreSQL CSV log, or a live source of an environment's engine (`QuerySourceRole`). The compatibility check
 * (compat.ts) asks the database to parse and analyse each one before and after a plan.
 */
export interface AppQuery {
  /** The statement as the application sends it, parameters as `$1`... */
  text: string;
  /** Where it came from, for messages: `app/queries/orders.sql:12`, `postgresql.csv:40`, a live source's name. */
  origin: string;
  /** Times it ran, when the source counts them (a live source). */
  calls?: number;
  /** The relations and functions it names, from the engine's parser: what ties a broken query to a plan step. */
  references: Reference[];
}

/** Where queries come from: a path (a `.sql` file, a folder of them, a `.csv` server log) or an environment's statistics. */
export type QuerySource =
  | { kind: 'files'; path: string }
  | { kind: 'csv-log'; path: string }
  | { kind: 'live'; name: string; environment: string | null };

/**
 * A name of the engine's live sources (`live`: `QuerySourceRole.names`; the target environment's), the same with
 * `:<env>` (another environment's), a path ending in `.csv` (a PostgreSQL CSV log), or any other path (a `.sql` file
 * or a folder searched for `*.sql`).
 */
export function parseQuerySource(spec: string, live: readonly string[] = []): QuerySource {
  const named = /^([A-Za-z_][A-Za-z0-9_]*)(?::(.+))?$/.exec(spec.trim());
  if (named && live.includes(named[1]!)) return { kind: 'live', name: named[1]!, environment: named[2] ?? null };
  if (extname(spec).toLowerCase() === '.csv') return { kind: 'csv-log', path: spec };
  return { kind: 'files', path: spec };
}

/** The kinds of `--queries` entry an engine takes, for hints: `file|folder|log.csv`, then its live sources' names. */
export function querySourceKinds(live: { names: readonly string[] } | undefined): string {
  return ['file', 'folder', 'log.csv', ...(live?.names ?? [])].join('|');
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
      hint: "give a .sql file, a folder of .sql files, a PostgreSQL .csv log, or a live source of the engine's",
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
 * The statements the live source `name` holds for the connection's database (`QuerySourceRole.read`, the most called
 * first), those an application sends, each parsed for the objects it names (a statement the parser cannot read is kept
 * without them).
 */
export async function readLiveQueries(
  role: QuerySourceRole,
  conn: Connection,
  name: string,
  parser: SourceParser,
  searchPath: string[],
  environment: string,
): Promise<AppQuery[]> {
  const queries: AppQuery[] = [];
  for (const r of await role.read(conn, name, environment)) {
    const sql = r.text.trim().replace(/;\s*$/, '');
    if (!QUERY_START.test(sql)) continue;
    const parsed = await parser.parse(sql, name, { searchPath }).catch(() => null);
    queries.push({
      text: sql,
      origin: name,
      ...(r.calls === undefined ? {} : { calls: r.calls }),
      references: parsed?.flatMap((s) => s.references) ?? [],
    });
  }
  return queries;
}
