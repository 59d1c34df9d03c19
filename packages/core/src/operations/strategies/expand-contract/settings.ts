import type { ResolvedEnvironment } from '../../../config/resolve';
import { bytesOf, durationMs } from '../../../config/units';
import type { Connection, Engine, ExpandRole } from '../../../engine/engine';
import type { BackfillOptions } from '../../../expand/backfill';
import { versionSchema, type ExpandPlan } from '../../../expand/expand-plan';
import { DEFAULT_LOCK_TIMEOUT_MS } from '../../../expand/lock-retry';
import type { ReleaseStore } from '../../../ledger/release-store';
import type { DeploymentSession } from '../../../runner/session';
import type { OperationContext } from '../../../context/operation-context';
import type { LockWait } from '../../../runner/phase-run';
import { createHash } from 'node:crypto';

/** What the phases need, whichever command runs them. */
export interface Phases {
  ctx: OperationContext;
  engine: Engine;
  expand: ExpandRole;
  environment: ResolvedEnvironment;
  conn: Connection;
  ledger: ReleaseStore;
  lockTimeoutMs: number;
  /** The deployment lock's session: proves the lock before each step. */
  session: DeploymentSession;
  /** Lock timeouts waited out by the phase's statements, recorded with the release after each part of the phase. */
  waits: LockWait[];
}

/** The strategy's lock timeout: `deploy.lockTimeout` of the project or environment, else 500 ms. */
export function strategyLockTimeout(ctx: OperationContext, project: string, environment: ResolvedEnvironment): number {
  const t = ctx.workspace.settings(ctx.workspace.project(project), environment).deploy.lockTimeout;
  return t === undefined ? DEFAULT_LOCK_TIMEOUT_MS : durationMs(t);
}

/**
 * The time a batch of the expand's backfill holds its rows (its UPDATE and commit) that the size adapts toward by
 * default, in milliseconds: shorter than a batched migration's 250 ms, since the old application keeps writing the
 * table during the backfill. An update of a row in the batch being written waits for that batch to commit: over a
 * whole backfill about (writes per second) x (this time) / 2 times, whatever the table's size and the pace (1.25 at
 * 250 writes/s). On this pace the WAL bound below is usually the smaller (docs/zero-downtime.md).
 */
export const EXPAND_TARGET_BATCH_MS = 10;

/** The pause between two batches of the expand's backfill by default, in milliseconds: none beyond the WAL pace's. */
export const EXPAND_PAUSE_MS = 0;

/**
 * The WAL one batch of the expand's backfill may write by default (the size adapts toward it), in bytes. Every commit
 * of the application waits for the WAL written before it to reach the disk; a commit that comes right after a batch
 * flushes that batch's WAL (async batch commits leave it to the next commit or the WAL writer). Measured on 2 shared
 * CPUs and one disk (200,000 rows): the WAL not yet flushed when the old application's UPDATE committed, 99th
 * percentile, was 410-630 kB with batches toward 10 ms and a 30 ms pause, 150-260 kB with this bound.
 */
export const EXPAND_WAL_PER_BATCH = 64 * 1024;

/**
 * The server's WAL per second the expand's backfill keeps to by default, in bytes: about 53k rows/s of a narrow table
 * (zstd full-page images: ~314 bytes of WAL per row) leaving the rest of the disk's flushes to the application. On a
 * 2-CPU machine with one disk, 24 MB/s gave 80k rows/s but the old application's p99 at 1.77x-2.20x its p99 before;
 * 16 MB/s kept it at 1.28x-1.72x (docs/zero-downtime.md, "Measured").
 */
export const EXPAND_WAL_PER_SECOND = 16 * 1024 * 1024;

/** The expand's backfill options: `deploy.backfill` of the project or environment, else the defaults. */
export function strategyBackfill(
  ctx: OperationContext,
  project: string,
  environment: ResolvedEnvironment,
): Pick<
  BackfillOptions,
  'batchSize' | 'maxBatchSize' | 'pauseMs' | 'targetBatchMs' | 'walBytesPerBatch' | 'walBytesPerSecond'
> {
  const b = ctx.workspace.settings(ctx.workspace.project(project), environment).deploy.backfill ?? {};
  return {
    ...(b.batchSize === undefined ? {} : { batchSize: b.batchSize }),
    ...(b.maxBatchSize === undefined ? {} : { maxBatchSize: b.maxBatchSize }),
    pauseMs: b.pause === undefined ? EXPAND_PAUSE_MS : durationMs(b.pause),
    targetBatchMs: b.targetBatch === undefined ? EXPAND_TARGET_BATCH_MS : durationMs(b.targetBatch),
    walBytesPerBatch: b.walPerBatch === undefined ? EXPAND_WAL_PER_BATCH : bytesOf(b.walPerBatch),
    walBytesPerSecond: b.walPerSecond === undefined ? EXPAND_WAL_PER_SECOND : bytesOf(b.walPerSecond),
  };
}

export function names(plan: ExpandPlan, release: string): string {
  return plan.schemas.map((s) => versionSchema(s, release)).join(', ');
}

/** A release's identity in the ledger when it is not a package's: the checksum of its plan. */
export function releaseChecksum(plan: ExpandPlan): string {
  return `sha256:${createHash('sha256').update(JSON.stringify(plan)).digest('hex')}`;
}
