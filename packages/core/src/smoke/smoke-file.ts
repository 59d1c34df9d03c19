import { durationMs } from '../config/units';
import { YamlFile } from '../config/yaml-file';
// The schema of a YAML smoke file (zod with it) loads when a project has one.
import { smokeSchemas } from '../lazy-schemas';
import type { Engine, SourceParser } from '../engine/engine';
import type { ParseCache } from '../planner/project-model';
import { SmokeCache } from './smoke-cache';
import { DbeeAggregateError, DbeeError, type ErrorLocation } from '../errors';
import { parseKey } from '../model/object-key';
import type { ParsedStatement } from '../model/source';
import type { SourceFile } from '../sources/discover';
import { expandPlaceholders } from '../sources/placeholders';
import type { SmokeArg, SmokeCheck } from '../model/smoke-check';

/** What loading smoke files needs from a project model. */
export interface SmokeSources {
  project: { name: string };
  smoke: SourceFile[];
  variables: Record<string, string>;
  graph: { searchPath: string[] };
}

/**
 * Read, validate and prepare the smoke checks of a project: YAML files (validated, with file, line and key in
 * every error) and SQL files (one check per statement). `{{placeholders}}` are expanded with the environment's
 * variables. All problems are reported together, before anything runs. With `cache` (the parse cache's folder and
 * parser), the checks of a file read before with the same text come back from `.dbee/cache` (see `SmokeCache`).
 */
export async function loadSmokeChecks(
  model: SmokeSources,
  engine: Pick<Engine, 'parser' | 'smoke'>,
  cache?: ParseCache,
): Promise<SmokeCheck[]> {
  const errors: DbeeError[] = [];
  const checks: SmokeCheck[] = [];
  const collect = (e: unknown) => {
    if (e instanceof DbeeAggregateError) errors.push(...e.errors);
    else if (e instanceof DbeeError) errors.push(e);
    else throw e;
  };
  const kept = cache && model.smoke.length > 0 ? SmokeCache.open(cache, model.project.name, model.variables) : null;
  const { searchPath } = model.graph;
  for (const file of model.smoke) {
    try {
      const text = expandPlaceholders(file.text, model.variables, file.path).expanded;
      const key = SmokeCache.key(file.path, text, searchPath);
      let found = kept?.checks(key);
      if (!found) {
        found = file.path.endsWith('.sql')
          ? await sqlChecks(text, file.path, engine.parser, searchPath)
          : await yamlChecks(text, file.path, engine, searchPath);
        kept?.keep(key, found);
      }
      checks.push(...found);
    } catch (e) {
      collect(e);
    }
  }
  kept?.save();
  const seen = new Map<string, SmokeCheck>();
  for (const c of checks) {
    const first = seen.get(c.name);
    if (first) {
      errors.push(
        new DbeeError(`two smoke checks are named "${c.name}"`, {
          code: 'SMOKE_DUPLICATE_NAME',
          location: c.source,
          hint: `the other one is at ${where(first.source)}; names are recorded in the ledger, so make them unique`,
        }),
      );
    } else seen.set(c.name, c);
  }
  if (errors.length === 1) throw errors[0]!;
  if (errors.length > 1) throw new DbeeAggregateError(`${errors.length} problems in smoke checks`, errors);
  return checks;
}

function where(loc: ErrorLocation | undefined): string {
  return loc ? `${loc.file}${loc.line ? ':' + loc.line : ''}` : 'baseline';
}

