import { createInterface } from 'node:readline/promises';
import { requireRole } from '../engine/engine';
import { DbeeError, ExitCode, type ExitCodeValue } from '../errors';
import { engineFor, type OperationContext } from '../context/operation-context';
import { describeHolder } from '../runner/session';
import type { UnlockOptions } from '../options';

export type { UnlockOptions };

/** The key of the deployment lock every deployment takes (`withSession`). */
const DEPLOY_LOCK = 'deploy';

/**
 * `unlock`: name the holder of the environment's deployment lock and, once confirmed (typing the environment's name,
 * or `--assume-yes`), clear it through the engine's `locks` role. Nothing held: says so, exit 0. A lock the engine
 * cannot clear (it ends with its holder's session): names the holder and what ends it, exit 1, nothing changed.
 */
export async function unlock(ctx: OperationContext, options: UnlockOptions): Promise<ExitCodeValue> {
  const { workspace, reporter } = ctx;
  const environment = workspace.environment(options.env, ctx.env);
  const engine = engineFor(ctx, environment, [workspace.project(options.project)]);
  const locks = requireRole(engine, 'locks', 'clear a deployment lock');
  const context = { workspaceRoot: workspace.root };
  const holder = await locks.holder(environment, context, DEPLOY_LOCK);
  if (!holder) {
    reporter.info(`${environment.name}: no deployment lock is held; nothing to clear`);
    return ExitCode.ok;
  }
  const who = `${describeHolder(holder)}${holder.deploymentId ? `, deployment ${holder.deploymentId}` : ''}${holder.expiresAt ? `, expires ${holder.expiresAt}` : ''}`;
  reporter.info(`${environment.name}: the deployment lock is held by ${who}`);
  if (holder.notClearable) {
    throw new DbeeError(
      `the deployment lock of ${environment.name} cannot be cleared by dbee: ${holder.notClearable}`,
      {
        code: 'LOCK_NOT_CLEARABLE',
        hint: 'nothing was changed; the lock ends when its holder ends',
        details: { holder },
      },
    );
  }
  if (holder.alive && !options.force) {
    throw new DbeeError(
      `the deployment lock of ${environment.name} is held by a deployment that still runs: ${holder.alive}`,
      {
        code: 'LOCK_HOLDER_ALIVE',
        hint: 'nothing was changed; wait for it to end, or end that session first; --force clears the lock anyway',
        details: { holder },
      },
    );
  }
  if (!options.assumeYes) {
    if (!ctx.interactive) {
      throw new DbeeError(`clearing the deployment lock of ${environment.name} needs a confirmation`, {
        code: 'GATE_CONFIRMATION_REQUIRED',
        hint: 'make sure the holder named above is no longer running, then run again with --assume-yes',
      });
    }
    const rl = createInterface({ input: process.stdin, output: ctx.stdout });
    const answer = (
      await rl.question(
        `Clear it? Only if that holder is no longer running: a running deployment would go on without its lock. Type "${environment.name}" to clear: `,
      )
    ).trim();
    rl.close();
    if (answer !== environment.name) {
      throw new DbeeError('confirmation did not match; the lock was not cleared', {
        code: 'GATE_CONFIRMATION_REFUSED',
      });
    }
  }
  const cleared = await locks.clear(environment, context, DEPLOY_LOCK, holder);
  reporter.info(
    cleared
      ? `${environment.name}: the deployment lock of ${describeHolder(holder)} was cleared`
      : `${environment.name}: the lock was released meanwhile; nothing to clear`,
  );
  return ExitCode.ok;
}
