import { schemasElsewhere } from './selection';
import { checkSelection, readSelection, selectsKey } from '../planner/selection';
import { parseKey } from '../model/object-key';
import type { DbtDriftFinding } from '../check/dbt-drift';
import { dbtLiveDrift } from './dbt';
import { driftCause, readDrift } from '../diffing/drift';
import { ExitCode, type ExitCodeValue } from '../errors';
import { backfillStates, formatBackfillProgress } from '../expand/backfill';
import { deploymentSummary, type DeploymentRow } from '../ledger/ledger';
import { openLedger } from '../ledger/open-ledger';
import type { Connection, Engine } from '../engine/engine';
import type { ResolvedEnvironment } from '../config/resolve';
import { desiredModelFor } from '../diffing/desired';
import { formatKey } from '../model/object-key';
import type { PlanInput } from '../planner/planner';
import type { ProjectModel } from '../planner/project-model';
import { changeObjectKey } from '../schema/change';
import { diffModels } from '../schema/diff';
import { canonicalJson } from '../plan/serialize';
import { engineFor, type OperationContext } from '../context/operation-context';
import { withSession } from '../runner/session';
import { mergedSteps } from '../runner/recreate-dependents';
import { backupInfos, retentionMs, type BackupInfo } from './cleanup';
import { deployedStates, loadModels, removedObjects, schemaOwners } from '../context/load';
import { planSources } from './source-plan';
import { backupStamp } from '../plan/backup-stamp';
import type { StatusOptions } from '../options';
import { notifyDrift } from '../notify/drift-events';
import { STRATEGIES } from './strategies';
import { inFlightReader } from './strategies/in-flight';
import type { InFlightWork } from '../diffing/in-flight-work';

export type { StatusOptions };

/** Ledger metrics of a project on an environment. */
export interface StatusReport {
  project: string;
  environment: string;
  database: string;
  lastDeployment: DeploymentRow | null;
  /**
   * What a deployment of the sources would do. A changed table (sequence, type) is pending as `alter`, with the kinds
   * of change a diff of the live schema against the sources finds (`add-column`, `alter-column-default`...); a
   * deployment applies it through the diff engine.
   */
  pendingSteps: {
    key: string;
    action: string;
    changes?: string[];
    /** A drifted object (see `drift.objects`): changed outside dbee since the last deployment, or made outside it. */
    drift?: 'changed' | 'made outside dbee';
    /**
     * An object a deployment of a project this one depends on rewrote in place (`drift.carried`), e.g.
     * `core's deployment #3`: not drift; a deployment makes it again from the sources.
     */
    rewrittenBy?: string;
  }[];
  /** Deployed objects whose source is gone: a drop that no decision made, so nothing plans it (see `removedObjects`). */
  pendingDrops: string[];
  /**
   * Whether the project's schemas changed outside dbee since its last deployment: the engine's fingerprint now,
   * compared with the one recorded when that deployment ended. `unknown` when there is nothing to compare.
   */
  drift: {
    state: 'yes' | 'no' | 'unknown';
    recorded: string | null;
    live: string | null;
    reason?: string;
    /**
     * The objects that changed outside dbee (diffing/drift.ts): deployed objects whose sources did not change but whose
     * definition in the database differs from them, and objects in the project's schemas that neither the sources nor
     * the ledger know. Each is also in `pendingSteps` (a deployment refuses it or puts it back).
     */
    objects: string[];
    /**
     * The finished deployments of the projects it depends on recorded after its last deployment (`ProjectDrift.after`):
     * a cause of the drift other than a hand edit. Absent when there is none.
     */
    after?: { project: string; id: number }[];
    /**
     * The deployment of a project it depends on that carried its state forward (`ProjectDrift.carried`): its steps
     * rewrote `objects` in place, which is not drift. Absent otherwise.
     */
    carried?: { project: string; id: number };
  };
  /** Backups the project's deployments kept (`ifExists: rename`) that still exist, and when `dbee cleanup` may drop each. */
  backups: BackupInfo[];
  /**
   * Each strategy's part, by its key (`Strategy.status`), printed at the top level of the JSON output: `expand`, the
   * expand-contract strategy's release in flight (else its last one), its phase, its changes and backfill progress.
   * Null when the project never used the strategy here. While a strategy's work is in flight, `pendingSteps` is empty:
   * the tables are between two shapes, and the commands that end the work are what is pending.
   */
  strategies: Record<string, unknown>;
  /**
   * The drift rules between the dbt manifest that `check.dbt.manifest` names and the live schema (docs/dbt.md): each
   * source's declared column the environment lacks, or has with another type. Absent when no manifest is named.
   */
  dbtDrift?: DbtDriftFinding[];
  metrics: {
    deployments: number;
    succeeded: number;
    successRate: number | null;
    averageDurationMs: number | null;
    rollbacks: number;
    /**
     * Mean time from a failure to the database being restored: for automatic rollbacks, failed step to the end
     * of the undo; for `rollback` deployments, the end of the deployment they revert to their own end. Null
     * when nothing was ever rolled back.
     */
    meanTimeToRollbackMs: number | null;
  };
  /**
   * Batched migrations whose batches have not reached the end (running now, or their process died): how far each
   * statement got. The next deployment resumes a stopped one. Absent when there is none.
   */
  unfinishedBatches?: { id: string; table: string; done: number; total: number; updatedAt: string }[];
}

