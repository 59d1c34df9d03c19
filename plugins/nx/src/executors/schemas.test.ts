import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkCommandOptions,
  COMMANDS,
  optionEntries,
  COMMAND_DEFINITIONS,
  type CommandName,
  type OptionEntry,
} from '@dbee/core';
import { flagsOf, parseCommandLine } from '@dbee/cli';
import { generatedFiles } from '../../../../tools/generate-executor-schemas';

// Nx's own argument handling for `nx run <project>:<target> <overrides>`: its top-level parser (which keeps
// `--project`/`-p`, `-c`, `-t`, `--verbose`, `--graph` ... for itself and passes everything else on), yargs-parser
// as in createOverrides, then combineOptionsForExecutor (camelCase, coercion by schema type, aliases, defaults,
// schema validation). Deep imports of Nx internals, in a test only: they decide whether `nx run` accepts an option.
const yargs = require(require.resolve('yargs', { paths: [require.resolve('nx')] })) as () => {
  parseSync(args: string[]): Record<string, unknown>;
};
const { withRunOneOptions, withOverrides } = require('nx/src/command-line/yargs-utils/shared-options') as {
  withRunOneOptions: (y: ReturnType<typeof yargs>) => ReturnType<typeof yargs>;
  withOverrides: (args: Record<string, unknown>, level: number) => { __overrides_unparsed__: string[] };
};
const { createOverrides } = require('nx/src/utils/command-line-utils') as {
  createOverrides: (args: string[]) => Record<string, unknown>;
};
const { combineOptionsForExecutor } = require('nx/src/utils/params') as {
  combineOptionsForExecutor: (
    cli: Record<string, unknown>,
    config: string,
    target: { options: object },
    schema: object,
    project: string,
    cwd: string,
  ) => Record<string, unknown>;
};

const root = join(__dirname, '..', '..', '..', '..');

/** What `nx run db-x:<command> ...args` passes to the executor, or Nx's refusal as an Error. */
function nxOptions(
  command: CommandName,
  args: string[],
  targetOptions: Record<string, unknown>,
): Record<string, unknown> {
  const schema = JSON.parse(readFileSync(join(__dirname, command, 'schema.json'), 'utf8'));
  const unparsed = withOverrides(
    withRunOneOptions(yargs()).parseSync([`db-x:${command}`, ...args]),
    1,
  ).__overrides_unparsed__;
  // Nothing was taken by `nx run` itself.
  expect(unparsed, `nx run db-x:${command} ${args.join(' ')}`).toEqual(args);
  const { __overrides_unparsed__: _, ...overrides } = createOverrides(unparsed);
  return combineOptionsForExecutor(overrides, '', { options: targetOptions }, schema, 'db-x', '');
}

/** What the inferred target (or a project.json target) sets: the positionals. */
function targetOptions(command: CommandName): Record<string, unknown> {
  return Object.fromEntries(
    optionEntries(COMMAND_DEFINITIONS[command])
      .filter((e) => e.positional)
      // A positional of a fixed list (`dbee preview <project> <action>`) takes its first value; any other, an object.
      .map((e) => [e.name, e.name === 'project' ? 'x' : (e.json?.enum?.[0] ?? 'x.f')]),
  );
}

/** Ways to write a flag on a command line, each valid for the option. */
function samples(e: OptionEntry & { cli: NonNullable<OptionEntry['cli']> }): string[][] {
  const json = e.json!;
  const long = `--${e.cli.flag}`;
  if (!e.cli.value) return [[long]];
  const values: string[] =
    json.type === 'array'
      ? json.items!.enum
        ? [json.items!.enum.slice(0, 2).join(','), json.items!.enum[0]!]
        : ['function:a.*'] // a list of texts, repeatable (--objects)
      : json.enum
        ? [...json.enum]
        : json.type === 'number' || json.type === 'integer'
          ? ['30', String(json.minimum ?? 0)]
          : Array.isArray(json.type)
            ? ['12', 'V3']
            : ['some-value'];
  const forms = values.flatMap((v) => [[long, v], [`${long}=${v}`]]);
  if (e.cli.short && json.alias) forms.push([`-${e.cli.short}`, values[0]!]);
  return forms;
}

describe('the executors schema.json, executors.json and the README option reference', () => {
  it('are what tools/generate-executor-schemas.ts generates from the option schemas (npm run generate:executor-schemas)', () => {
    for (const file of generatedFiles(root)) {
      expect({ path: file.path, text: readFileSync(join(root, file.path), 'utf8') }).toEqual({
        path: file.path,
        text: file.text,
      });
    }
  });
});

describe.each(COMMANDS)('%s: the CLI and Nx take the same options', (command) => {
  const flags = flagsOf(command);
  const schema = JSON.parse(readFileSync(join(__dirname, command, 'schema.json'), 'utf8')) as {
    properties: Record<string, unknown>;
  };

  it('every CLI flag is an Nx option, and every Nx option a CLI flag or argument', () => {
    const cliNames = optionEntries(COMMAND_DEFINITIONS[command])
      .filter((e) => e.cli || e.positional)
      .map((e) => e.name);
    // And `args`: the flags as one string, which the executor reads with the command line's parser.
    expect(Object.keys(schema.properties)).toEqual([...cliNames, 'args']);
  });

  it.each(flags.map((f) => [f.cli.flag, f] as const))(
    '--%s means the same to `dbee` and to `nx run`',
    (_flag, entry) => {
      for (const args of samples(entry)) {
        const positionals = Object.values(targetOptions(command)) as string[];
        const line = parseCommandLine(command, [...positionals, ...args]);
        if (line.help) throw new Error('unexpected --help');
        const fromCli = checkCommandOptions(command, line.options);
        const fromNx = checkCommandOptions(command, nxOptions(command, args, targetOptions(command)), 'name');

        expect(fromCli, `dbee ${command} ${args.join(' ')}`).toMatchObject({ ok: true });
        expect(fromNx, `nx run db-x:${command} ${args.join(' ')}`).toEqual(fromCli);
        // The flag is not a no-op: it sets its option.
        expect(line.options[entry.name], `dbee ${command} ${args.join(' ')}`).not.toBeUndefined();
      }
    },
  );

  it('a wrong value is refused by both, naming the option', () => {
    const valued = flags.filter(
      (f) =>
        f.json?.enum ||
        f.json?.type === 'number' ||
        f.json?.type === 'integer' ||
        (f.json?.type === 'array' && f.json.items?.enum),
    );
    for (const entry of valued) {
      const args = [`--${entry.cli.flag}`, 'nonsense'];
      const line = parseCommandLine(command, [...(Object.values(targetOptions(command)) as string[]), ...args]);
      const cli = checkCommandOptions(command, !line.help && line.options);
      expect(cli.ok ? [] : cli.problems).toEqual([
        expect.stringMatching(new RegExp(`^--${entry.cli.flag}: expected .*, got "nonsense"$`)),
      ]);
      expect(() => nxOptions(command, args, targetOptions(command))).toThrow(entry.name);
    }
  });
});

it('`nx run` keeps -p for itself (its --project): the --package flag has no Nx alias, and the README says so', () => {
  expect(
    withOverrides(withRunOneOptions(yargs()).parseSync(['db-x:deploy', '-p', 'pkg']), 1).__overrides_unparsed__,
  ).toEqual([]);
  expect(
    JSON.parse(readFileSync(join(__dirname, 'deploy', 'schema.json'), 'utf8')).properties.package.alias,
  ).toBeUndefined();
});
