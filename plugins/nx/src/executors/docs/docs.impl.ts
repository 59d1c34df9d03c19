import { commandExecutor } from '../run-command-executor';

/** `@dbee/nx:docs`: runs `dbee docs` for one project; succeeds exactly when the command exits with 0. */
export default commandExecutor('docs');