export { deploymentSummary } from '../ledger/ledger';

function meanTimeToRollback(history: DeploymentRow[]): number | null {
  const byId = new Map(history.map((d) => [d.id, d]));
  const times: number[] = [];
  for (const d of history) {
    const s = deploymentSummary(d);
    if (d.status === 'rolled-back' && s.failedAt && s.rolledBackAt)
      times.push(Date.parse(s.rolledBackAt) - Date.parse(s.failedAt));
    const reverted = d.reverts === null ? undefined : byId.get(Number(d.reverts));
    if (d.kind === 'rollback' && d.status === 'succeeded' && d.finished_at && reverted?.finished_at) {
      times.push(new Date(d.finished_at).getTime() - new Date(reverted.finished_at).getTime());
    }
  }
  return times.length ? Math.round(times.reduce((a, b) => a + b, 0) / times.length) : null;
}

/** `status`: last deployment, pending changes (sources vs ledger) and metrics. Reads only. */
export async function status(ctx: OperationContext, options: StatusOptions): Promise<ExitCodeValue> {
  const { workspace } = ctx;
  const environment = workspace.environment(options.env, ctx.env);
  const target = workspace.project(options.project);
  const all = workspace.withDependencies(target.name);
  const engine = engineFor(ctx, environment, all);
  const models = await loadModels(ctx, all, environment, engine);
  const model = models.find((m) => m.project.name === target.name)!;
  // --objects: the pending changes of the selected objects only, each entry checked against the sources first.
  const selection = readSelection(options, (p) => workspace.commandLinePath(p));
  if (selection) checkSelection(selection, models, [target.name], schemasElsewhere(ctx, environment, [target.name]));
  const selected = (key: string) => !selection || selectsKey(selection, parseKey(key));
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
      const deployed = await deployedStates(ctx, ledger, environment, [target.name]);
      const backfills = engine.backfill
        ? await backfillStates(engine.backfill, conn, target.name, { ledgerSchema: engine.ledger.schema })
        : [];
      const sections = await strategySections(conn, engine, target.name, backfills);
      const inFlight = inFlightReader(STRATEGIES);
      const work = await inFlight(conn, engine, [target.name]);
      const pendingSteps = work
        ? []
        : await pending(
            ctx,
            {
              engine,
              models,
              planned: [target.name],
              schemaOwners: schemaOwners(ctx, environment),
              deployed,
              sourceCommit: null,
            },
            environment,
            conn,
          );
      const history = await ledger.deployments.list(target.name, environment.name, 10_000);
      const last = history.find((d) => d.finished_at);
      const deployedHere = deployed.get(target.name)!;
      const drift = await statusDrift(
        ctx,
        { engine, conn, environment, models, project: target.name, last, deployed: deployedHere, inFlight },
        work ? null : pendingSteps,
      );
      const backups = backupInfos(await ledger.backups.liveBackups(target.name), retentionMs(environment), new Date());
      const report: StatusReport = {
        project: target.name,
        environment: environment.name,
        database: conn.description,
        lastDeployment: history[0] ?? null,
        pendingSteps: pendingSteps.filter((p) => selected(p.key)),
        pendingDrops: heldBack(removedObjects(model, deployedHere), work).filter(selected),
        drift,
        backups,
        strategies: Object.fromEntries(sections.map((x) => [x.key, x.json])),
        metrics: metricsOf(history),
      };
      const dbt = await dbtLiveDrift(ctx, { engine, conn, models, target: target.name, environment: environment.name });
      if (dbt) report.dbtDrift = dbt;
      const unfinished = unfinishedBatches(backfills);
      if (unfinished.length) report.unfinishedBatches = unfinished;
      writeStatus(ctx.stdout, options.format, report, sections, work);
      await tellDrift(ctx, drift.state === 'yes' ? last : undefined, target.name, environment.name, conn.description);
      // A drift rule of severity error fails the status (exit 1), as it fails the check.
      return dbt?.some((d) => d.severity === 'error') ? ExitCode.invalid : ExitCode.ok;
    },
  );
}

