import { optionEntries } from './command';
import { COMMAND_DEFINITIONS, type CommandName } from './commands';

/**
 * The executors' `args`: the command's flags as one string, as `nx:run-commands` takes them
 * (plugins/nx/src/executors/run-command-executor.ts parses it as the command line does).
 */
export const ARGS_DESCRIPTION =
  "The command's flags as one string, as nx:run-commands takes them (--args=\"--env=test --dry-run\"), read as dbee's command line reads them, over the target's options.";

/**
 * The schema.json of a command's Nx executor, generated from its option schema (tools/generate-executor-schemas.ts
 * writes it; a test fails when a committed file differs). Every option Nx can see, with its description, type,
 * enum, minimum, default and aliases.
 */
export function executorSchema(command: CommandName): Record<string, unknown> {
  const definition = COMMAND_DEFINITIONS[command];
  const entries = optionEntries(definition).filter((e) => e.json !== null);
  return {
    $schema: 'https://json-schema.org/schema',
    version: 2,
    title: `dbee ${command}`,
    description: definition.description,
    type: 'object',
    properties: Object.fromEntries([
      ...entries.map((e) => {
        const { type, enum: values, items, minimum, default: fallback, alias, aliases } = e.json!;
        const property: Record<string, unknown> = { type, description: e.description };
        if (values) property.enum = values;
        if (items) property.items = items;
        if (minimum !== undefined) property.minimum = minimum;
        if (fallback !== undefined) property.default = fallback;
        if (alias) property.alias = alias;
        // `--no-cache` reaches Nx as `cache: false`: an alias only when the flag's name is not the option's.
        const others = aliases?.filter((a) => a !== e.name) ?? [];
        if (others.length) property.aliases = others;
        return [e.name, property];
      }),
      ['args', { type: 'string', description: ARGS_DESCRIPTION }],
    ]),
    required: entries.filter((e) => e.required).map((e) => e.name),
    additionalProperties: false,
  };
}

/** schema.json text as committed: two-space JSON and a final newline. */
export function executorSchemaText(command: CommandName): string {
  return JSON.stringify(executorSchema(command), null, 2) + '\n';
}
