import type { ResolvedEnvironment } from '../config/resolve';
import type { OperationContext } from '../context/operation-context';
import { checkRollbackProof } from '../package/rollback-proof';
import { ciJob } from '../context/origin';
import { DbeeError, ExitCode, type ExitCodeValue } from '../errors';
import type { Ledger } from '../ledger/ledger';
import { openLedger } from '../ledger/open-ledger';
import { notifyDeployFinished, notifyDeployStarted, type FinishedEvents } from '../notify/deploy-events';
import type { LoadedPackage } from '../package/package';
import type { Plan } from '../plan/plan';
import { checkPromotion, recordPromotion } from '../promotion/promotion-gate';
import { checkTicket } from '../promotion/ticket';
import {
  errorJson,
  printSummary,
  REPORT_FORMAT_VERSION,
  writeReport,
  type DeployReport,
} from '../runner/deploy-report';
import type { RunResult } from '../runner/runner';
import { lockOwner, sideSession, withSession, type DeploymentSession, type SessionRequest } from '../runner/session';
import { confirmAndCount, dryRunGates, refuse as refuseDeployment } from './gates';
import { driftStage, type DriftFound, type DriftRequest } from './drift';
import { noteCatalogChanging } from './batch-planned';
import type { Connection } from '../engine/engine';

/*
 * The stages every command that changes a database goes through, in this order (`stages` below runs them). A command
 * supplies what differs (`PipelineCommand`: its inputs, its plan, its dry run's verification, its apply); the pipeline
 * runs the rest itself, so that no command can leave a gate, a notification, the promotion record or the report out:
 *
 * - `inputs`: options, environment, package, models (`PipelineCommand.inputs`);
 * - `gates`: the change ticket and `gates.promotedFrom` (before the lock), then, on the plan, the maintenance windows
 *   and protection: one check (`dryRunGates`) that a dry run reports and a real run refuses with;
 * - `lock`: `withSession` (the deployment lock, connect, session settings); the plan is made under it, since it reads
 *   the live database;
 * - `drift` (`PipelineCommand.drift`, pipeline/drift.ts): the projects the command changes, each judged against its
 *   newest deployment in the target's own ledger; a hand edit refuses the run (dry run alike) unless the command puts
 *   it back visibly (`DriftFound.decide`); never recorded as dbee's;
 * - `plan` (`PipelineCommand.plan`): what the command will send, with the problems that refuse it (step policies,
 *   `gates.requireBackup`, conflicts);
 * - `verify`: a dry run applies the plan to a scratch copy (`PipelineCommand.verify`) and stops there;
 * - `apply`, `ledger`, `smoke` (`PipelineCommand.apply`): the steps sent by `executePlan`, each with its ledger rows,
 *   the smoke checks right after (inside the run, so that an automatic rollback can undo a failed one);
 * - `promotion`: for a package, its promotion record for the environments promoted from this one;
 * - `notify`: `deploy-started` before the first step, then the outcome's events (a deployment's, or the command's
 *   own: `PipelineCommand.notify`);
 * - `log`: the report (`--report`), the summary printed, the exit code.
 */

/** The options every command of the pipeline takes (each declares them through its option builders). */
export interface PipelineOptions {
  env?: string;
  /** The change ticket (`--ticket`). */
  ticket?: string;
  dryRun?: boolean;
  assumeYes?: boolean;
  countdownFrom?: number;
  /** `--report <file>`: the run's report as JSON. */
  report?: string;
  /** The time the gates read (tests). */
  now?: Date;
}

/** What the pipeline reads of a command's inputs. */
export interface PipelineInputs {
  environment: ResolvedEnvironment;
  /** The package deployed, or null for the sources (or a phase of a release in flight). */
  pkg: LoadedPackage | null;
  /** The deployment lock's session (`withSession`), without what the pipeline fills in. */
  session: Omit<SessionRequest, 'workspaceRoot' | 'reporter'>;
  /** The projects this run plans (the report's and the notifications' `projects`). */
  planned: string[];
}

/** What a command planned under the lock. */
export interface PipelinePlan {
  /** The steps it would send: counted by protection's question, listed by `deploy-started`. */
  plan: Plan;
  /** What refuses the run (a dry run reports them all). */
  problems: DbeeError[];
  /** Recorded in the report: the package's or this run's plan checksum, and the sources' commit. */
  planChecksum: string | null;
  commit: string | null;
}

/** What a command's apply stage returns: the run (steps, projects, exit code) and each project's smoke outcome. */
export interface PipelineApplied {
  result: RunResult;
  /** Project → `n/m passed` (or `not run`), as the promotion record and the report say it. */
  smoke: ReadonlyMap<string, string>;
}

