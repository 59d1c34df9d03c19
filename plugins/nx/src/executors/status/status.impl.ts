import { commandExecutor } from '../run-command-executor';

/** `@dbee/nx:status`: runs `dbee status` for one project; succeeds exactly when the command exits with 0. */
export default commandExecutor('status');
