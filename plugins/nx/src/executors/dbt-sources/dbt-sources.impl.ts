import { commandExecutor } from '../run-command-executor';

/** `@dbee/nx:dbt-sources`: runs `dbee dbt-sources` for one project; succeeds exactly when the command exits with 0. */
export default commandExecutor('dbt-sources');
