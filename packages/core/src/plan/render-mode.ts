import { durationMs } from '../config/units';
import type { DeploySettings } from '../config/schema';
import { backupStamp } from './backup-stamp';

/** How long a step of a `safeRewrites` plan waits for its lock when `deploy.lockTimeout` does not say. */
export const SAFE_LOCK_TIMEOUT_MS = 5_000;

/** How changes are rendered into steps: the deploy settings that shape the SQL of a plan (`Engine.diff.renderChanges`). */
export interface RenderMode {
  /** Indexes built and dropped `CONCURRENTLY`, outside a transaction (`deploy.online`). */
  online: boolean;
  /**
   * The safe rewrites (`deploy.safeRewrites`, `--safe`): everything `online` does on existing tables, constraints
   * validated in a later step, `SET NOT NULL` through a validated check, and a lock timeout at the start of every
   * step. Absent: none of them.
   */
  safe?: { lockTimeoutMs: number };
  /**
   * `deploy.keepDroppedColumns`: a dropped column's values are kept, with the table's primary key, in a backup table
   * (named with `stamp`, the UTC time of planning) that the step's reverse restores them from. Absent: dropped.
   */
  keepDroppedColumns?: { stamp: string };
}

/**
 * The render mode of a project's deploy settings; `safe` (the `--safe` flag) turns the safe rewrites on whatever the
 * settings say. The lock timeout of a safe plan is `deploy.lockTimeout`, else {@link SAFE_LOCK_TIMEOUT_MS}.
 */
export function renderMode(settings: DeploySettings, safe?: boolean, now = new Date()): RenderMode {
  const online = settings.online ?? false;
  const kept = settings.keepDroppedColumns ? { keepDroppedColumns: { stamp: backupStamp(now) } } : {};
  if (!(safe || settings.safeRewrites)) return { online, ...kept };
  const set = settings.lockTimeout === undefined ? 0 : durationMs(settings.lockTimeout);
  return { online, safe: { lockTimeoutMs: set > 0 ? set : SAFE_LOCK_TIMEOUT_MS }, ...kept };
}
