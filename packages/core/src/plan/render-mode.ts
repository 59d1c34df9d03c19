import { durationMs, type DeploySettings } from '../config/schema';

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
}

/**
 * The render mode of a project's deploy settings; `safe` (the `--safe` flag) turns the safe rewrites on whatever the
 * settings say. The lock timeout of a safe plan is `deploy.lockTimeout`, else {@link SAFE_LOCK_TIMEOUT_MS}.
 */
export function renderMode(settings: DeploySettings, safe?: boolean): RenderMode {
  const online = settings.online ?? false;
  if (!(safe || settings.safeRewrites)) return { online };
  const set = settings.lockTimeout === undefined ? 0 : durationMs(settings.lockTimeout);
  return { online, safe: { lockTimeoutMs: set > 0 ? set : SAFE_LOCK_TIMEOUT_MS } };
}
