import { commandExecutor } from '../run-command-executor';

/** `@dbee/nx:rollback`: runs `dbee rollback` for one project; succeeds exactly when the command exits with 0. */
export default commandExecutor('rollback');
