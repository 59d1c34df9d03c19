import type { ResolvedEnvironment } from '../../../config/resolve';
import { bytesOf, durationMs } from '../../../config/units';
import { routerOf } from '../../../config/router-of';
import type { Router } from '../../../engine/blue-green-role';
import { DbeeError } from '../../../errors';
import { dryRunGates, refuse } from '../../../pipeline/gates';
import { checkTicket } from '../../../promotion/ticket';
import { hookRouter } from '../../../blue-green/router';
import { SWITCH_DEFAULTS, type SwitchBounds } from '../../../blue-green/switchover';
import type { OperationContext } from '../../../context/operation-context';
import type { BlueGreenOptions, BlueGreenTarget } from './sides';

/** What the strategy reads from blue's `blueGreen:` (docs/blue-green.md), with its defaults. */
export interface BlueGreenConfig {
  /** Green's environment. */
  green: string;
  bounds: SwitchBounds;
  /** The longest the deploy phase waits for green's initial copy. */
  copyTimeoutMs: number;
  /** The router of the configuration, pointing the application at `t`'s sides. */
  router(t: RouterTarget): Router;
}

const COPY_TIMEOUT_MS = 3_600_000;

/** What a router is made for: the engine and its blue/green role, and both sides. */
export type RouterTarget = Pick<BlueGreenTarget, 'engine' | 'role' | 'blue' | 'green'>;

/** Blue's `blueGreen:` settings; an environment without them is refused, showing what to write. */
export function blueGreenConfig(ctx: OperationContext, blue: ResolvedEnvironment): BlueGreenConfig {
  const s = blue.blueGreen;
  if (!s)
    throw new DbeeError(
      `environment ${blue.name} has no blueGreen settings: the blue/green strategy needs its green and its router`,
      {
        code: 'CONFIG_INVALID',
        location: blue.declaredAt,
        hint: `add under environments.${blue.name} in dbee.yaml: blueGreen: { green: <environment>, router: { commands: { pause, route, resume } } } (or a router the engine drives, by its name); see docs/blue-green.md`,
      },
    );
  return {
    green: s.green,
    bounds: {
      maxLagBytes: s.maxLag === undefined ? SWITCH_DEFAULTS.maxLagBytes : bytesOf(s.maxLag),
      timeoutMs: s.pauseTimeout === undefined ? SWITCH_DEFAULTS.timeoutMs : durationMs(s.pauseTimeout),
      pauseBudgetMs: s.pauseBudget === undefined ? SWITCH_DEFAULTS.pauseBudgetMs : durationMs(s.pauseBudget),
      catchUpWaitMs: s.catchUpWait === undefined ? SWITCH_DEFAULTS.catchUpWaitMs : durationMs(s.catchUpWait),
      transactionWaitMs:
        s.transactionWait === undefined ? SWITCH_DEFAULTS.transactionWaitMs : durationMs(s.transactionWait),
      endTransactions: s.endTransactions ?? SWITCH_DEFAULTS.endTransactions,
    },
    copyTimeoutMs: s.copyTimeout === undefined ? COPY_TIMEOUT_MS : durationMs(s.copyTimeout),
    router: (t) => routerFor(ctx, blue, t),
  };
}

/**
 * The router of blue's `blueGreen.router`: the user's commands, or a router the engine drives, its settings checked
 * against the engine's schema for them (a mistake refused at its file and line).
 */
function routerFor(ctx: OperationContext, blue: ResolvedEnvironment, t: RouterTarget): Router {
  const s = blue.blueGreen!;
  const r = routerOf(s.router);
  if ('commands' in r) {
    const { timeout, ...commands } = r.commands;
    return hookRouter(
      { ...commands, ...(timeout !== undefined ? { timeoutMs: durationMs(timeout) } : {}) },
      {
        cwd: ctx.workspace.root,
        env: ctx.env,
        databases: {
          blue: t.role.databaseName(t.blue, { workspaceRoot: ctx.workspace.root }),
          green: t.role.databaseName(t.green, { workspaceRoot: ctx.workspace.root }),
        },
      },
    );
  }
  const engine = t.role.routers?.[r.engine];
  if (!engine) {
    const known = Object.keys(t.role.routers ?? {});
    throw new DbeeError(`the ${t.engine.name} engine drives no router named ${r.engine}`, {
      code: 'CONFIG_INVALID',
      location: s.routerDeclaredAt ?? blue.declaredAt,
      hint: `name ${known.length ? `one of: ${known.join(', ')}, or ` : ''}your router's commands through blueGreen.router.commands (pause, route, resume); see docs/blue-green.md`,
    });
  }
  const settings = s.routerSettings ? s.routerSettings(engine.settings) : engine.settings.parse(r.settings);
  return engine.make(settings, { blue: t.blue, green: t.green }, { workspaceRoot: ctx.workspace.root });
}

/** The options every phase of the strategy gives the engine side (side-phases.ts). */
export function phaseOptions(
  options: { project: string; dryRun?: boolean; ticket?: string; force?: boolean },
  blue: ResolvedEnvironment,
  config: BlueGreenConfig,
): BlueGreenOptions {
  return {
    project: options.project,
    env: blue.name,
    green: config.green,
    dryRun: options.dryRun ?? false,
    ticket: options.ticket ?? null,
    force: options.force ?? false,
  };
}

/**
 * Blue's gates, for a phase whose pipeline runs on another environment (green's: the release, or `finish` once green
 * serves) or that changes something before its pipeline's gates (the deploy phase makes green in its inputs): blue's
 * change ticket, then its maintenance windows and protection, through the pipeline's own check (`dryRunGates`), the dry
 * run alike, before anything is made. The phases on blue's environment (`switch`, `fallback`) get them from the
 * pipeline itself.
 */
export function blueGates(
  ctx: OperationContext,
  blue: ResolvedEnvironment,
  options: { ticket?: string; dryRun?: boolean; assumeYes?: boolean; now?: Date },
  command: string,
): void {
  checkTicket(blue, options.ticket, command);
  const problems = dryRunGates(ctx, blue, { assumeYes: options.assumeYes ?? false, now: options.now ?? new Date() });
  if (problems.length) refuse(problems, options.dryRun ?? false);
}
