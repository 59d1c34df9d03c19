import { commandExecutor } from '../run-command-executor';

/** `@dbee/nx:log`: runs `dbee log` for one project; succeeds exactly when the command exits with 0. */
export default commandExecutor('log');
