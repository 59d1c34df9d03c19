import { smokeSummary } from '../../../promotion/smoke-evidence';
import type { DeploySettings } from '../../../config/schema';
import { formatSmokeResult, loadSmokeChecks, recordSmokeChecks, runSmokeChecks, smokeTimeoutMs } from '../../../smoke';
import { changesUpTo } from '../../../smoke/stale-views';
import type { SmokeCheck } from '../../../smoke';
import type { Engine } from '../../../engine/engine';
import { DbeeError, ExitCode } from '../../../errors';
import type { Plan, PlanStep } from '../../../plan/plan';
import type { ProjectModel } from '../../../planner/project-model';
import type { OperationContext } from '../../../context/operation-context';
import { parseCacheOf } from '../../../context/load';
import type { ApplyInput, SmokePlan } from './deploy-run';

export async function smokePlan(
  ctx: OperationContext,
  engine: Engine,
  models: ProjectModel[],
  plan: Plan,
  settingsOf: (project: string) => DeploySettings,
  environment: string,
  /** Whether the checks will run (a real run with steps): only then is an engine that cannot run them worth a line. */
  willRun: boolean,
): Promise<SmokePlan | null> {
  const projects = plan.projects.filter((p) => settingsOf(p).smokeAfterDeploy ?? true);
  if (!projects.length || !engine.smoke) {
    if (projects.length && willRun)
      ctx.reporter.info(`smoke checks after deploy: the ${engine.name} engine cannot run them yet (${environment})`);
    return null;
  }
  const checks = new Map<string, SmokeCheck[]>();
  const timeoutMs = new Map<string, number>();
  for (const p of projects) {
    const model = models.find((m) => m.project.name === p);
    if (!model) continue;
    checks.set(p, await loadSmokeChecks(model, engine, parseCacheOf(ctx, engine)));
    timeoutMs.set(p, smokeTimeoutMs(settingsOf(p)));
  }
  return { checks, timeoutMs, outcomes: new Map() };
}

/** Runs a project's smoke checks right after its steps applied, inside the run (so autoRollback can undo it). */
export function verifier(ctx: OperationContext, input: ApplyInput, smoke: SmokePlan) {
  return async (project: string, deploymentId: number, deployed: readonly string[]) => {
    const checks = smoke.checks.get(project);
    const model = input.models.find((m) => m.project.name === project);
    if (!checks || !model) return { passed: true, summary: 'not run' };
    ctx.reporter.info(`${project}: smoke checks`);
    const run = await runSmokeChecks({
      engine: input.engine,
      conn: input.conn,
      model,
      environment: input.environment,
      deploymentId,
      deployed,
      checks,
      timeoutMs: smoke.timeoutMs.get(project),
      regression: smoke.regression,
      onResult: (r) => ctx.reporter.info(formatSmokeResult(r)),
      // The views this deployment can have broken are compiled (all of them where the engine cannot tell): what the
      // steps of this project, and of the projects deployed before it in this run, changed after they were defined.
      changes: changesUpTo(input.plan.steps, project),
    });
    await recordSmokeChecks(input.conn, input.engine.ledger, deploymentId, checks); // a rollback to this state runs them
    const failed = run.results.filter((r) => r.status !== 'passed');
    const summary = smokeSummary(run.results);
    smoke.outcomes.set(project, summary);
    if (run.passed) return { passed: true, summary };
    return {
      passed: false,
      summary,
      error: new DbeeError(
        `${project}: ${failed.length} smoke check${failed.length === 1 ? '' : 's'} failed after deploying: ${failed.map((r) => r.name).join(', ')}`,
        {
          code: 'SMOKE_FAILED',
          exitCode: ExitCode.smokeFailed,
          hint: 'the results are in the ledger (dbee.smoke_results); set deploy.autoRollback to undo such a deployment automatically',
        },
      ),
    };
  };
}

/**
 * Put the drops of `--prune` into `plan`, after each project's own steps, and record the project's object states after
 * the run (`plan.objectStates`): the pruned keys forgotten, also those with no step of their own (a table's index goes
 * with the table; an object already gone from the database).
 */
export function withPrunedSteps(
  plan: Plan,
  pruned: ReadonlyMap<string, { steps: PlanStep[]; removed: string[] }>,
  deployed: ReadonlyMap<string, { objects: ReadonlyMap<string, string> }>,
): void {
  const steps: PlanStep[] = [];
  for (const project of plan.projects) {
    steps.push(...plan.steps.filter((s) => s.project === project));
    const p = pruned.get(project);
    if (!p) continue;
    steps.push(...p.steps);
    if (plan.objectStates?.[project]) continue; // a project planned by a diff records the sources' states already
    const states = new Map(deployed.get(project)?.objects ?? []);
    for (const key of p.removed) states.delete(key);
    for (const s of steps)
      if (s.project === project && s.action !== 'migrate') {
        if (s.action === 'drop') states.delete(s.key);
        else states.set(s.key, s.checksum);
      }
    plan.objectStates = { ...plan.objectStates, [project]: Object.fromEntries(states) };
  }
  steps.push(...plan.steps.filter((s) => !plan.projects.includes(s.project)));
  steps.forEach((s, i) => (s.order = i + 1));
  plan.steps = steps;
}
