import { projectSubject } from '../pipeline/drift';
import { durationMs } from '../config/units';
import { configSchemas } from '../lazy-schemas';
import type { ResolvedEnvironment } from '../config/resolve';
import type { Connection, Engine } from '../engine/engine';
import { DbeeError, ExitCode, type ExitCodeValue } from '../errors';
import type { Ledger, BackupRow } from '../ledger/ledger';
import { openLedger } from '../ledger/open-ledger';
import { formatKey, parseKey, type ObjectKey } from '../model/object-key';
import type { CleanupOptions } from '../options';
import { liveProjectPlan, type Plan, type PlanStep } from '../plan/plan';
import { planChecksum } from '../plan/serialize';
import { checksumStatements } from '../sources/checksum';
import { runOrigin } from '../context/origin';
import { engineFor, type OperationContext } from '../context/operation-context';
import {
  runPipeline,
  type PipelineApplied,
  type PipelineCommand,
  type PipelineInputs,
  type PipelinePlan,
  projectFailure,
} from '../pipeline/pipeline';
import { deploymentSummary } from '../ledger/ledger';
import { lockOwner } from '../runner/session';
import type { RunResult, StepResult } from '../runner/runner';
import { executePlan, type StepEffect } from '../runner/execute';
import { Deployment } from '../runner/deployment';
import { StepJournal } from '../runner/journal';
import { checkTicket } from '../promotion/ticket';

export type { CleanupOptions };

/** A backup recorded in the ledger, with when it expires under the retention in force. */
export interface BackupInfo {
  /** The object it was made from, e.g. `table:sales.orders`. */
  object: string;
  /** Where it is now, qualified, e.g. `sales_dbee_bak.orders_bak_20261121t103000`. */
  backup: string;
  /** The deployment that made it. */
  deploymentId: number;
  createdAt: string;
  /** `createdAt` plus the retention; null when no retention is set (kept until dropped by hand). */
  expiresAt: string | null;
  expired: boolean;
}

/** The retention in force: `--older-than`, else the environment's `gates.backupRetention`; null when neither. */
export function retentionMs(environment: ResolvedEnvironment, olderThan?: string): number | null {
  if (olderThan !== undefined) {
    // The configuration's duration schema (and zod) load when `--older-than` is given: `status` reads the retention too.
    const parsed = configSchemas().duration.safeParse(olderThan.trim());
    if (!parsed.success) {
      throw new DbeeError(`--older-than ${olderThan}: expected a duration such as "30d", "12h" or "90m"`, {
        code: 'OPTIONS_INVALID',
        hint: 'pass --older-than 30d',
      });
    }
    return durationMs(parsed.data);
  }
  const r = environment.gates.backupRetention;
  return r === undefined ? null : durationMs(r);
}

/** The project's live backups from the ledger, with their expiry under `retention` (ms) at `now`. */
export function backupInfos(rows: BackupRow[], retention: number | null, now: Date): BackupInfo[] {
  return rows.map((b) => {
    const created = new Date(b.created_at);
    const expires = retention === null ? null : new Date(created.getTime() + retention);
    return {
      object: b.object_key,
      backup: b.backup_name,
      deploymentId: Number(b.deployment_id),
      createdAt: created.toISOString(),
      expiresAt: expires ? expires.toISOString() : null,
      expired: expires !== null && expires.getTime() <= now.getTime(),
    };
  });
}

/** The key of a backup: the kind (and arguments, parent) of the object it was made from, under its backup name. */
export function backupKey(b: Pick<BackupInfo, 'object' | 'backup'>): ObjectKey {
  const original = parseKey(b.object);
  const dot = b.backup.indexOf('.');
  return {
    ...original,
    schema: dot >= 0 ? b.backup.slice(0, dot) : original.schema,
    name: dot >= 0 ? b.backup.slice(dot + 1) : b.backup,
  };
}

