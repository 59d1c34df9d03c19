import { describe, expect, it } from 'vitest';
import { COMMAND_DEFINITIONS, COMMANDS } from '../options';
import { COMMANDS_WITHOUT_ENV } from './dispatch';

describe('the commands a fleet dispatch reads without the option schemas', () => {
  it('COMMANDS_WITHOUT_ENV: exactly the commands whose schema has no env', () => {
    expect([...COMMANDS_WITHOUT_ENV].sort()).toEqual(
      COMMANDS.filter((c) => !('env' in COMMAND_DEFINITIONS[c].schema.shape)).sort(),
    );
  });
});
