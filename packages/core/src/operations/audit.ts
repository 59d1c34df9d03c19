import { DbeeError, ExitCode, type ExitCodeValue } from '../errors';
import { requireRole, type AuditTrail, type Engine } from '../engine/engine';
import type { AuditOptions } from '../options';
import type { OperationContext } from '../context/operation-context';
import { sinceTime } from './extract';
import { lockOwner, withSession, type DeploymentSession } from '../runner/session';
import { graphProject } from '../planner/project-model';
import { customStep, sendPhase, type PhaseStep } from '../runner/phase-run';
import { liveProjectPlan } from '../plan/plan';
import { openLedger } from '../ledger/open-ledger';
import { Deployment } from '../runner/deployment';
import { ciJob } from '../context/origin';
import { readRecordable, summaryOf } from '../runner/recorded-fingerprint';
import { projectSubject, type DriftFound, type DriftSubject } from '../pipeline/drift';
import { driftCause } from '../diffing/drift';
import {
  projectFailure,
  runPipeline,
  type PipelineApplied,
  type PipelineCommand,
  type PipelineInputs,
  type PipelinePlan,
} from '../pipeline/pipeline';
import type { DeployReport } from '../runner/deploy-report';
import { oneStepApplied } from '../pipeline/compensation';
import type { ResolvedEnvironment } from '../config/resolve';

export type { AuditOptions };

/**
 * `audit`: with `--enable` or `--disable`, install or remove the environment's audit trail (database-wide event
 * triggers) through the pipeline, as every command that changes a database; without either, list what it recorded for
 * the project's schemas (reads only).
 */
export async function audit(ctx: OperationContext, options: AuditOptions): Promise<ExitCodeValue> {
  if (options.enable && options.disable)
    throw new DbeeError('--enable and --disable cannot be combined', { code: 'OPTIONS_INVALID' });
  if (options.enable || options.disable)
    return runPipeline(ctx, auditCommand(ctx, options, options.enable ? 'enable' : 'disable'), null);
  const { workspace, reporter } = ctx;
  const environment = workspace.environment(options.env, ctx.env);
  const target = workspace.project(options.project);
  const engine = ctx.engine(environment.engine);
  const trail = requireRole(engine, 'audit', 'record who changed what');
  const variables = workspace.settings(target, environment).variables;
  const schemas = graphProject(target, variables, workspace.projects, engine.capabilities.keyNames).schemas;
  return await withSession({ engine, environment, workspaceRoot: workspace.root, reporter }, async ({ conn }) => {
    const periods = await trail.periods(conn);
    const events = await trail.events(conn, {
      schemas,
      since: options.since ? sinceTime(options.since, options.now ?? new Date()) : undefined,
    });
    if (options.format === 'json') {
      ctx.stdout.write(JSON.stringify({ periods, events }, null, 2) + '\n');
      return ExitCode.ok;
    }
    ctx.stdout.write(
      periods.length
        ? `auditing: ${periods.map((p) => `${p.from.toISOString()} .. ${p.to ? p.to.toISOString() : 'now'}`).join(', ')}\n`
        : 'auditing: never enabled\n',
    );
    for (const e of events) ctx.stdout.write(`  ${e.at} ${e.role} ${e.command} ${e.objectType} ${e.identity}\n`);
    return ExitCode.ok;
  });
}

interface AuditInputs extends PipelineInputs {
  engine: Engine;
  trail: AuditTrail;
  subject: DriftSubject;
}

interface AuditRun extends PipelinePlan {
  step: PhaseStep;
  /**
   * The fingerprint the closing row records: the one read after (`read`: the schemas were as recorded), the recorded
   * one again (a hand edit stays visible to `status`), or none (nothing recorded to compare).
   */
  keep: 'read' | string | null;
}

/**
 * `audit --enable` / `--disable` as a command of the pipeline: the ticket, the maintenance windows and protection gate
 * it (its dry run reports them), it is notified, and a deployment of kind `audit` under the named project records it
 * with one step and the ticket. The event triggers are database-wide, outside every project's schemas: a hand edit
 * there does not refuse it (auditing is how one finds who makes them), it is said, and the row records the fingerprint
 * the last deployment recorded again, so that `status` still shows the edit (never recorded as dbee's).
 */
