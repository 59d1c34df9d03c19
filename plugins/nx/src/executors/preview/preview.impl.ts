import { commandExecutor } from '../run-command-executor';

/** `@dbee/nx:preview`: runs `dbee preview` for one project; succeeds exactly when the command exits with 0. */
export default commandExecutor('preview');
