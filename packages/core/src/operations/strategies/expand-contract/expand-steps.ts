import { requireRole, type ExpandStatement } from '../../../engine/engine';
import { runBackfill, formatBackfillProgress } from '../../../expand/backfill';
import { needsBackfill, type ExpandPlan } from '../../../expand/expand-plan';
import { expandStatements } from '../../../expand/phase-statements';
import type { ExpandRelease } from '../../../expand/phases';
import { openLedger } from '../../../ledger/open-ledger';
import type { ProjectModel } from '../../../planner/project-model';
import type { Deployment } from '../../../runner/deployment';
import { formatDuration } from '../../../runner/reporter';
import { formatSmokeResult, recordedSmokeChecks, runSmokeChecks, smokeTimeoutMs } from '../../../smoke';
import type { SmokeCheck, SmokeResult } from '../../../smoke';
import { smokeSummary } from '../../../promotion/smoke-evidence';
import { customStep, statementStepOf, type PhaseStep } from '../../../runner/phase-run';
import { type Phases, names, strategyBackfill } from './settings';
import { backfillId, sendSteps } from './phase-rows';

/** The steps of the expand phase still to run from `phase`, by part: before the backfill, the backfills and after. */
export interface ExpandSteps {
  /** The old version schema, the additive DDL and the sync triggers (phase `expanding`). */
  expanding: PhaseStep[];
  /** Each table's backfill, then the new version schema (phase `backfilling`). */
  backfilling: PhaseStep[];
}

/**
 * The expand phase as steps from `phase` on (`release()` is read when a step runs: a new release is opened after the
 * gates). Each can run again after a kill: its statements are guarded, a backfill resumes from its cursor.
 */
export function expandSteps(
  p: Phases,
  plan: ExpandPlan,
  phase: ExpandRelease['phase'],
  invoker: boolean,
  release: () => ExpandRelease,
): ExpandSteps {
  const { expand } = p;
  let order = 0;
  const statement = (s: ExpandStatement) =>
    statementStepOf(plan.project, s, ++order, { timeouts: p.expand.lockTimeouts, ms: p.lockTimeoutMs }, (w) =>
      p.waits.push(w),
    );
  const expanding =
    phase === 'expanding'
      ? [...expand.versionSchema(plan, 'old', { securityInvoker: invoker }), ...expandStatements(expand, plan)].map(
          statement,
        )
      : [];
  if (phase !== 'expanding' && phase !== 'backfilling') return { expanding, backfilling: [] };
  const pace = strategyBackfill(p.ctx, plan.project, p.environment);
  const backfills = plan.tables.filter(needsBackfill).map((t) =>
    customStep(plan.project, `backfill ${t.schema}.${t.name}`, `SET ${expand.backfillSet(t)}`, ++order, async (c) => {
      const t0 = Date.now();
      const result = await runBackfill(
        requireRole(p.engine, 'backfill', 'backfill the expanded columns'),
        c,
        {
          id: backfillId(release(), t.schema, t.name),
          table: { schema: t.schema, name: t.name },
          key: t.key,
          set: expand.backfillSet(t),
          project: plan.project,
        },
        {
          ...pace,
          ledgerSchema: p.engine.ledger.schema,
          ledger: p.engine.ledger,
          settings: expand.backfillSettings(plan, t),
          lock: { lockTimeoutMs: p.lockTimeoutMs },
          onProgress: (pr) => p.ctx.reporter.info(`backfill ${t.schema}.${t.name}: ${formatBackfillProgress(pr)}`),
        },
      );
      p.ctx.reporter.info(
        `backfill ${t.schema}.${t.name}: ${result.alreadyDone ? 'already done' : `${result.updatedThisRun.toLocaleString('en-US')} rows in ${formatDuration(Date.now() - t0)}${result.resumed ? ' (resumed)' : ''}`}`,
      );
    }),
  );
  const after = expand.versionSchema(plan, 'new', { securityInvoker: invoker }).map(statement);
  return { expanding, backfilling: [...backfills, ...after] };
}

/**
 * Drive a release forward from its phase, its steps recorded under `deployment`: `expanding` (old version schema,
 * additive DDL, sync triggers) → `backfilling` (each table in keyset batches, then the new version schema) →
 * `expanded` (smoke checks per version). Returns the smoke checks' outcome.
 */