async function yamlChecks(
  text: string,
  path: string,
  engine: Pick<Engine, 'parser' | 'smoke'>,
  searchPath: string[],
): Promise<SmokeCheck[]> {
  const yaml = YamlFile.parse(text, path);
  // An empty file (or one with only comments) holds no checks.
  if (yaml.toJS() == null) return [];
  const doc = yaml.validate(smokeSchemas().smokeFileSchema);
  const errors: DbeeError[] = [];
  const out: SmokeCheck[] = [];
  for (const [i, c] of doc.checks.entries()) {
    const source = yaml.locate(['checks', i]);
    const base = { name: c.name, source, timeoutMs: c.timeout === undefined ? undefined : durationMs(c.timeout) };
    if (c.exists !== undefined) {
      out.push({
        ...base,
        body: { kind: 'exists', keys: (Array.isArray(c.exists) ? c.exists : [c.exists]).map(parseKey) },
      });
      continue;
    }
    const expected = {
      params: (c.args ?? []) as SmokeArg[],
      columns: c.columns ? Object.entries(c.columns) : undefined,
      rows: c.rows,
    };
    try {
      if (c.query !== undefined) {
        const at = yaml.locate(['checks', i, 'query']);
        const statements = await engine.parser.parse(c.query, path, { searchPath }).catch((e: unknown) => {
          throw e instanceof DbeeError
            ? DbeeError.carrying(e.code, `checks.${i}.query: ${e.message}`, { location: at, hint: e.hint })
            : e;
        });
        if (statements.length !== 1) {
          throw new DbeeError(`checks.${i}.query: expected one statement, got ${statements.length}`, {
            code: 'SMOKE_INVALID',
            location: at,
            hint: 'a check runs one statement; split the others into checks of their own',
          });
        }
        assertRunnable(statements[0]!, at, `checks.${i}.query: `);
        out.push({ ...base, body: { kind: 'statement', sql: statements[0]!.sql, ...expected } });
      } else {
        const kind = c.function !== undefined ? 'function' : 'procedure';
        if (!engine.smoke)
          throw new DbeeError('this engine cannot run smoke checks yet', {
            code: 'SMOKE_UNSUPPORTED',
            location: source,
          });
        const sql = engine.smoke.routineCall(kind, (c.function ?? c.procedure)!, expected.params.length);
        out.push({ ...base, body: { kind: 'statement', sql, ...expected } });
      }
    } catch (e) {
      if (!(e instanceof DbeeError)) throw e;
      errors.push(e);
    }
  }
  if (errors.length === 1) throw errors[0]!;
  if (errors.length > 1) throw new DbeeAggregateError(`${path} has ${errors.length} problems`, errors);
  return out;
}

const NAME_COMMENT = /^\s*--\s*name:\s*(.*?)\s*$/;

/** One check per statement; `-- name: ...` on a line before a statement names it, otherwise `file:line`. */
async function sqlChecks(
  text: string,
  path: string,
  parser: SourceParser,
  searchPath: string[],
): Promise<SmokeCheck[]> {
  const statements = await parser.parse(text, path, { searchPath });
  const names = new Map<number, string>();
  text.split('\n').forEach((line, i) => {
    const m = NAME_COMMENT.exec(line);
    if (m && m[1]) names.set(i + 1, m[1]);
  });
  const errors: DbeeError[] = [];
  const out: SmokeCheck[] = [];
  let previousEnd = 0;
  for (const st of statements) {
    const line = st.location.line;
    let name: string | undefined;
    for (const [l, n] of names) if (l > previousEnd && l < line) name = n;
    previousEnd = line + (st.sql.match(/\n/g)?.length ?? 0);
    const source = { file: path, line };
    try {
      assertRunnable(st, { ...source, column: st.location.column }, '');
      out.push({ name: name ?? `${path}:${line}`, source, body: { kind: 'statement', sql: st.sql, params: [] } });
    } catch (e) {
      if (!(e instanceof DbeeError)) throw e;
      errors.push(e);
    }
  }
  if (errors.length === 1) throw errors[0]!;
  if (errors.length > 1) throw new DbeeAggregateError(`${path} has ${errors.length} problems`, errors);
  return out;
}

const TRANSACTION_CONTROL =
  /^\s*(BEGIN|COMMIT|ROLLBACK|END|ABORT|START\s+TRANSACTION|SAVEPOINT|RELEASE|PREPARE\s+TRANSACTION)\b/i;

/** A check's statement must run inside the transaction that dbee rolls back, and must not end it. */
function assertRunnable(st: ParsedStatement, location: ErrorLocation, prefix: string): void {
  const control = TRANSACTION_CONTROL.exec(st.sql);
  if (control) {
    throw new DbeeError(`${prefix}${control[1]!.toUpperCase()} is not allowed in a smoke check`, {
      code: 'SMOKE_INVALID',
      location,
      hint: 'every check runs in a transaction that dbee always rolls back, so that checks change no data; remove the transaction control',
    });
  }
  if (!st.transactional) {
    throw new DbeeError(`${prefix}this statement cannot run inside a transaction, and smoke checks always run in one`, {
      code: 'SMOKE_INVALID',
      location,
      hint: 'smoke checks are rolled back so that they change no data; check something else',
    });
  }
}
