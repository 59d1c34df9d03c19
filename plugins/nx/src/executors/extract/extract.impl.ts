import { commandExecutor } from '../run-command-executor';

/** `@dbee/nx:extract`: runs `dbee extract` for one project; succeeds exactly when the command exits with 0. */
export default commandExecutor('extract');
