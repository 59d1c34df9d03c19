import { z } from 'zod';

/**
 * Building blocks of the command option schemas. Each builder returns a zod schema (what core validates and the
 * types it infers) and registers beside it what the CLI and the Nx executors need to show it: the description, the
 * JSON Schema property of the executors' schema.json, and the command-line flag. One call, so the three cannot drift.
 *
 * This module imports zod and nothing else: the CLI reads it to print `--help` before any engine is loaded.
 */

/** The JSON Schema of one executor option, as written to schema.json (without its description). */
export interface JsonProperty {
  type: 'string' | 'boolean' | 'number' | 'integer' | 'array' | readonly ('string' | 'integer')[];
  enum?: readonly string[];
  items?: { type: 'string'; enum?: readonly string[] };
  minimum?: number;
  default?: unknown;
  /** Other names Nx maps to this option (`deps` for `--no-deps`). */
  aliases?: readonly string[];
  /** One-letter alias (`e` for `-e test`). */
  alias?: string;
}

/** How an option appears on the command line. */
export interface CliFlag {
  /** Kebab-case flag without dashes (`dry-run`, `no-deps`). Default: the option name in kebab-case. */
  flag?: string;
  /** One-letter short flag (`e` for `-e`). */
  short?: string;
  /** Placeholder shown in `--help` after the flag (`<name>`); absent for boolean flags. */
  value?: string;
  /** The flag sets the option to `false` (`--no-deps` sets `withDependencies: false`). */
  negated?: boolean;
}

/** What the CLI, the executors' schema.json and the README read about one option. */
export interface OptionInfo {
  /** One sentence or more, ending with a period, shown in `--help`, Nx Console and the README. */
  description: string;
  /** Its property in the executors' schema.json; `null` when Nx does not see it (test seams). */
  json: JsonProperty | null;
  /** Its flag; `null` when it is not a flag: a positional argument or a test seam. */
  cli: CliFlag | null;
  /** A positional argument of the CLI (`project`, `object`), in declaration order. Required unless `optional`. */
  positional?: boolean;
  /** A positional argument that may be left out (`dbee config --list` names no project). Last in order. */
  optional?: boolean;
}

/** Every option schema built here, with its info. */
export const optionRegistry = z.registry<OptionInfo>();

function register<T extends z.ZodType>(schema: T, info: OptionInfo): T {
  optionRegistry.add(schema, info);
  return schema;
}

/** Optional flag settings; `description` is the one required part of every option. */
type FlagSettings = Omit<CliFlag, 'negated'>;

/** A positional argument: required, a non-empty string. */
export function positional(description: string) {
  return register(z.string({ error: 'a name' }).min(1, { error: 'a name' }), {
    description,
    json: { type: 'string' },
    cli: null,
    positional: true,
  });
}

/**
 * A positional argument that may be left out, in which case the command says what it needs instead (`dbee config
 * --list` lists every environment; `dbee config` without it needs the project). Only as the last positional.
 */
export function optionalPositional(description: string) {
  return register(z.string({ error: 'a name' }).min(1, { error: 'a name' }).optional(), {
    description,
    json: { type: 'string' },
    cli: null,
    positional: true,
    optional: true,
  });
}

/** A positional argument that is one value of a fixed list (`dbee preview <project> create`). Required. */
export function positionalChoice<const V extends readonly string[]>(values: V, description: string) {
  return register(z.enum(values, { error: `one of ${values.join(', ')}` }), {
    description,
    json: { type: 'string', enum: values },
    cli: null,
    positional: true,
  });
}

/**
 * One-letter flags `nx run` keeps for itself (`-p` project, `-t` target, `-c` configuration): not offered to Nx as
 * aliases, since Nx would never pass them on.
 */
const NX_RUN_SHORT_FLAGS = new Set(['p', 't', 'c']);

function nxAlias(short: string | undefined): { alias?: string } {
  return short && !NX_RUN_SHORT_FLAGS.has(short) ? { alias: short } : {};
}

/** A string option (`--env <name>`). */
export function text(description: string, cli: FlagSettings & { value: string }) {
  return register(z.string({ error: 'a text' }).optional(), {
    description,
    json: { type: 'string', ...nxAlias(cli.short) },
    cli,
  });
}

/** A boolean flag that is off unless given (`--dry-run`). */
export function flag(description: string, cli: Omit<FlagSettings, 'value'> = {}) {
  return register(z.boolean({ error: 'true or false' }).default(false), {
    description,
    json: { type: 'boolean', default: false, ...nxAlias(cli.short) },
    cli,
  });
}

/**
 * A boolean that is on unless turned off with a `--no-...` flag (`--no-deps` sets `withDependencies: false`). Nx
 * parses `--no-deps` as `deps: false`, hence the alias. Left undefined when not given: the default may depend on the
 * context (dependencies are deployed outside Nx only).
 */
