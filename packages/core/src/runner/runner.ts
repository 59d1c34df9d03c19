import { DbeeError, ExitCode, type ExitCodeValue } from '../errors';
import type { Connection, Engine } from '../engine/engine';
import { Ledger, type DeploymentInfo } from '../ledger/ledger';
import type { Plan, PlanStep } from '../plan/plan';
import { checksumStatements } from '../sources/checksum';
import { expandPlaceholders } from '../sources/placeholders';
import type { Reporter } from './reporter';

export interface RunOptions {
  engine: Engine;
  conn: Connection;
  plan: Plan;
  environment: string;
  /** Variables per project for `{{name}}` in step statements. */
  variables: ReadonlyMap<string, Record<string, string>>;
  /** Identity recorded in the ledger (minus plan checksum, project and step count, filled per project). */
  identity: Omit<DeploymentInfo, 'project' | 'environment' | 'kind' | 'stepsTotal' | 'planChecksum'>;
  planChecksum: string;
  reporter: Reporter;
  session?: { lockTimeoutMs?: number; statementTimeoutMs?: number };
}

export interface ProjectRunResult {
  project: string;
  deploymentId: number | null;
  status: 'succeeded' | 'failed' | 'unchanged';
  stepsApplied: number;
  stepsTotal: number;
  durationMs: number;
  error?: DbeeError;
}

export interface RunResult {
  exitCode: ExitCodeValue;
  projects: ProjectRunResult[];
}

/**
 * Apply a plan: per project, one deployment in the ledger; each transactional step in its own transaction
 * together with its ledger rows, so a step and its record commit or vanish together. Stops at the first
 * failing step. The caller holds the deployment lock.
 */
export async function runPlan(options: RunOptions): Promise<RunResult> {
  const { engine, conn, plan, reporter } = options;
  const ledger = new Ledger(conn, engine.ledger);
  const results: ProjectRunResult[] = [];
  const setup = engine.sessionSetup?.(options.session ?? {}) ?? [];
  for (const sql of setup) await conn.execute(sql);
  let ledgerReady = false;
  for (const project of plan.projects) {
    const steps = plan.steps.filter((s) => s.project === project);
    const started = Date.now();
    if (steps.length === 0) {
      reporter.info(`${project}: nothing to deploy, the database is up to date`);
      results.push({ project, deploymentId: null, status: 'unchanged', stepsApplied: 0, stepsTotal: 0, durationMs: 0 });
      continue;
    }
    if (!ledgerReady) {
      await ledger.ensure();
      ledgerReady = true;
    }
    const variables = options.variables.get(project) ?? {};
    const searchPath = (plan.searchPaths?.[project] ?? []).map((s) => expandPlaceholders(s, variables, `search path of ${project}`).expanded);
    const setPath = searchPath.length ? engine.searchPathStatement?.(searchPath) : null;
    if (setPath) await conn.execute(setPath);
    const deploymentId = await ledger.startDeployment({
      ...options.identity,
      project,
      environment: options.environment,
      kind: 'deploy',
      planChecksum: options.planChecksum,
      stepsTotal: steps.length,
    });
    reporter.info(`${project}: deploying ${steps.length} step${steps.length === 1 ? '' : 's'} (deployment ${deploymentId})`);
    let applied = 0;
    let failure: { error: DbeeError; statement: string | null } | null = null;
    for (const [i, step] of steps.entries()) {
      const statements = step.statements.map((s) => expandPlaceholders(s, variables, step.source?.file ?? step.key).expanded);
      const checksum = checksumStatements(step.statements, variables);
      const t0 = Date.now();
      let current: string | null = null;
      const apply = async (c: Connection) => {
        for (const sql of statements) {
          current = sql;
          await c.execute(sql);
        }
        current = null;
        await recordApplied(ledger, c, deploymentId, step, statements, checksum, t0);
      };
      try {
        reporter.step(i + 1, steps.length, step);
        // Without transactional DDL (Teradata) each statement commits on its own and the ledger rows follow it.
        if (step.transactional && engine.capabilities.transactionalDdl) await conn.transaction(apply);
        else await apply(conn);
        applied++;
      } catch (e) {
        const error = e instanceof DbeeError ? e : (engine.mapError(e, { statement: current ?? undefined }) as DbeeError);
        failure = { error: error instanceof DbeeError ? error : wrap(error), statement: current };
        await ledger.recordStep(deploymentId, {
          order: step.order,
          objectKey: step.key,
          action: step.action,
          checksum,
          statements,
          reverse: step.reverse,
          previousDefinition: null,
          transactional: step.transactional,
          startedAt: new Date(t0),
          durationMs: Date.now() - t0,
          status: 'failed',
          error: failure.error.message,
        });
        break;
      }
    }
    const durationMs = Date.now() - started;
    if (failure) {
      await ledger.finishDeployment(deploymentId, 'failed', failure.error.message, failure.statement);
      results.push({ project, deploymentId, status: 'failed', stepsApplied: applied, stepsTotal: steps.length, durationMs, error: failure.error });
      return { exitCode: ExitCode.applyFailed, projects: results };
    }
    await ledger.finishDeployment(deploymentId, 'succeeded', null, null);
    results.push({ project, deploymentId, status: 'succeeded', stepsApplied: applied, stepsTotal: steps.length, durationMs });
  }
  return { exitCode: ExitCode.ok, projects: results };
}

async function recordApplied(ledger: Ledger, c: Connection, deploymentId: number, step: PlanStep, statements: string[], checksum: string, t0: number) {
  await ledger.recordStep(
    deploymentId,
    {
      order: step.order,
      objectKey: step.key,
      action: step.action,
      checksum,
      statements,
      reverse: step.reverse,
      previousDefinition: null,
      transactional: step.transactional,
      startedAt: new Date(t0),
      durationMs: Date.now() - t0,
      status: 'applied',
      error: null,
    },
    c,
  );
  if (step.action === 'migrate') {
    const version = step.objectKey.name.slice(step.objectKey.name.lastIndexOf('/V') + 2);
    await ledger.recordMigration(step.project, version, step.source?.file ?? '', step.checksum, deploymentId, c);
  } else {
    await ledger.setObjectState(step.project, step.key, step.action === 'drop' ? null : checksum, deploymentId, c);
  }
}

function wrap(e: Error): DbeeError {
  return new DbeeError(e.message, { code: 'STATEMENT_FAILED', exitCode: ExitCode.applyFailed, cause: e });
}
