import { describe, expect, it } from 'vitest';
import { COMMAND_DEFINITIONS, COMMANDS } from '../options';
import { COMMANDS_WITHOUT_ENV } from './dispatch';

describe('the commands a fleet dispatch reads without the option schemas', () => {
  it('COMMANDS_WITHOUT_ENV: exactly the commands whose schema has no env of one database (none, or a list)', () => {
    const shape = (c: (typeof COMMANDS)[number]) => COMMAND_DEFINITIONS[c].schema.shape as Record<string, unknown>;
    const listOfEnvs = (c: (typeof COMMANDS)[number]) =>
      (shape(c).env as { safeParse(v: unknown): { success: boolean } }).safeParse(['a', 'b']).success;
    expect([...COMMANDS_WITHOUT_ENV].sort()).toEqual(
      COMMANDS.filter((c) => !('env' in shape(c)) || listOfEnvs(c)).sort(),
    );
  });
});