/** What a command supplies to the pipeline: only what differs between commands and strategies. */
export interface PipelineCommand<I extends PipelineInputs, P extends PipelinePlan> {
  /** The command as the gates name it (`deploy`, `complete`, `abort`). */
  command: string;
  /**
   * For a phase of a release (`expand`, `complete`, `abort`), or a command that is no deployment of the sources
   * (`disable`, `enable`, `rollback`): recorded in the report and the notifications.
   */
  phase?: string;
  options: PipelineOptions;
  /** `dbee check`'s dry run of queries only: no gate is what it asks (it applies nothing). */
  skipGates?: boolean;
  /**
   * A command whose change is the ledger itself, with no step (`adopt` records a database as deployed): its real run
   * goes through the gates, `deploy-started` and `apply` like a run with steps, never `settle`.
   */
  ledgerOnly?: boolean;
  /**
   * Why `gates.promotedFrom` was passed already (a phase of a release whose expand passed it) or does not apply (a
   * rollback deploys no package); absent: it is checked here against the package (`checkPromotion`).
   */
  promotion?: string;
  /**
   * How the command words a refusal for `problems` (a dry run: what would be refused; a real run: nothing was
   * changed). Default: a deployment's (`refuse` of `gates.ts`).
   */
  refuse?: (problems: DbeeError[], dryRun: boolean) => never;
  /**
   * Stage `notify`: the events of the outcome and the result they say. Default: a deployment's (`deployEvents`);
   * `rollback` sends `rolled-back` (`rollbackEvents`).
   */
  notify?: (report: DeployReport, result: RunResult) => FinishedEvents;
  /** Stage `inputs`: null when there is nothing to do here (said why). */
  inputs(report: DeployReport): Promise<I | null>;
  /**
   * Stage `drift`, under the lock, before the plan: the projects whose schemas this run changes (each judged against
   * its newest deployment in the target's ledger), or why none (`{ none }`). Required: a command says what it changes.
   */
  drift(input: I, conn: Connection): DriftRequest | Promise<DriftRequest>;
  /** Stage `plan`, under the lock, with the drift stage's finding (a command that puts drift back decides it there). */
  plan(input: I, session: DeploymentSession, report: DeployReport, drift: DriftFound): Promise<P>;
  /** Stage `verify` (a dry run only): print the plan, apply it to a scratch copy, push what fails to `run.problems`. */
  verify(input: I, session: DeploymentSession, run: P, report: DeployReport): Promise<void>;
  /**
   * A real run with nothing to apply: what the command settles instead (a package already at its state runs its smoke
   * checks and writes its promotion record). Returns the exit code, or the smoke outcomes for the promotion record.
   */
  settle(input: I, session: DeploymentSession, run: P, report: DeployReport): Promise<ExitCodeValue | PipelineApplied>;
  /** Stages `apply`, `ledger` and `smoke`: the steps sent with their rows, the smoke checks after. */
  apply(input: I, session: DeploymentSession, run: P, report: DeployReport): Promise<PipelineApplied>;
  /** The run's failure as the command words it (exit 2 or 3), thrown; returns the exit code otherwise. */
  failure(applied: PipelineApplied, report: DeployReport): ExitCodeValue;
}

/**
 * The usual `failure` of a pipeline command: the first failed project's error as raised (exit 2 for a step, 3 for the
 * smoke checks), else the run's exit code.
 */
export function projectFailure({ result }: PipelineApplied): ExitCodeValue {
  const failed = result.projects.find((p) => p.error);
  if (failed?.error) throw failed.error;
  return result.exitCode;
}

/** A report with nothing known yet: `refused` until a stage says otherwise. */
export function newReport(ctx: OperationContext, command: PipelineCommand<never, never>, pkg: string | null) {
  const startedAt = command.options.now ?? new Date();
  const owner = lockOwner();
  const report: DeployReport = {
    formatVersion: REPORT_FORMAT_VERSION,
    tool: { name: 'dbee', version: ctx.toolVersion },
    environment: ctx.workspace.environmentName(command.options.env, ctx.env).name,
    database: null,
    planned: [],
    startedAt: startedAt.toISOString(),
    finishedAt: startedAt.toISOString(),
    durationMs: 0,
    status: 'refused',
    exitCode: ExitCode.invalid,
    who: { osUser: owner.user, host: owner.host, ciJob: ciJob(ctx.env) },
    source: { commit: null, package: pkg, planChecksum: null },
    ticket: null,
    transaction: 'object',
    projects: [],
    steps: [],
    backups: [],
    skipped: [],
    smoke: 'not run',
    interrupted: [],
    ...(command.phase ? { phase: command.phase } : {}),
  };
  return report;
}

/**
 * Run `command` through the pipeline's stages (listed at the top of this file), with its report: printed when something ran,
 * written to `--report`, handed to `OperationContext.onDeployReport`, whatever the outcome.
 */
