import type { z } from 'zod';
import { DbeeError } from '../errors';
import { optionEntries, type OptionEntry } from './command';
import { COMMAND_DEFINITIONS, type CommandName, type CommandOptions } from './commands';

/** How problems name an option: `--if-exists` (the CLI) or `ifExists` (Nx). */
export type OptionStyle = 'flag' | 'name';

export type OptionsCheck<K extends CommandName> =
  | { ok: true; options: CommandOptions<K> }
  | { ok: false; problems: string[] };

/**
 * Validate a command's options (from argv, an Nx target or a test) against its schema. Every problem is one line
 * that names the option and what is expected: `--if-exists: expected one of raise, rename, drop, skip, ignore, got "nuke"`.
 */
export function checkCommandOptions<K extends CommandName>(
  command: K,
  raw: unknown,
  style: OptionStyle = 'flag',
): OptionsCheck<K> {
  const definition = COMMAND_DEFINITIONS[command];
  const input =
    raw && typeof raw === 'object' ? Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)) : raw;
  const result = (definition.schema as z.ZodType).safeParse(input, { reportInput: true });
  if (result.success) return { ok: true, options: result.data as CommandOptions<K> };
  const entries = optionEntries(definition);
  return { ok: false, problems: result.error.issues.flatMap((issue) => describeIssue(issue, entries, style, input)) };
}

/** Validate and type a command's options; a problem is a user error (exit 1) that lists every problem. */
export function parseCommandOptions<K extends CommandName>(
  command: K,
  raw: unknown,
  style: OptionStyle = 'flag',
): CommandOptions<K> {
  const checked = checkCommandOptions(command, raw, style);
  if (checked.ok) return checked.options;
  const { problems } = checked;
  const message =
    problems.length === 1
      ? problems[0]!
      : `invalid options for ${command}:\n${problems.map((p) => `  - ${p}`).join('\n')}`;
  return fail(message, command, problems);
}

function fail(message: string, command: string, problems: string[]): never {
  throw new DbeeError(message, {
    code: 'OPTIONS_INVALID',
    hint: `see dbee ${command} --help; nothing was done`,
    details: { problems },
  });
}

function describeIssue(issue: z.core.$ZodIssue, entries: OptionEntry[], style: OptionStyle, input: unknown): string[] {
  const visible = entries.filter((e) => (style === 'name' ? e.json !== null : e.cli !== null || e.positional));
  if (issue.code === 'unrecognized_keys') {
    const known = visible
      .map((e) => (style === 'name' ? e.name : e.positional ? `<${e.name}>` : `--${e.cli!.flag}`))
      .join(', ');
    return issue.keys.map((key) => `${key}: unknown option (known: ${known})`);
  }
  const [key, ...rest] = issue.path;
  const entry = entries.find((e) => e.name === key);
  if (!entry) return [issue.message];
  // Nx shows where in the list (`allowHazards[1]`); on the command line the list is one comma-separated value.
  const label = labelOf(entry, style) + (style === 'name' ? rest.map((p) => `[${String(p)}]`).join('') : '');
  const given =
    rest.length === 0 && input && typeof input === 'object'
      ? (input as Record<string, unknown>)[entry.name]
      : issue.input;
  if (rest.length === 0 && given === undefined)
    return [style === 'flag' && entry.positional ? `missing <${entry.name}>` : `${label}: required`];
  return [`${label}: expected ${issue.message}, got ${describe(given)}`];
}

function labelOf(entry: OptionEntry, style: OptionStyle): string {
  if (style === 'name') return entry.name;
  if (entry.positional) return `<${entry.name}>`;
  return entry.cli ? `--${entry.cli.flag}` : entry.name;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (value instanceof Date) return 'a date';
  if (typeof value === 'object') return 'an object';
  return JSON.stringify(value);
}
