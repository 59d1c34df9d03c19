import type { PhaseCommand, PhaseOptions } from '../strategy';
import type { ResolvedEnvironment } from '../../../config/resolve';
import { requireRole, type ExpandRole, type ExpandStatement } from '../../../engine/engine';
import { DbeeError, ExitCode } from '../../../errors';
import type { ExpandPlan } from '../../../expand/expand-plan';
import { abortStatements, completeStatements } from '../../../expand/phase-statements';
import type { ExpandRelease } from '../../../expand/phases';
import { openLedger } from '../../../ledger/open-ledger';
import type { AbortOptions, CompleteOptions } from '../../../options';
import type { ProjectModel } from '../../../planner/project-model';
import type { Deployment } from '../../../runner/deployment';
import type { DeploymentSession } from '../../../runner/session';
import type { OperationContext } from '../../../context/operation-context';
import { notVerified } from '../../../pipeline/gates';
import {
  markInterrupted,
  type PipelineApplied,
  type PipelineCommand,
  type PipelineInputs,
  type PipelinePlan,
  projectFailure,
} from '../../../pipeline/pipeline';
import { statementStepOf, statementsPlan } from '../../../runner/phase-run';
import type { DeployReport } from '../../../runner/deploy-report';
import { verifyPlan } from '../../../runner/verify';
import { loadTarget, schemaOwners } from '../../../context/load';
import {
  buildConvergenceSources,
  convergedOnTarget,
  convergence,
  notConverged,
  type Convergence,
} from '../../../diffing/converge';
import type { Connection } from '../../../engine/engine';
import { verifiedLine } from '../direct/verify';
import { formatKey, parseKey } from '../../../model/object-key';
import { planFromSources } from '../../../planner/planner';
import { type Phases, names, releaseChecksum, strategyLockTimeout } from './settings';
import { closePhase, openPhase, sendSteps, smokeFailed } from './phase-rows';
import { smokePerVersion } from './expand-steps';
import { ledgerSchemaOnCopy } from './dry-run';
import { noRelease } from './version';

/** What `complete` and `abort` read before the lock. */
export interface FinishInputs extends PipelineInputs {
  target: string;
  dryRun: boolean;
  /** `--no-verify`: the dry run only prints the statements. */
  verify: boolean;
  expand: ExpandRole;
  /** The project's model: its search path and objects for the smoke checks after the phase. */
  model: ProjectModel;
  /** It and its dependencies' (the sources `complete`'s convergence check compares with). */
  models: ProjectModel[];
}

/** What `complete` or `abort` planned under the lock: the release in flight and the statements of its phase. */
export interface FinishRun extends PipelinePlan {
  phases: Phases;
  release: ExpandRelease;
  statements: ExpandStatement[];
  /** The phase was started before (`contracting`, `aborting`): this run resumes it. */
  resuming: boolean;
  /** The package the release came from (its expand's), recorded with the phase; null for the sources. */
  pkg: string | null;
}

/**
 * `complete` or `abort` as a command of the pipeline: the same gates as a deployment (ticket, maintenance window,
 * protection, in the dry run too; `gates.requireBackup` on what `complete` drops), notifications, a ledger deployment
 * of kind `complete` or `abort` with a row per statement, the report. `gates.promotedFrom` is the expand's: the release
 * in flight passed it when it started.
 */
export function finishCommand(
  ctx: OperationContext,
  options: CompleteOptions | AbortOptions,
  kind: 'complete' | 'abort',
): PipelineCommand<FinishInputs, FinishRun> {
  return {
    command: kind,
    phase: kind,
    options,
    promotion: 'the release in flight passed gates.promotedFrom when its expand phase started',
    inputs: async () => {
      const { environment, target, engine, model, models } = await loadTarget(ctx, options.project, options.env);
      const expand = requireRole(engine, 'expand', 'run the expand-contract strategy');
      const deploy = ctx.workspace.settings(target, environment).deploy;
      return {
        environment,
        pkg: null,
        planned: [target.name],
        session: { engine, environment, deploy },
        target: target.name,
        dryRun: options.dryRun ?? false,
        verify: options.verify ?? true,
        expand,
        model,
        models,
      };
    },
    // The release's own scope, as its expand recorded it: what the phase changes, judged against that record.
    drift: async (input, conn) => {
      const r = await openLedger(conn, input.session.engine.ledger).releases.inFlight(input.target);
      return r
        ? { subjects: [{ project: input.target, scope: r.plan.scope ?? { schemas: r.plan.schemas } }] }
        : { none: 'no release in flight' };
    },
    plan: (input, session, report) => planFinish(ctx, input, session, report, kind),
    verify: async (input, session, run) => {
      ctx.stdout.write(`-- ${kind} (each statement under lock_timeout ${run.phases.lockTimeoutMs} ms, retried):\n`);
      for (const s of run.statements) ctx.stdout.write(`-- ${s.what}\n${s.sql};\n`);
      await verifyFinish(ctx, input, session, run, kind);
    },
    settle: async () => ExitCode.ok,
    apply: (input, _session, run, report) => applyFinish(input, run, report, kind),
    failure: projectFailure,
  };
}

