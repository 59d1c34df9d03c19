import type { ExitCodeValue } from '../errors';
import { settleBackground } from '../background';
import type { CommandName, CommandOptions } from '../options';
import type { OperationContext } from '../context/operation-context';
import { fleetOf, fleetOperation, refuseOnFleet } from '../fleet/dispatch';
import type { StrategyTable } from './strategies/strategy';

/**
 * An operation takes its command's validated options (options/*.ts) and returns the exit code. `deploy` and the
 * strategies' later phases (`complete`, `abort`, `switch`, `fallback`, `finish`) choose from `strategies` when given (a test's table, with a strategy
 * of its own), else from `STRATEGIES`; the other operations take no table.
 */
export type Operations = {
  [K in CommandName]: (
    ctx: OperationContext,
    options: CommandOptions<K>,
    strategies?: StrategyTable,
  ) => Promise<ExitCodeValue>;
};

/**
 * Each command's operation, loaded when the command runs: a process loads the modules of the command it runs and not
 * every other command's (a `dbee status` loads neither the planner's deploy path nor `advise`, `extract` or the dbt
 * reader with its YAML library). The type makes the compiler refuse a command without an operation, and an operation
 * whose options are not its command's. The CLI and the Nx executors call these through `runDbeeCommand`.
 */
const OPERATIONS: { [K in CommandName]: () => Promise<Operations[K]> } = {
  build: async () => (await import('./build')).build,
  deploy: async () => {
    const { deploy } = await import('./deploy');
    return (ctx, options, strategies) => deploy(ctx, options, {}, strategies);
  },
  diff: async () => (await import('./diff')).diff,
  plan: async () => (await import('./plan')).plan,
  status: async () => (await import('./status')).status,
  log: async () => (await import('./log')).log,
  'smoke-test': async () => (await import('./smoke-test')).smokeTest,
  rollback: async () => (await import('./rollback')).rollback,
  disable: async () => (await import('./disable')).disable,
  enable: async () => (await import('./disable')).enable,
  cleanup: async () => (await import('./cleanup')).cleanup,
  extract: async () => (await import('./extract')).extract,
  adopt: async () => (await import('./adopt')).adopt,
  baseline: async () => (await import('./baseline')).baseline,
  import: async () => (await import('./import')).importProject,
  audit: async () => (await import('./audit')).audit,
  graph: async () => (await import('./graph')).graph,
  docs: async () => (await import('./docs')).docs,
  clone: async () => {
    const [{ clone }, { STRATEGIES }, { inFlightReader }] = await Promise.all([
      import('./clone'),
      import('./strategies'),
      import('./strategies/in-flight'),
    ]);
    return (ctx, options, strategies) => clone(ctx, options, { inFlight: inFlightReader(strategies ?? STRATEGIES) });
  },
  check: async () => (await import('./check')).check,
  advise: async () => (await import('./advise')).advise,
  'dbt-sources': async () => (await import('./dbt-sources')).dbtSources,
  complete: async () => (await import('./deploy')).complete,
  abort: async () => (await import('./deploy')).abort,
  switch: async () => (await import('./deploy')).switchOver,
  fallback: async () => (await import('./deploy')).fallback,
  finish: async () => (await import('./deploy')).finish,
  version: async () => (await import('./strategies/expand-contract/version')).version,
  unlock: async () => (await import('./unlock')).unlock,
  config: async () => (await import('./config')).config,
  detag: async () => (await import('./detag')).detag,
  preview: async () => (await import('./preview')).preview,
};

/** The operation of `command`, its modules loaded on first use. */
export function loadOperation<K extends CommandName>(command: K): Promise<Operations[K]> {
  return OPERATIONS[command]();
}

/**
 * Run the operation of a command with its options (a generic call the compiler checks, no cast), and wait for the
 * clean-up it left running in the background (see background.ts).
 */
export async function runOperation<K extends CommandName>(
  command: K,
  ctx: OperationContext,
  options: CommandOptions<K>,
  strategies?: StrategyTable,
): Promise<ExitCodeValue> {
  try {
    // A fleet environment: the command's fleet form runs `op` on each target (fleet/dispatch.ts).
    const fleet = fleetOf(ctx, command, options);
    const op = await loadOperation(command);
    if (fleet) {
      const onFleet = fleetOperation(command);
      if (!onFleet) refuseOnFleet(command, fleet);
      return await onFleet(ctx, options, fleet, op);
    }
    return await op(ctx, options, strategies);
  } finally {
    await settleBackground();
  }
}
