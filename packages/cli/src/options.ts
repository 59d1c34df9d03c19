import { parseArgs, type ParseArgsConfig } from 'node:util';
// Core's errors alone and the generated table of commands: `dbee --help` and flag parsing load neither zod nor core.
import { DbeeError } from '@dbee/core/errors';
import type { CommandName, OptionEntry } from '@dbee/core/options';
import { COMMAND_NAMES, COMMAND_TABLE } from './command-table';
import { LSP_SUMMARY } from './lsp/summary';

/**
 * The command line of every command, derived from its option schema in @dbee/core (packages/core/src/options)
 * through the generated commands.generated.json: flags, short names, value placeholders, positional arguments, `--no-...`
 * flags and `--help` text. Nothing about an option is written here; add options there.
 */

/** Options every command takes besides its own. */
const GLOBAL_FLAGS = [
  { flag: 'help', short: 'h', value: undefined, description: 'show this help' },
  {
    flag: 'cwd',
    short: undefined,
    value: '<dir>',
    description: 'run as if started in <dir> (the workspace is the nearest folder with dbee.yaml)',
  },
] as const;

/** What the command line of one command holds, before validation. */
export type CommandLine =
  | { help: true }
  | { help: false; cwd?: string; options: Record<string, unknown> & { project: string } };

/** The flags of a command (options with a `cli` entry), in declaration order. */
export function flagsOf(command: CommandName): (OptionEntry & { cli: NonNullable<OptionEntry['cli']> })[] {
  return COMMAND_TABLE[command].options.filter(
    (e): e is OptionEntry & { cli: NonNullable<OptionEntry['cli']> } => e.cli !== null,
  );
}

/** The positional arguments of a command (`project`, then `object` for disable/enable). */
export function positionalsOf(command: CommandName): string[] {
  return COMMAND_TABLE[command].options.filter((e) => e.positional).map((e) => e.name);
}

/** Whether a flag takes a value (`--env <name>`) or is a switch (`--dry-run`, `--no-deps`). */
function takesValue(e: OptionEntry): boolean {
  return Boolean(e.cli?.value);
}

/** A flag that may repeat: lists (`--allow-hazards a --allow-hazards b` or `--allow-hazards a,b`). */
function repeats(e: OptionEntry): boolean {
  return e.json?.type === 'array';
}

/**
 * Parse a command's arguments (after the command name) into its options, camelCase, values as typed (strings for
 * valued flags; core's schema turns `30` into a number). Throws a DbeeError for an unknown flag, a missing value
 * or a wrong number of positional arguments; the values themselves are validated by `runDbeeCommand`.
 */
export function parseCommandLine(command: CommandName, args: string[]): CommandLine {
  const flags = flagsOf(command);
  const config = Object.fromEntries([
    ...flags.map(
      (e) =>
        [
          e.cli.flag,
          {
            type: takesValue(e) ? 'string' : 'boolean',
            ...(e.cli.short ? { short: e.cli.short } : {}),
            ...(repeats(e) ? { multiple: true } : {}),
          },
        ] as const,
    ),
    ...GLOBAL_FLAGS.map(
      (g) => [g.flag, { type: g.value ? 'string' : 'boolean', ...(g.short ? { short: g.short } : {}) }] as const,
    ),
  ]);
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: config as NonNullable<ParseArgsConfig['options']>,
    });
  } catch (e) {
    const unknown = /^Unknown option '(-{1,2}[^']+)'/.exec((e as Error).message)?.[1];
    if (unknown)
      throw unknownOptionError(command, unknown, [...flags.map((f) => f.cli.flag), ...GLOBAL_FLAGS.map((g) => g.flag)]);
    throw usageError(command, (e as Error).message);
  }
  if (parsed.values.help) return { help: true };
  const names = positionalsOf(command);
  const given = parsed.positionals;
  const required = COMMAND_TABLE[command].options.filter((e) => e.positional && !e.optional).length;
  if (given.length < required) throw usageError(command, `missing <${names[given.length]}>`);
  if (given.length > names.length)
    throw usageError(command, `too many arguments: ${given.slice(names.length).join(' ')}`);
  const options: Record<string, unknown> = Object.fromEntries(
    names.flatMap((name, i) => (i < given.length ? [[name, given[i]]] : [])),
  );
  for (const e of flags) {
    const value = parsed.values[e.cli.flag];
    if (value === undefined) continue;
    options[e.name] = e.cli.negated ? false : value;
  }
  return {
    help: false,
    cwd: parsed.values.cwd as string | undefined,
    options: options as Record<string, unknown> & { project: string },
  };
}

