import { setTimeout as sleep } from 'node:timers/promises';
import { DbeeError, ExitCode } from '../errors';
import type { FleetTarget } from '../config/resolve';
import { openLedger } from '../ledger/open-ledger';
import type { OperationContext } from '../context/operation-context';
import type { DeployOptions } from '../options';
import { withSession } from '../runner/session';
import { NullStream } from './prefixed-stream';
import { fleetTargetName, withoutFleetOptions } from './selection';
import { runOnTarget, unpooled, type SingleOperation } from './run-target';

/**
 * Refusals of a canary's dry run that say nothing about the release: its deployment holds the lock, the database is
 * briefly unreachable. The shard looks again at the next poll.
 */
const TRANSIENT = new Set([
  'LOCK_BUSY',
  'LOCK_TIMEOUT',
  'LOCK_LOST',
  'LOCK_RETRY_EXHAUSTED',
  'CONNECTION_FAILED',
  'CONNECTION_TIMEOUT',
  'DEADLOCK',
  'STATEMENT_TIMEOUT',
]);

/** How often a shard looks at the canary targets while it waits. */
const POLL_MS = 2000;

/**
 * Wait until every canary target is at the release: a dry run of the deployment on it (plan only, nothing verified
 * or changed) has no step left. Refused (exit 1, nothing done by this shard) at once when that dry run is refused for
 * a reason of its own (see `TRANSIENT` for those that are not), when a canary's deployment started after this shard
 * began waiting and failed, or when `timeoutMs` passes first.
 */
export async function waitForCanaries(
  ctx: OperationContext,
  options: DeployOptions,
  fleet: string,
  canaries: readonly FleetTarget[],
  single: SingleOperation<DeployOptions>,
  timeoutMs: number,
): Promise<void> {
  const since = Date.now();
  const quiet = new NullStream();
  let said = false;
  const pending = new Set(canaries.map((t) => t.name));
  for (;;) {
    for (const name of [...pending]) {
      const env = fleetTargetName(fleet, { name });
      const dry = await runOnTarget(
        ctx,
        name,
        env,
        single,
        // A canary being deployed holds its lock: look again at the next poll rather than wait for it here.
        { ...withoutFleetOptions(options), env, dryRun: true, verify: false, assumeYes: true, waitForLock: 1 },
        { stdout: quiet, stderr: quiet, withReport: true },
      );
      if (dry.exitCode === 0 && dry.report && dry.report.steps.length === 0) {
        pending.delete(name);
        continue;
      }
      // Refused for a reason that does not wait on the canary's deployment (an unknown project, sources that do not
      // parse, a gate): shard 1 is refused the same, so the canary will never be at the release. Say it now.
      if (dry.exitCode === ExitCode.invalid && dry.error && !TRANSIENT.has(dry.error.code)) {
        throw new DbeeError(
          `fleet ${fleet}: the deployment is refused on canary ${name} (${dry.error.message}); shard 1 is refused the same, so this shard deploys nothing`,
          {
            code: 'FLEET_CANARY_REFUSED',
            hint: `fix what the message says, then run every shard again (dbee deploy ${options.project} --env ${env} --dry-run shows it on one target)`,
          },
        );
      }
      const failed = await failedSince(ctx, env, options.project, since);
      if (failed) {
        throw new DbeeError(
          `fleet ${fleet}: canary ${name} failed (deployment #${failed.id}, ${failed.status}); this shard deploys nothing`,
          {
            code: 'FLEET_CANARY_FAILED',
            hint: `see the report of shard 1 and dbee status ${options.project} --env ${env}; fix it and run the fleet again`,
          },
        );
      }
    }
    if (!pending.size) return;
    if (Date.now() - since > timeoutMs) {
      throw new DbeeError(
        `fleet ${fleet}: the canary (${[...pending].join(', ')}) is not at the release after ${Math.round(timeoutMs / 1000)} s; this shard deploys nothing`,
        {
          code: 'FLEET_CANARY_TIMEOUT',
          exitCode: ExitCode.invalid,
          hint: 'shard 1 deploys the canary: start it too (or first), or raise fleet.canaryTimeout in dbee.yaml',
        },
      );
    }
    if (!said) ctx.reporter.info(`waiting for the canary (${[...pending].join(', ')}), deployed by shard 1...`);
    said = true;
    await sleep(POLL_MS);
  }
}

/** The project's latest deployment on a target when it started after `since` and failed; null otherwise. */
async function failedSince(ctx: OperationContext, envName: string, project: string, since: number) {
  const environment = ctx.workspace.environment(envName, ctx.env);
  const engine = unpooled(ctx).engine(environment.engine);
  try {
    return await withSession(
      { engine, environment, workspaceRoot: ctx.workspace.root, waitMs: 1000 },
      async ({ conn }) => {
        const ledger = openLedger(conn, engine.ledger);
        if (!(await ledger.tables.exists())) return null;
        const last = (await ledger.deployments.list(project, envName, 1))[0];
        const started = last ? new Date(last.started_at).getTime() : 0;
        return last && started >= since - 5000 && (last.status === 'failed' || last.status === 'rolled-back')
          ? last
          : null;
      },
    );
  } catch (e) {
    // The canary's deployment holds the lock (or the database is briefly unreachable): it is not known to have failed.
    if (e instanceof DbeeError) return null;
    throw e;
  }
}
