import type { Connection, LedgerDialect } from '../engine/engine';
import type { SmokeResult } from './smoke-check';

/**
 * Store smoke results in the ledger's `smoke_results` table, in one transaction. The ledger must exist
 * (`Ledger.ensure`); `deploymentId` is the deployment they verify, or null when the project was never deployed.
 */
export async function recordSmokeResults(
  conn: Connection,
  dialect: LedgerDialect,
  run: { project: string; environment: string; deploymentId: number | null; results: SmokeResult[] },
): Promise<void> {
  if (run.results.length === 0) return;
  const p = (n: number) => dialect.param(n);
  await conn.transaction(async (tx) => {
    for (const r of run.results) {
      await tx.query(
        `INSERT INTO ${dialect.schema}.smoke_results (deployment_id, project, environment, check_name, status, duration_ms, message)
         VALUES (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, ${p(7)})`,
        [run.deploymentId, run.project, run.environment, r.name, r.status, r.durationMs, r.message],
      );
    }
  });
}
