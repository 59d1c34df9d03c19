/**
 * The one entry point shared by the `dbee` CLI and the Nx executors: both call `runDbeeCommand` with a command
 * name and options, so an Nx target and a CLI command always do the same thing.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
// Not `@dbee/core`, which loads every module of core: the command's own modules load when it runs (core's operations/run.ts).
import { DbeeAggregateError, DbeeError, ExitCode } from '@dbee/core/errors';
import type { CommandName } from '@dbee/core/options';
import {
  Workspace,
  makeReporter,
  runOperation,
  type OperationContext,
  type SessionPool,
  type StrategyTable,
} from '@dbee/core/run';
import { COMMAND_NAMES, isCommandName } from './command-table';
import { engineByName } from './engines';
import { optionSchemas } from './option-schemas';
import { validOptions } from './option-values';
import { sourceMappedStack } from './stack-trace';

/** Commands, which are also the default Nx target names; declared with their options in @dbee/core (options/). */
export { COMMAND_NAMES as COMMANDS } from './command-table';
export type { CommandName } from '@dbee/core/options';
/** Options checked without zod (the Nx executors check theirs with it too). */
export { validOptions } from './option-values';
/** An internal error's stack at the TypeScript sources (the Nx executors print theirs with it too). */
export { sourceMappedStack } from './stack-trace';
export { releaseEngines } from './engines';
/** The command line's parser (the Nx executors read their `args` with it). */
export { parseCommandLine, positionalsOf } from './options';

export interface CommandContext {
  /** Absolute workspace root (the folder holding dbee.yaml). */
  workspaceRoot: string;
  /** Where output goes; defaults to process.stdout/stderr. */
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** Environment variables for `${VAR}` interpolation; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Whether the user can answer prompts (a TTY); defaults to process.stdin.isTTY. */
  interactive?: boolean;
  /**
   * True when called by an Nx executor: Nx has already run the dependencies' tasks, so `deploy` does not
   * deploy dependencies itself.
   */
  fromNx?: boolean;
  /** Sessions shared across commands (an Nx batch): engines take their lock and connection from it. */
  sessions?: SessionPool;
  /**
   * The strategies `deploy`, `complete` and `abort` choose from (`--strategy`); default: core's table. A test gives a
   * table with a strategy of its own (test/pipeline/toy-strategy.test.ts).
   */
  strategies?: StrategyTable;
}

/**
 * Options of a command before validation, camelCase (the CLI maps `--dry-run` to `dryRun`), from argv, an Nx target
 * or a test. `project` is the dbee project name (`sales`, not `db-sales`). `runDbeeCommand` validates them against
 * the command's schema (packages/core/src/options): unknown options and wrong values are a user error (exit 1).
 */
export type CommandOptions = Record<string, unknown> & { project: string };

const TOOL_VERSION: string = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version;

/**
 * Run one dbee command and return its exit code (0 success, 1 refused before anything ran, 2 a step failed,
 * 3 smoke tests failed). User errors are printed without a stack; anything else is a bug and shows its stack.
 */
export async function runDbeeCommand<K extends CommandName>(
  command: K,
  options: CommandOptions,
  context: CommandContext,
): Promise<number> {
  const stdout = context.stdout ?? process.stdout;
  const stderr = context.stderr ?? process.stderr;
  try {
    if (!isCommandName(command))
      throw new DbeeError(`unknown command "${command}"`, {
        code: 'COMMAND_UNKNOWN',
        hint: `commands: ${COMMAND_NAMES.join(', ')}`,
      });
    // The schemas (zod) load when an option is not one the table knows the schema accepts: they say what is wrong.
    const valid = validOptions(command, options) ?? optionSchemas().parseCommandOptions(command, options);
    const root = Workspace.findRoot(context.workspaceRoot);
    // In a batch the configuration cannot change between tasks: read it once.
    const workspace = context.sessions
      ? context.sessions.memo(`workspace:${root}`, () => Workspace.load(root))
      : Workspace.load(root);
    const ctx: OperationContext = {
      workspace,
      stdout,
      stderr,
      env: context.env ?? process.env,
      interactive: context.interactive ?? Boolean(process.stdin.isTTY),
      fromNx: context.fromNx ?? false,
      engine: context.sessions ? (name: string) => context.sessions!.wrap(engineByName(name)) : engineByName,
      reporter: makeReporter(stdout, stderr),
      toolVersion: TOOL_VERSION,
      sessions: context.sessions,
    };
    return await runOperation(command, ctx, valid, context.strategies);
  } catch (e) {
    return reportError(e, stderr);
  }
}

/** Print an error for people; returns the exit code it implies. */
export function reportError(e: unknown, stderr: NodeJS.WritableStream): number {
  if (e instanceof DbeeAggregateError) {
    stderr.write(`error: ${e.format()}\n`);
    return e.exitCode;
  }
  if (e instanceof DbeeError) {
    stderr.write(`error: ${e.format()}\n`);
    return e.exitCode;
  }
  const text = e instanceof Error ? (e.stack ? sourceMappedStack(e.stack) : e.message) : String(e);
  stderr.write(`internal error (a bug in dbee, please report it):\n${text}\n`);
  return ExitCode.invalid;
}
