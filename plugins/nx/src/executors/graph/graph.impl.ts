import { commandExecutor } from '../run-command-executor';

/** `@dbee/nx:graph`: runs `dbee graph` for one project; succeeds exactly when the command exits with 0. */
export default commandExecutor('graph');
