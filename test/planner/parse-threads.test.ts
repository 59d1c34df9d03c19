import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateProject } from '../../tools/bench/generate';
import { loadPostgresParser } from '../../packages/postgres/src/parse/libpg';
import { type ParseOutcome, parseOnThreads } from '../../packages/postgres/src/parse/parse-threads';
import type { ParseJob } from '../../packages/postgres/src/parse/parse-worker';
import { parsePostgresSource, reviveStatements } from '../../packages/postgres/src/parse/postgres-parser';

/**
 * A project's files parsed on worker threads (packages/postgres/src/parse/parse-threads.ts) give what the calling
 * thread alone gives, byte for byte: the generated project's files, the real-schema corpus (test/fixtures/real) and
 * files that do not parse, whose errors keep their message, file, line and column.
 */

const REAL = join(__dirname, '..', 'fixtures', 'real');
const searchPath = ['gen_s0', 'gen_s1', 'public'];
let root: string;
let jobs: ParseJob[];

/** Every `.sql` file under `dir`. */
function sqlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? sqlFiles(p) : p.endsWith('.sql') ? [p] : [];
  });
}

const here = (job: ParseJob): ParseOutcome => {
  try {
    return { statements: parsePostgresSource(job.text, job.file, { searchPath }) };
  } catch (error) {
    return { error };
  }
};

/** An outcome as bytes: the statements as JSON with every lazily computed part computed, or the error's facts. */
function bytes(outcome: ParseOutcome): string {
  if ('error' in outcome) {
    const e = outcome.error as { message: string; code?: string; location?: unknown; hint?: string };
    return JSON.stringify({ message: e.message, code: e.code, location: e.location, hint: e.hint });
  }
  for (const s of outcome.statements) for (const d of s.deferrable ?? []) void [d.addStatement, d.statementWithout];
  return JSON.stringify(outcome.statements);
}

beforeAll(async () => {
  await loadPostgresParser();
  root = mkdtempSync(join(tmpdir(), 'dbee-parse-threads-'));
  generateProject(join(root, 'gen'), { name: 'gen', objects: 1500, schemas: 2 });
  const files = [...sqlFiles(join(root, 'gen')), ...sqlFiles(REAL)];
  jobs = files.map((f) => ({ text: readFileSync(f, 'utf8'), file: relative(root, f) }));
  // Files that do not parse, among the others: a worker's batch holds them.
  jobs.splice(100, 0, {
    text: 'CREATE TABLE gen_s0.ok (id int);\n\nCREATE TABLE gen_s0.bad (id int,);\n',
    file: 'bad.sql',
  });
  jobs.splice(700, 0, { text: 'CREATE VIEW gen_s0.v AS\nSELECT 1\nFROM FROM gen_s0.t;\n', file: 'worse.sql' });
}, 60_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('parsing on worker threads', () => {
  it('gives the calling thread’s statements and errors, byte for byte', async () => {
    const alone = jobs.map(here);
    // This thread waits a little on each file until a worker has answered once, however slowly the workers start:
    // then part of the files are surely the workers'.
    let fromWorkers = 0;
    const slowUntilAnswered = (job: ParseJob) => {
      if (!fromWorkers) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      return here(job);
    };
    const revive = (statements: Parameters<typeof reviveStatements>[0]) => {
      fromWorkers++;
      return reviveStatements(statements);
    };
    const threaded = await parseOnThreads(jobs, searchPath, 2, slowUntilAnswered, revive);
    expect(fromWorkers).toBeGreaterThan(0);
    expect(threaded.length).toBe(alone.length);
    const differing = jobs.filter((_, i) => bytes(threaded[i]!) !== bytes(alone[i]!)).map((j) => j.file);
    expect(differing).toEqual([]);
    // The corpus and the errors were in it.
    expect(jobs.filter((j) => j.file.includes('fixtures')).length).toBeGreaterThan(5);
    // Some of the corpus's dumps do not parse as one file either (psql's commands): the same errors on both.
    const errors = threaded.flatMap((o, i) => ('error' in o ? [`${jobs[i]!.file}: ${bytes(o)}`] : []));
    expect(errors.find((e) => e.startsWith('bad.sql'))).toMatch(
      /^bad\.sql: .*"code":"SQL_SYNTAX","location":\{"file":"bad\.sql","line":3,"column":/,
    );
    expect(errors.find((e) => e.startsWith('worse.sql'))).toMatch(
      /"location":\{"file":"worse\.sql","line":3,"column":6\}/,
    );
  }, 120_000);
});