/**
 * A drift found after the last deployment (`last`, undefined when none is found) is told to `notify`. The board of
 * `dbee docs` (a read-only context) shows the drift it finds; only `dbee status` itself tells `notify`.
 */
async function tellDrift(
  ctx: OperationContext,
  last: Parameters<typeof notifyDrift>[1]['last'] | undefined,
  project: string,
  environment: string,
  database: string,
): Promise<void> {
  if (last && !ctx.readOnly) await notifyDrift(ctx, { project, environment, database, last });
}

/** The report as JSON (each strategy's part at the top level, by its key) or as text. */
function writeStatus(
  out: NodeJS.WritableStream,
  format: StatusOptions['format'],
  report: StatusReport,
  sections: { lines: string[] }[],
  work: InFlightWork | null,
): void {
  if (format === 'json') {
    const { strategies, ...rest } = report;
    out.write(canonicalJson({ ...rest, ...strategies }));
  } else
    printStatus(
      out,
      report,
      sections.flatMap((x) => x.lines),
      work,
    );
}

/** Each strategy's part of the status (`Strategy.status`), null where it has nothing for the project. */
async function strategySections(
  conn: Connection,
  engine: Engine,
  project: string,
  backfills: Awaited<ReturnType<typeof backfillStates>>,
): Promise<{ key: string; json: unknown; lines: string[] }[]> {
  const out: { key: string; json: unknown; lines: string[] }[] = [];
  for (const strategy of Object.values(STRATEGIES)) {
    if (!strategy.status) continue;
    const read = await strategy.status.read(conn, engine, project, backfills);
    out.push({ key: strategy.status.key, json: read?.json ?? null, lines: read?.lines ?? [] });
  }
  return out;
}

/** The pending drops less those the work in flight records when it ends (a table it renames). */
function heldBack(drops: string[], work: InFlightWork | null): string[] {
  return work ? work.pendingDrops(drops) : drops;
}

/**
 * The drift of the project's schemas since its last deployment; each drifted object is also put first among
 * `pendingSteps` (null while a release is in flight): what a deployment must decide before anything else (deploy
 * refuses it or puts it back, by the conflict strategy), named by the diff's first step that puts it back (a view's
 * `replace`, a table's `alter`, the `drop` of an object made outside dbee).
 */
async function statusDrift(
  ctx: OperationContext,
  input: Parameters<typeof readDrift>[1],
  pendingSteps: StatusReport['pendingSteps'] | null,
): Promise<StatusReport['drift']> {
  const read = await readDrift(ctx, input);
  const by = read.carried ? `${read.carried.project}'s deployment #${read.carried.id}` : null;
  for (const o of pendingSteps ? read.objects : [])
    if (!pendingSteps!.some((p) => p.key === o.key))
      pendingSteps!.unshift({
        key: o.key,
        action: pendingAction(o),
        ...(by ? { rewrittenBy: by } : { drift: o.how }),
      });
  return {
    state: read.state,
    recorded: read.recorded,
    live: read.live,
    ...(read.reason ? { reason: read.reason } : {}),
    objects: read.objects.map((o) => o.key),
    ...(read.after ? { after: read.after } : {}),
    ...(read.carried ? { carried: read.carried } : {}),
  };
}

/**
 * How the pending list names a drifted object: the diff's one action on it (a view's `replace`, a table's `alter`, the
 * `drop` of an object made outside dbee), `replace` when it is dropped and created again (an enum whose values were
 * changed by hand).
 */
