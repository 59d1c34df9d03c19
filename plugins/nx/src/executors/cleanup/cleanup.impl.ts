import { commandExecutor } from '../run-command-executor';

/** `@dbee/nx:cleanup`: runs `dbee cleanup` for one project; succeeds exactly when the command exits with 0. */
export default commandExecutor('cleanup');