/**
 * An option the command does not have, with the closest one it has when there is one (`--dryrun`: `--dry-run`): the
 * same letters without dashes or case, else at most two edits away.
 */
function unknownOptionError(command: CommandName, given: string, known: string[]): DbeeError {
  const name = given.replace(/^-+/, '').replace(/=.*$/, '');
  const bare = (s: string) => s.replace(/-/g, '').toLowerCase();
  const closest =
    known.find((k) => bare(k) === bare(name)) ??
    known
      .map((k) => ({ k, d: editDistance(bare(k), bare(name)) }))
      .filter((c) => c.d <= Math.min(2, Math.floor(name.length / 3)))
      .sort((a, b) => a.d - b.d)[0]?.k;
  return new DbeeError(`unknown option --${name} for dbee ${command}${closest ? `: did you mean --${closest}?` : ''}`, {
    code: 'OPTIONS_INVALID',
    hint: `see dbee ${command} --help`,
  });
}

/** Levenshtein distance: the fewest single-character insertions, deletions and substitutions from `a` to `b`. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length]!;
}

function usageError(command: CommandName, message: string): DbeeError {
  return new DbeeError(message, { code: 'OPTIONS_INVALID', hint: `see dbee ${command} --help` });
}

/** `dbee --help`. */
export function usage(): string {
  return `dbee: deploy database code with dependency order, a ledger, and safe rollbacks

usage: dbee <command> <project> [options]

commands:
${COMMAND_NAMES.map((c) => `  ${c.padEnd(11)} ${COMMAND_TABLE[c].summary}`).join('\n')}
  ${'lsp'.padEnd(11)} ${LSP_SUMMARY}

global options:
  -h, --help     show help (dbee <command> --help for a command's options)
  --version      print the version
  --cwd <dir>    run as if started in <dir> (the workspace is the nearest folder with dbee.yaml)

exit codes: 0 success, 1 refused before anything was applied, 2 a step failed, 3 smoke tests failed
`;
}

/** `dbee <command> --help`: the positional arguments and every flag with its description. */
export function commandHelp(command: CommandName): string {
  const definition = COMMAND_TABLE[command];
  const entries = definition.options;
  const flag = (f: { flag: string; short?: string; value?: string }) =>
    `${f.short ? `-${f.short}, ` : '    '}--${f.flag}${f.value ? ' ' + f.value : ''}`;
  const argument = (e: OptionEntry) => (e.optional ? `[<${e.name}>]` : `<${e.name}>`);
  const args: [string, string][] = entries.filter((e) => e.positional).map((e) => [argument(e), e.description]);
  const flags: [string, string][] = [
    ...entries.filter((e) => e.cli).map((e): [string, string] => [flag(e.cli!), e.description]),
    ...GLOBAL_FLAGS.map((g): [string, string] => [flag(g), g.description]),
  ];
  const width = Math.max(...[...args, ...flags].map(([left]) => left.length));
  const rows = (list: [string, string][]) =>
    list.map(([left, description]) => wrap(`  ${left.padEnd(width)}  `, description)).join('\n');
  const synopsis = ['dbee', command, ...entries.filter((e) => e.positional).map(argument), '[options]'].join(' ');
  return `${synopsis}\n\n${definition.summary}.\n\narguments:\n${rows(args)}\n\noptions:\n${rows(flags)}\n`;
}

/** `prefix` then the text, wrapped at 110 columns under itself. */
function wrap(prefix: string, text: string, width = 110): string {
  const room = Math.max(40, width - prefix.length);
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > room) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map((l, i) => (i === 0 ? prefix : ' '.repeat(prefix.length)) + l).join('\n');
}
