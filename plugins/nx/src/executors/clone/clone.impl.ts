import { commandExecutor } from '../run-command-executor';

/** `@dbee/nx:clone`: runs `dbee clone` for one project; succeeds exactly when the command exits with 0. */
export default commandExecutor('clone');
