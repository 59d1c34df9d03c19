import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ExitCode } from '../errors';
import { formatDuration } from '../runner/reporter';
import type { PlanOrigin, TargetPlan } from '../context/fleet-plans';
import type { OperationContext } from '../context/operation-context';
import type { TargetRun } from './run-target';

/** Current format of a fleet's `--report`. */
export const FLEET_REPORT_FORMAT_VERSION = 1;

/**
 * What happened on one target: the outcome of its deployment as `deploy` reports it (`succeeded`, `unchanged`: it
 * was at the release already, `failed`, `rolled-back`, `refused`, `dry-run`), `drifted` when it was refused because
 * objects changed outside dbee since its last deployment (diffing/drift.ts: the conflict strategy refused them), or
 * `not-run` when the fleet stopped before starting it.
 */
export type TargetResult =
  | 'succeeded'
  | 'unchanged'
  | 'failed'
  | 'rolled-back'
  | 'refused'
  | 'drifted'
  | 'dry-run'
  | 'not-run';

/** One target's line of the fleet report. */
export interface FleetTargetReport {
  target: string;
  labels: Record<string, string>;
  /** 1: the canary wave, 2: the rest. */
  wave: 1 | 2;
  result: TargetResult;
  exitCode: number | null;
  /** Secret-free description of the database. */
  database: string | null;
  /** The ledger ids of the deployments this run opened on the target (one per project). */
  deploymentIds: number[];
  durationMs: number;
  steps: { applied: number; total: number };
  error: { code: string; message: string } | null;
  /**
   * Where its plan came from: `built` for it, `reused` from a target in the same live `state`, or `package` (a
   * release package, deployed as is); null when it stopped before planning.
   */
  plan: TargetPlan | null;
}

/** What a fleet's `--report <file>` writes: JSON at `<file>`, Markdown beside it (`.md`). */
export interface FleetReport {
  formatVersion: typeof FLEET_REPORT_FORMAT_VERSION;
  /** `deploy`, or `rollback` (no canary: every target is in wave 2, and no plan is counted). */
  command: 'deploy' | 'rollback';
  fleet: string;
  project: string;
  shard: { index: number; count: number } | null;
  policy: { canary: number; concurrency: number; maxFailures: number; labels: string | null };
  startedAt: string;
  durationMs: number;
  /** Why scheduling stopped before every target was started; null when none was left out. */
  stopped: string | null;
  exitCode: number;
  counts: Record<TargetResult, number>;
  /** Plans built (one per distinct live state of the targets) and reused, and targets deployed from a package. */
  plans: PlanCounts;
  targets: FleetTargetReport[];
}

/** How many targets built their plan, reused one, or deployed a package. */
export type PlanCounts = Record<PlanOrigin, number>;

export function countPlans(targets: readonly FleetTargetReport[]): PlanCounts {
  const counts: PlanCounts = { built: 0, reused: 0, package: 0 };
  for (const t of targets) if (t.plan) counts[t.plan.origin]++;
  return counts;
}

/** `plans: 2 built for 6 targets (4 reused)`, or what a package did. */
export function plansLine(p: PlanCounts): string {
  const planned = p.built + p.reused;
  const parts = [];
  if (planned)
    parts.push(
      `${p.built} built for ${planned} target${planned === 1 ? '' : 's'}${p.reused ? ` (${p.reused} reused: one plan per live state)` : ''}`,
    );
  if (p.package) parts.push(`${p.package} target${p.package === 1 ? '' : 's'} deployed the package as is`);
  return `plans: ${parts.join('; ') || 'none'}`;
}

export function countResults(targets: readonly FleetTargetReport[]): Record<TargetResult, number> {
  const counts: Record<TargetResult, number> = {
    succeeded: 0,
    unchanged: 0,
    failed: 0,
    'rolled-back': 0,
    refused: 0,
    drifted: 0,
    'dry-run': 0,
    'not-run': 0,
  };
  for (const t of targets) counts[t.result]++;
  return counts;
}

/** The report of a fleet's run from its targets' lines: the counts of results and plans added. */
export function fleetReport(
  fields: Omit<FleetReport, 'formatVersion' | 'counts' | 'plans' | 'startedAt'> & { startedAt: Date },
): FleetReport {
  return {
    formatVersion: FLEET_REPORT_FORMAT_VERSION,
    ...fields,
    startedAt: fields.startedAt.toISOString(),
    counts: countResults(fields.targets),
    plans: countPlans(fields.targets),
  };
}

/** `--report <file>` of a fleet's run: written (JSON and Markdown, `writeFleetReport`) and said. */
export function saveFleetReport(ctx: OperationContext, file: string, report: FleetReport): void {
  const written = writeFleetReport(resolve(ctx.workspace.root, file), report);
  ctx.reporter.info(`report written to ${written.json} and ${written.markdown}`);
}

