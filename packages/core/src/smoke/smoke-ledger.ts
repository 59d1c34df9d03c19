import type { Connection, LedgerDialect } from '../engine/engine';
import { deploymentSummary, type DeploymentRow } from '../ledger/ledger';
import { openLedger } from '../ledger/open-ledger';
import type { SmokeCheck, SmokeResult } from '../model/smoke-check';

/**
 * Store smoke results in the ledger's `smoke_results` table, in one transaction: where the ledger's rows can be written
 * inline, all of them by one multi-row INSERT (one statement, however many checks the baseline ran), sent with the
 * closing row of the deployment they verify when this session has it open (`Ledger.withClosingRow`), else in a round
 * trip of its own; otherwise one INSERT per result. The ledger must exist (`Ledger.ensure`); `deploymentId` is the deployment they verify,
 * or null when the project was never deployed.
 */
export async function recordSmokeResults(
  conn: Connection,
  dialect: LedgerDialect,
  run: { project: string; environment: string; deploymentId: number | null; results: SmokeResult[] },
): Promise<void> {
  if (run.results.length === 0) return;
  const p = (n: number) => dialect.param(n);
  const ledger = openLedger(conn, dialect);
  const insert = `INSERT INTO ${dialect.schema}.smoke_results (deployment_id, project, environment, check_name, status, duration_ms, message) VALUES`;
  const tuple = `(${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, ${p(7)})`;
  const rows = run.results.map((r) => ({
    sql: tuple,
    params: [run.deploymentId, run.project, run.environment, r.name, r.status, r.durationMs, r.message],
    table: 'smoke_results',
  }));
  if (ledger.batch.inlines && conn.executeBatch) {
    // One statement: every row in one VALUES list, as literals (`Ledger.inline`). Results of a deployment that this
    // session opened and has not closed go with its closing row, in its request and transaction; else on their own.
    const write = {
      sql: `${insert} ${rows.map((row) => ledger.batch.inline(row)).join(', ')}`,
      params: [],
      table: 'smoke_results',
    };
    if (run.deploymentId !== null && ledger.deployments.withClosingRow(run.deploymentId, [write])) return;
    await conn.execute(write.sql);
    return;
  }
  const writes = rows.map((row) => ({ ...row, sql: `${insert} ${row.sql}` }));
  await conn.transaction((tx) => ledger.batch.run(writes, tx));
}

/**
 * Record with a deployment the smoke checks that verify the state it leaves, as they ran (placeholders expanded),
 * in its summary (`smokeChecks`; kept when the deployment finishes). `deploy` calls it with the checks it ran (the
 * working tree's or the package's), a rollback with the checks of the state it went back to: a later rollback to
 * that state runs them (`recordedSmokeChecks`), not the working tree's. The ledger must exist.
 */
export async function recordSmokeChecks(
  conn: Connection,
  dialect: LedgerDialect,
  deploymentId: number,
  checks: readonly SmokeCheck[],
): Promise<void> {
  // A plain JSON copy: what is stored is exactly what a later run reads back.
  await openLedger(conn, dialect).deployments.updateSummary(deploymentId, {
    smokeChecks: JSON.parse(JSON.stringify(checks)) as SmokeCheck[],
  });
}

/**
 * The smoke checks of the state a project was in just before deployment `before` started: those recorded with the
 * newest earlier deployment of `history` (the project's deployments on one environment, any order) that left its
 * state in place (`rolled-back` ones did not) and recorded checks. Null when none did (a ledger older than the
 * record, or deployments that ran no smoke checks).
 */
export function recordedSmokeChecks(
  history: readonly DeploymentRow[],
  before: number,
): { deploymentId: number; checks: SmokeCheck[] } | null {
  const earlier = history.filter((d) => d.id < before && d.status !== 'rolled-back').sort((a, b) => b.id - a.id);
  for (const d of earlier) {
    const summary = deploymentSummary(d);
    if (Array.isArray(summary.smokeChecks)) return { deploymentId: d.id, checks: summary.smokeChecks };
  }
  return null;
}
