import { commandExecutor } from '../run-command-executor';

/** `@dbee/nx:build`: runs `dbee build` for one project; succeeds exactly when the command exits with 0. */
export default commandExecutor('build');
