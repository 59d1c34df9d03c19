import type { PromiseExecutor } from '@nx/devkit';
import { runCommandExecutor } from '../run-command-executor';
import schema from './schema.json';
import type { StatusExecutorOptions } from './schema';

/** `@dbee/nx:status`: runs `dbee status` for one project; succeeds exactly when the command exits with 0. */
const statusExecutor: PromiseExecutor<StatusExecutorOptions> = (options, context) => runCommandExecutor('status', schema, options, context);

export default statusExecutor;
