import { deploy } from './deploy';
import { plan } from './plan';
import { status } from './status';

/** Operations by command name; the CLI and the Nx executors call these through `runDbeeCommand`. */
export const operations = { deploy, plan, status };
