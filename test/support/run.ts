import { Writable } from 'node:stream';
import { runDbeeCommand, type CommandName } from '@dbee/cli';
import type { StrategyTable } from '../../packages/core/src/operations/strategies/strategy';

/** Run a dbee command in-process and capture its output. */
export async function run(
  root: string,
  command: CommandName,
  options: Record<string, unknown> & { project?: string },
  env: NodeJS.ProcessEnv = {},
  /** The strategies `deploy` chooses from (default: core's table). */
  strategies?: StrategyTable,
) {
  let stdout = '';
  let stderr = '';
  const sink = (f: (s: string) => void) =>
    new Writable({
      write(chunk, _enc, cb) {
        f(String(chunk));
        cb();
      },
    });
  // `dbee config` and `config --list` take no project: the command's own parser says what it needs.
  const code = await runDbeeCommand(command, options as Parameters<typeof runDbeeCommand>[1], {
    workspaceRoot: root,
    stdout: sink((s) => (stdout += s)),
    stderr: sink((s) => (stderr += s)),
    env: { ...process.env, ...env },
    interactive: false,
    strategies,
  });
  return { code, stdout, stderr };
}
