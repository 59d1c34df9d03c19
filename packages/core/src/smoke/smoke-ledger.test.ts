import { describe, expect, it } from 'vitest';
import type { BatchResult, Connection, LedgerDialect, QueryResult } from '../engine/engine';
import { recordSmokeResults } from './smoke-ledger';
import type { SmokeResult } from '../model/smoke-check';

/** A connection that records what it is sent and answers nothing (only writes are sent here). */
function recording(batches: boolean): Connection & { sent: string[][] } {
  const sent: string[][] = [];
  const conn: Connection & { sent: string[][] } = {
    description: 'recording',
    sent,
    async query<Row>(sql: string, params: unknown[] = []): Promise<QueryResult<Row>> {
      sent.push([`${sql} -- ${JSON.stringify(params)}`]);
      return { rows: [] as Row[], rowCount: 0 } as QueryResult<Row>;
    },
    async execute(sql: string) {
      sent.push([sql]);
    },
    async transaction(fn) {
      sent.push(['BEGIN']);
      const r = await fn(conn);
      sent.push(['COMMIT']);
      return r;
    },
    ...(batches
      ? {
          async executeBatch(statements: readonly string[]): Promise<BatchResult> {
            sent.push([...statements]);
            return { completed: statements.length, error: null };
          },
        }
      : {}),
    async close() {},
  };
  return conn;
}

const literal = (v: unknown) =>
  v === null ? 'NULL' : typeof v === 'number' ? String(v) : `'${String(v).replace(/'/g, "''")}'`;
const dialect = (inline: boolean): LedgerDialect => ({
  schema: 'dbee',
  param: (n) => `$${n}`,
  now: 'now()',
  migrations: [],
  ...(inline ? { inline: { literal, markStart: '', startedAt: '', elapsedMs: '' } } : {}),
});

const results: SmokeResult[] = [
  { name: 'baseline: deployed objects exist', source: 'baseline', status: 'passed', durationMs: 3, message: null },
  { name: 'baseline: view s.v1 compiles', source: 'baseline', status: 'passed', durationMs: 1, message: null },
  {
    name: "baseline: view s.it's compiles",
    source: 'baseline',
    status: 'failed',
    durationMs: 2,
    message: 'column "x" does not exist',
  },
];

describe('recordSmokeResults: the smoke results as ledger rows', () => {
  it('where rows can be written inline: every result in one multi-row INSERT, one statement in one round trip', async () => {
    const conn = recording(true);
    await recordSmokeResults(conn, dialect(true), { project: 'shop', environment: 'dev', deploymentId: 7, results });
    expect(conn.sent).toEqual([
      [
        'INSERT INTO dbee.smoke_results (deployment_id, project, environment, check_name, status, duration_ms, message) VALUES ' +
          "(7, 'shop', 'dev', 'baseline: deployed objects exist', 'passed', 3, NULL), " +
          "(7, 'shop', 'dev', 'baseline: view s.v1 compiles', 'passed', 1, NULL), " +
          "(7, 'shop', 'dev', 'baseline: view s.it''s compiles', 'failed', 2, 'column \"x\" does not exist')",
      ],
    ]);
  });

  it('elsewhere: one INSERT with parameters per result, in one transaction', async () => {
    const conn = recording(false);
    await recordSmokeResults(conn, dialect(false), {
      project: 'shop',
      environment: 'dev',
      deploymentId: null,
      results: results.slice(0, 2),
    });
    expect(conn.sent.map((s) => s[0]!.split(' -- ')[0])).toEqual([
      'BEGIN',
      'INSERT INTO dbee.smoke_results (deployment_id, project, environment, check_name, status, duration_ms, message) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      'INSERT INTO dbee.smoke_results (deployment_id, project, environment, check_name, status, duration_ms, message) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      'COMMIT',
    ]);
    expect(conn.sent[1]![0]).toContain(
      JSON.stringify([null, 'shop', 'dev', 'baseline: deployed objects exist', 'passed', 3, null]),
    );
  });
});
