import { ExitCode, type ExitCodeValue } from '../errors';
import type { Ledger, DeploymentRow, DeploymentSummary, RewrittenObject } from '../ledger/ledger';
import { openLedger } from '../ledger/open-ledger';
import type { LogOptions } from '../options';
import { canonicalJson } from '../plan/serialize';
import { formatDuration } from '../runner/reporter';
import { withSession } from '../runner/session';
import { smokeResultsOf } from '../smoke/smoke-history';
import { engineFor, type OperationContext } from '../context/operation-context';

export type { LogOptions };

/** One deployment as `dbee log` reports it. */
export interface LogEntry {
  id: number;
  /** `deploy`, `rollback`, `cleanup`, `clone`, `disable`, `enable`, `adopt`. */
  kind: string;
  /** `succeeded`, `failed`, `rolled-back`, `interrupted`, `aborted`, `running`. */
  result: string;
  startedAt: string;
  finishedAt: string | null;
  /** Null while it runs, or when it never finished. */
  durationMs: number | null;
  /** The package folder it deployed, null for a deployment from the sources. */
  package: string | null;
  /** Identity of what was deployed: the package's (or the run's) plan checksum. */
  planChecksum: string;
  commit: string | null;
  ticket: string | null;
  who: { osUser: string | null; host: string | null; dbUser: string; ciJob: string | null };
  /** For a rollback or an enable: the deployment it undid. */
  reverts: number | null;
  error: string | null;
  steps: { order: number; action: string; object: string; status: string }[];
  /**
   * Objects of dependent projects its steps rewrote in place (`DeploymentSummary.rewrote`), each with whether that
   * project's state was carried forward. Absent: none.
   */
  rewrote?: RewrittenObject[];
  /** The smoke checks run right after it: summary (`n/m passed`, `not run`) and each result. */
  smoke: { summary: string; results: { check: string; status: string; durationMs: number; message: string | null }[] };
}

/** `log`: the deployments of a project on an environment, newest first, from its ledger. Reads only. */
export async function log(ctx: OperationContext, options: LogOptions): Promise<ExitCodeValue> {
  const { workspace } = ctx;
  const environment = workspace.environment(options.env, ctx.env);
  const target = workspace.project(options.project);
  const engine = engineFor(ctx, environment, [target]);
  // The embedded database allows one process at a time: reading needs the lock too.
  return withSession(
    {
      engine,
      environment,
      workspaceRoot: workspace.root,
      deploy: workspace.settings(target, environment).deploy,
      readOnly: ctx.readOnly,
    },
    async ({ conn }) => {
      const ledger = openLedger(conn, engine.ledger);
      const rows = await ledger.deployments.list(target.name, environment.name, Number.MAX_SAFE_INTEGER);
      const smoke = await smokeResultsOf(
        conn,
        engine.ledger,
        rows.map((r) => r.id),
      );
      const entries: LogEntry[] = [];
      for (const row of rows)
        entries.push(
          entry(
            row,
            await ledger.steps.of(row.id),
            smoke.filter((s) => s.deploymentId === row.id),
          ),
        );
      if (options.format === 'json')
        ctx.stdout.write(
          canonicalJson({
            project: target.name,
            environment: environment.name,
            database: conn.description,
            deployments: entries,
          }),
        );
      else printLog(ctx.stdout, `${target.name} on ${environment.name} (${conn.description})`, entries);
      return ExitCode.ok;
    },
  );
}

function iso(t: Date | string | null): string | null {
  return t === null ? null : new Date(t).toISOString();
}

function entry(
  row: DeploymentRow,
  steps: Awaited<ReturnType<Ledger['steps']['of']>>,
  smoke: Awaited<ReturnType<typeof smokeResultsOf>>,
): LogEntry {
  const summary = (typeof row.summary === 'string' ? JSON.parse(row.summary) : row.summary) as DeploymentSummary | null;
  const startedAt = iso(row.started_at)!;
  const finishedAt = iso(row.finished_at);
  return {
    id: row.id,
    kind: row.kind,
    result: row.status,
    startedAt,
    finishedAt,
    durationMs: finishedAt ? Date.parse(finishedAt) - Date.parse(startedAt) : null,
    package: row.package,
    planChecksum: row.plan_checksum,
    commit: row.git_commit,
    ticket: row.ticket ?? null,
    who: { osUser: row.os_user, host: row.host, dbUser: row.db_user, ciJob: row.ci_job ?? null },
    reverts: row.reverts,
    error: row.error,
    steps: steps.map((s) => ({ order: s.order, action: s.action, object: s.objectKey, status: s.status })),
    ...(summary?.rewrote?.length ? { rewrote: summary.rewrote } : {}),
    smoke: {
      summary: summary?.smoke ?? 'not run',
      results: smoke.map((s) => ({ check: s.check, status: s.status, durationMs: s.durationMs, message: s.message })),
    },
  };
}

/** The text log: one block per deployment, in the shape a runbook's deployment log asks for. */
function printLog(out: NodeJS.WritableStream, title: string, entries: LogEntry[]): void {
  out.write(`${title}: ${entries.length} deployment${entries.length === 1 ? '' : 's'}\n`);
  for (const e of entries) {
    const what = e.package ? `package ${e.package}` : 'sources';
    out.write(`\n#${e.id} ${e.kind} ${e.result}${e.reverts !== null ? ` (undoes #${e.reverts})` : ''}\n`);
    const lines: [string, string][] = [
      [
        'time',
        `${e.startedAt} .. ${e.finishedAt ?? 'not finished'}${e.durationMs !== null ? ` (${formatDuration(e.durationMs)})` : ''}`,
      ],
      ['what', `${what}, plan ${e.planChecksum.replace(/^sha256:/, '').slice(0, 12)}`],
      ['commit', e.commit ?? 'unknown'],
      ['ticket', e.ticket ?? 'none'],
      [
        'who',
        `${e.who.osUser ?? e.who.dbUser}@${e.who.host ?? '?'} (database user ${e.who.dbUser}${e.who.ciJob ? `, CI job ${e.who.ciJob}` : ''})`,
      ],
      ['steps', `${e.steps.filter((s) => s.status === 'applied').length}/${e.steps.length} applied`],
      ['smoke', e.smoke.summary],
    ];
    if (e.error) lines.push(['error', e.error.split('\n')[0]!]);
    for (const o of e.rewrote ?? [])
      lines.push([
        'rewrote',
        `${o.project}'s ${o.object}${o.file ? ` (${o.file}:${o.line})` : ''} in place, ${o.carried ? `its state carried forward` : `not carried (${o.project} had changed outside dbee)`}`,
      ]);
    out.write(lines.map(([k, v]) => `  ${(k + ':').padEnd(8)}${k.length >= 7 ? ' ' : ''}${v}\n`).join(''));
    for (const s of e.steps)
      out.write(`    ${String(s.order).padStart(3)} ${s.status.padEnd(11)} ${s.action} ${s.object}\n`);
    for (const r of e.smoke.results)
      out.write(
        `    smoke ${r.status === 'passed' ? 'ok  ' : 'FAIL'} ${r.check} (${r.durationMs} ms)${r.message ? `: ${r.message}` : ''}\n`,
      );
  }
}