/**
 * The dry run of `complete` or `abort`, verified as a deployment's is: its statements applied to a scratch copy of the
 * target's schemas as they are now (expanded), every failing statement a refusal, a copy that cannot be made too.
 * `complete`'s copy then ends with the check its real run ends with (`completeConvergence`): a table that differs from
 * the sources refuses it (exit 1), as a deployment's dry run is refused.
 */
export async function verifyFinish(
  ctx: OperationContext,
  input: FinishInputs,
  session: DeploymentSession,
  run: FinishRun,
  kind: 'complete' | 'abort',
): Promise<void> {
  const engine = input.session.engine;
  if (!input.verify) {
    ctx.reporter.info('dry run: not verified (--no-verify): the statements above were not applied to a copy');
    return;
  }
  const ensureLedgerSchema = ledgerSchemaOnCopy(engine);
  const checked = kind === 'complete' ? completeChecked(input, run) : null;
  // The sources' side of the check before the copy is opened: one embedded shadow for both (converge.ts).
  if (checked) await buildConvergenceSources(ctx, { ...checked, models: input.models });
  const verdict = await verifyPlan({
    engine,
    conn: session.conn,
    environment: input.environment,
    workspaceRoot: ctx.workspace.root,
    plan: statementsPlan(engine, input.target, [ensureLedgerSchema, ...run.statements]),
    conflicts: new Map(),
    variables: new Map(),
    schemas: [...run.release.plan.schemas],
    shadow: ctx.workspace.config.shadow ?? 'embedded',
    ...(checked ? { converge: (copy: Connection) => completeConvergence(input, run, copy) } : {}),
  });
  if (!verdict.verified) run.problems.push(notVerified(verdict.skipped ?? 'the copy could not be made'));
  else if (checked) ctx.reporter.info(`dry run: ${verifiedLine(verdict)}`);
  else
    ctx.reporter.info(
      // Never "verified" (issue 88): what `abort` leaves is not compared with the state before the release.
      `dry run: ${verdict.problems.length ? 'ran' : 'applied'} on a scratch copy of the target's schemas (${verdict.ran} statement${verdict.ran === 1 ? '' : 's'}${verdict.problems.length ? `, ${verdict.problems.length} failing` : ', all applied'}); not compared with the state before the release`,
    );
  const diverged = verdict.convergence?.divergences ?? [];
  if (diverged.length) run.problems.push(notConverged(run.release.project, diverged, 'copy'));
  run.problems.push(...verdict.problems);
}

