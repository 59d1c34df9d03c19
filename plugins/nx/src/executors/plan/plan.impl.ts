import { commandExecutor } from '../run-command-executor';

/** `@dbee/nx:plan`: runs `dbee plan` for one project; succeeds exactly when the command exits with 0. */
export default commandExecutor('plan');