export async function driveExpand(
  p: Phases,
  release: ExpandRelease,
  steps: ExpandSteps,
  model: ProjectModel,
  invoker: boolean,
  deployment: Deployment,
): Promise<{ passed: boolean; summary: string }> {
  const { ctx } = p;
  const plan = release.plan;
  if (!invoker)
    ctx.reporter.warn(
      "this server has no security_invoker views (PostgreSQL 15+): the version schemas' views check rights as their owner; row-level security on the tables does not apply through them (hazard rls-bypass, allowed)",
    );
  if (release.phase === 'expanding') {
    ctx.reporter.info(
      `${plan.project}: expanding release ${plan.release} (version schemas ${names(plan, plan.release)})`,
    );
    await sendSteps(p, release, deployment, steps.expanding);
    await p.ledger.setPhase(release.id, 'backfilling');
    release = { ...release, phase: 'backfilling' };
  }
  if (release.phase === 'backfilling') {
    await sendSteps(p, release, deployment, steps.backfilling);
    await p.ledger.setPhase(release.id, 'expanded');
    release = { ...release, phase: 'expanded' };
  }
  const smoke = await smokePerVersion(p, release, model);
  ctx.stdout.write(
    `${plan.project}: release ${plan.release} expanded on ${p.environment.name}: the old version is ${names(plan, plan.previous)}, the new one ${names(plan, plan.release)}\n` +
      `  next: point the new application at the new version (dbee version ${plan.project} --env ${p.environment.name}), then dbee complete ${plan.project} --env ${p.environment.name} (or dbee abort)\n`,
  );
  return smoke;
}

/**
 * The smoke checks of a release's versions, each with its version's search path: while expanded, the previous
 * release's checks against the old version schema and this release's against the new one; after `complete`, the new
 * version's; after `abort`, the old one's. The baseline (the recorded objects exist, the views compile) runs with the
 * first version asked for, and with the other one only when it has checks of its own. Summed up as a direct
 * deployment's are (`smokeSummary`), so that `gates.promotedFrom` reads both strategies alike. Exit 3 when one fails.
 */
export async function smokePerVersion(
  p: Phases,
  release: ExpandRelease,
  model: ProjectModel,
  versions: readonly ('old' | 'new')[] = ['new', 'old'],
): Promise<{ passed: boolean; summary: string }> {
  if (!p.engine.smoke) return { passed: true, summary: 'not run' };
  const plan = release.plan;
  const settings = p.ctx.workspace.settings(p.ctx.workspace.project(plan.project), p.environment).deploy;
  const checksOf = async (which: 'old' | 'new'): Promise<SmokeCheck[]> => {
    if (which === 'new') return plan.smoke ?? [];
    const prior = await p.ledger.lastDone(plan.project);
    const history = await openLedger(p.conn, p.engine.ledger).deployments.list(
      plan.project,
      p.environment.name,
      Number.MAX_SAFE_INTEGER,
    );
    return prior?.plan.smoke ?? recordedSmokeChecks(history, Number.MAX_SAFE_INTEGER)?.checks ?? [];
  };
  const results: SmokeResult[] = [];
  for (const which of versions) {
    const checks = await checksOf(which);
    if (checks.length === 0 && which !== versions[0]) continue;
    const label = which === 'new' ? plan.release : plan.previous;
    const searchPath = p.expand.versionSettings(plan.schemas, label).searchPath;
    p.ctx.stdout.write(`${plan.project}: smoke checks of the ${which} version (${searchPath.join(', ')})\n`);
    const run = await runSmokeChecks({
      engine: p.engine,
      conn: p.conn,
      model: { ...model, graph: { ...model.graph, searchPath: [...searchPath, ...model.graph.searchPath] } },
      environment: p.environment.name,
      deploymentId: null,
      checks,
      timeoutMs: smokeTimeoutMs(settings),
      record: false,
      onResult: (r) => p.ctx.stdout.write(formatSmokeResult(r) + '\n'),
    });
    results.push(...run.results);
  }
  const summary = smokeSummary(results);
  const failed = results.filter((r) => r.status !== 'passed').length;
  if (failed === 0) return { passed: true, summary };
  p.ctx.stderr.write(
    `error: ${failed} smoke check${failed === 1 ? '' : 's'} of ${plan.project} failed ${release.phase === 'expanded' ? 'while expanded' : `after the ${release.phase === 'contracting' ? 'completion' : 'abort'} of release ${plan.release}`}\n`,
  );
  return { passed: false, summary };
}