/**
 * `cleanup`: drop the project's backups past their retention. Only backups the ledger recorded (made by dbee's
 * `rename` strategy) are ever dropped, one step each, without CASCADE; through the pipeline (`runPipeline`): the
 * ticket, the maintenance windows and protection gate it (its dry run reports them), under the deployment lock,
 * notified, recorded as a deployment of kind `cleanup` (its steps cannot be undone: the data is gone).
 */
export async function cleanup(ctx: OperationContext, options: CleanupOptions): Promise<ExitCodeValue> {
  return runPipeline(ctx, cleanupCommand(ctx, options), null);
}

interface CleanupInputs extends PipelineInputs {
  engine: Engine;
  project: string;
  retention: number;
  now: Date;
}

interface CleanupRun extends PipelinePlan {
  ledger: Ledger;
  /** Each drop's backup, by step key. */
  backups: Map<string, BackupInfo>;
  /** Expired backups already gone from the database: the ledger records them as dropped (real run). */
  gone: BackupInfo[];
}

function cleanupCommand(ctx: OperationContext, options: CleanupOptions): PipelineCommand<CleanupInputs, CleanupRun> {
  const { workspace, reporter } = ctx;
  return {
    command: 'cleanup',
    phase: 'cleanup',
    options,
    promotion: 'cleanup drops expired backups, it deploys nothing',
    inputs: async () => {
      const environment = workspace.environment(options.env, ctx.env);
      const target = workspace.project(options.project);
      const engine = engineFor(ctx, environment, [target]);
      // The ticket before the retention, as the pipeline checks it (a missing ticket is said first).
      checkTicket(environment, options.ticket, 'cleanup');
      const retention = retentionMs(environment, options.olderThan);
      if (retention === null) {
        throw new DbeeError(`environment ${environment.name} has no backup retention, so no backup is ever past it`, {
          code: 'CLEANUP_NO_RETENTION',
          location: environment.declaredAt,
          hint: `set gates.backupRetention (e.g. 30d) for ${environment.name} in dbee.yaml, or pass --older-than 30d`,
        });
      }
      return {
        environment,
        pkg: null,
        planned: [target.name],
        session: { engine, environment, deploy: workspace.settings(target, environment).deploy },
        engine,
        project: target.name,
        retention,
        now: options.now ?? new Date(),
      };
    },
    drift: (input) => ({ subjects: [projectSubject(ctx, input.environment, input.engine, input.project)] }),
    plan: (input, { conn }) => planCleanup(ctx, options, input, conn),
    verify: async (_input, _session, run) => {
      if (run.plan.steps.length) reporter.info('dry run: nothing was dropped');
    },
    settle: async (_input, _session, run) => {
      for (const b of run.gone) await run.ledger.backups.backupGone(b.deploymentId, b.backup);
      return ExitCode.ok;
    },
    apply: async (input, session, run, report) => {
      for (const b of run.gone) await run.ledger.backups.backupGone(b.deploymentId, b.backup);
      await run.ledger.tables.ensure();
      return dropBackups(ctx, {
        engine: input.engine,
        conn: session.conn,
        ledger: run.ledger,
        environment: input.environment,
        project: input.project,
        plan: run.plan,
        backups: run.backups,
        ticket: report.ticket,
      });
    },
    failure: projectFailure,
  };
}

