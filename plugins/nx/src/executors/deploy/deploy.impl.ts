import { commandExecutor } from '../run-command-executor';

/**
 * `@dbee/nx:deploy`: runs `dbee deploy` for one project; succeeds exactly when the command exits with 0.
 * Many projects at once (`nx affected -t deploy`) go through deploy.batch.ts instead.
 */
export default commandExecutor('deploy');
