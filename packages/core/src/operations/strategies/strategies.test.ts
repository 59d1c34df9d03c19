import { describe, expect, it } from 'vitest';
import { EXPAND_RULES } from '../../expand/rules';
import { BLUE_GREEN_STATUS } from './blue-green/status';
import { EXPAND_KINDS } from './expand-contract/strategy';
import { EXPAND_STATUS } from './expand-contract/status';
import { STRATEGIES } from '.';

describe('the table of strategies, which loads none of what a strategy runs', () => {
  it("expand-contract's kinds of change are EXPAND_RULES' keys, in its order", () => {
    expect([...EXPAND_KINDS]).toEqual(Object.keys(EXPAND_RULES));
    expect(STRATEGIES['expand-contract'].accepts.changes).toEqual(Object.keys(EXPAND_RULES));
  });

  it('the key of what `dbee status` shows of each is its status module', () => {
    expect(STRATEGIES['expand-contract'].status?.key).toBe(EXPAND_STATUS.key);
    expect(STRATEGIES['blue-green'].status?.key).toBe(BLUE_GREEN_STATUS.key);
  });
});
