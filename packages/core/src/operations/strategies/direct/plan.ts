import { assertFreshBase } from '../../../diffing/diff-plan';
import { smokeRegression } from '../../../smoke';
import type { Connection } from '../../../engine/engine';
import { projectScope } from '../../../schema/managed-scope';
import { namedByRename } from '../../../schema/renames';
import { DbeeError, ExitCode, type ExitCodeValue } from '../../../errors';
import { deploymentSummary, type Ledger } from '../../../ledger/ledger';
import { openLedger } from '../../../ledger/open-ledger';
import { packagePlan, packageSmokeModels } from '../../../package/package-deploy';
import type { Plan, PlanStep } from '../../../plan/plan';
import { planChecksum } from '../../../plan/serialize';
import { sideSession, type DeploymentSession } from '../../../runner/session';
import { backupStamp } from '../../../plan/backup-stamp';
import { ConflictRules, decideConflicts } from '../../conflicts';
import type { OperationContext } from '../../../context/operation-context';
import { checkStepPolicies, dependencyMissing, missingDependencySchemas, refuse } from '../../../pipeline/gates';
import type { PipelineApplied } from '../../../pipeline/pipeline';
import type { DriftFound } from '../../../pipeline/drift';
import { deployedStates, removedObjects } from '../../../context/load';
import { pruneSteps } from '../../../diffing/prune';
import { resolveDrift, startedFromDrift } from '../../deploy-drift';
import { planSources } from '../../source-plan';
import { lastDeployment, refuseInFlight } from '../../batch-reads';
import { selectedPlan } from '../../selection';
import { judgeSizeHazards } from '../../size-hazards';
import { liveState } from '../../../context/fleet-plans';
import type { DeployReport } from '../../../runner/deploy-report';
import { confirmFingerprints, confirmObjectStates, keepDroppedTables } from './apply';
import { promotesFrom, settleClosing } from './close';
import type { DeployInputs, DeployRun } from './deploy-run';
import { recoverInterrupted } from './inputs';
import { smokePlan, withPrunedSteps } from './smoke';

export async function planUnderLock(
  ctx: OperationContext,
  input: DeployInputs,
  session: DeploymentSession,
  report: DeployReport,
  drift: DriftFound,
): Promise<DeployRun> {
  const { engine, environment, options } = input;
  const ledger = openLedger(session.conn, engine.ledger);
  await recoverInterrupted(ctx, input, session, ledger, report);
  // No ledger, no release in flight (its table is one of the ledger's): nothing to read.
  if (!ledger.tables.knownMissing())
    await refuseInFlight(ctx, input.inFlight, session.conn, engine, input.planned, environment.name);
  const run = await planDeployment(ctx, input, session, ledger, report, drift);
  await driftIntoPlan(ctx, input, session.conn, run, report, drift);
  await decideDeployConflicts(ctx, input, session.conn, run, report);
  await collectProblems(ctx, input, session.conn, run);
  // Smoke files are read and validated before anything is applied, and when nothing is to be applied: a broken
  // check refuses the deployment (exit 1) rather than waiting for the next deployment that changes something.
  run.smoke = await smokePlan(
    ctx,
    engine,
    input.pkg ? packageSmokeModels(input.pkg, input.models) : input.models,
    run.plan,
    input.settingsOf,
    environment.name,
    !options.dryRun && run.plan.steps.length > 0,
  );
  if (run.smoke) run.smoke.regression = smokeRegression(environment.gates);
  run.ledger = ledger;
  return run;
}

/**
 * A real run with nothing to apply. A deployment this run found interrupted after all its steps applied (killed during
 * its smoke checks, say) is finished: its closing stages run now (smoke checks, promotion record, notifications, a
 * closing row), not "up to date". From the sources otherwise: the database is up to date (a missing fingerprint is
 * recorded). A package at its state on an environment that another promotes from: its smoke checks run here and,
 * when they pass, a deployment of no steps records them and the promotion record is written, so the package can go
 * on (exit 3 when they fail; exit 1 when this engine cannot run them, naming why).
 */
