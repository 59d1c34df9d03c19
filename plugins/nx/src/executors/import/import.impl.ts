import { commandExecutor } from '../run-command-executor';

/** `@dbee/nx:import`: runs `dbee import` for one project; succeeds exactly when the command exits with 0. */
export default commandExecutor('import');
