import type { AdviseTable, IndexShape } from '../engine/advise-role';
import type { RedundantIndex, UnusedIndex } from './existing-indexes';
import type { AdviseThresholds, CostChange, IndexAdvice } from './missing-indexes';
import type { ReleaseAdvice } from './release';
import { queryLabel } from './query-label';
import type { ExtendedStatisticsAdvice, StaleTable } from './statistics';

/** Everything `dbee advise` found, as `--format json` prints it. */
export interface AdviseReport {
  project: string;
  environment: string;
  thresholds: AdviseThresholds;
  workload: {
    /** Queries of the project's tables, from the sources read. */
    queries: number;
    /** Queries of the sources that name none of the project's tables, left out. */
    others: number;
    /** Queries past the cost and calls floors, for which indexes were sought. */
    considered: number;
    skipped: { origin: string; reason: string }[];
  };
  /** Whether hypothetical indexes proved the index advice, or why not. */
  proof: { hypothetical: true } | { hypothetical: false; reason: string };
  missingIndexes: (IndexAdvice & { statement: string; tableRows: number })[];
  /** Without hypothetical indexes: the candidates, none of them proven. */
  unprovenCandidates: IndexShape[];
  redundantIndexes: RedundantIndex[];
  unusedIndexes: UnusedIndex[];
  /** When the usage counters start (ISO time), null when the server never reset them. */
  statsSince: string | null;
  release: ReleaseAdvice;
  statistics: {
    stale: (StaleTable & { statement: string })[];
    extended: (ExtendedStatisticsAdvice & { statement: string; rollback: string; analyze: string })[];
  };
}

const pct = (c: CostChange) => `${Math.round((1 - c.after / c.before) * 100)}%`;
const cost = (n: number) => n.toFixed(1);
const tableOf = (t: AdviseTable) => `${t.schema}.${t.name}`;

/** The report for people: one section per kind of advice, each item with its evidence. */
export function formatAdviseText(r: AdviseReport): string {
  const out: string[] = [];
  const t = r.thresholds;
  out.push(
    `Advice for ${r.project} on ${r.environment}: ${r.workload.queries} queries of its tables (${r.workload.others} others left out), ${r.workload.considered} with a generic plan costing at least ${t.minCost}${t.minCalls ? ` and ${t.minCalls} calls` : ''}.`,
  );
  for (const s of r.workload.skipped) out.push(`  not planned: ${s.origin}: ${s.reason}`);
  out.push('', 'Missing indexes');
  if (!r.proof.hypothetical) {
    out.push(`  UNPROVEN: ${r.proof.reason}.`);
    out.push('  Candidates (columns the workload filters, joins or sorts on; no cost was compared):');
    for (const c of r.unprovenCandidates) out.push(`    ${c.schema}.${c.table} (${c.columns.join(', ')})`);
    if (!r.unprovenCandidates.length) out.push('    none');
  } else if (!r.missingIndexes.length) {
    out.push(`  none: no candidate cut a query's cost by ${t.minSavingsPct}% or more`);
  }
  for (const m of r.missingIndexes) {
    const [first, ...rest] = m.statement.split(';\n');
    out.push(`  ${first}`);
    if (rest.length)
      out.push(
        `    then on each of its ${rest.length / 2} partitions: its own index CONCURRENTLY and ALTER INDEX ... ATTACH PARTITION (--format json and --write give every statement)`,
      );
    for (const q of m.queries)
      out.push(`    ${queryLabel(q)}: cost ${cost(q.before)} -> ${cost(q.after)} (-${pct(q)})`);
  }
  out.push('', 'Redundant indexes');
  if (!r.redundantIndexes.length) out.push('  none');
  for (const x of r.redundantIndexes)
    out.push(
      `  ${x.index.schema}.${x.index.name}: ${x.reason === 'duplicate' ? 'the same as' : 'a prefix of'} ${x.coveredBy}`,
    );
  out.push('', `Unused indexes (no scans since ${r.statsSince ?? 'the server started (counters never reset)'})`);
  if (!r.unusedIndexes.length) out.push('  none');
  for (const u of r.unusedIndexes)
    out.push(
      `  ${u.index.schema}.${u.index.name} (${u.index.bytes} bytes)${u.usedByPlans.length ? `: but the plan of ${u.usedByPlans.join(', ')} uses it` : ''}`,
    );
  if (r.unusedIndexes.length)
    out.push("  These counters are this server's: a replica keeps its own, check its scans before dropping one.");
  out.push('', `The release (${r.release.steps} step(s))`);
  for (const g of r.release.regressions)
    out.push(`  plan gets worse: ${queryLabel(g)}: cost ${cost(g.before)} -> ${cost(g.after)}`);
  for (const u of r.release.unproven) out.push(`  UNPROVEN: ${u}`);
  for (const fk of r.release.foreignKeysWithoutIndex)
    out.push(
      `  foreign key without an index${fk.release ? ' (added by the release)' : ''}: ${fk.schema}.${fk.table}.${fk.name} (${fk.columns.join(', ')})`,
    );
  for (const a of r.release.analyzeAfter) out.push(`  after ${a.step}: ${a.statement}`);
  if (
    !r.release.regressions.length &&
    !r.release.unproven.length &&
    !r.release.foreignKeysWithoutIndex.length &&
    !r.release.analyzeAfter.length
  )
    out.push('  nothing to say');
  out.push('', 'Statistics');
  for (const s of r.statistics.stale)
    out.push(
      `  stale: ${tableOf(s.table)}: ${s.table.modifiedSinceAnalyze} rows changed since ${s.table.lastAnalyzed ?? 'never analyzed'} (about ${s.table.rows} rows): ${s.statement}`,
    );
  for (const e of r.statistics.extended) out.push(`  ${e.statement}\n    filtered together by ${e.queries.join(', ')}`);
  if (!r.statistics.stale.length && !r.statistics.extended.length) out.push('  nothing to say');
  return out.join('\n') + '\n';
}
