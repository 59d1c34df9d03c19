import type { PromiseExecutor } from '@nx/devkit';
import { runCommandExecutor } from '../run-command-executor';
import schema from './schema.json';
import type { RollbackExecutorOptions } from './schema';

/** `@dbee/nx:rollback`: runs `dbee rollback` for one project; succeeds exactly when the command exits with 0. */
const rollbackExecutor: PromiseExecutor<RollbackExecutorOptions> = (options, context) => runCommandExecutor('rollback', schema, options, context);

export default rollbackExecutor;
