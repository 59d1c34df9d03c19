import type { PromiseExecutor } from '@nx/devkit';
import { runCommandExecutor } from '../run-command-executor';
import schema from './schema.json';
import type { PlanExecutorOptions } from './schema';

/** `@dbee/nx:plan`: runs `dbee plan` for one project; succeeds exactly when the command exits with 0. */
const planExecutor: PromiseExecutor<PlanExecutorOptions> = (options, context) => runCommandExecutor('plan', schema, options, context);

export default planExecutor;
