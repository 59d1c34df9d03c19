import { checkCommandOptions, type CommandName } from '@dbee/core/options';

/**
 * Checks executor options with the command's zod schema in @dbee/core (packages/core/src/options), the same one the
 * CLI and core use, so Nx and `dbee` accept exactly the same options. Nx validates a forked task against the
 * generated schema.json itself; this also covers batch runs and programmatic calls (`runExecutor`), and gives one
 * message listing every problem.
 */
export function validateOptions(command: CommandName, options: Record<string, unknown>): string[] {
  const checked = checkCommandOptions(command, options, 'name');
  return checked.ok ? [] : checked.problems;
}