export function negatedFlag(description: string, cli: { flag: `no-${string}` }) {
  const alias = cli.flag.slice(3);
  return register(z.boolean({ error: 'true or false' }).optional(), {
    description,
    json: { type: 'boolean', aliases: [alias] },
    cli: { flag: cli.flag, negated: true },
  });
}

/** A number of seconds, at least 0 (`--wait-for-lock 30`). Strings of digits are accepted (the CLI passes text). */
export function seconds(description: string, cli: FlagSettings = {}) {
  return register(
    z
      .preprocess(
        numeric,
        z.number({ error: 'a number of seconds' }).min(0, { error: 'a number of seconds, at least 0' }),
      )
      .optional(),
    { description, json: { type: 'number', minimum: 0, ...nxAlias(cli.short) }, cli: { value: '<seconds>', ...cli } },
  );
}

/** A whole number, at least `minimum` (`--parallel 4`). Strings of digits are accepted (the CLI passes text). */
export function count(description: string, minimum: number, cli: FlagSettings = {}) {
  const error = `a whole number, at least ${minimum}`;
  return register(z.preprocess(numeric, z.number({ error }).int({ error }).min(minimum, { error })).optional(), {
    description,
    json: { type: 'integer', minimum, ...nxAlias(cli.short) },
    cli: { value: '<n>', ...cli },
  });
}

/** One value of a fixed list (`--if-exists raise`). */
export function choice<const V extends readonly string[]>(values: V, description: string, cli: FlagSettings = {}) {
  const schema = z.enum(values, { error: `one of ${values.join(', ')}` });
  return register(schema.optional(), {
    description,
    json: { type: 'string', enum: values, ...nxAlias(cli.short) },
    cli: { value: `<${values.join('|')}>`, ...cli },
  });
}

/**
 * A name the command looks up in a table when it runs (`--strategy`): `values` are the names `--help` and the
 * executors' schema.json list, the table's own; the command refuses a name its table does not hold, so that a table
 * given at run time (a test's, with a strategy of its own) can hold more.
 */
export function tableName<const V extends readonly string[]>(values: V, description: string, cli: FlagSettings = {}) {
  return register(z.string({ error: `one of ${values.join(', ')}` }).optional(), {
    description,
    json: { type: 'string', ...nxAlias(cli.short) },
    cli: { value: `<${values.join('|')}>`, ...cli },
  });
}

/** Like `choice`, with a default (`--format text`). */
export function choiceWithDefault<const V extends readonly string[]>(
  values: V,
  fallback: V[number],
  description: string,
  cli: FlagSettings = {},
) {
  const schema = z.enum(values, { error: `one of ${values.join(', ')}` });
  // `fallback` is one of `values` (its type says so); zod cannot see that through the generic enum type.
  return register(schema.default(fallback as never), {
    description,
    json: { type: 'string', enum: values, default: fallback, ...nxAlias(cli.short) },
    cli: { value: `<${values.join('|')}>`, ...cli },
  });
}

/**
 * A list of values of a fixed set: comma-separated on the command line (`--allow-hazards data-loss,long-lock`), an
 * array in Nx (which also splits `--allowHazards=a,b` at commas).
 */
export function list<const V extends readonly string[]>(values: V, description: string, cli: FlagSettings = {}) {
  const item = z.enum(values, { error: `one of ${values.join(', ')}` });
  return register(z.preprocess(commaList, z.array(item, { error: 'a comma-separated list' })).optional(), {
    description,
    json: { type: 'array', items: { type: 'string', enum: values }, ...nxAlias(cli.short) },
    cli: { value: '<kinds>', ...cli },
  });
}

/** A text the command line may repeat (`--objects a --objects b`), an array in Nx; one text is a list of one. */
export function texts(description: string, cli: FlagSettings & { value: string }) {
  return register(
    z.preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(z.string({ error: 'a text' }))).optional(),
    { description, json: { type: 'array', items: { type: 'string' }, ...nxAlias(cli.short) }, cli },
  );
}

/** A text that may also be given as a whole number (`--to 12`, `--to V3`); core receives it as text. */
export function textOrNumber(description: string, cli: FlagSettings & { value: string }) {
  return register(
    z
      .preprocess(
        (v) => (typeof v === 'number' && Number.isInteger(v) ? String(v) : v),
        z.string({ error: 'a text or a whole number' }),
      )
      .optional(),
    { description, json: { type: ['string', 'integer'], ...nxAlias(cli.short) }, cli },
  );
}

/** The clock of an operation: a test seam, neither a flag nor an Nx option. */
export function clock() {
  return register(z.date().optional(), {
    description: 'The clock, for maintenance windows and backup names (tests set it).',
    json: null,
    cli: null,
  });
}

function numeric(v: unknown): unknown {
  return typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
}

function commaList(v: unknown): unknown {
  const split = (s: string) =>
    s
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean);
  if (typeof v === 'string') return split(v);
  if (Array.isArray(v)) return v.flatMap((item) => (typeof item === 'string' ? split(item) : [item]));
  return v;
}

/** `dryRun` → `dry-run`. */
export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}
