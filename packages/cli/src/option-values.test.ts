import { checkCommandOptions, type CommandName, type OptionEntry } from '@dbee/core/options';
import { describe, expect, it } from 'vitest';
import { COMMAND_NAMES, COMMAND_TABLE } from './command-table';
import { validOptions } from './option-values';

/**
 * `validOptions` (no zod) against the option schemas themselves (`checkCommandOptions`): whatever it accepts, the
 * schema accepts with the same output; and every value a command line can give that the schema accepts, it accepts
 * (else a valid command would load zod again, which the start-up tests would also catch).
 */

const SCALARS: unknown[] = [
  ...['x', '', ' ', '0', '1', '-1', '2', '1.5', '30', ' 7 ', 'abc', 'Infinity', '1e3', '0x10', '9007199254740993'],
  ...[true, false, 0, 1, -1, 1.5, 30, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60, null, {}, new Date(0)],
  ...[[], ['a'], ['a', 'b'], ['x,y'], [''], [1], [true]],
];

/** Values to try for one option: the scalars, and its own values (one, two, comma-separated, with blanks). */
function candidates(entry: OptionEntry): unknown[] {
  const own = [...(entry.json?.enum ?? []), ...(entry.json?.items?.enum ?? [])];
  const [a = 'a', b = a] = own;
  return [...SCALARS, ...own, `${a},${b}`, ` ${a} , ,${b}`, [a], [a, b], [`${a},${b}`], [a, 'nope'], `${a},nope`];
}

/** The smallest input the schema accepts: its required positionals. */
function required(command: CommandName): Record<string, unknown> {
  return Object.fromEntries(
    COMMAND_TABLE[command].options
      .filter((e) => e.positional && !e.optional)
      .map((e) => [e.name, e.json?.enum?.[0] ?? 'sales']),
  );
}

/** What a command line can give an option: a text, a switch, repeated texts. */
const fromCommandLine = (v: unknown) =>
  typeof v === 'string' || typeof v === 'boolean' || (Array.isArray(v) && v.every((s) => typeof s === 'string'));

describe('options validated without zod (option-values.ts), against the option schemas', () => {
  it.each(COMMAND_NAMES)('%s: what it accepts, the schema accepts with the same output', (command) => {
    let accepted = 0;
    for (const entry of COMMAND_TABLE[command].options) {
      for (const value of candidates(entry)) {
        const input = { ...required(command), [entry.name]: value };
        const fast = validOptions(command, input);
        const schema = checkCommandOptions(command, input);
        if (fast !== undefined) {
          accepted++;
          expect(schema, `${command} ${entry.name}=${String(value)}`).toStrictEqual({ ok: true, options: fast });
        } else if (schema.ok && entry.json && fromCommandLine(value)) {
          expect.fail(
            `${command} ${entry.name}=${JSON.stringify(value)}: the schema accepts it, validOptions does not`,
          );
        }
      }
    }
    expect(accepted).toBeGreaterThan(COMMAND_TABLE[command].options.length);
  });

  it.each(COMMAND_NAMES)('%s: its defaults; an unknown option, a missing argument or undefined', (command) => {
    const input = required(command);
    expect(checkCommandOptions(command, input)).toStrictEqual({ ok: true, options: validOptions(command, input) });
    expect(validOptions(command, { ...input, noSuchOption: 'x' })).toBeUndefined();
    const withUndefined = { ...input, env: undefined };
    expect(checkCommandOptions(command, withUndefined)).toStrictEqual({
      ok: true,
      options: validOptions(command, withUndefined),
    });
    if (Object.keys(input).length > 0) expect(validOptions(command, {})).toBeUndefined();
  });

  it('a whole command line: deploy with every kind of value', () => {
    const input = {
      project: 'sales',
      env: 'test',
      dryRun: true,
      withDependencies: false,
      waitForLock: '30',
      concurrency: '4',
      ifExists: 'rename',
      allowHazards: ['data-loss,long-lock'],
      objects: 'table:sales.t',
    };
    const fast = validOptions('deploy', input);
    expect(fast).toMatchObject({ waitForLock: 30, concurrency: 4, objects: ['table:sales.t'] });
    expect(checkCommandOptions('deploy', input)).toStrictEqual({ ok: true, options: fast });
  });
});
