import { commandExecutor } from '../run-command-executor';

/** `@dbee/nx:audit`: runs `dbee audit` for one project; succeeds exactly when the command exits with 0. */
export default commandExecutor('audit');
