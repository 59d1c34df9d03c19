import { parseArgs } from 'node:util';
import { COMMANDS, runDbeeCommand, type CommandName } from './run-command';
import { COMMAND_SPECS, camel, type OptionSpec } from './options';

const USAGE = `dbee: deploy database code with dependency order, a ledger, and safe rollbacks

usage: dbee <command> <project> [options]

commands:
${COMMANDS.map((c) => `  ${c.padEnd(11)} ${COMMAND_SPECS[c].summary}${COMMAND_SPECS[c].pendingIssue ? ` (not yet: issue #${COMMAND_SPECS[c].pendingIssue})` : ''}`).join('\n')}

global options:
  -h, --help     show help (dbee <command> --help for a command's options)
  --version      print the version
  --cwd <dir>    run as if started in <dir> (the workspace is the nearest folder with dbee.yaml)

exit codes: 0 success, 1 refused before anything was applied, 2 a step failed, 3 smoke tests failed
`;

function commandHelp(command: CommandName): string {
  const spec = COMMAND_SPECS[command];
  const lines = spec.options.map((o) => {
    const left = `${o.short ? `-${o.short}, ` : '    '}--${o.flag}${o.value ? ' ' + o.value : ''}`;
    return `  ${left.padEnd(30)} ${o.description}`;
  });
  return `dbee ${command} <project>${spec.positional ? ` <${spec.positional}>` : ''} [options]\n\n${spec.summary}.${spec.pendingIssue ? `\nNot implemented yet: arrives with issue #${spec.pendingIssue}.` : ''}\n\noptions:\n${lines.join('\n')}\n  ${'--cwd <dir>'.padEnd(30)} run as if started in <dir>\n`;
}

/** Parse argv and run; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(USAGE);
    return command ? 0 : 1;
  }
  if (command === '--version') {
    process.stdout.write(require('../package.json').version + '\n');
    return 0;
  }
  if (!(COMMANDS as readonly string[]).includes(command)) {
    process.stderr.write(`error: unknown command "${command}"\n\n${USAGE}`);
    return 1;
  }
  const name = command as CommandName;
  const spec = COMMAND_SPECS[name];
  const all: OptionSpec[] = [...spec.options, { flag: 'help', short: 'h', type: 'boolean', description: '' }, { flag: 'cwd', type: 'string', description: '' }];
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: Object.fromEntries(all.map((o) => [o.flag, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }])),
    });
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n\n${commandHelp(name)}`);
    return 1;
  }
  if (parsed.values.help) {
    process.stdout.write(commandHelp(name));
    return 0;
  }
  const project = parsed.positionals[0];
  // `disable` and `enable` take a second positional: the object.
  const second = spec.positional;
  if (!project || parsed.positionals.length > (second ? 2 : 1) || (second && parsed.positionals.length < 2)) {
    process.stderr.write(`error: ${!project ? 'missing <project>' : parsed.positionals.length < 2 && second ? `missing <${second}>` : 'too many arguments'}\n\n${commandHelp(name)}`);
    return 1;
  }
  const options: Record<string, unknown> & { project: string } = { project };
  if (second) options[second] = parsed.positionals[1];
  for (const o of spec.options) {
    const v = parsed.values[o.flag];
    if (v === undefined) continue;
    if (o.flag === 'no-deps') options.withDependencies = false;
    else if (o.flag === 'no-cache') options.noCache = true;
    else options[camel(o.flag)] = v;
  }
  if (typeof options.waitForLock === 'string') options.waitForLock = Number(options.waitForLock);
  return runDbeeCommand(name, options, { workspaceRoot: (parsed.values.cwd as string | undefined) ?? process.cwd() });
}
