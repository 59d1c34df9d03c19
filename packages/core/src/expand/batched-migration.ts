import type { BackfillRole } from '../engine/backfill-role';
import type { Connection, LedgerDialect } from '../engine/engine';
import { DbeeError, ExitCode } from '../errors';
import type { BatchedMigration } from '../plan/plan';
import { parseBatchedUpdate } from '../planner/batched-update';
import { type BackfillProgress, formatBackfillProgress, runBackfill } from './backfill';

export { BATCHED_HEADER, type BatchedUpdate, batchedHeader, parseBatchedUpdate } from '../planner/batched-update';

/** What `runBatchedUpdate` reports: each backfill's progress, and one line when each ends. */
export interface BatchedRunReporter {
  progress?(statement: number, table: string, progress: BackfillProgress): void;
  info?(message: string): void;
}

/** What `runBatchedUpdate` takes (a batched migration's step, as the runner sends it). */
export interface BatchedRunInput {
  idPrefix: string;
  project?: string;
  location: { file: string; line: number };
  options: BatchedMigration;
  reporter?: BatchedRunReporter;
  progressEveryMs?: number;
  /** Lock timeout of each batch, in milliseconds; default `withLockRetry`'s (500 ms). */
  lockTimeoutMs?: number;
  ledgerSchema?: string;
  /** The ledger's dialect: the first backfill creates its `backfills` table (see `BackfillOptions.ledger`). */
  ledger?: LedgerDialect;
}

/**
 * Run statement `i` of a batched migration (`sql`, one UPDATE) through `runBackfill` under the id `<idPrefix>#<i + 1>`:
 * the runner sends a batched migration's statements one by one through this, in its one statement loop.
 */
export async function runBatchedUpdate(
  role: BackfillRole,
  connection: Connection,
  input: BatchedRunInput,
  i: number,
  sql: string,
): Promise<void> {
  const update = parseBatchedUpdate(sql, input.location);
  const table = await role.resolveTable(connection, update.table);
  if (!table) {
    throw new DbeeError(`batched migration: table ${update.table} does not exist`, {
      code: 'BACKFILL_NO_TABLE',
      exitCode: ExitCode.applyFailed,
      location: input.location,
      hint: 'check the table name (and the search path of the project)',
    });
  }
  const name = `${table.schema}.${table.name}`;
  let shown = 0;
  const every = input.progressEveryMs ?? 2000;
  const id = `${input.idPrefix}#${i + 1}`;
  const result = await runBackfill(
    role,
    connection,
    {
      id,
      project: input.project,
      table: { schema: table.schema, name: table.name },
      set: update.set,
      ...(update.where ? { where: update.where } : {}),
    },
    {
      ...(input.options.batchSize ? { batchSize: input.options.batchSize } : {}),
      ...(input.options.maxBatchSize ? { maxBatchSize: input.options.maxBatchSize } : {}),
      ...(input.options.pauseMs !== undefined ? { pauseMs: input.options.pauseMs } : {}),
      ...(input.options.targetBatchMs !== undefined ? { targetBatchMs: input.options.targetBatchMs } : {}),
      ledgerSchema: input.ledgerSchema,
      ...(input.ledger ? { ledger: input.ledger } : {}),
      ...(input.lockTimeoutMs !== undefined ? { lock: { lockTimeoutMs: input.lockTimeoutMs } } : {}),
      onProgress: (p) => {
        input.reporter?.progress?.(i + 1, name, p);
        const now = Date.now();
        if (now - shown >= every && p.done < p.total) {
          shown = now;
          input.reporter?.info?.(`  backfill ${name}: ${formatBackfillProgress(p)}`);
        }
      },
    },
  ).catch((e: unknown) => {
    if (!(e instanceof DbeeError) || e.code !== 'BACKFILL_CHANGED') throw e;
    // The statement was edited after some of its batches committed (a failed or killed run): say what to do here.
    throw new DbeeError(
      `batched migration: statement ${i + 1} changed after some of its batches ran with the earlier text (${e.details.differs ? (e.details.differs as string[]).join(', ') : 'its definition'} differs)`,
      {
        code: 'BACKFILL_CHANGED',
        location: input.location,
        hint: `restore the earlier text to resume it, or start it over (the rows already done are updated again): DELETE FROM ${input.ledgerSchema ?? 'dbee'}.backfills WHERE id = '${id.replace(/'/g, "''")}'`,
        details: e.details,
        cause: e,
      },
    );
  });
  input.reporter?.info?.(
    result.alreadyDone
      ? `  backfill ${name}: already done (${result.done.toLocaleString('en-US')} rows)`
      : `  backfill ${name}: ${result.done.toLocaleString('en-US')} rows${result.resumed ? ' (resumed)' : ''}, ${result.rowsPerSecond.toLocaleString('en-US')} rows/s`,
  );
}