/** Stage `plan` of cleanup, under the lock: the backups kept and past their retention, a drop step for each. */
async function planCleanup(
  ctx: OperationContext,
  options: CleanupOptions,
  input: CleanupInputs,
  conn: Connection,
): Promise<CleanupRun> {
  const { reporter } = ctx;
  const { engine, environment, project } = input;
  const ledger = openLedger(conn, engine.ledger);
  const infos = backupInfos(await ledger.backups.liveBackups(project), input.retention, input.now);
  reporter.info(
    `dbee cleanup ${project} -> ${environment.name} (${conn.description})${options.dryRun ? ' [dry run]' : ''}`,
  );
  const expired = infos.filter((b) => b.expired);
  for (const b of infos.filter((x) => !x.expired))
    reporter.info(`  keep ${b.backup} (backup of ${b.object}, deployment #${b.deploymentId}) until ${b.expiresAt}`);
  const { steps, gone } = expired.length
    ? await dropSteps(ctx, engine, conn, project, expired)
    : { steps: [], gone: [] };
  if (!expired.length) reporter.info(`${project}: no backup is past its retention (${infos.length} kept)`);
  for (const b of gone)
    reporter.info(
      `  ${b.backup}: already gone from the database${options.dryRun ? '' : '; the ledger records it as dropped'}`,
    );
  for (const s of steps) reporter.info(`  drop ${s.key} (${s.hazards[0]!.message}): ${s.statements[0]}`);
  const plan: Plan = liveProjectPlan(engine.name, project, steps);
  return {
    plan,
    problems: [],
    planChecksum: planChecksum(plan),
    commit: null,
    ledger,
    backups: new Map(expired.map((b) => [formatKey(backupKey(b)), b])),
    gone,
  };
}

/**
 * A drop step for each expired backup still in the database, with its data-loss hazard; the backups already gone
 * apart. A backup of a kind the engine cannot drop on its own is left in place, with a warning.
 */
async function dropSteps(
  ctx: OperationContext,
  engine: Engine,
  conn: Connection,
  project: string,
  expired: BackupInfo[],
): Promise<{ steps: PlanStep[]; gone: BackupInfo[] }> {
  const present = engine.catalog ? await engine.catalog.existingObjects(conn, expired.map(backupKey)) : null;
  const steps: PlanStep[] = [];
  const gone: BackupInfo[] = [];
  for (const b of expired) {
    const key = backupKey(b);
    if (present && !present.has(formatKey(key))) {
      gone.push(b);
      continue;
    }
    const drop = engine.catalog?.renderDrop(key) ?? null;
    if (!drop) {
      ctx.reporter.warn(`  ${b.backup}: the ${engine.name} engine cannot drop a ${key.kind} on its own; left in place`);
      continue;
    }
    steps.push({
      order: steps.length + 1,
      project,
      key: formatKey(key),
      objectKey: key,
      action: 'drop',
      statements: [drop],
      reverse: null,
      transactional: true,
      hazards: [
        {
          kind: 'data-loss',
          message: `backup of ${b.object} made by deployment #${b.deploymentId} on ${b.createdAt}, expired ${b.expiresAt}`,
        },
      ],
      source: null,
      checksum: checksumStatements([drop]),
    });
  }
  return { steps, gone };
}

/** What `dropBackups` works with: the session, the plan of drops, and each drop's backup by step key. */
interface DropInput {
  engine: Engine;
  conn: Connection;
  ledger: Ledger;
  environment: ResolvedEnvironment;
  project: string;
  plan: Plan;
  backups: Map<string, BackupInfo>;
  ticket: string | null;
}

/**
 * The drops run as a deployment of kind `cleanup`, through the one step executor: each drop in its own transaction
 * with its step row and the backup marked gone. The first failure closes the deployment failed (exit 2).
 */
