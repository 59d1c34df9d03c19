import { openLedger } from '../../../ledger/open-ledger';
import type { Connection, Engine } from '../../../engine/engine';
import { formatBackfillProgress, type BackfillState } from '../../../expand/backfill';
import { inFlightOf, isInFlight, type InFlight } from '../../../expand/in-flight';

import type { StrategyStatus } from '../strategy';

/** The release in flight and its backfills, for `dbee status`. */
export interface ExpandStatus {
  release: string;
  previous: string;
  phase: string;
  startedAt: string;
  lockRetries: number;
  changes: string[];
  backfills: { table: string; done: number; total: number; status: string; rowsPerSecond?: number; etaMs?: number }[];
  /** What the release holds while it is in flight (`expand/in-flight.ts`, as `diff` names it); null once it ended. */
  inFlight: InFlight | null;
}

/**
 * What `status` shows of the strategy: the release in flight, else the last one, with the progress of its backfills
 * (among `backfills`, the project's as `status` read them).
 */
export async function expandStatus(
  conn: Connection,
  engine: Engine,
  project: string,
  backfills: readonly BackfillState[],
): Promise<ExpandStatus | null> {
  if (!engine.expand) return null;
  const ledger = openLedger(conn, engine.ledger).releases;
  const r = (await ledger.inFlight(project)) ?? (await ledger.latest(project));
  if (!r) return null;
  const prefix = `${project}:expand-${r.id}:`;
  return {
    release: r.release,
    previous: r.previous,
    phase: r.phase,
    startedAt: r.startedAt,
    lockRetries: r.lockRetries,
    changes: r.plan.summary,
    inFlight: isInFlight(r.phase) ? inFlightOf(r) : null,
    backfills: backfills
      .filter((s) => s.id.startsWith(prefix))
      .map((s) => ({
        table: `${s.table.schema}.${s.table.name}`,
        done: s.done,
        total: s.total,
        status: s.status,
        ...(s.rowsPerSecond !== undefined ? { rowsPerSecond: s.rowsPerSecond } : {}),
        ...(s.etaMs !== undefined ? { etaMs: s.etaMs } : {}),
      })),
  };
}

/** `dbee status`'s part of the strategy: `expand` in the JSON output. */
export const EXPAND_STATUS: StrategyStatus = {
  key: 'expand',
  read: async (conn, engine, project, backfills) => {
    const s = await expandStatus(conn, engine, project, backfills);
    return s && { json: s, lines: formatExpandStatus(s) };
  },
};

/** Text lines of `expandStatus` for `dbee status`. */
export function formatExpandStatus(s: ExpandStatus): string[] {
  const lines = [`expand-contract: release ${s.release} (after ${s.previous}) ${s.phase}, since ${s.startedAt}`];
  for (const c of s.changes) lines.push(`  ${c}`);
  for (const b of s.backfills)
    lines.push(
      `  backfill ${b.table}: ${b.status === 'done' ? `done, ${b.done.toLocaleString('en-US')} rows` : formatBackfillProgress({ done: b.done, total: b.total, rowsPerSecond: b.rowsPerSecond ?? 0, etaMs: b.etaMs })}`,
    );
  if (s.lockRetries) lines.push(`  lock waits retried: ${s.lockRetries}`);
  return lines;
}
