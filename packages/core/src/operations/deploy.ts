import type { OperationContext } from '../context/operation-context';
import { requireRole } from '../engine/engine';
import { DbeeError, type ExitCodeValue } from '../errors';
import type {
  AbortOptions,
  CompleteOptions,
  DeployOptions,
  FallbackOptions,
  FinishOptions,
  SwitchOptions,
} from '../options';
import { runPipeline } from '../pipeline/pipeline';
import { notePlannedInBatch } from './batch-reads';
import type { DryRunHooks } from './compat';
import { STRATEGIES } from './strategies';
import { inFlightReader } from './strategies/in-flight';
import type { PhaseCommand, Strategy, StrategyPhase, StrategyTable } from './strategies/strategy';

export type { DeployOptions };
/** Moved to package/package-deploy.ts (with the checks a package passes first); kept here for importers. */
export { pendingSteps } from '../package/package-deploy';

/**
 * Deploy a project's sources (or a package) to an environment through the pipeline (`pipeline/pipeline.ts`), by the
 * `deploy` phase of a strategy of the table (`STRATEGIES`, or the one given): `--strategy`, else the project's or
 * environment's `deploy.strategy`, else `direct`. The options another strategy owns are refused first.
 * Exit codes: 0 done (or nothing to do), 1 refused before anything ran, 2 a step failed, 3 a smoke check failed.
 */
export async function deploy(
  ctx: OperationContext,
  options: DeployOptions,
  hooks: DryRunHooks = {},
  strategies: StrategyTable = STRATEGIES,
): Promise<ExitCodeValue> {
  try {
    // The dbt check (and the modules that read a manifest) loads when it is asked for.
    if (options.dbt) (await import('./dbt')).refuseDbtUnverified(options);
    const { workspace } = ctx;
    const name =
      options.strategy ??
      workspace.settings(workspace.project(options.project), workspace.environment(options.env, ctx.env)).deploy
        .strategy ??
      'direct';
    const strategy = strategyNamed(strategies, name);
    refuseOthersOptions(strategies, strategy, options);
    return await runPhase(ctx, strategy, 'deploy', strategy.deploy, options, strategies, hooks, options.package);
  } finally {
    // In an Nx batch, the next tasks read what this one may have written to the ledger live (batch-reads.ts).
    if (ctx.sessions) {
      try {
        const projects = ctx.workspace.withDependencies(options.project).map((p) => p.name);
        notePlannedInBatch(ctx, ctx.workspace.environmentName(options.env, ctx.env).name, projects);
      } catch {
        // An unknown project or environment: this task planned nothing.
      }
    }
  }
}

/** `complete`: the phase of that name of the strategy that has one (expand-contract: the contract phase). */
export function complete(ctx: OperationContext, options: CompleteOptions, strategies: StrategyTable = STRATEGIES) {
  return laterPhase(ctx, 'complete', options, strategies);
}

/** `abort`: the phase of that name of the strategy that has one (expand-contract: the expand taken back). */
export function abort(ctx: OperationContext, options: AbortOptions, strategies: StrategyTable = STRATEGIES) {
  return laterPhase(ctx, 'abort', options, strategies);
}

/** `switch`: the phase of that name (blue/green: the application moved to green). */
export function switchOver(ctx: OperationContext, options: SwitchOptions, strategies: StrategyTable = STRATEGIES) {
  return laterPhase(ctx, 'switch', { ...options, verify: false }, strategies);
}

/** `fallback`: the phase of that name (blue/green: the application moved back to blue). */
export function fallback(ctx: OperationContext, options: FallbackOptions, strategies: StrategyTable = STRATEGIES) {
  return laterPhase(ctx, 'fallback', { ...options, verify: false }, strategies);
}

/** `finish`: the phase of that name (blue/green: replication and the side not serving dropped). */
export function finish(ctx: OperationContext, options: FinishOptions, strategies: StrategyTable = STRATEGIES) {
  return laterPhase(ctx, 'finish', { ...options, verify: false }, strategies);
}

