import { commandExecutor } from '../run-command-executor';

/** `@dbee/nx:baseline`: runs `dbee baseline` for one project; succeeds exactly when the command exits with 0. */
export default commandExecutor('baseline');