async function dropBackups(ctx: OperationContext, input: DropInput): Promise<PipelineApplied> {
  const { ledger, plan, project } = input;
  const t0 = Date.now();
  // The schemas did not change: the last deployment's fingerprint still describes them (drift stays visible).
  const last = (await ledger.deployments.list(project, input.environment.name, 50)).find((d) => d.finished_at);
  const fingerprint = last ? (deploymentSummary(last).fingerprint ?? null) : null;
  const owner = lockOwner();
  const deployment = await Deployment.open(ledger, {
    project,
    environment: input.environment.name,
    kind: 'cleanup',
    planChecksum: planChecksum(plan),
    package: null,
    ...(await runOrigin(ctx, owner)),
    stepsTotal: plan.steps.length,
    ticket: input.ticket,
  });
  const outcome = await executePlan<PlanStep>(
    input.conn,
    plan.steps,
    dropEffect(ctx, input, deployment.id),
    { transactionalDdl: input.engine.capabilities.transactionalDdl },
    ctx.reporter,
  );
  const failure = outcome.failures[0];
  const applied = failure ? plan.steps.indexOf(failure.step) : plan.steps.length;
  let error: DbeeError | undefined;
  if (failure) {
    const backup = input.backups.get(failure.step.key)!;
    await deployment.close('failed', { fingerprint }, { error: failure.error.message, statement: failure.statement });
    error = new DbeeError(
      `cleanup of ${project}: dropping ${backup.backup} failed: ${failure.error.message.split('\n')[0]}`,
      {
        code: 'CLEANUP_FAILED',
        exitCode: ExitCode.applyFailed,
        hint: `the backups dropped before it stay dropped (deployment ${deployment.id}); an object that depends on the backup keeps it: drop or move that first`,
        cause: failure.error,
      },
    );
  } else {
    await deployment.close('succeeded', { fingerprint });
    ctx.reporter.info(
      `${project}: dropped ${plan.steps.length} backup${plan.steps.length === 1 ? '' : 's'} (deployment ${deployment.id}, kind cleanup)`,
    );
  }
  const steps: StepResult[] = plan.steps.map((s, i) => {
    const base = { order: s.order, project, key: s.key, action: 'drop', durationMs: 0 };
    if (i < applied) return { ...base, status: 'applied' as const };
    if (i === applied && failure) return { ...base, status: 'failed' as const, error: failure.error.message };
    return { ...base, status: 'not-run' as const };
  });
  const result: RunResult = {
    exitCode: error ? ExitCode.applyFailed : ExitCode.ok,
    projects: [
      {
        project,
        deploymentId: deployment.id,
        status: error ? 'failed' : 'succeeded',
        stepsApplied: applied,
        stepsTotal: plan.steps.length,
        durationMs: Date.now() - t0,
        backups: [],
        ...(error ? { error, failedStatement: failure?.statement ?? null } : {}),
      },
    ],
    steps,
  };
  return { result, smoke: new Map() };
}

/** How the step executor runs a drop and records it (its step row, the backup gone) in deployment `id`. */
function dropEffect(ctx: OperationContext, input: DropInput, id: number): StepEffect<PlanStep> {
  const { ledger, plan } = input;
  const journal = new StepJournal(ledger);
  const mapped = (e: unknown, statement: string | null) =>
    e instanceof DbeeError ? e : (input.engine.mapError(e, { statement: statement ?? undefined }) as DbeeError);
  return {
    shown: null,
    show: { applied: false, skipped: false },
    async run(c, step, onStatement) {
      const started = Date.now();
      const drop = step.statements[0]!;
      onStatement(drop);
      await c.execute(drop);
      const timing = { startedAt: new Date(started), durationMs: Date.now() - started };
      await journal.writeApplied(
        {
          deploymentId: id,
          step,
          checksum: step.checksum,
          statements: step.statements,
          reverse: null,
          previousDefinition: null,
          replacesStarted: false,
          timing,
        },
        null,
        c,
      );
      const backup = input.backups.get(step.key)!;
      await ledger.backups.backupGone(backup.deploymentId, backup.backup, c);
    },
    error: (e, _step, statement) => mapped(e, statement),
    record: (step, status, f) =>
      journal.writeOutcome(id, step, status, {
        checksum: step.checksum,
        statements: step.statements,
        reverse: null,
        startedAt: f.startedAt,
        durationMs: f.durationMs,
        error: f.error,
        replacesStarted: false,
      }),
    applied: (step) => {
      ctx.reporter.info(`  [${step.order}/${plan.steps.length}] dropped ${input.backups.get(step.key)!.backup}`);
    },
  };
}
