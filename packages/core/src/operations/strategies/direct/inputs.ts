import type { DeployOptions } from '../../../options';
import { DbeeError } from '../../../errors';
import type { Ledger } from '../../../ledger/ledger';
import { readPackage } from '../../../package/package';
import { packageRunsHere } from '../../../package/package-deploy';
import type { TransactionScope } from '../../../runner/runner';
import { lockOwner, type DeploymentSession } from '../../../runner/session';
import { reconcileStarted } from '../../../runner/reconcile';
import { engineFor, type OperationContext } from '../../../context/operation-context';
import { batchShared, loadModels, schemaOwners, sourceCommit } from '../../../context/load';
import { schemasElsewhere } from '../../selection';
import { checkSelection, readSelection } from '../../../planner/selection';
import type { DeployReport } from '../../../runner/deploy-report';
import type { InFlightReader } from '../../../diffing/in-flight-work';
import { type DeployInputs, validate } from './deploy-run';

export async function deployInputs(
  ctx: OperationContext,
  options: DeployOptions,
  report: DeployReport,
  inFlight: InFlightReader,
): Promise<DeployInputs | null> {
  const { workspace } = ctx;
  const valid = validate(options);
  const environment = workspace.environment(options.env, ctx.env);
  report.environment = environment.name;
  const target = workspace.project(options.project);
  const all = workspace.withDependencies(target.name);
  const pkg = options.package ? readPackage(workspace.commandLinePath(options.package)) : null;
  if (pkg && options.prune) {
    throw new DbeeError('--prune plans drops from the sources and the ledger; a package deploys the plan it froze', {
      code: 'OPTIONS_INVALID',
      hint: 'deploy from the sources with --prune, or freeze the drops in a package with `dbee plan --diff --out` (a diff plans them)',
    });
  }
  if (options.testRollback && (!options.dryRun || options.verify === false)) {
    throw new DbeeError("--test-rollback tests the rollback on the dry run's scratch copy: give it with --dry-run", {
      code: 'OPTIONS_INVALID',
      hint: 'dbee deploy <project> --dry-run --test-rollback (without --no-verify); see docs/rollback-readiness.md',
    });
  }
  const planned = plannedProjects(ctx, options, target.name, all, pkg);
  report.planned = planned;
  if (pkg && options.safe) {
    throw new DbeeError('--safe applies when a plan is made: a package is deployed as it was planned', {
      code: 'OPTIONS_INVALID',
      hint: 'make the package with dbee plan --safe (or deploy.safeRewrites: true), or deploy without --package',
    });
  }
  if (pkg && !packageRunsHere(ctx, pkg, target.name)) return null;
  if (pkg && !pkg.plan.projects.includes(target.name)) {
    throw new DbeeError(`package ${pkg.path} is for ${pkg.plan.projects.join(', ')}, not ${target.name}`, {
      code: 'PACKAGE_MISMATCH',
    });
  }
  const sourceCommitLater = pkg ? null : sourceCommit(ctx);
  const engine = engineFor(ctx, environment, all);
  const models = await loadModels(ctx, all, environment, engine, { exportsFor: planned });
  const owners = schemaOwners(ctx, environment);
  const selection = readSelection(options, (p) => workspace.commandLinePath(p));
  if (selection && pkg)
    throw new DbeeError('--objects selects from the plan of the sources; a package deploys the plan it froze', {
      code: 'OPTIONS_INVALID',
      hint: 'build a package of the selection with `dbee plan --objects ... --out <folder>` and deploy that',
    });
  if (selection) checkSelection(selection, models, planned, schemasElsewhere(ctx, environment, planned));
  const settings = workspace.settings(target, environment).deploy;
  const settingsOf = (project: string) => workspace.settings(workspace.project(project), environment).deploy;
  const scope: TransactionScope = settings.transaction ?? 'object';
  report.transaction = scope;
  const now = options.now ?? new Date();
  return {
    options,
    valid,
    environment,
    session: { engine, environment, waitMs: valid.waitForLockMs, deploy: settings, owner: lockOwner() },
    target,
    pkg,
    planned,
    engine,
    models,
    owners,
    settings,
    settingsOf,
    scope,
    now,
    sourceCommitLater,
    selection,
    inFlight,
  };
}

/**
 * The projects a run plans: a package's, else the project with its dependencies outside Nx (and in a dry run under Nx:
 * Nx's real run deploys the project alone after its dependencies' own tasks, whose dry runs apply nothing, so a copy
 * without their steps would miss what the real run finds there, a column of core's that a view of sales reads, and
 * refuse a change that deploys), else the project alone; `--no-deps` (`withDependencies: false`) says alone.
 */
function plannedProjects(
  ctx: OperationContext,
  options: DeployOptions,
  target: string,
  all: readonly { name: string }[],
  pkg: ReturnType<typeof readPackage> | null,
): string[] {
  if (pkg) return pkg.plan.projects;
  const withDeps = options.withDependencies ?? (!ctx.fromNx || options.dryRun === true);
  if (!withDeps || all.length < 2) return [target];
  if (ctx.fromNx && options.dryRun)
    ctx.reporter.info(
      `dry run: ${all
        .slice(0, -1)
        .map((p) => p.name)
        .join(
          ', ',
        )} planned first, as their own Nx tasks deploy them before ${target}: the copy holds what they will have made`,
    );
  return all.map((p) => p.name);
}

/**
 * Under the lock, a deployment still marked running belongs to a process that died: a real run marks it interrupted
 * (a dry run says so), and settles the steps it ran outside a transaction against the catalog before planning. An Nx
 * batch holds the lock from its first task to its last: once per environment is enough (batchShared), as for the
 * ledger's state.
 */
export async function recoverInterrupted(
  ctx: OperationContext,
  input: DeployInputs,
  session: DeploymentSession,
  ledger: Ledger,
  report: DeployReport,
): Promise<void> {
  const { options, engine, environment } = input;
  const { reporter } = ctx;
  const owner = session.owner;
  await batchShared(ctx, `recover\0${environment.name}\0${options.dryRun ? 'dry' : 'run'}`, async () => {
    if (options.dryRun) {
      const running = await ledger.deployments.runningDeployments();
      // A reader holds no lock (`dbee check`): what is running may be a live deployment.
      if (running.length)
        reporter.warn(
          input.session.reader
            ? `deployment${running.length > 1 ? 's' : ''} ${running.map((d) => '#' + d).join(', ')} ${running.length > 1 ? 'are' : 'is'} running or did not finish: the check reads the target as it is now`
            : `deployment${running.length > 1 ? 's' : ''} ${running.map((d) => '#' + d).join(', ')} did not finish (the process ended); a real run marks ${running.length > 1 ? 'them' : 'it'} interrupted and resumes`,
        );
    } else {
      report.interrupted = await ledger.deployments.markInterrupted(
        `a deployment by ${owner.user}@${owner.host}, pid ${owner.pid}`,
      );
      if (report.interrupted.length) {
        reporter.warn(
          `deployment${report.interrupted.length > 1 ? 's' : ''} ${report.interrupted.map((d) => '#' + d).join(', ')} did not finish (the process ended): marked interrupted; its applied steps stay, the rest is planned again`,
        );
      }
    }
    await reconcileStarted({ engine, conn: session.conn, ledger, reporter, dryRun: options.dryRun ?? false });
  });
}

/**
 * The plan of this run: the package's steps not yet applied, or the sources' plan (on a fleet, one per live state,
 * a target in a state already planned taking a copy: context/fleet-plans.ts) with the drops `--prune` decides. Refused
 * when its base fingerprint no longer matches the database.
 */
