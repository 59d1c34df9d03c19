import { validOptions } from '@dbee/cli/run';
import type { CommandName } from '@dbee/core/options';

/**
 * Checks executor options as the CLI does, so Nx and `dbee` accept exactly the same options: valid options by the
 * command's table of options (`validOptions`, no zod), anything else by the command's zod schema in @dbee/core
 * (packages/core/src/options), loaded then, which says what is wrong. Nx validates a forked task against the
 * generated schema.json itself; this also covers batch runs and programmatic calls (`runExecutor`), and gives one
 * message listing every problem.
 */
export function validateOptions(command: CommandName, options: Record<string, unknown>): string[] {
  if (validOptions(command, options)) return [];
  const { checkCommandOptions } = require('@dbee/core/options') as typeof import('@dbee/core/options');
  const checked = checkCommandOptions(command, options, 'name');
  return checked.ok ? [] : checked.problems;
}
