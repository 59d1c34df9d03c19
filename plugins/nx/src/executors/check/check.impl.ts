import { commandExecutor } from '../run-command-executor';

/** `@dbee/nx:check`: runs `dbee check` for one project; succeeds exactly when the command exits with 0. */
export default commandExecutor('check');
