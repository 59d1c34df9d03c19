import { commandExecutor } from '../run-command-executor';

/** `@dbee/nx:switch`: runs `dbee switch` for one project; succeeds exactly when the command exits with 0. */
export default commandExecutor('switch');