export async function settleUnchanged(
  ctx: OperationContext,
  input: DeployInputs,
  session: DeploymentSession,
  run: DeployRun,
  report: DeployReport,
): Promise<ExitCodeValue | PipelineApplied> {
  // Drift the conflict strategy refused is no "up to date" (deploy-drift.ts).
  if (run.problems.length) refuse(run.problems, false);
  await confirmObjectStates(ctx, input, run.ledger!, run);
  const unfinished = await interruptedAfterSteps(ctx, input, run.ledger!, report.interrupted);
  if (unfinished.length) {
    ctx.reporter.info(
      `${unfinished.map((d) => `${d.project} (deployment #${d.id})`).join(', ')}: ${unfinished.every((d) => d.checksFailed) ? `its ${unfinished.every((d) => d.closing) ? 'closing ' : ''}smoke checks failed` : 'interrupted after all its steps applied'}: its smoke checks, promotion record and notifications run now`,
    );
    return settleClosing(
      ctx,
      input,
      session,
      run,
      report,
      unfinished.map((d) => d.project),
      'resume',
    );
  }
  for (const p of input.planned) ctx.reporter.info(`${p}: nothing to deploy, the database is up to date`);
  await confirmFingerprints(ctx, input, run.ledger!, session.conn);
  report.status = 'unchanged';
  if (!input.pkg || !promotesFrom(ctx, input.environment.name)) return ExitCode.ok;
  const pkg = input.pkg;
  const projects = pkg.plan.projects.filter((p) => pkg.plan.steps.some((s) => s.project === p));
  return settleClosing(ctx, input, session, run, report, projects, 'promotion');
}

/**
 * The deployments of the planned projects whose closing stages are still owed: marked interrupted by this run after
 * every one of their steps applied, or one whose smoke checks failed after every step applied (an ordinary deployment
 * without `autoRollback`, or a closing run of no steps that finished an interrupted one): until they pass, the project
 * is not deployed, and the next run runs them again (a fleet counts such a target failed, never `unchanged`).
 */
async function interruptedAfterSteps(
  ctx: OperationContext,
  input: DeployInputs,
  ledger: Ledger,
  interrupted: readonly number[],
): Promise<{ project: string; id: number; checksFailed: boolean; closing: boolean }[]> {
  if (!(await ledger.tables.exists())) return [];
  const out: { project: string; id: number; checksFailed: boolean; closing: boolean }[] = [];
  for (const project of input.planned) {
    // In an Nx batch, the last deployments the batch's first task read for all (no request of this task's own).
    const last = await lastDeployment(ctx, ledger, project, input.environment.name);
    if (last?.kind !== 'deploy') continue;
    const stopped = interrupted.includes(last.id) && last.steps_total > 0 && last.steps_applied === last.steps_total;
    // Failed with every step applied and its checks run: only its smoke checks failed (a step that fails is not
    // applied; a failure before the checks leaves them `not run`). A closing run of no steps: its checks failed.
    const smokeRan = (deploymentSummary(last).smoke ?? 'not run') !== 'not run';
    const checksFailed =
      last.status === 'failed' && last.steps_applied === last.steps_total && (last.steps_total === 0 || smokeRan);
    if (stopped || checksFailed)
      out.push({ project, id: last.id, checksFailed: !stopped, closing: last.steps_total === 0 });
  }
  return out;
}

/** Whether another environment takes packages promoted from `environment` (`gates.promotedFrom`). */

async function planDeployment(
  ctx: OperationContext,
  input: DeployInputs,
  session: DeploymentSession,
  ledger: Ledger,
  report: DeployReport,
  drift: DriftFound,
): Promise<DeployRun> {
  const { conn } = session;
  const { options, engine, environment, models, planned, pkg } = input;
  const deployed = await deployedStates(ctx, ledger, environment, planned);
  const commit = pkg ? pkg.plan.sourceCommit : await input.sourceCommitLater;
  report.source.commit = commit;
  const variables = new Map(models.map((m) => [m.project.name, m.variables]));
  const build = () =>
    planSources(
      ctx,
      { engine, models, planned, schemaOwners: input.owners, deployed, sourceCommit: commit },
      environment,
      conn,
      backupStamp(input.now),
      // The live schema of a project planned by a diff is read on both sessions (`DiffRole.introspect`), the lock's
      // once the drift stage's reading there is done (the plan waits for its verdict: `DriftFound.side`).
      // A project whose schemas are as its last deployment recorded them: its diff reads what changed (diffing/narrow.ts).
      {
        safe: options.safe,
        side: drift.side ?? sideSession(ctx, session),
        // Not one whose state a dependency's deployment carried: what it rewrote is not as the ledger recorded it.
        narrow: async (project) => (await drift.state(project)) === 'no' && !(await drift.carried(project)),
      },
    );
  const state =
    ctx.plans && !pkg ? await liveState(engine, conn, { models, planned, deployed, sourceCommit: commit }) : null;
  const whole = pkg
    ? await packagePlan({ pkg, ledger, conn, engine, environment, deployed, variables, models })
    : ctx.plans && state
      ? await ctx.plans.plan(environment.name, state.key, build)
      : await build();
  if (ctx.plans && !state) ctx.plans.record(environment.name, pkg ? 'package' : 'built');
  if (!pkg) await pruneRemoved(ctx, input, conn, whole, deployed);
  // --objects: the plan stage's filter (operations/selection.ts); the rest of the pipeline sees only its plan.
  const plan = input.selection
    ? selectedPlan(ctx, { ...input, selection: input.selection }, whole, deployed, report)
    : whole;
  // A package is identified by the checksum of the whole plan it froze; sources by the plan of this run.
  const checksum = pkg ? pkg.manifest.planChecksum : planChecksum(plan);
  report.source.planChecksum = checksum;
  // A base fingerprint is taken by a diff of one project: its freshness is read over that project's scope.
  const based = models.filter((m) => plan.projects.includes(m.project.name));
  await assertFreshBase(
    engine,
    conn,
    plan,
    based.length === 1 ? projectScope(based[0]!.graph) : { schemas: based.flatMap((m) => m.graph.schemas) },
  );
  ctx.reporter.info(
    `dbee deploy ${planned.join(', ')} -> ${environment.name} (${conn.description})${options.dryRun ? ' [dry run]' : ''}`,
  );
  return {
    plan,
    planChecksum: checksum,
    commit,
    variables,
    decisions: new Map(),
    conflicts: new Map(),
    problems: [],
    smoke: null,
    missingSchemas: state?.missingSchemas ?? new Set(),
    deployed,
  };
}

/**
 * What changed outside dbee since each project's last recorded state (the drift stage's finding), decided by the
 * environment's conflict strategy (deploy-drift.ts): refusals join the run's problems, reconciling steps the plan (and
 * its checksum). A package deploys the plan it froze and cannot put a hand edit back: its drift refuses it (the
 * pipeline's refusal), except a gap package's, planned by a diff of this database as it is and bound to it by its base
 * fingerprint (`assertFreshBase`).
 */
async function driftIntoPlan(
  ctx: OperationContext,
  input: DeployInputs,
  conn: Connection,
  run: DeployRun,
  report: DeployReport,
  drift: DriftFound,
): Promise<void> {
  const { engine, environment, models, planned, pkg } = input;
  // Read once the drift is decided, before the steps: what a drifted project's deployment starts from.
  const startedFrom = async () => {
    if (input.options.dryRun) return;
    const subjects = models.filter((m) => planned.includes(m.project.name));
    run.startedFrom = await startedFromDrift(
      engine,
      conn,
      subjects.map((m) => ({ project: m.project.name, scope: projectScope(m.graph) })),
      drift,
    );
  };
  if (pkg) {
    if (pkg.plan.baseFingerprint) for (const p of planned) await drift.decide(p);
    return startedFrom();
  }
  const before = run.plan.steps.length;
  run.problems.push(
    ...(await resolveDrift(ctx, {
      engine,
      conn,
      environment,
      models,
      planned,
      deployed: run.deployed,
      plan: run.plan,
      ifExists: input.valid.ifExists,
      drift,
      inFlight: input.inFlight,
    })),
  );
  if (run.plan.steps.length !== before) report.source.planChecksum = run.planChecksum = planChecksum(run.plan);
  await startedFrom();
}

/**
 * Objects deployed but no longer in the sources (and not dropped by the plan already): `--prune` (or `deploy.prune`)
 * adds their drops to the plan; without it they stay, with a warning that says how to decide.
 */
async function pruneRemoved(
  ctx: OperationContext,
  input: DeployInputs,
  conn: Connection,
  plan: Plan,
  deployed: Awaited<ReturnType<typeof deployedStates>>,
): Promise<void> {
  const { options, engine, planned, settingsOf } = input;
  const { reporter } = ctx;
  const inPlan = new Set(plan.steps.map((st) => st.key));
  const pruned = new Map<string, { steps: PlanStep[]; removed: string[] }>();
  for (const m of input.models) {
    const state = deployed.get(m.project.name);
    // What the plan drops (a diff-planned project drops a removed table, its indexes going with it) is decided.
    // A table, view or routine renamed by a declaration (`renames:`) is not removed, nor what is on it: the diff
    // renames it (or did), a table's rows and all.
    const renames = m.project.config.renames ?? [];
    const renamedAway = (k: string) => {
      const on = k.split('@')[1];
      return renames.some((r) => namedByRename(r, k) || (r.kind !== 'column' && on === `${r.schema}.${r.from}`));
    };
    const removed = state
      ? removedObjects(m, state).filter(
          (k) => !inPlan.has(k) && !inPlan.has(`table:${k.split('@')[1] ?? ''}`) && !renamedAway(k),
        )
      : [];
    if (!removed.length) continue;
    const prune = planned.includes(m.project.name) && (options.prune || (settingsOf(m.project.name).prune ?? false));
    if (prune && !engine.diff) {
      throw new DbeeError(`--prune: the ${engine.name} engine cannot plan drops by a diff`, {
        code: 'ENGINE_CAPABILITY',
        hint: `drop ${removed.join(', ')} in a versioned migration`,
      });
    }
    if (prune) {
      const steps = await pruneSteps({
        engine,
        conn,
        project: m.project.name,
        scope: projectScope(m.graph),
        removed,
        online: settingsOf(m.project.name).online ?? false,
        owners: m.graph.manage?.owners,
      });
      pruned.set(m.project.name, { steps, removed });
      reporter.info(
        `${m.project.name}: --prune: ${removed.join(', ')} ${removed.length === 1 ? 'is' : 'are'} deployed but no longer in the sources: ${steps.length ? `the plan drops ${removed.length === 1 ? 'it' : 'them'} (${steps.length} step${steps.length === 1 ? '' : 's'})` : 'already gone from the database'}`,
      );
      continue;
    }
    reporter.warn(
      `${m.project.name}: ${removed.join(', ')} ${removed.length === 1 ? 'is' : 'are'} deployed but no longer in the sources; nothing drops ${removed.length === 1 ? 'it' : 'them'} without a decision (\`--prune\`, \`deploy.prune\`, or a migration that drops ${removed.length === 1 ? 'it' : 'them'}), so ${removed.length === 1 ? 'it stays' : 'they stay'}: restore the file to keep managing ${removed.length === 1 ? 'it' : 'them'}`,
    );
  }
  if (pruned.size) withPrunedSteps(plan, pruned, deployed);
}

/**
 * What to do with an object that exists in the database but not in the ledger (the conflict rules and `--if-exists`):
 * each decision, the resolutions the runner applies, and the steps skipped (`ifExists: skip`: the existing object
 * stays as it is; its step leaves the plan, not run, not recorded).
 */
async function decideDeployConflicts(
  ctx: OperationContext,
  input: DeployInputs,
  conn: Connection,
  run: DeployRun,
  report: DeployReport,
): Promise<void> {
  const { plan } = run;
  run.decisions = await decideConflicts(
    input.engine,
    conn,
    plan,
    new ConflictRules(ctx.workspace, input.environment, input.valid.ifExists),
    backupStamp(input.now),
    run.missingSchemas,
  );
  for (const [order, d] of run.decisions) if (d.resolution) run.conflicts.set(order, d.resolution);
  const skipped = new Set([...run.decisions].flatMap(([order, d]) => (d.skipped ? [order] : [])));
  if (!skipped.size) return;
  for (const step of plan.steps.filter((s) => skipped.has(s.order))) {
    report.skipped.push(step.key);
    ctx.reporter.info(
      `${step.key} exists in the database and the ledger does not know it: skipped (ifExists: skip, ${run.decisions.get(step.order)!.rule.source}); it stays as it is and is not recorded`,
    );
  }
  plan.steps = plan.steps.filter((s) => !skipped.has(s.order));
}

/**
 * What refuses the run, collected before anything runs: conflicts refused, step policies (hazards, `--allow-hazards`),
 * and dependencies this run does not apply that are missing. Under `gates.requireBackup` a dropped table is kept
 * aside first (no longer a data-loss step); the size of each rewrite is noted.
 */
async function collectProblems(
  ctx: OperationContext,
  input: DeployInputs,
  conn: Connection,
  run: DeployRun,
): Promise<void> {
  const { options, engine, environment, models, planned } = input;
  const { plan } = run;
  if (environment.gates.requireBackup)
    await keepDroppedTables(engine, conn, plan, run.conflicts, backupStamp(input.now));
  for (const note of await judgeSizeHazards(engine, conn, plan)) ctx.reporter.info(note);
  run.problems.push(
    ...[...run.decisions.values()].flatMap((d) => (d.problem ? [d.problem] : [])),
    ...(engine.catalog?.planProblems?.(plan, ctx.env) ?? []),
    ...checkStepPolicies(environment, plan, {
      conflicts: run.conflicts,
      settings: input.settingsOf,
      allowHazards: input.valid.allowHazards,
    }),
  );
  // Dependencies this run does not apply must be there (a package checks its own in packagePlan). Under Nx their own
  // tasks deploy them first; a dry run there plans them too (inputs.ts).
  if (input.pkg || !plan.steps.length) return;
  const missing = await missingDependencySchemas(
    engine,
    conn,
    models.filter((m) => !planned.includes(m.project.name)),
  );
  run.problems.unshift(
    ...missing.map((m) =>
      dependencyMissing(
        input.target.name,
        m,
        environment.name,
        `dbee deploy ${m.project} --env ${environment.name}, or without --no-deps`,
      ),
    ),
  );
}

/**
 * The dry run: the plan printed (a table it would drop with rows in it marked data-loss first), the gates asked, and
 * the plan applied to a scratch copy of the target's schemas (with the application's queries described before and
 * after it when a query source is named). Any problem refuses it (exit 1); nothing is applied.
 */
