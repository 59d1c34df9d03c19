import { commandExecutor } from '../run-command-executor';

/** `@dbee/nx:abort`: runs `dbee abort` for one project; succeeds exactly when the command exits with 0. */
export default commandExecutor('abort');
