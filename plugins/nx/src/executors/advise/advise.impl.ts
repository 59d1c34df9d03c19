import { commandExecutor } from '../run-command-executor';

/** `@dbee/nx:advise`: runs `dbee advise` for one project; succeeds exactly when the command exits with 0. */
export default commandExecutor('advise');