/**
 * A phase after `deploy` (`complete`, `abort`; blue/green's `switch`, `fallback`, `finish`), run as the command of the
 * strategy of the table that has a phase of that name. Two strategies with a phase of the same name would need the
 * work in flight read first to choose: refused until one does (no strategy of the table shares a phase's name).
 */
async function laterPhase(
  ctx: OperationContext,
  name: string,
  options: CompleteOptions & AbortOptions,
  strategies: StrategyTable,
): Promise<ExitCodeValue> {
  const having = Object.values(strategies).filter((s) => s.phases?.[name]);
  if (having.length !== 1)
    throw new Error(
      `${having.length ? 'more than one strategy has' : 'no strategy has'} a phase named ${name} (${having.map((s) => s.name).join(', ')})`,
    );
  const strategy = having[0]!;
  return runPhase(ctx, strategy, name, strategy.phases![name]!, options, strategies, {}, undefined);
}

/**
 * One phase of `strategy` through the pipeline: its command loaded, given the one reader of every strategy's work in
 * flight, and its inputs checked against the roles the strategy needs before the lock is taken.
 */
async function runPhase<O extends { project: string }>(
  ctx: OperationContext,
  strategy: Strategy,
  name: string,
  phase: StrategyPhase<O>,
  options: O,
  strategies: StrategyTable,
  hooks: DryRunHooks,
  pkg: string | undefined,
): Promise<ExitCodeValue> {
  const make: PhaseCommand<O> = await phase.command();
  const command = make(ctx, options, { inFlight: inFlightReader(strategies), hooks });
  const inputs = command.inputs.bind(command);
  command.inputs = async (report) => {
    const input = await inputs(report);
    if (input) for (const role of strategy.accepts.roles) requireRoleOf(strategies, strategy, name, input, role);
    return input;
  };
  return runPipeline(ctx, command, pkg ?? null);
}

/** `requireRole` for a strategy's phase, with the strategies this engine can run instead as the hint. */
function requireRoleOf(
  strategies: StrategyTable,
  strategy: Strategy,
  phase: string,
  input: { session: { engine: Parameters<typeof requireRole>[0] } },
  role: Strategy['accepts']['roles'][number],
): void {
  const { engine } = input.session;
  const others = Object.values(strategies).filter((s) => s !== strategy && s.accepts.roles.every((r) => engine[r]));
  requireRole(
    engine,
    role,
    phase === 'deploy' ? `deploy with the ${strategy.name} strategy` : `run the ${strategy.name} strategy`,
    others.length ? `deploy with ${others.map((s) => `--strategy ${s.name}`).join(' or ')}` : undefined,
  );
}

/** The strategy `name` of the table; a name it does not hold is refused with the names it does. */
function strategyNamed(strategies: StrategyTable, name: string): Strategy {
  const found = Object.hasOwn(strategies, name) ? strategies[name] : undefined;
  if (found) return found;
  throw new DbeeError(`--strategy ${name}: no such strategy`, {
    code: 'OPTIONS_INVALID',
    hint: `one of ${Object.keys(strategies).join(', ')}`,
  });
}

/**
 * The options another strategy of the table owns (`StrategyAccepts.options`), given with `strategy`: refused before
 * anything is read, naming the strategy they belong to.
 */
function refuseOthersOptions(strategies: StrategyTable, strategy: Strategy, options: DeployOptions): void {
  for (const other of Object.values(strategies)) {
    if (other === strategy) continue;
    for (const [option, what] of Object.entries(other.accepts.options)) {
      const value = options[option as keyof DeployOptions];
      if (value === undefined || value === false || (Array.isArray(value) && value.length === 0)) continue;
      if (strategy.accepts.options[option as keyof DeployOptions]) continue;
      throw new DbeeError(
        `--${kebab(option)} ${what} with the ${other.name} strategy: not with the ${strategy.name} strategy`,
        {
          code: 'OPTIONS_INVALID',
          hint: `deploy with --strategy ${other.name} to use it, or without --${kebab(option)}`,
        },
      );
    }
  }
}

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
