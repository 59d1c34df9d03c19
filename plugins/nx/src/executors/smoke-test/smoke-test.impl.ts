import type { PromiseExecutor } from '@nx/devkit';
import { runCommandExecutor } from '../run-command-executor';
import schema from './schema.json';
import type { SmokeTestExecutorOptions } from './schema';

/** `@dbee/nx:smoke-test`: runs `dbee smoke-test` for one project; succeeds exactly when the command exits with 0. */
const smokeTestExecutor: PromiseExecutor<SmokeTestExecutorOptions> = (options, context) => runCommandExecutor('smoke-test', schema, options, context);

export default smokeTestExecutor;
