import type { PromiseExecutor } from '@nx/devkit';
import { runCommandExecutor } from '../run-command-executor';
import schema from './schema.json';
import type { BuildExecutorOptions } from './schema';

/** `@dbee/nx:build`: runs `dbee build` for one project; succeeds exactly when the command exits with 0. */
const buildExecutor: PromiseExecutor<BuildExecutorOptions> = (options, context) => runCommandExecutor('build', schema, options, context);

export default buildExecutor;
