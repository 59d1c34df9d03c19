import type { CommandName, OptionEntry } from '@dbee/core/options';
import table from './commands.generated.json';

/** One command as its command line knows it. */
export interface CommandLineSpec {
  /** One line for `dbee --help`. */
  summary: string;
  /** Its options in declaration order, as `optionEntries` of @dbee/core gives them. */
  options: OptionEntry[];
}

/**
 * Every command's summary and options, in the order of `dbee --help`: commands.generated.json, generated from the option
 * schemas of @dbee/core (packages/core/src/options) by `npm run generate:executor-schemas` (a test fails when it is
 * stale). `dbee --help`, usage errors and flag parsing read this table instead of the zod schemas, so they load
 * neither zod (with its ~40 locale modules) nor every command's schema: zod loads only to run a command, which
 * validates its options with the schema itself.
 */
export const COMMAND_TABLE = table as unknown as Record<CommandName, CommandLineSpec>;

/** Every command name, in the order of `dbee --help`. */
export const COMMAND_NAMES = Object.keys(COMMAND_TABLE) as CommandName[];

export function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMAND_TABLE, name);
}
