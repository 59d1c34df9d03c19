import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DbeeError } from '../errors';
import type { RewrittenObject } from '../ledger/types';
import type { ProjectRunResult, StepResult } from '../runner/runner';
import { formatDuration } from '../runner/reporter';

/** Current format of `deploy --report <file>`. */
export const REPORT_FORMAT_VERSION = 1;

/** What `deploy --report <file>` writes (JSON), and what the summary prints. */
export interface DeployReport {
  formatVersion: typeof REPORT_FORMAT_VERSION;
  tool: { name: 'dbee'; version: string };
  environment: string;
  /** Secret-free description of the database, e.g. `postgres://app@db:5432/sales`. */
  database: string | null;
  /** Projects in deployment order. */
  planned: string[];
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /**
   * `succeeded`, `unchanged` (nothing to do), `failed` (a step failed), `rolled-back` (failed and undone),
   * `refused` (stopped before anything ran: configuration, conflict, gate, lock), `dry-run`.
   */
  status: 'succeeded' | 'unchanged' | 'failed' | 'rolled-back' | 'refused' | 'dry-run';
  exitCode: number;
  who: { osUser: string; host: string; ciJob: string | null };
  source: { commit: string | null; package: string | null; planChecksum: string | null };
  /** The change ticket it ran under (`--ticket`), or null. */
  ticket: string | null;
  transaction: string;
  projects: (Omit<ProjectRunResult, 'error'> & { error?: { code: string; message: string } })[];
  steps: StepResult[];
  /** Renamed-aside objects kept by this run. */
  backups: string[];
  /** Objects that existed unknown to the ledger and were left as they were (`ifExists: skip`), e.g. `view:sales.v`. */
  skipped: string[];
  /** Smoke checks after deploying: `not run` until they exist. */
  smoke: string;
  /** Deployments found still `running` from a process that died, marked `interrupted`. */
  interrupted: number[];
  /**
   * A phase of an expand-contract release (`expand`, `complete`, `abort`), or `disable` / `enable` / `rollback` for
   * those commands; absent for a direct deployment.
   */
  phase?: string;
  /**
   * `--objects`/`--objects-from`: the globs asked for, the steps' objects deployed (`needed`: taken along by
   * `--with-needed`), and the plan's other changes, which stay pending. Absent: the whole plan.
   */
  selection?: { globs: string[]; objects: string[]; needed: string[]; pending: string[] };
  /**
   * Objects of other projects that a planned project's steps rewrote in place (`by`), or would on the dry run's copy
   * (PostgreSQL rewrites a view over a column renamed or retyped): recorded in that deployment's ledger row
   * (`DeploymentSummary.rewrote`). Absent: none.
   */
  rewritten?: (RewrittenObject & { by: string })[];
  error?: { code: string; message: string; hint?: string };
}

export function errorJson(e: DbeeError): { code: string; message: string; hint?: string } {
  return { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) };
}

export function writeReport(path: string, report: DeployReport): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(report, null, 2) + '\n');
}

/** The summary every deployment prints: when, what, where, from which source, by whom, backups, smoke, outcome. */
export function printSummary(out: NodeJS.WritableStream, r: DeployReport): void {
  const lines: [string, string][] = [
    ['time', `${r.startedAt} .. ${r.finishedAt}`],
    ['environment', `${r.environment}${r.database ? ` (${r.database})` : ''}`],
    [
      'projects',
      r.projects
        .map(
          (p) =>
            `${p.project} ${p.status}${p.stepsTotal ? ` ${p.stepsApplied}/${p.stepsTotal} steps` : ''}${p.deploymentId !== null ? ` (deployment ${p.deploymentId})` : ''}`,
        )
        .join(', ') || r.planned.join(', '),
    ],
    [
      'source',
      r.source.package ? `package ${r.source.package}` : `commit ${r.source.commit ?? 'unknown (not a git checkout)'}`,
    ],
    ...(r.selection
      ? [
          [
            'selection',
            `${r.selection.globs.join(' ')}: ${r.selection.objects.length + r.selection.needed.length} object${r.selection.objects.length + r.selection.needed.length === 1 ? '' : 's'}, ${r.selection.pending.length} change${r.selection.pending.length === 1 ? '' : 's'} left pending`,
          ] as [string, string],
        ]
      : []),
    ...(r.ticket ? [['ticket', r.ticket] as [string, string]] : []),
    ['who', `${r.who.osUser}@${r.who.host}${r.who.ciJob ? ` (CI job ${r.who.ciJob})` : ''}`],
    ['backups', r.backups.length ? r.backups.join(', ') : 'none'],
    ...(r.skipped.length ? [['skipped', `${r.skipped.join(', ')} (ifExists: skip)`] as [string, string]] : []),
    ['smoke', r.smoke],
    ['duration', formatDuration(r.durationMs)],
    ['status', `${r.status} (exit ${r.exitCode})`],
  ];
  out.write('summary:\n' + lines.map(([k, v]) => `  ${(k + ':').padEnd(13)}${v}\n`).join(''));
}
