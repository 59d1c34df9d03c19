import type { PromiseExecutor } from '@nx/devkit';
import { runCommandExecutor } from '../run-command-executor';
import schema from './schema.json';
import type { DeployExecutorOptions } from './schema';

/**
 * `@dbee/nx:deploy`: runs `dbee deploy` for one project; succeeds exactly when the command exits with 0.
 *
 * Deliberately without a batch implementation. Nx never batches a target with `parallelism: false`, which deploy
 * needs; a deploy runs for minutes, so a fork per project costs nothing that matters; and a fresh process per
 * deployment means one database's driver, lock or PGlite instance cannot leak into the next one's.
 */
const deployExecutor: PromiseExecutor<DeployExecutorOptions> = (options, context) => runCommandExecutor('deploy', schema, options, context);

export default deployExecutor;
