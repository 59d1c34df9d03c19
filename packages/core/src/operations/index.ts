import type { ExitCodeValue } from '../errors';
import { settleBackground } from '../background';
import type { CommandName, CommandOptions } from '../options';
import type { OperationContext } from '../context/operation-context';
import { fleetOf, fleetOperation, refuseOnFleet } from '../fleet/dispatch';

/** An operation takes its command's validated options (options/*.ts) and returns the exit code. */
export type Operations = {
  [K in CommandName]: (ctx: OperationContext, options: CommandOptions<K>) => Promise<ExitCodeValue>;
};

/**
 * Each command's operation, loaded when the command runs: a process loads the modules of the command it runs and not
 * every other command's (a `dbee status` loads neither the planner's deploy path nor `advise`, `extract` or the dbt
 * reader with its YAML library). The type makes the compiler refuse a command without an operation, and an operation
 * whose options are not its command's. The CLI and the Nx executors call these through `runDbeeCommand`.
 */
const OPERATIONS: { [K in CommandName]: () => Promise<Operations[K]> } = {
  build: async () => (await import('./build')).build,
  deploy: async () => (await import('./deploy')).deploy,
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
  audit: async () => (await import('./audit')).audit,
  graph: async () => (await import('./graph')).graph,
  clone: async () => (await import('./clone')).clone,
  check: async () => (await import('./check')).check,
  advise: async () => (await import('./advise')).advise,
  'dbt-sources': async () => (await import('./dbt-sources')).dbtSources,
  complete: async () => (await import('./expand-contract')).complete,
  abort: async () => (await import('./expand-contract')).abort,
  version: async () => (await import('./expand-contract')).version,
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
    return await op(ctx, options);
  } finally {
    await settleBackground();
  }
}
