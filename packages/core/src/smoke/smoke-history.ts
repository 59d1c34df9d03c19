import type { Connection, LedgerDialect } from '../engine/engine';

/** One smoke result as the ledger keeps it (`smoke_results`). */
export interface SmokeHistoryRow {
  deploymentId: number | null;
  check: string;
  status: string;
  durationMs: number;
  message: string | null;
}

function names(dialect: LedgerDialect) {
  const q = (n: string) => (dialect.quote ? dialect.quote(n) : n);
  return { q, table: `${dialect.schema}.${q('smoke_results')}` };
}

function row(r: Record<string, unknown>): SmokeHistoryRow {
  return {
    deploymentId: r.deployment_id === null || r.deployment_id === undefined ? null : Number(r.deployment_id),
    check: String(r.check_name),
    status: String(r.status),
    durationMs: Number(r.duration_ms),
    message: (r.message as string | null) ?? null,
  };
}

/** The smoke results recorded for these deployments (the checks run right after each), in the order they ran. */
export async function smokeResultsOf(
  conn: Connection,
  dialect: LedgerDialect,
  deploymentIds: readonly number[],
): Promise<SmokeHistoryRow[]> {
  if (!deploymentIds.length) return [];
  const { q, table } = names(dialect);
  const r = await conn.query<Record<string, unknown>>(
    `SELECT ${['deployment_id', 'check_name', 'status', 'duration_ms', 'message'].map(q).join(', ')} FROM ${table}
      WHERE ${q('deployment_id')} IN (${deploymentIds.map((_, i) => dialect.param(i + 1)).join(', ')}) ORDER BY ${q('id')}`,
    [...deploymentIds],
  );
  return r.rows.map(row);
}

/**
 * The durations (ms) of the last `runs` successful runs of each named check of a project on an environment (any run:
 * after a deployment or by `smoke-test`), newest first.
 * One query; read before this run's results are recorded.
 */
export async function recentSmokeDurations(
  conn: Connection,
  dialect: LedgerDialect,
  input: { project: string; environment: string; runs: number },
): Promise<Map<string, number[]>> {
  const { q, table } = names(dialect);
  const r = await conn.query<Record<string, unknown>>(
    `SELECT ${['deployment_id', 'check_name', 'status', 'duration_ms', 'message'].map(q).join(', ')} FROM ${table}
      WHERE ${q('project')} = ${dialect.param(1)} AND ${q('environment')} = ${dialect.param(2)} AND ${q('status')} = ${dialect.param(3)}
      ORDER BY ${q('id')} DESC`,
    [input.project, input.environment, 'passed'],
  );
  const out = new Map<string, number[]>();
  for (const h of r.rows.map(row)) {
    const list = out.get(h.check) ?? [];
    if (list.length < input.runs) list.push(h.durationMs);
    out.set(h.check, list);
  }
  return out;
}
