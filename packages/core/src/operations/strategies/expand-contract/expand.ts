import { inFlightError } from './release-work';
import type { PhaseCommand } from '../strategy';
import type { ExpandStatement } from '../../../engine/engine';
import { type DbeeError, ExitCode } from '../../../errors';
import { releaseSlug, type ExpandPlan } from '../../../expand/expand-plan';
import { expandStatements } from '../../../expand/phase-statements';
import type { ExpandRelease } from '../../../expand/phases';
import { openLedger } from '../../../ledger/open-ledger';
import type { DeployOptions } from '../../../options';
import { formatKey } from '../../../model/object-key';
import { planPolicyProblems } from '../../policy-judgment';
import type { DeploymentSession } from '../../../runner/session';
import { projectScope } from '../../../schema/managed-scope';
import type { OperationContext } from '../../../context/operation-context';
import {
  markInterrupted,
  type PipelineApplied,
  type PipelineCommand,
  type PipelinePlan,
  projectFailure,
} from '../../../pipeline/pipeline';
import { statementsPlan } from '../../../runner/phase-run';
import type { DeployReport } from '../../../runner/deploy-report';
import type { DryRunHooks } from '../../compat';
import { sourceCommit } from '../../../context/load';
import { type Phases, releaseChecksum, strategyLockTimeout } from './settings';
import { closePhase, openPhase, smokeFailed } from './phase-rows';
import { type ExpandSteps, driveExpand, expandSteps } from './expand-steps';
import { printExpandDryRun, verifyExpand } from './dry-run';
import {
  type ExpandInputs,
  expandInputs,
  planRelease,
  refusePendingDependencies,
  refusePendingMigrations,
  rlsBypass,
} from './plan-release';

/** What the expand phase planned under the lock. */
export interface ExpandRun extends PipelinePlan {
  /** The release in flight it resumes, or null: a new one (`plan`) starts after the gates. */
  flying: ExpandRelease | null;
  /** The new release's plan; null when resuming or when nothing changes. */
  release: ExpandPlan | null;
  /** Every statement of a new release, as its dry run prints and verifies them. */
  statements: ExpandStatement[];
  invoker: boolean;
  phases: Phases;
  steps: ExpandSteps;
  /** Opens a new release's row (after the gates); null when resuming. */
  open: (() => Promise<ExpandRelease>) | null;
}

/**
 * `deploy --strategy expand-contract`: start a release (plan it from the sources or a package, refuse what the strategy
 * does not support), or resume the one in flight, up to `expanded`: a command of the pipeline, so every gate, the
 * notifications, the promotion record and the report apply to it as to a direct deployment.
 */
export const expandDeploy: PhaseCommand<DeployOptions> = (ctx, options, { hooks }) =>
  expandCommand(ctx, options, hooks);

export function expandCommand(
  ctx: OperationContext,
  options: DeployOptions,
  hooks: DryRunHooks,
): PipelineCommand<ExpandInputs, ExpandRun> {
  return {
    command: 'deploy',
    phase: 'expand',
    options,
    skipGates: hooks.skipGates,
    inputs: () => expandInputs(ctx, options),
    drift: (input) => ({ subjects: [{ project: input.model.project.name, scope: projectScope(input.model.graph) }] }),
    plan: async (input, session, report) => {
      const run = await planExpandPhase(ctx, options, input, session, report);
      // The schema review policies (docs/policies.md) over the tables the release changes, as a direct deployment
      // judges its plan: an `error` refuses before anything is applied. A package was judged when it was planned.
      if (!hooks.skipGates && !input.pkg && run.release)
        run.problems.push(...(await expandPolicyProblems(ctx, input.loaded, run.release)));
      return run;
    },
    verify: async (input, session, run) => {
      if (run.flying) {
        ctx.stdout.write(
          `${run.flying.project}: release ${run.flying.release} is in flight (${run.flying.phase}); a run resumes it\n`,
        );
        return;
      }
      if (!run.release) return;
      printExpandDryRun(run.phases, input.loaded.target.name, run.release, run.statements);
      const { engine, environment, models, target } = input.loaded;
      await verifyExpand(
        ctx,
        options,
        {
          engine,
          conn: session.conn,
          environment,
          models,
          target: target.name,
          plan: run.release,
          statements: run.statements,
        },
        hooks,
        run.problems,
      );
    },
    settle: async (input, _session, run, report) => {
      // Nothing left to send: a release already expanded runs its smoke checks again; otherwise nothing changes.
      if (!run.flying) return ExitCode.ok;
      return applyExpand(input, run, report);
    },
    apply: (input, _session, run, report) => applyExpand(input, run, report),
    failure: projectFailure,
  };
}

/**
 * The policies of the release's project over what it changes: the tables it creates, renames or gives other
 * columns or constraints (the objects a direct deployment of the same change would step on).
 */
export async function expandPolicyProblems(
  ctx: OperationContext,
  loaded: ExpandInputs['loaded'],
  plan: ExpandPlan,
): Promise<DbeeError[]> {
  const changed = plan.tables.filter(
    (t) =>
      t.created ||
      t.newName !== t.name ||
      t.dropped.length > 0 ||
      t.constraints.length > 0 ||
      t.columns.some((c) => c.kind !== 'same') ||
      t.columns.length !== t.oldColumns.length,
  );
  if (!changed.length) return [];
  const steps = changed.map((t) => ({
    project: plan.project,
    key: formatKey({ kind: 'table', schema: t.schema, name: t.newName }),
  }));
  const judged = await planPolicyProblems(ctx, { ...loaded, planned: [plan.project] }, { steps });
  return judged.problems;
}