export async function runPipeline<I extends PipelineInputs, P extends PipelinePlan>(
  ctx: OperationContext,
  command: PipelineCommand<I, P>,
  pkg: string | null,
): Promise<ExitCodeValue> {
  const report = newReport(ctx, command as unknown as PipelineCommand<never, never>, pkg);
  const t0 = Date.now();
  const startedAt = new Date(report.startedAt);
  let ran = false;
  try {
    const code = await stages(ctx, command, report, () => (ran = true));
    report.exitCode = code;
    return code;
  } catch (e) {
    if (e instanceof DbeeError) {
      report.exitCode = e.exitCode;
      report.error = errorJson(e);
      if (!ran) report.status = 'refused';
    }
    throw e;
  } finally {
    report.finishedAt = new Date(startedAt.getTime() + (Date.now() - t0)).toISOString();
    report.durationMs = Date.now() - t0;
    if (ran) printSummary(ctx.stdout, report);
    if (command.options.report) {
      const path = ctx.workspace.commandLinePath(command.options.report);
      writeReport(path, report);
      ctx.reporter.info(`report written to ${path}`);
    }
    ctx.onDeployReport?.(report);
  }
}

/**
 * Stage `gates`, its part before the lock: the change ticket, then `gates.promotedFrom` against the package, then the
 * package's rollback proof (`verify.rollback`): the same for a dry run and a real run, and for a plan exported to run
 * elsewhere (`dbee plan --format bteq`). Returns the ticket.
 */
export async function gatesBeforeLock(
  ctx: OperationContext,
  environment: ResolvedEnvironment,
  pkg: LoadedPackage | null,
  command: Pick<PipelineCommand<never, never>, 'command' | 'promotion'> & {
    options: Pick<PipelineOptions, 'ticket' | 'dryRun' | 'now'>;
  },
): Promise<string | null> {
  const { options } = command;
  const ticket = checkTicket(environment, options.ticket, command.command);
  if (command.promotion === undefined) await checkPromotion(ctx, environment, pkg, options.now ?? new Date());
  else if (environment.gates.promotedFrom?.length) ctx.reporter.info(`promotion: ${command.promotion}`);
  // verify.rollback: a package must carry the proof that its rollback was tested (docs/rollback-readiness.md).
  checkRollbackProof(environment, pkg, options.dryRun ?? false);
  return ticket;
}

/** The stages in order; `onRun` marks the moment something was sent (the summary is printed from then on). */
async function stages<I extends PipelineInputs, P extends PipelinePlan>(
  ctx: OperationContext,
  command: PipelineCommand<I, P>,
  report: DeployReport,
  onRun: () => void,
): Promise<ExitCodeValue> {
  const { options } = command;
  const refuse = command.refuse ?? refuseDeployment;
  const input = await command.inputs(report);
  if (!input) return ExitCode.ok;
  const { environment } = input;
  report.environment = environment.name;
  report.planned = input.planned;
  const now = options.now ?? new Date();
  const gated = { assumeYes: options.assumeYes ?? false, now };
  if (!command.skipGates) report.ticket = await gatesBeforeLock(ctx, environment, input.pkg, command);
  return withSession(
    { ...input.session, workspaceRoot: ctx.workspace.root, reporter: ctx.reporter },
    async (session) => {
      report.database = session.conn.description;
      // `dbee check` (skipGates) applies nothing: a dry run of queries, never refused for drift.
      const drift = await driftStage(
        ctx,
        {
          engine: input.session.engine,
          conn: session.conn,
          side: sideSession(ctx, session),
          environment,
          command: command.command,
        },
        command.skipGates ? { none: 'a dry run of queries only' } : await command.drift(input, session.conn),
      );
      const run = await planOverDrift(command, input, session, report, drift, refuse);
      report.source.commit = run.commit;
      report.source.planChecksum = run.planChecksum;
      if (options.dryRun) {
        report.status = 'dry-run';
        await command.verify(input, session, run, report);
        if (!command.skipGates) run.problems.push(...dryRunGates(ctx, environment, gated));
        if (run.problems.length) refuse(run.problems, true);
        ctx.reporter.info('dry run: nothing was applied');
        return ExitCode.ok;
      }
      // The same gates as the dry run's, with steps or without: a plan of no steps is judged as its dry run is.
      if (!command.skipGates) run.problems.push(...dryRunGates(ctx, environment, gated));
      if (run.problems.length) refuse(run.problems, false);
      const noSteps = run.plan.steps.length === 0 && !command.ledgerOnly;
      await confirmAndCount(ctx, environment, run.plan.steps.length, {
        ...gated,
        countdownFrom: options.countdownFrom,
        skipCountdown: noSteps,
      });
      if (noSteps) {
        const settled = await command.settle(input, session, run, report);
        if (typeof settled === 'number') return settled;
        onRun();
        return finish(ctx, command, input, session, settled, report, []);
      }
      const notStarted = await notifyDeployStarted(ctx, report, run.plan);
      onRun();
      // In an Nx batch, the later tasks read the catalog again (batch-planned.ts): these steps change it.
      noteCatalogChanging(ctx, environment.name);
      const applied = await command.apply(input, session, run, report);
      return finish(ctx, command, input, session, applied, report, notStarted);
    },
  );
}