/** Stage `plan` of `complete` or `abort`: the release in flight in a phase that allows it, and its statements. */
export async function planFinish(
  ctx: OperationContext,
  input: FinishInputs,
  session: DeploymentSession,
  report: DeployReport,
  kind: 'complete' | 'abort',
): Promise<FinishRun> {
  const { environment, target } = input;
  const engine = input.session.engine;
  const env = environment.name;
  const ledger = openLedger(session.conn, engine.ledger).releases;
  const p: Phases = {
    ctx,
    engine,
    expand: input.expand,
    environment,
    conn: session.conn,
    ledger,
    lockTimeoutMs: strategyLockTimeout(ctx, target, environment),
    session,
    waits: [],
  };
  await markInterrupted(ctx, openLedger(session.conn, engine.ledger), session, report, input.dryRun);
  const r = await ledger.inFlight(target);
  if (!r) throw noRelease(target, env, kind);
  const resuming = r.phase === (kind === 'complete' ? 'contracting' : 'aborting');
  if (kind === 'complete' && (r.phase === 'expanding' || r.phase === 'backfilling'))
    throw new DbeeError(`release ${r.release} of ${r.project} is not expanded yet (${r.phase})`, {
      code: 'EXPAND_NOT_READY',
      hint: `run dbee deploy ${r.project} --env ${env} --strategy expand-contract again to finish its expand phase, then complete`,
    });
  if (kind === 'complete' && r.phase === 'aborting')
    throw new DbeeError(`release ${r.release} of ${r.project} is being aborted`, {
      code: 'EXPAND_IN_FLIGHT',
      hint: `run dbee abort ${r.project} --env ${env} again to finish the abort`,
    });
  if (kind === 'abort' && r.phase === 'contracting')
    throw new DbeeError(`release ${r.release} of ${r.project} is being completed: it can no longer be aborted`, {
      code: 'EXPAND_IN_FLIGHT',
      hint: `run dbee complete ${r.project} --env ${env} again to finish it`,
    });
  const statements = (kind === 'complete' ? completeStatements : abortStatements)(p.expand, r.plan);
  if (resuming)
    ctx.reporter.info(
      `${r.project}: resuming the ${kind === 'complete' ? 'contract phase' : 'abort'} of release ${r.release}`,
    );
  const problems = kind === 'complete' ? completeBackupProblems(environment, r.plan) : [];
  // The release's package and commit are its expand's: recorded with this phase too (report, ledger row, log).
  const expanded = (
    await openLedger(session.conn, engine.ledger).deployments.list(target, env, Number.MAX_SAFE_INTEGER)
  ).find((d) => d.kind === 'expand' && d.status !== 'running');
  report.source.package = expanded?.package ?? null;
  return {
    plan: statementsPlan(engine, target, statements),
    problems,
    planChecksum: expanded?.plan_checksum ?? releaseChecksum(r.plan),
    commit: expanded?.git_commit ?? null,
    phases: p,
    release: r,
    statements,
    resuming,
    pkg: expanded?.package ?? null,
  };
}

/**
 * `gates.requireBackup` on `complete`: it drops the old columns; one that no new column is computed from (its `up`
 * does not name it) loses its data with it, as a direct deployment's drop would.
 */
export function completeBackupProblems(environment: ResolvedEnvironment, plan: ExpandPlan): DbeeError[] {
  if (!environment.gates.requireBackup) return [];
  const lost = plan.tables.flatMap((t) =>
    t.dropped
      .filter((d) => !t.columns.some((c) => c.up !== null && new RegExp(`\\b${d.name}\\b`).test(c.up)))
      .map((d) => `${t.schema}.${t.name}.${d.name}`),
  );
  if (!lost.length) return [];
  return [
    new DbeeError(
      `complete drops ${lost.join(', ')}, whose data no new column keeps, but environment ${environment.name} requires a backup`,
      {
        code: 'GATE_BACKUP_REQUIRED',
        location: environment.declaredAt,
        hint: 'keep the data first (a column of the new shape computed from it, or a migration that copies it), or remove gates.requireBackup',
      },
    ),
  ];
}

/**
 * Stages `apply`, `ledger` and `smoke` of `complete` or `abort`: the phase set, its statements sent as steps, the
 * release finished, then the smoke checks of the version that stays (the new one after `complete`, the old one after
 * `abort`), the outcome recorded with the release's package and commit.
 */
export async function applyFinish(
  input: FinishInputs,
  run: FinishRun,
  report: DeployReport,
  kind: 'complete' | 'abort',
): Promise<PipelineApplied> {
  const p = run.phases;
  const r = run.release;
  if (!run.resuming) await p.ledger.setPhase(r.id, kind === 'complete' ? 'contracting' : 'aborting');
  const release: ExpandRelease = { ...r, phase: kind === 'complete' ? 'contracting' : 'aborting' };
  let order = 0;
  const steps = run.statements.map((s) =>
    statementStepOf(r.project, s, ++order, { timeouts: p.expand.lockTimeouts, ms: p.lockTimeoutMs }, (w) =>
      p.waits.push(w),
    ),
  );
  const deployment = await openPhase(p, kind, r.project, steps.length, report, run.pkg, run.planChecksum!);
  const applied = await closePhase(p, release, deployment, steps.length, async () => {
    await sendSteps(p, release, deployment, steps);
    if (kind === 'complete') await recordCompletion(p, r, deployment);
    await p.ledger.setPhase(r.id, kind === 'complete' ? 'done' : 'aborted');
    const converged = kind === 'complete' ? await completeConverged(input, run) : null;
    if (converged?.said) p.ctx.reporter.info(converged.said);
    if (converged?.error) return { error: converged.error, notConverged: converged.objects };
    const smoke = await smokePerVersion(p, release, input.model, [kind === 'complete' ? 'new' : 'old']);
    return { smoke, ...(smoke.passed ? {} : { error: smokeFailed(r.project, kind, smoke.summary) }) };
  });
  if (applied.result.projects[0]?.stepsApplied !== steps.length) return applied;
  const env = p.environment.name;
  p.ctx.stdout.write(
    kind === 'complete'
      ? `${r.project}: release ${r.release} complete on ${env}: the tables have the new shape; the version schema is ${names(r.plan, r.release)}\n`
      : `${r.project}: release ${r.release} aborted on ${env}: what its expand added is gone; the old version ${names(r.plan, r.plan.previous)} stays\n`,
  );
  return applied;
}