/** Stage `plan` of the expand phase: the release in flight to resume, or the next release planned. */
export async function planExpandPhase(
  ctx: OperationContext,
  options: DeployOptions,
  inputs: ExpandInputs,
  session: DeploymentSession,
  report: DeployReport,
): Promise<ExpandRun> {
  const { environment, target, engine } = inputs.loaded;
  const { conn } = session;
  const phases = openLedger(conn, engine.ledger).releases;
  const p: Phases = {
    ctx,
    engine,
    expand: inputs.expand,
    environment,
    conn,
    ledger: phases,
    lockTimeoutMs: strategyLockTimeout(ctx, target.name, environment),
    session,
    waits: [],
  };
  await markInterrupted(ctx, openLedger(conn, engine.ledger), session, report, options.dryRun ?? false);
  const flying = await phases.inFlight(target.name);
  const invoker = await inputs.expand.securityInvoker(conn);
  const problems: DbeeError[] = [];
  // Version schemas' views still to be made without security_invoker: refused unless rls-bypass is allowed.
  const views = !flying || flying.phase === 'expanding' || flying.phase === 'backfilling';
  if (views && !invoker && !inputs.allowed.has('rls-bypass')) problems.push(rlsBypass(environment.name));
  const run: ExpandRun = {
    plan: statementsPlan(engine, target.name, []),
    problems,
    planChecksum: inputs.pkg?.manifest.planChecksum ?? null,
    commit: inputs.pkg ? inputs.pkg.plan.sourceCommit : await sourceCommit(ctx),
    flying,
    release: null,
    statements: [],
    invoker,
    phases: p,
    steps: { expanding: [], backfilling: [] },
    open: null,
  };
  if (flying) {
    if (options.release !== undefined && releaseSlug(options.release) !== releaseSlug(flying.release))
      throw inFlightError(flying, environment.name, `release ${options.release} cannot start`);
    if (flying.phase === 'contracting' || flying.phase === 'aborting')
      throw inFlightError(flying, environment.name, 'it is being finished');
    if (!options.dryRun) ctx.reporter.info(`${flying.project}: resuming release ${flying.release} (${flying.phase})`);
    run.steps = expandSteps(p, flying.plan, flying.phase, invoker, () => flying);
    run.plan.steps = [...run.steps.expanding, ...run.steps.backfilling].map((s) => s.step);
    run.planChecksum ??= releaseChecksum(flying.plan);
    return run;
  }
  const ledger = openLedger(conn, engine.ledger);
  await refusePendingMigrations(ledger, inputs.model, inputs.pkg);
  await refusePendingDependencies(ctx, ledger, engine, inputs);
  const plan = await planRelease(p, inputs, options);
  if (plan === null) return run;
  run.release = plan;
  run.planChecksum ??= releaseChecksum(plan);
  run.statements = [
    ...inputs.expand.versionSchema(plan, 'old', { securityInvoker: invoker }),
    ...expandStatements(inputs.expand, plan),
    ...inputs.expand.versionSchema(plan, 'new', { securityInvoker: invoker }),
  ];
  let started: ExpandRelease | null = null;
  run.steps = expandSteps(p, plan, 'expanding', invoker, () => started!);
  run.plan.steps = [...run.steps.expanding, ...run.steps.backfilling].map((s) => s.step);
  // The release row opens when the steps start (after the gates); its backfills read its id then.
  run.open = async () => (started = await startRelease(p, plan));
  ctx.stdout.write(
    `${target.name}: release ${plan.release} on ${environment.name} with the expand-contract strategy\n${plan.summary.map((s) => `  ${s}\n`).join('')}`,
  );
  report.transaction = 'object';
  return run;
}

/** Open the release's row, `expanding` (the ledger made first when it has none); one already in flight refuses. */
export async function startRelease(p: Phases, plan: ExpandPlan): Promise<ExpandRelease> {
  await openLedger(p.conn, p.engine.ledger).tables.ensure();
  try {
    return await p.ledger.start(plan, p.environment.name);
  } catch (e) {
    const other = await p.ledger.inFlight(plan.project);
    if (other) throw inFlightError(other, p.environment.name, `release ${plan.release} cannot start`);
    throw e;
  }
}

/**
 * Stages `apply`, `ledger` and `smoke` of the expand phase: the release opened (a new one) or resumed, its steps sent
 * under a deployment of kind `expand` (its rows in `steps`), its smoke checks per version, the deployment closed with
 * them and the schemas' fingerprint as the expand left them (so `status` does not take the release for drift).
 */
export async function applyExpand(
  inputs: ExpandInputs,
  run: ExpandRun,
  report: DeployReport,
): Promise<PipelineApplied> {
  const p = run.phases;
  const release = run.flying ?? (await run.open!());
  const deployment = await openPhase(
    p,
    'expand',
    release.plan.project,
    run.plan.steps.length,
    report,
    inputs.pkg?.path ?? null,
    run.planChecksum!,
  );
  return closePhase(p, release, deployment, run.plan.steps.length, async () => {
    const smoke = await driveExpand(p, release, run.steps, inputs.model, run.invoker, deployment);
    return { smoke, error: smoke.passed ? undefined : smokeFailed(release.project, 'expand', smoke.summary) };
  });
}