/**
 * Stage `plan` after stage `drift`: the drift the command did not decide is refused with the plan's problems, first
 * (a command that does not decide drift is refused over it even when its plan refuses too: a plan made over a hand
 * edit can fail for the edit's sake, and the refusal says both).
 */
async function planOverDrift<I extends PipelineInputs, P extends PipelinePlan>(
  command: PipelineCommand<I, P>,
  input: I,
  session: DeploymentSession,
  report: DeployReport,
  drift: DriftFound,
  refuse: (problems: DbeeError[], dryRun: boolean) => never,
): Promise<P> {
  let run: P;
  try {
    run = await command.plan(input, session, report, drift);
  } catch (e) {
    const refusals = drift.decides || !(e instanceof DbeeError) ? [] : await drift.refusals().catch(() => []);
    if (refusals.length) refuse([...refusals, e as DbeeError], command.options.dryRun ?? false);
    throw e;
  }
  const refusals = await drift.refusals();
  if (drift.decides) run.problems.push(...refusals);
  else run.problems.unshift(...refusals);
  return run;
}

/** Stages `promotion`, `notify` and `log` of a run that sent something (or settled a package at its state). */
async function finish<I extends PipelineInputs, P extends PipelinePlan>(
  ctx: OperationContext,
  command: PipelineCommand<I, P>,
  input: I,
  session: DeploymentSession,
  applied: PipelineApplied,
  report: DeployReport,
  notStarted: Awaited<ReturnType<typeof notifyDeployStarted>>,
): Promise<ExitCodeValue> {
  const { result, smoke } = applied;
  report.projects = result.projects.map(({ error, ...p }) => ({
    ...p,
    ...(error ? { error: { code: error.code, message: error.message } } : {}),
  }));
  report.steps = result.steps;
  report.backups = result.projects.flatMap((p) => p.backups);
  if (smoke.size) report.smoke = [...smoke].map(([p, s]) => `${p} ${s}`).join(', ');
  const failed = result.projects.some((p) => p.status === 'failed' || p.status === 'aborted');
  const rolledBack = result.projects.some((p) => p.status === 'rolled-back');
  report.status = failed ? 'failed' : rolledBack ? 'rolled-back' : 'succeeded';
  if (input.pkg) {
    const projects = result.projects.flatMap((p) =>
      p.deploymentId === null
        ? []
        : [
            {
              project: p.project,
              deploymentId: p.deploymentId,
              status: p.status,
              smoke: smoke.get(p.project) ?? 'not run',
            },
          ],
    );
    recordPromotion(ctx, {
      environment: input.environment,
      pkg: input.pkg,
      database: session.conn.description,
      ticket: report.ticket,
      finishedAt: new Date().toISOString(),
      projects,
    });
  }
  const ledger = openLedger(session.conn, input.session.engine.ledger);
  await notifyDeployFinished(ctx, report, result, ledger, notStarted, command.notify?.(report, result));
  return command.failure(applied, report);
}

/**
 * Under the lock, a deployment still marked running belongs to a process that died: a real run marks it interrupted
 * (its applied steps stay, as its rows say) before it plans; a dry run only says so.
 */
export async function markInterrupted(
  ctx: OperationContext,
  ledger: Pick<Ledger, 'tables' | 'batch' | 'deployments'>,
  session: DeploymentSession,
  report: DeployReport,
  dryRun: boolean,
): Promise<void> {
  if (!(await ledger.tables.exists())) return;
  if (dryRun) {
    const running = await ledger.deployments.runningDeployments();
    if (running.length)
      ctx.reporter.warn(
        `deployment${running.length > 1 ? 's' : ''} ${running.map((d) => `#${d}`).join(', ')} did not finish (the process ended); a real run marks ${running.length > 1 ? 'them' : 'it'} interrupted`,
      );
    return;
  }
  const { owner } = session;
  report.interrupted = await ledger.deployments.markInterrupted(
    `a deployment by ${owner.user}@${owner.host}, pid ${owner.pid}`,
  );
  if (report.interrupted.length)
    ctx.reporter.warn(
      `deployment${report.interrupted.length > 1 ? 's' : ''} ${report.interrupted.map((d) => `#${d}`).join(', ')} did not finish (the process ended): marked interrupted; its applied steps stay`,
    );
}
