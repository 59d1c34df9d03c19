import { commandExecutor } from '../run-command-executor';

/** `@dbee/nx:config`: runs `dbee config` for one project; succeeds exactly when the command exits with 0. */
export default commandExecutor('config');