/** JSON at `path`, Markdown at the same path with `.md` (or, for a path ending in `.md`, JSON at `.json`). */
export function writeFleetReport(path: string, report: FleetReport): { json: string; markdown: string } {
  const stem = path.replace(/\.(json|md)$/i, '');
  const json = /\.md$/i.test(path) ? `${stem}.json` : path;
  const markdown = `${stem}.md`;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(json, JSON.stringify(report, null, 2) + '\n');
  writeFileSync(markdown, fleetMarkdown(report));
  return { json, markdown };
}

/** The report as a Markdown page: a summary line, then one table row per target. */
export function fleetMarkdown(r: FleetReport): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const counts = Object.entries(r.counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  const lines = [
    `# dbee ${r.command} ${r.project} ${r.command === 'rollback' ? 'on' : 'to'} fleet ${r.fleet}${r.shard ? ` (shard ${r.shard.index}/${r.shard.count})` : ''}`,
    '',
    `- started: ${r.startedAt}, took ${formatDuration(r.durationMs)}`,
    `- policy: canary ${r.policy.canary}, concurrency ${r.policy.concurrency}, max failures ${r.policy.maxFailures}${r.policy.labels ? `, labels ${r.policy.labels}` : ''}`,
    `- targets: ${r.targets.length} (${counts || 'none'})`,
    `- ${plansLine(r.plans)}`,
    `- ${r.stopped ? `stopped: ${r.stopped}` : 'every target was started'}; exit code ${r.exitCode}`,
    '',
    '| target | wave | result | deployment | duration | steps | plan | error |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...r.targets.map((t) => {
      const deployments = t.deploymentIds.map((id) => '#' + id).join(', ') || '-';
      const duration = t.result === 'not-run' ? '-' : formatDuration(t.durationMs);
      const error = t.error ? cell(`${t.error.code}: ${t.error.message}`) : '';
      const plan = t.plan ? `${t.plan.origin}${t.plan.state ? ` ${t.plan.state}` : ''}` : '-';
      return `| ${cell(t.target)} | ${t.wave === 1 ? 'canary' : '2'} | ${t.result} | ${deployments} | ${duration} | ${t.steps.applied}/${t.steps.total} | ${plan} | ${error} |`;
    }),
  ];
  return lines.join('\n') + '\n';
}

/** The lines a fleet deployment prints at its end. */
export function printFleetSummary(out: NodeJS.WritableStream, r: FleetReport): void {
  const failed = r.targets.filter((t) => ['failed', 'rolled-back', 'refused', 'drifted'].includes(t.result));
  const counts = Object.entries(r.counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  out.write(
    `fleet ${r.fleet}${r.shard ? ` shard ${r.shard.index}/${r.shard.count}` : ''}: ${r.targets.length} target${r.targets.length === 1 ? '' : 's'}: ${counts || 'none'}\n`,
  );
  out.write(`  ${plansLine(r.plans)}\n`);
  for (const t of failed)
    out.write(`  ${t.result}: ${t.target}${t.error ? `: ${t.error.message.split('\n')[0]}` : ''}\n`);
  if (r.stopped)
    out.write(
      `  stopped: ${r.stopped}; ${r.counts['not-run']} target${r.counts['not-run'] === 1 ? '' : 's'} not started\n`,
    );
  out.write(`  exit ${r.exitCode}\n`);
}

/** One target's line of the report, from how its run ended (`runOnTarget` with `withReport`). */
export function targetReport(
  target: string,
  labels: Record<string, string>,
  wave: 1 | 2,
  run: TargetRun | null,
  plan: TargetPlan | undefined,
): FleetTargetReport {
  if (!run)
    return {
      target,
      labels,
      wave,
      result: 'not-run',
      exitCode: null,
      database: null,
      deploymentIds: [],
      durationMs: 0,
      steps: { applied: 0, total: 0 },
      error: null,
      plan: null,
    };
  const r = run.report;
  const result: TargetResult = r
    ? r.status === 'refused' && run.exitCode === 0
      ? 'unchanged'
      : r.status
    : run.exitCode === 0
      ? 'succeeded'
      : 'refused';
  return {
    target,
    labels,
    wave,
    result:
      run.exitCode === ExitCode.smokeFailed && result === 'succeeded'
        ? 'failed'
        : result === 'refused' && run.error?.code === 'DRIFT'
          ? 'drifted'
          : result,
    exitCode: run.exitCode,
    database: r?.database ?? null,
    deploymentIds: (r?.projects ?? []).flatMap((p) => (p.deploymentId === null ? [] : [p.deploymentId])),
    durationMs: run.durationMs,
    steps: {
      applied: (r?.projects ?? []).reduce((a, p) => a + p.stepsApplied, 0),
      total: (r?.projects ?? []).reduce((a, p) => a + p.stepsTotal, 0),
    },
    error: run.error,
    plan: plan ?? null,
  };
}
