import { durationMs } from '../config/schema';
import { DbeeError, ExitCode, type ExitCodeValue } from '../errors';
import { Ledger } from '../ledger/ledger';
import { planExplained, type DeployedState } from '../planner/planner';
import type { Plan } from '../plan/plan';
import { planChecksum } from '../plan/serialize';
import { runPlan } from '../runner/runner';
import { readPackage } from '../package/package';
import { checksumStatements } from '../sources/checksum';
import { resolve } from 'node:path';
import { ciJob, engineFor, gitCommit, lockOwner, type OperationContext } from './context';
import { checkGates } from './gates';
import { loadModels, modelLoader, schemaOwners } from './load';
import { printPlan } from './print';

export interface DeployOptions {
  project: string;
  env?: string;
  dryRun?: boolean;
  assumeYes?: boolean;
  /** Seconds to wait for another deployment's lock (default: deploy.waitForLock, else 60). */
  waitForLock?: number;
  /** Deploy the project's dependencies first (default true outside Nx; Nx runs them as tasks). */
  withDependencies?: boolean;
  /** Apply this package folder instead of the sources. */
  package?: string;
}

/**
 * Deploy a project's sources to an environment: plan against the ledger, then apply under the lock.
 * Exit codes: 0 done (or nothing to do), 1 refused before anything ran, 2 a step failed.
 */
export async function deploy(ctx: OperationContext, options: DeployOptions): Promise<ExitCodeValue> {
  const { workspace, reporter } = ctx;
  const environment = workspace.environment(options.env, ctx.env);
  const target = workspace.project(options.project);
  const all = workspace.withDependencies(target.name);
  const pkg = options.package ? readPackage(resolve(workspace.root, options.package)) : null;
  const withDeps = !pkg && (options.withDependencies ?? !ctx.fromNx);
  const planned = pkg ? pkg.plan.projects : withDeps ? all.map((p) => p.name) : [target.name];
  if (pkg && !pkg.plan.projects.includes(target.name)) {
    throw new DbeeError(`package ${pkg.path} is for ${pkg.plan.projects.join(', ')}, not ${target.name}`, { code: 'PACKAGE_MISMATCH' });
  }
  const engine = engineFor(ctx, environment, all);
  const models = await loadModels(ctx, all, environment, engine);
  const owners = schemaOwners(ctx, environment);
  const settings = workspace.settings(target, environment).deploy;
  const waitMs = options.waitForLock !== undefined ? options.waitForLock * 1000 : settings.waitForLock !== undefined ? durationMs(settings.waitForLock) : 60_000;

  const context = { workspaceRoot: workspace.root };
  const lock = await engine.lock(environment, context, 'deploy', {
    timeoutMs: waitMs,
    owner: lockOwner(),
    onWait: (h) => reporter.info(`waiting for the deployment lock held by ${h ? `${h.user}@${h.host} (pid ${h.pid}) since ${h.since}` : 'another session'}...`),
  });
  try {
    const conn = await engine.connect(environment, context);
    try {
      const ledger = new Ledger(conn, engine.ledger);
      const deployed = new Map<string, DeployedState>();
      for (const name of planned) deployed.set(name, await ledger.deployedState(name));
      const commit = pkg ? pkg.plan.sourceCommit : gitCommit(workspace.root);
      const variables = new Map(models.map((m) => [m.project.name, m.variables]));
      const plan = pkg
        ? pendingSteps(pkg.plan, deployed, variables)
        : await planExplained({ engine, models, planned, schemaOwners: owners, deployed, sourceCommit: commit }, modelLoader(ctx, environment, engine));
      reporter.info(`dbee deploy ${planned.join(', ')} -> ${environment.name} (${conn.description})`);
      if (options.dryRun) {
        printPlan(ctx.stdout, plan, models);
        reporter.info('dry run: nothing was applied');
        return ExitCode.ok;
      }
      if (plan.steps.length === 0) {
        for (const p of planned) reporter.info(`${p}: nothing to deploy, the database is up to date`);
        return ExitCode.ok;
      }
      await checkGates(ctx, environment, plan, { assumeYes: options.assumeYes ?? false });
      return await apply(ctx, plan, conn, engine, environment.name, models, commit, settings, pkg?.path ?? null);
    } finally {
      await conn.close();
    }
  } finally {
    await lock.release();
  }
}

async function apply(
  ctx: OperationContext,
  plan: Plan,
  conn: import('../engine/engine').Connection,
  engine: import('../engine/engine').Engine,
  environment: string,
  models: import('../planner/project-model').ProjectModel[],
  commit: string | null,
  settings: import('../config/schema').DeploySettings,
  packagePath: string | null,
): Promise<ExitCodeValue> {
  const started = Date.now();
  const result = await runPlan({
    engine,
    conn,
    plan,
    environment,
    variables: new Map(models.map((m) => [m.project.name, m.variables])),
    identity: {
      package: packagePath,
      gitCommit: commit,
      toolVersion: ctx.toolVersion,
      osUser: lockOwner().user,
      ciJob: ciJob(ctx.env),
      host: lockOwner().host,
    },
    planChecksum: planChecksum(plan),
    reporter: ctx.reporter,
    session: {
      lockTimeoutMs: settings.lockTimeout === undefined ? undefined : durationMs(settings.lockTimeout),
      statementTimeoutMs: settings.statementTimeout === undefined ? undefined : durationMs(settings.statementTimeout),
    },
  });
  for (const p of result.projects) {
    if (p.status === 'failed') {
      ctx.reporter.info(`${p.project}: FAILED after ${p.stepsApplied}/${p.stepsTotal} steps (deployment ${p.deploymentId}, ${p.durationMs} ms)`);
      const e = p.error;
      throw new DbeeError(e?.message ?? 'deployment failed', {
        code: e?.code ?? 'DEPLOY_FAILED',
        hint: e?.hint ?? `the ledger records what ran (deployment ${p.deploymentId}); fix the cause and deploy again to resume`,
        location: e?.location,
        exitCode: ExitCode.applyFailed,
        cause: e,
      });
    }
    if (p.status === 'succeeded') ctx.reporter.info(`${p.project}: deployed ${p.stepsApplied} step${p.stepsApplied === 1 ? '' : 's'} in ${p.durationMs} ms (deployment ${p.deploymentId})`);
  }
  ctx.reporter.info(`done in ${Date.now() - started} ms`);
  return result.exitCode;
}

/**
 * The steps of a package that a database still needs: objects whose checksum (with this environment's
 * variables) differs from the ledger's, and migrations not yet applied. Order is kept.
 */
export function pendingSteps(plan: Plan, deployed: ReadonlyMap<string, DeployedState>, variables: ReadonlyMap<string, Record<string, string>>): Plan {
  const steps = plan.steps.filter((step) => {
    const state = deployed.get(step.project);
    if (!state) return true;
    if (step.action === 'migrate') return !state.migrations.has(step.objectKey.name.slice(step.objectKey.name.lastIndexOf('/V') + 2));
    return state.objects.get(step.key) !== checksumStatements(step.statements, variables.get(step.project) ?? {});
  });
  return { ...plan, steps };
}
