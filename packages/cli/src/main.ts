import { isDbeeError } from '@dbee/core/errors';
import { isCommandName } from './command-table';
import { commandHelp, parseCommandLine, usage, type CommandLine } from './options';

/** What the `dbee` binary adds around a command. */
export interface MainHooks {
  /**
   * Called once the command line is valid, right before the command's code loads (not for `--help`, `--version` or a
   * usage error): bin/dbee.js installs the compile cache there, which `--help` does not pay for.
   */
  beforeCommand?: () => void;
  /** Called before `dbee lsp` starts its server (a long-running process: no flag that slows code down over time). */
  beforeServer?: () => void;
}

/** Parse argv and run; resolves to the process exit code. Flags, parsing and help come from core's option schemas. */
export async function main(argv: string[], hooks: MainHooks = {}): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(usage());
    return command ? 0 : 1;
  }
  if (command === '--version') {
    process.stdout.write(require('../package.json').version + '\n');
    return 0;
  }
  if (command === 'lsp') {
    // The language server is no command of core's table: it runs until the editor ends it (packages/cli/src/lsp/).
    hooks.beforeServer?.();
    const { lspMain } = await import('./lsp/lsp-command');
    return lspMain(rest);
  }
  if (!isCommandName(command)) {
    process.stderr.write(`error: unknown command "${command}"\n\n${usage()}`);
    return 1;
  }
  let line: CommandLine;
  try {
    line = parseCommandLine(command, rest);
  } catch (e) {
    if (!isDbeeError(e)) throw e;
    // The error and where to read more, not the whole help: the one line that matters stays on screen.
    process.stderr.write(`error: ${e.message}\n  hint: see dbee ${command} --help\n`);
    return 1;
  }
  if (line.help) {
    process.stdout.write(commandHelp(command));
    return 0;
  }
  hooks.beforeCommand?.();
  // Loaded only to run a command: core, zod, the engines and their drivers are not needed for --help or a usage error.
  const { runDbeeCommand, releaseEngines } = await import('./run-command');
  try {
    return await runDbeeCommand(command, line.options, { workspaceRoot: line.cwd ?? process.cwd() });
  } finally {
    // No command follows in this process: what an engine keeps for the next one (a server shadow) goes now.
    await releaseEngines();
  }
}
