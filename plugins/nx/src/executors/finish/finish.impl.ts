import { commandExecutor } from '../run-command-executor';

/** `@dbee/nx:finish`: runs `dbee finish` for one project; succeeds exactly when the command exits with 0. */
export default commandExecutor('finish');
