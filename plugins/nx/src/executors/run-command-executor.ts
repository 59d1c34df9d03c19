import './compile-cache'; // first: before what it caches
import type { ExecutorContext, PromiseExecutor } from '@nx/devkit';
// What runs a command, not the packages' indexes (`@dbee/cli` and `@dbee/core` load every module of core).
import { parseCommandLine, positionalsOf, releaseEngines, runDbeeCommand, sourceMappedStack } from '@dbee/cli/run';
import type { CommandInput } from '@dbee/core';
import { isDbeeError } from '@dbee/core/errors';
import type { CommandName } from '@dbee/core/options';
import { ensureTypeScriptLoader } from './typescript-loader';
import { validateOptions } from './validate-options';

/** The dbee commands behind the executors: every command has one (`@dbee/nx:<command>`). */
export type DbeeCommand = CommandName;

/** Where one task's output goes. */
export interface TaskIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** What one task needs besides its options. */
export interface TaskRun {
  command: DbeeCommand;
  /** Absolute workspace root (`context.root`). */
  workspaceRoot: string;
  /** Nx project name, for messages (`db-sales`). */
  nxProject?: string;
  io: TaskIo;
  /** Checks the options once they are valid; returns the error to print instead of running. */
  guard?: (options: Record<string, unknown>) => unknown;
  /** Sessions shared by the tasks of a batch (one lock and connection per environment). */
  sessions?: import('@dbee/core/run').SessionPool;
}

/**
 * Runs one dbee command for an Nx task: validate the options, then call the same `runDbeeCommand` as the CLI.
 * Returns the exit code (0 ok, 1 invalid, 2 apply failed, 3 smoke failed). Never throws: a user error prints
 * dbee's message, anything else its stack, and both count as a failure.
 */
export async function runTask(rawOptions: object, run: TaskRun): Promise<number> {
  const where = run.nxProject ? ` (${run.nxProject})` : '';
  let options: Record<string, unknown>;
  try {
    options = withArgs(run.command, rawOptions as Record<string, unknown>);
  } catch (error) {
    run.io.stderr.write(`@dbee/nx:${run.command}${where}: invalid args\n${describeError(error)}\n`);
    return 1;
  }
  const problems = validateOptions(run.command, options);
  if (problems.length > 0) {
    run.io.stderr.write(
      `@dbee/nx:${run.command}${where}: invalid options\n${problems.map((p) => `  - ${p}\n`).join('')}`,
    );
    return 1;
  }
  // Without --env, dbee itself picks the environment (DBEE_ENV, else defaultEnvironment), as for the CLI.
  for (const key of Object.keys(options)) if (options[key] === undefined) delete options[key];
  ensureTypeScriptLoader();
  try {
    const refusal = run.guard?.(options);
    if (refusal) {
      run.io.stderr.write(describeError(refusal) + '\n');
      return 1;
    }
    return await runDbeeCommand(run.command, options as Record<string, unknown> & { project: string }, {
      workspaceRoot: run.workspaceRoot,
      fromNx: true,
      stdout: run.io.stdout,
      stderr: run.io.stderr,
      sessions: run.sessions,
    });
  } catch (error) {
    run.io.stderr.write(describeError(error) + '\n');
    return isDbeeError(error) ? error.exitCode : 1;
  } finally {
    // A task of its own: Nx may end this process once it returns; a batch lets go when it ends (run-batch.ts).
    if (!run.sessions) await releaseEngines();
  }
}

/**
 * The options with `args` (the command's flags as one string, as `nx:run-commands` takes them: `nx affected -t deploy
 * --args="--env=test --dry-run"`) read as dbee's command line reads them, into the options they name, over the
 * target's options and the schema's defaults that Nx fills in. Throws the command line's error for a flag the command does not have.
 */
export function withArgs(command: DbeeCommand, given: Record<string, unknown>): Record<string, unknown> {
  const { args, ...options } = given;
  if (args === undefined || args === null || args === '') return options;
  const tokens = [...String(args).matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
  // The positional arguments (the project) come from the task's own options: args holds flags.
  const positionals: string[] = [];
  for (const name of positionalsOf(command)) {
    if (options[name] === undefined) break;
    positionals.push(String(options[name]));
  }
  const parsed = parseCommandLine(command, [...positionals, ...tokens]);
  if (parsed.help) return options;
  // Nx fills the schema's defaults in (`dryRun: false`): the flags of args, typed on the command line, win over them
  // and over the target's configured options, as any flag given to `nx run` does.
  return { ...options, ...parsed.options };
}

/** The executor for one command: `{ success: true }` exactly when the command exits with 0. */
export async function runCommandExecutor(
  command: DbeeCommand,
  options: object,
  context: ExecutorContext,
  guard?: TaskRun['guard'],
): Promise<{ success: boolean }> {
  const code = await runTask(options, {
    command,
    workspaceRoot: context.root,
    nxProject: context.projectName,
    io: { stdout: process.stdout, stderr: process.stderr },
    guard,
  });
  return { success: code === 0 };
}

/** A user error prints its message with location and hint; a programming error prints its stack. */
export function describeError(error: unknown): string {
  if (isDbeeError(error)) return error.format();
  if (error instanceof Error) return error.stack ? sourceMappedStack(error.stack) : `${error.name}: ${error.message}`;
  return String(error);
}

/**
 * The executor of a command, typed with the command's options (`@dbee/nx:deploy` takes `CommandInput<'deploy'>`).
 * `<command>/<command>.impl.ts` is `export default commandExecutor('<command>')` unless it needs a guard.
 */
export function commandExecutor<K extends DbeeCommand>(command: K): PromiseExecutor<CommandInput<K>> {
  return (options, context) => runCommandExecutor(command, options, context);
}
