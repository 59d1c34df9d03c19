import { commandExecutor } from '../run-command-executor';

/** `@dbee/nx:detag`: runs `dbee detag` for one project; succeeds exactly when the command exits with 0. */
export default commandExecutor('detag');
