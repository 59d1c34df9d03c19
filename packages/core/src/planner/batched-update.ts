import { durationMs } from '../config/units';
import { DbeeError } from '../errors';
import type { BatchedMigration } from '../plan/plan';

/**
 * The header line that marks a migration as batched: each of its statements, all of them `UPDATE <table> SET ...
 * [WHERE ...]`, runs through `runBackfill` (keyset batches, one transaction each, resumable) instead of as one
 * statement. Options after it: `batchSize=1000`, `pause=50ms`, `targetBatch=250ms`, `maxBatchSize=50000`.
 *
 *     -- dbee:batched batchSize=2000 pause=20ms
 *     UPDATE sales.orders SET total_cents = round(total * 100) WHERE total_cents IS NULL;
 */
export const BATCHED_HEADER = /^--\s*dbee:batched\b(.*)$/;

/** An `UPDATE` of a batched migration, taken apart. */
export interface BatchedUpdate {
  /** The table as written (qualified or not, quoted or not); resolved through the search path when it runs. */
  table: string;
  /** The `SET` list. */
  set: string;
  /** The condition, if any. */
  where?: string;
}

/**
 * The batched options of a migration, from the `-- dbee:batched` line among the comment lines that open its file, or
 * null when it has none. Unknown options or bad values: exit 1 at the line.
 */
export function batchedHeader(text: string, file: string): BatchedMigration | null {
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (!line) continue;
    if (!line.startsWith('--')) break;
    const m = BATCHED_HEADER.exec(line);
    if (!m) continue;
    const out: BatchedMigration = {};
    for (const option of m[1]!.trim().split(/\s+/).filter(Boolean)) {
      const [name, value = ''] = option.split('=', 2) as [string, string?];
      const bad = (what: string) =>
        new DbeeError(`batched migration option ${option}: ${what}`, {
          code: 'MIGRATION_BATCHED_OPTION',
          location: { file, line: i + 1 },
          hint: 'options are batchSize=<rows>, maxBatchSize=<rows>, pause=<duration>, targetBatch=<duration> (durations like 50ms, 2s; targetBatch=0 keeps the size fixed)',
        });
      if (name === 'batchSize' || name === 'maxBatchSize') {
        if (!/^[1-9]\d*$/.test(value)) throw bad('expected a whole number of rows above 0');
        out[name] = Number(value);
      } else if (name === 'pause' || name === 'targetBatch') {
        if (!/^(0|\d+(\.\d+)?\s*(ms|s|m))$/.test(value)) throw bad('expected a duration such as 50ms or 2s');
        out[name === 'pause' ? 'pauseMs' : 'targetBatchMs'] = value === '0' ? 0 : durationMs(value);
      } else throw bad('unknown option');
    }
    return out;
  }
  return null;
}

/**
 * Take an `UPDATE` statement of a batched migration apart, or refuse it (exit 1 at its line): a batched migration
 * holds only `UPDATE <table> SET ... [WHERE ...]`, with no alias, `FROM`, `RETURNING` or `WITH`, since each statement
 * is rerun batch by batch and resumed after a kill.
 */
export function parseBatchedUpdate(sql: string, location: { file: string; line: number }): BatchedUpdate {
  const refuse = (what: string) =>
    new DbeeError(`a batched migration runs only UPDATE <table> SET ... [WHERE ...] statements: ${what}`, {
      code: 'MIGRATION_BATCHED_STATEMENT',
      location,
      hint: 'move other statements (DDL, inserts, updates with FROM or RETURNING) to a migration of their own, before or after this one, or remove the -- dbee:batched line',
    });
  const words = topLevelWords(sql);
  if (words[0]?.word !== 'UPDATE') throw refuse(`this statement starts with ${words[0]?.word ?? 'nothing'}`);
  const set = words.find((w) => w.word === 'SET');
  if (!set) throw refuse('no SET');
  for (const w of words) {
    if (w.word === 'FROM' || w.word === 'RETURNING' || w.word === 'USING')
      throw refuse(`${w.word} is not supported in a batched UPDATE`);
  }
  let nameStart = words[0]!.end;
  if (words[1]?.word === 'ONLY' && words[1].at < set.at) nameStart = words[1].end;
  const table = sql.slice(nameStart, set.at).trim();
  if (!QUALIFIED_NAME.test(table)) throw refuse(`"${table}" is not a table name (an alias is not supported)`);
  const where = words.find((w) => w.word === 'WHERE' && w.at > set.at);
  if (where && /^\s*CURRENT\s+OF\b/i.test(sql.slice(where.end))) throw refuse('WHERE CURRENT OF is not supported');
  const setList = sql.slice(set.end, where ? where.at : undefined).trim();
  if (!setList) throw refuse('an empty SET list');
  const condition = where ? sql.slice(where.end).trim() : undefined;
  return { table, set: setList, ...(condition ? { where: condition } : {}) };
}

const IDENT = `(?:"(?:[^"]|"")+"|[A-Za-z_\\u0080-\\uffff][A-Za-z0-9_$\\u0080-\\uffff]*)`;
const QUALIFIED_NAME = new RegExp(`^${IDENT}(?:\\s*\\.\\s*${IDENT})?$`);

/**
 * The words of `sql` outside parentheses, quotes, dollar quotes and comments, upper-cased, with where each starts
 * and ends: enough to find the clauses of an UPDATE without a parser.
 */
function topLevelWords(sql: string): { word: string; at: number; end: number }[] {
  const out: { word: string; at: number; end: number }[] = [];
  let depth = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? sql.length : nl + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2);
      i = close < 0 ? sql.length : close + 2;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < sql.length && !(sql[j] === c && sql[j + 1] !== c)) j += sql[j] === c ? 2 : 1;
      i = j + 1;
    } else if (c === '$' && /^\$[A-Za-z_]*\$/.test(sql.slice(i))) {
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i))![0];
      const close = sql.indexOf(tag, i + tag.length);
      i = close < 0 ? sql.length : close + tag.length;
    } else if (c === '(') {
      depth++;
      i++;
    } else if (c === ')') {
      depth--;
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(sql.slice(i))!;
      // A word right after a dot is part of a qualified name, not a keyword.
      if (depth === 0 && sql[i - 1] !== '.') out.push({ word: m[0].toUpperCase(), at: i, end: i + m[0].length });
      i += m[0].length;
    } else i++;
  }
  return out;
}
