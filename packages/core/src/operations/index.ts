import { build } from './build';
import { deploy } from './deploy';
import { diff } from './diff';
import { disable, enable } from './disable';
import { plan } from './plan';
import { rollback } from './rollback';
import { smokeTest } from './smoke-test';
import { status } from './status';

/** Operations by command name; the CLI and the Nx executors call these through `runDbeeCommand`. */
export const operations = { build, deploy, diff, plan, status, 'smoke-test': smokeTest, rollback, disable, enable };