/** `complete`'s convergence check on the target it contracted (`completeConvergence`): exit 2 on a difference. */
async function completeConverged(input: FinishInputs, run: FinishRun) {
  return convergedOnTarget(run.release.project, await completeConvergence(input, run, run.phases.conn));
}

/**
 * What `complete`'s convergence check compares: the tables the release changed (as steps), when their sources are
 * still those the release was expanded from (its recorded object states); else the tables whose source changed since.
 */
function completeChecked(input: FinishInputs, run: FinishRun) {
  const { ctx, engine, environment } = run.phases;
  const r = run.release;
  const keys = r.plan.tables
    .filter(
      (t) =>
        t.created ||
        t.dropped.length ||
        t.newName !== t.name ||
        t.constraints.length ||
        t.columns.some((c) => c.kind !== 'same'),
    )
    .map((t) => formatKey({ kind: 'table', schema: t.schema, name: t.newName }));
  const now = planFromSources({
    engine,
    models: input.models,
    planned: [r.project],
    schemaOwners: schemaOwners(ctx, environment),
  });
  const checksums = new Map(now.steps.map((s) => [s.key, s.checksum]));
  const moved = keys.filter((k) => checksums.get(k) !== r.plan.objectStates?.[k]);
  const steps = moved.length
    ? []
    : keys.map((key) => ({
        project: r.project,
        key,
        objectKey: parseKey(key),
        action: 'alter' as const,
        statements: [],
      }));
  return { engine, environment, steps, moved };
}

/**
 * `complete`'s convergence check (diffing/converge.ts): the tables the release changed, read by name from `conn` once
 * it is contracted (the target, or a dry run's copy), equal the sources, when their sources are still those the
 * release was expanded from; a table whose source changed since is said not compared (the next deployment plans the
 * rest).
 */
async function completeConvergence(input: FinishInputs, run: FinishRun, conn: Connection): Promise<Convergence> {
  const r = run.release;
  const { engine, environment, steps, moved } = completeChecked(input, run);
  if (moved.length)
    return {
      compared: [],
      divergences: [],
      notCompared: [
        {
          project: r.project,
          reason: `the sources of ${moved.join(', ')} changed since release ${r.release} was expanded`,
        },
      ],
    };
  return convergence(run.phases.ctx, { engine, environment, models: input.models, conn, steps });
}

/** `complete`: the contract phase of the release in flight (from `expanded`, or resuming `contracting`). */
export const completePhase: PhaseCommand<PhaseOptions> = (ctx, options) => finishCommand(ctx, options, 'complete');

/**
 * The completed release's object states in the ledger, as the release's sources say (what a deployment from them
 * records), under its `complete` deployment; the fingerprint goes with the deployment's closing row (`closePhase`).
 */
export async function recordCompletion(p: Phases, r: ExpandRelease, deployment: Deployment): Promise<void> {
  const states = r.plan.objectStates;
  if (!states) return;
  const ledger = openLedger(p.conn, p.engine.ledger);
  await p.conn.transaction(async (tx) => {
    for (const key of Object.keys(deployment.before?.objects ?? {}))
      if (!(key in states) && !key.startsWith('migration:'))
        await ledger.objects.setObjectState(r.project, key, null, deployment.id, tx);
    for (const [key, checksum] of Object.entries(states))
      await ledger.objects.setObjectState(r.project, key, checksum, deployment.id, tx);
  });
}

/** `abort`: undo the expand phase of the release in flight (from any phase before `contracting`). */
export const abortPhase: PhaseCommand<PhaseOptions> = (ctx, options) => finishCommand(ctx, options, 'abort');