function pendingAction(o: { how: string; actions: readonly string[] }): string {
  if (o.actions.includes('drop') && o.actions.includes('create')) return 'replace';
  return o.actions[0] ?? (o.how === 'changed' ? 'replace' : 'drop');
}

/** The project's deployment metrics on this environment, from its ledger history. */
function metricsOf(history: DeploymentRow[]): StatusReport['metrics'] {
  const finished = history.filter((d) => d.finished_at);
  const ok = history.filter((d) => d.status === 'succeeded');
  return {
    deployments: history.length,
    succeeded: ok.length,
    successRate: history.length ? ok.length / history.length : null,
    averageDurationMs: finished.length
      ? Math.round(
          finished.reduce((a, d) => a + (new Date(d.finished_at!).getTime() - new Date(d.started_at).getTime()), 0) /
            finished.length,
        )
      : null,
    rollbacks: history.filter((d) => d.kind === 'rollback' || d.status === 'rolled-back').length,
    meanTimeToRollbackMs: meanTimeToRollback(history),
  };
}

/** Batched migrations of the project whose batches have not reached the end. */
function unfinishedBatches(
  backfills: Awaited<ReturnType<typeof backfillStates>>,
): NonNullable<StatusReport['unfinishedBatches']> {
  return backfills
    .filter((b) => b.status === 'running' && b.id.startsWith('migration:'))
    .map((b) => ({
      id: b.id,
      table: `${b.table.schema}.${b.table.name}`,
      done: b.done,
      total: b.total,
      updatedAt: b.updatedAt.toISOString(),
    }));
}

/**
 * The pending steps: the steps of the plan `deploy` would make of the project's sources on this database (the same
 * function, `planSources`: its ledger, a diff where the project needs one, what changed by hand). A step planned by a
 * diff also says the kinds of change the diff found on its object (`add-column`...). Progress notes of planning stay
 * quiet: status prints only its report.
 */
async function pending(
  ctx: OperationContext,
  input: PlanInput,
  environment: ResolvedEnvironment,
  conn: Connection,
): Promise<StatusReport['pendingSteps']> {
  const quiet: OperationContext = { ...ctx, reporter: { info: () => {}, warn: () => {}, step: () => {} } };
  const plan = await planSources(quiet, input, environment, conn, backupStamp(new Date()));
  const diffed = Object.keys(plan.objectStates ?? {});
  const kinds = diffed.length ? await changeKinds(ctx, input.engine, input.models, diffed, environment, conn) : null;
  // A step that holds others (a re-creation around another project's dependents) lists each of them too.
  const each = plan.steps.flatMap((s) => [
    { key: s.key, action: s.action, project: s.project },
    ...mergedSteps(s.notes)
      .filter((m) => m.key !== s.key)
      .map((m) => ({ ...m, project: s.project })),
  ]);
  const seen = new Set<string>();
  return each.flatMap((s) => {
    if (seen.has(`${s.action} ${s.key}`)) return [];
    seen.add(`${s.action} ${s.key}`);
    const changes = kinds && diffed.includes(s.project) ? [...new Set(kinds.get(s.key) ?? [])].sort() : null;
    return [{ key: s.key, action: s.action, ...(changes?.length ? { changes } : {}) }];
  });
}

/** Object key → the kinds of change a diff of the live schema against the sources finds on it; null without a diff engine. */
async function changeKinds(
  ctx: OperationContext,
  engine: Engine,
  models: readonly ProjectModel[],
  projects: string[],
  environment: ResolvedEnvironment,
  conn: Connection,
) {
  if (!engine.diff) return null;
  const out = new Map<string, string[]>();
  for (const project of projects) {
    const names = new Set(ctx.workspace.withDependencies(project).map((p) => p.name));
    const own = models.filter((m) => names.has(m.project.name));
    const model = own.find((m) => m.project.name === project)!;
    const desired = await desiredModelFor(ctx, { engine, environment, models: own, target: project });
    const live = await engine.diff.introspect(conn, { schemas: model.graph.schemas, manage: model.graph.manage });
    const changes = diffModels(live, desired.model, {
      renames: model.project.config.renames ?? [],
      owners: model.graph.manage?.owners ?? false,
      sameDefinition: engine.diff.sameDefinition,
      facts: engine.diff.facts,
    });
    for (const c of changes) {
      const key = changeObjectKey(c);
      // Column, constraint and index changes belong to their table in the ledger's terms.
      const table = key.kind === 'table' ? formatKey(key) : key.parent ? `table:${key.parent}` : formatKey(key);
      for (const k of new Set([formatKey(key), table])) out.set(k, [...(out.get(k) ?? []), c.kind]);
    }
  }
  return out;
}

