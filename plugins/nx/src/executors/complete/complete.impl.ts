import { commandExecutor } from '../run-command-executor';

/** `@dbee/nx:complete`: runs `dbee complete` for one project; succeeds exactly when the command exits with 0. */
export default commandExecutor('complete');
