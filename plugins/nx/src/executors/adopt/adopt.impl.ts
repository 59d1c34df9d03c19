import { commandExecutor } from '../run-command-executor';

/** `@dbee/nx:adopt`: runs `dbee adopt` for one project; succeeds exactly when the command exits with 0. */
export default commandExecutor('adopt');
