import { commandExecutor } from '../run-command-executor';

/** `@dbee/nx:version`: runs `dbee version` for one project; succeeds exactly when the command exits with 0. */
export default commandExecutor('version');
