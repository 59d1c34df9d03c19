import { commandExecutor } from '../run-command-executor';

/** `@dbee/nx:unlock`: runs `dbee unlock` for one project; succeeds exactly when the command exits with 0. */
export default commandExecutor('unlock');
