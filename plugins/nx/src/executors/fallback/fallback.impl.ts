import { commandExecutor } from '../run-command-executor';

/** `@dbee/nx:fallback`: runs `dbee fallback` for one project; succeeds exactly when the command exits with 0. */
export default commandExecutor('fallback');
