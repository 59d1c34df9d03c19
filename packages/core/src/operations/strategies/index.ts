import type { DeployStrategy } from '../../config/schema';
import { BLUE_GREEN } from './blue-green/strategy';
import { DIRECT } from './direct/strategy';
import { EXPAND_CONTRACT } from './expand-contract/strategy';
import type { Strategy } from './strategy';

/**
 * How a plan reaches the database: one entry per strategy (`Strategy`, strategy.ts), each a module of its own whose
 * phases are commands of the one pipeline. A strategy is its module and its line here; the compiler refuses a name of
 * `deploy.strategy` without one.
 */
export const STRATEGIES: { readonly [K in DeployStrategy]: Strategy } = {
  direct: DIRECT,
  'expand-contract': EXPAND_CONTRACT,
  'blue-green': BLUE_GREEN,
};