function printStatus(
  out: NodeJS.WritableStream,
  r: StatusReport,
  strategyLines: string[],
  work: InFlightWork | null,
): void {
  const d = r.lastDeployment;
  out.write(`${r.project} on ${r.environment} (${r.database})\n`);
  out.write(
    d
      ? `  last deployment: #${d.id} ${d.kind} ${d.status}, ${d.steps_applied}/${d.steps_total} steps, started ${new Date(d.started_at).toISOString()} by ${d.os_user ?? d.db_user}@${d.host ?? '?'}${d.ticket ? `, ticket ${d.ticket}` : ''}\n`
      : '  never deployed\n',
  );
  for (const line of strategyLines) out.write(`  ${line}\n`);
  out.write(
    work
      ? `  pending: ${work.describe(` ${r.project} --env ${r.environment}`)}\n`
      : r.pendingSteps.length
        ? `  pending: ${r.pendingSteps.length} step(s)\n${r.pendingSteps.map((s) => `    ${s.action} ${s.key}${s.changes?.length ? ` (${s.changes.join(', ')})` : ''}${s.drift ? ` (drift: ${s.drift === 'changed' ? 'changed outside dbee' : 'made outside dbee'})` : ''}${s.rewrittenBy ? ` (rewritten in place by ${s.rewrittenBy}: made again from the sources)` : ''}\n`).join('')}`
        : '  pending: nothing, up to date with the sources\n',
  );
  if (r.pendingDrops.length)
    out.write(`  pending drop (source removed, no drop decision: nothing drops it): ${r.pendingDrops.join(', ')}\n`);
  out.write(
    `  drift: ${r.drift.state}${r.drift.reason ? ` (${r.drift.reason})` : r.drift.state === 'yes' ? ` (the schemas changed outside dbee since the last deployment${r.drift.objects.length ? `: ${r.drift.objects.join(', ')}` : ''})${driftCause({ project: r.project, after: r.drift.after })}` : r.drift.carried ? ` (as ${r.drift.carried.project}'s deployment #${r.drift.carried.id} left it${r.drift.objects.length ? `, which rewrote ${r.drift.objects.join(', ')} in place` : ''})` : ''}\n`,
  );
  out.write(r.backups.length ? `  backups: ${r.backups.length}\n` : '  backups: none\n');
  for (const b of r.backups) {
    out.write(
      `    ${b.backup} (backup of ${b.object}, deployment #${b.deploymentId}, ${b.createdAt}): ${b.expiresAt === null ? 'kept until dropped (no gates.backupRetention)' : b.expired ? `expired ${b.expiresAt}, dbee cleanup drops it` : `expires ${b.expiresAt}`}\n`,
    );
  }
  for (const b of r.unfinishedBatches ?? [])
    out.write(
      `  batched migration ${b.id} unfinished: ${b.table} ${formatBackfillProgress({ done: b.done, total: b.total, rowsPerSecond: 0 }).replace(/, 0 rows\/s$/, '')}, last batch ${b.updatedAt} (still running, or stopped: the next deployment resumes it)\n`,
    );
  if (r.dbtDrift)
    out.write(
      r.dbtDrift.length
        ? r.dbtDrift.map((d) => `  dbt drift (${d.severity}, ${d.rule}): ${d.message}\n`).join('')
        : '  dbt drift: none (the dbt sources match the live schema)\n',
    );
  const m = r.metrics;
  out.write(
    `  deployments: ${m.deployments}, success rate: ${m.successRate === null ? 'n/a' : Math.round(m.successRate * 100) + '%'}, average duration: ${m.averageDurationMs ?? 'n/a'} ms, rollbacks: ${m.rollbacks}, mean time to rollback: ${m.meanTimeToRollbackMs === null ? 'n/a' : m.meanTimeToRollbackMs + ' ms'}\n`,
  );
}
