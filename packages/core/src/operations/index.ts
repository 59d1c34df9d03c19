import type { ExitCodeValue } from '../errors';
import { settleBackground } from '../background';
import type { CommandName, CommandOptions } from '../options';
import { advise } from './advise';
import { build } from './build';
import { check } from './check';
import { cleanup } from './cleanup';
import { audit } from './audit';
import { extract } from './extract';
import { adopt } from './adopt';
import { baseline } from './baseline';
import { clone } from './clone';
import { dbtSources } from './dbt-sources';
import { deploy } from './deploy';
import { diff } from './diff';
import { abort, complete, version } from './expand-contract';
import { disable, enable } from './disable';
import type { OperationContext } from '../context/operation-context';
import { graph } from './graph';
import { log } from './log';
import { plan } from './plan';
import { preview } from './preview';
import { rollback } from './rollback';
import { smokeTest } from './smoke-test';
import { status } from './status';
import { unlock } from './unlock';
import { config } from './config';
import { detag } from './detag';
import { fleetOf, fleetOperation, refuseOnFleet } from '../fleet/dispatch';

/** An operation takes its command's validated options (options/*.ts) and returns the exit code. */
export type Operations = {
  [K in CommandName]: (ctx: OperationContext, options: CommandOptions<K>) => Promise<ExitCodeValue>;
};

/**
 * Operations by command name; the CLI and the Nx executors call these through `runDbeeCommand`. The type makes the
 * compiler refuse a command without an operation, and an operation whose options are not its command's.
 */
export const operations: Operations = {
  build,
  deploy,
  diff,
  plan,
  status,
  log,
  'smoke-test': smokeTest,
  rollback,
  disable,
  enable,
  cleanup,
  extract,
  adopt,
  baseline,
  audit,
  graph,
  clone,
  check,
  advise,
  'dbt-sources': dbtSources,
  complete,
  abort,
  version,
  unlock,
  config,
  detag,
  preview,
};

/**
 * Run the operation of a command with its options (a generic call the compiler checks, no cast), and wait for the
 * clean-up it left running in the background (see background.ts).
 */
export async function runOperation<K extends CommandName>(
  command: K,
  ctx: OperationContext,
  options: CommandOptions<K>,
): Promise<ExitCodeValue> {
  const op: Operations[K] = operations[command];
  try {
    // A fleet environment: the command's fleet form runs `op` on each target (fleet/dispatch.ts).
    const fleet = fleetOf(ctx, command, options);
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
