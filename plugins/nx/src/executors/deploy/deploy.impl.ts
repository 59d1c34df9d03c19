import type { PromiseExecutor } from '@nx/devkit';
import { runCommandExecutor } from '../run-command-executor';
import schema from './schema.json';
import type { DeployExecutorOptions } from './schema';

/**
 * `@dbee/nx:deploy`: runs `dbee deploy` for one project; succeeds exactly when the command exits with 0.
 * Many projects at once (`nx affected -t deploy`) go through deploy.batch.ts instead.
 */
const deployExecutor: PromiseExecutor<DeployExecutorOptions> = (options, context) => runCommandExecutor('deploy', schema, options, context);

export default deployExecutor;
