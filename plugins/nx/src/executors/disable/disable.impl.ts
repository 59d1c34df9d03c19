import { commandExecutor } from '../run-command-executor';

/** `@dbee/nx:disable`: runs `dbee disable` for one project; succeeds exactly when the command exits with 0. */
export default commandExecutor('disable');
