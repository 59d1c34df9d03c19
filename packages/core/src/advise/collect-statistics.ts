import type { AppQuery } from '../check/queries';
import type { CollectedStatistics, StatisticsAdviceRole } from '../engine/advise-role';
import type { Connection } from '../engine/engine';
import { queryLabel } from './query-label';

/** A statistic collected longer ago than this is recollected (the statement's own threshold then decides). */
export const STALE_DAYS = 7;

/** One statistic to collect: missing (the optimizer asks for it) or stale (collected too long ago). */
export interface CollectAdvice {
  schema: string;
  table: string;
  columns: string[];
  reason: 'missing' | 'stale';
  /** For a stale one: when it was collected. */
  collectedAt?: string | null;
  /** The optimizer's confidence, for a missing one. */
  confidence?: string;
  /** The queries whose plans asked for it. */
  queries: string[];
  statement: string;
  /** What undoes it, for the rollback script of `--write`'s migration. */
  rollback: string;
}

/** `dbee advise` on an engine that recommends statistics itself (no index advice): `--format json` prints it. */
export interface StatisticsReport {
  project: string;
  environment: string;
  queries: number;
  /** Queries the engine could not explain, with why. */
  skipped: { origin: string; reason: string }[];
  collect: CollectAdvice[];
  /** Statistics of the project's tables collected longer ago than this many days count as stale. */
  staleDays: number;
}

/**
 * Each query explained with the optimizer's recommendations on; a recommended statistic that is not collected is
 * missing; a collected one older than {@link STALE_DAYS} is stale. Every piece of advice is the engine's collect
 * statement (with its recollection threshold).
 */
export async function statisticsAdvice(
  role: StatisticsAdviceRole,
  conn: Connection,
  input: { queries: AppQuery[]; schemas: string[]; searchPath: string[]; now: Date },
): Promise<Omit<StatisticsReport, 'project' | 'environment'>> {
  const collected = await role.collected(conn, input.schemas);
  const key = (s: { schema: string; table: string; columns: string[] }) =>
    `${s.schema}.${s.table}(${[...s.columns]
      .map((c) => c.toUpperCase())
      .sort()
      .join(',')})`.toUpperCase();
  const have = new Map<string, CollectedStatistics>(collected.map((c) => [key(c), c]));
  const advice = new Map<string, CollectAdvice>();
  const skipped: StatisticsReport['skipped'] = [];
  for (const q of input.queries) {
    let recommended: Awaited<ReturnType<StatisticsAdviceRole['recommended']>>;
    try {
      recommended = await role.recommended(conn, q.text, input.searchPath);
    } catch (e) {
      skipped.push({ origin: q.origin, reason: (e as Error).message.split('\n')[0]! });
      continue;
    }
    for (const r of recommended) {
      const k = key(r);
      const entry = advice.get(k) ?? {
        schema: r.schema,
        table: r.table,
        columns: r.columns,
        reason: 'missing' as const,
        confidence: r.confidence,
        queries: [],
        statement: role.collect(r),
        rollback: role.drop(r),
      };
      entry.queries.push(queryLabel(q));
      advice.set(k, entry);
    }
  }
  const old = input.now.getTime() - STALE_DAYS * 86_400_000;
  for (const c of collected) {
    if (!c.columns.length || (c.collectedAt !== null && Date.parse(c.collectedAt) >= old)) continue;
    const k = key(c);
    if (advice.has(k)) continue;
    advice.set(k, { ...c, reason: 'stale', queries: [], statement: role.collect(c), rollback: role.drop(c) });
  }
  for (const [k, a] of advice) if (have.has(k) && a.reason === 'missing') advice.delete(k);
  return { queries: input.queries.length, skipped, collect: [...advice.values()], staleDays: STALE_DAYS };
}

export function formatStatisticsText(r: StatisticsReport): string {
  const out = [`Statistics advice for ${r.project} on ${r.environment}: ${r.queries} queries explained.`];
  out.push('Indexes: not advised on this engine (it has no hypothetical indexes to prove an index with).');
  for (const s of r.skipped) out.push(`  not explained: ${s.origin}: ${s.reason}`);
  out.push('', 'Statistics to collect');
  if (!r.collect.length) out.push('  none');
  for (const c of r.collect) {
    const why =
      c.reason === 'missing'
        ? `missing (${c.confidence}), asked for by ${c.queries.join(', ')}`
        : `stale: collected ${c.collectedAt ?? 'never'}, over ${r.staleDays} days ago`;
    out.push(`  ${c.statement}`, `    ${why}`);
  }
  return out.join('\n') + '\n';
}
