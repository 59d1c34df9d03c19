import { commandExecutor } from '../run-command-executor';

/** `@dbee/nx:enable`: runs `dbee enable` for one project; succeeds exactly when the command exits with 0. */
export default commandExecutor('enable');