function auditCommand(
  ctx: OperationContext,
  options: AuditOptions,
  what: 'enable' | 'disable',
): PipelineCommand<AuditInputs, AuditRun> {
  return {
    command: 'audit',
    phase: 'audit',
    options,
    promotion: 'audit installs or removes the audit trail; it deploys nothing',
    inputs: async () => {
      const { workspace } = ctx;
      const environment = workspace.environment(options.env, ctx.env);
      const target = workspace.project(options.project);
      const engine = ctx.engine(environment.engine);
      const trail = requireRole(engine, 'audit', 'record who changed what');
      return {
        environment,
        pkg: null,
        planned: [target.name],
        session: { engine, environment },
        engine,
        trail,
        subject: projectSubject(ctx, environment, engine, target.name),
      };
    },
    drift: ({ subject }) => ({ subjects: [subject], decides: true }),
    plan: async (input, _session, _report, drift) => {
      const sql = what === 'enable' ? 'install the audit trigger' : 'remove the audit trigger';
      const step = customStep(input.subject.project, `audit trail (${what})`, sql, 1, (c) =>
        what === 'enable' ? enableTrail(input, c, options.now) : input.trail.disable(c),
      );
      return {
        plan: liveProjectPlan(input.engine.name, input.subject.project, [step.step]),
        problems: [],
        planChecksum: step.step.checksum,
        commit: null,
        step,
        keep: await keptFingerprint(ctx, input.subject.project, drift),
      };
    },
    verify: async (input) => {
      ctx.stdout.write(
        `-- ${what === 'enable' ? 'install' : 'remove'} the audit trail's event triggers on ${input.environment.name}\n`,
      );
    },
    settle: async () => ExitCode.ok,
    apply: (input, session, run, report) => applyAudit(ctx, input, session, run, report, what),
    failure: projectFailure,
  };
}

/** What the audit's row records as the project's fingerprint (`AuditRun.keep`), a hand edit said. */
async function keptFingerprint(ctx: OperationContext, project: string, drift: DriftFound): Promise<AuditRun['keep']> {
  const drifted = await drift.decide(project);
  if (drifted) {
    ctx.reporter.warn(
      `${project}: changed outside dbee since deployment #${drifted.since}${driftCause(drifted)}; the audit trail is changed all the same, and the hand edit stays visible to dbee status`,
    );
    return drifted.recorded;
  }
  return (await drift.state(project)) === 'no' ? 'read' : null;
}

async function enableTrail(
  input: { engine: Engine; trail: AuditTrail; environment: ResolvedEnvironment },
  conn: Parameters<AuditTrail['enable']>[0],
  now: Date | undefined,
): Promise<void> {
  try {
    await input.trail.enable(conn, now);
  } catch (e) {
    const err = input.engine.mapError(e, {});
    throw new DbeeError(`auditing could not be enabled on ${input.environment.name}: ${err.message.split('\n')[0]}`, {
      code: 'AUDIT_ENABLE_FAILED',
      hint: 'event triggers need a superuser: run it with a superuser connection',
      cause: e,
    });
  }
}

/** Stages `apply` and `ledger` of audit: a deployment of kind `audit`, its one step sent and recorded, then closed. */
async function applyAudit(
  ctx: OperationContext,
  input: AuditInputs,
  session: DeploymentSession,
  run: AuditRun,
  report: DeployReport,
  what: 'enable' | 'disable',
): Promise<PipelineApplied> {
  const { engine, environment, subject } = input;
  const { conn } = session;
  const ledger = openLedger(conn, engine.ledger);
  await ledger.tables.ensure();
  const owner = lockOwner();
  const t0 = Date.now();
  const deployment = await Deployment.open(ledger, {
    project: subject.project,
    environment: environment.name,
    kind: 'audit',
    planChecksum: run.planChecksum!,
    package: null,
    gitCommit: null,
    toolVersion: ctx.toolVersion,
    osUser: owner.user,
    ciJob: ciJob(ctx.env),
    host: owner.host,
    stepsTotal: 1,
    ticket: report.ticket,
  });
  const error = await sendPhase({
    conn,
    engine,
    ledger,
    deploymentId: deployment.id,
    steps: [run.step],
    reporter: ctx.reporter,
    assertLock: session.assertLock,
  });
  const fingerprint =
    run.keep === 'read' && engine.diff
      ? summaryOf(await readRecordable(engine.diff, conn, subject.scope))
      : run.keep
        ? { fingerprint: run.keep }
        : {};
  await deployment.close(
    error ? 'failed' : 'succeeded',
    { smoke: 'not run', ...fingerprint },
    error ? { error: error.message, statement: null } : null,
  );
  if (!error)
    ctx.reporter.info(
      what === 'enable'
        ? `auditing enabled on ${environment.name} (${conn.description}): changes to objects are recorded in the ledger schema`
        : `auditing disabled on ${environment.name}; what it recorded is kept`,
    );
  return oneStepApplied(ledger, {
    project: subject.project,
    deploymentId: deployment.id,
    error,
    durationMs: Date.now() - t0,
    backups: [],
    smoke: new Map(),
  });
}
