import { commandExecutor } from '../run-command-executor';

/** `@dbee/nx:smoke-test`: runs `dbee smoke-test` for one project; succeeds exactly when the command exits with 0. */
export default commandExecutor('smoke-test');
