import { z } from 'zod';
import { kebab, optionRegistry, type CliFlag, type JsonProperty, type OptionInfo } from './option';

/** The options of one command: a strict zod object whose every field was made by a builder of option.ts. */
export interface CommandDefinition<N extends string = string, S extends z.ZodRawShape = z.ZodRawShape> {
  /** Command name, also the Nx target and executor name (`smoke-test`). */
  name: N;
  /** One line for `dbee --help` and the README. */
  summary: string;
  /** The executor's description in its schema.json (Nx Console shows it). */
  description: string;
  /** Validates and types the options; unknown options are refused. */
  schema: z.ZodObject<S, z.core.$strict>;
}

/** Declare a command's options. The order of `options` is the order of `--help`, schema.json and the README. */
export function defineCommand<const N extends string, S extends z.ZodRawShape>(
  name: N,
  definition: { summary: string; description: string; options: S },
): CommandDefinition<N, S> {
  return {
    name,
    summary: definition.summary,
    description: definition.description,
    schema: z.strictObject(definition.options),
  };
}

/** One option of a command with everything the CLI, Nx and the README read about it. */
export interface OptionEntry {
  /** camelCase name: the key core receives and the Nx option name. */
  name: string;
  description: string;
  /** Its schema.json property; `null` when Nx does not see it. */
  json: JsonProperty | null;
  /** Its command-line flag with the name resolved; `null` for positionals and test seams. */
  cli: (CliFlag & { flag: string }) | null;
  positional: boolean;
  /** Whether the option must be given (in an Nx target's options: schema.json `required`). */
  required: boolean;
  /** A positional the command line may leave out (see `optionalPositional`). */
  optional?: boolean;
}

/** The options of a command in declaration order. Throws when a field was not built by option.ts (a bug). */
export function optionEntries(command: CommandDefinition): OptionEntry[] {
  return Object.entries(command.schema.shape).map(([name, schema]) => {
    const info: OptionInfo | undefined = optionRegistry.get(schema as z.ZodType);
    if (!info) throw new Error(`option ${name} of ${command.name} was not built with the helpers of options/option.ts`);
    return {
      name,
      description: info.description,
      json: info.json,
      cli: info.cli ? { ...info.cli, flag: info.cli.flag ?? kebab(name) } : null,
      positional: info.positional ?? false,
      // An optional positional (`dbee config --list`) is still required of an Nx target, which always names it.
      required: info.positional ?? false,
      ...(info.optional ? { optional: true } : {}),
    };
  });
}
