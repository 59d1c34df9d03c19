import { COMMAND_DEFINITIONS, COMMANDS, optionEntries } from '@dbee/core/options';
import { describe, expect, it } from 'vitest';
import { COMMAND_NAMES, COMMAND_TABLE } from './command-table';
import { commandHelp, parseCommandLine, usage } from './options';

const options = (command: Parameters<typeof parseCommandLine>[0], args: string[]) => {
  const line = parseCommandLine(command, args);
  if (line.help) throw new Error('unexpected --help');
  return line.options;
};

describe('dbee command lines, from the option schemas', () => {
  it('maps kebab-case flags, short flags and --no-... flags to camelCase options; values stay as typed', () => {
    expect(
      options('deploy', [
        'sales',
        '-e',
        'test',
        '--dry-run',
        '-y',
        '--no-deps',
        '--wait-for-lock',
        '30',
        '--if-exists=rename',
      ]),
    ).toEqual({
      project: 'sales',
      env: 'test',
      dryRun: true,
      assumeYes: true,
      withDependencies: false,
      waitForLock: '30',
      ifExists: 'rename',
    });
    expect(options('diff', ['sales', '--no-cache', '--format', 'json'])).toEqual({
      project: 'sales',
      cache: false,
      format: 'json',
    });
  });

  it('takes a list as comma-separated values or a repeated flag', () => {
    expect(
      options('deploy', ['sales', '--allow-hazards', 'data-loss,long-lock', '--allow-hazards', 'index-build']),
    ).toEqual({
      project: 'sales',
      allowHazards: ['data-loss,long-lock', 'index-build'],
    });
  });

  it('takes the second positional argument of disable and enable as `object`', () => {
    expect(options('disable', ['sales', 'sales.order_total', '--rename'])).toEqual({
      project: 'sales',
      object: 'sales.order_total',
      rename: true,
    });
    expect(() => parseCommandLine('enable', ['sales'])).toThrow('missing <object>');
    expect(() => parseCommandLine('status', ['sales', 'extra'])).toThrow('too many arguments: extra');
    expect(() => parseCommandLine('status', [])).toThrow('missing <project>');
  });

  it('dbee config may leave out its project (config --list); its help shows it as optional', () => {
    expect(options('config', ['--list'])).toEqual({ list: true });
    expect(options('config', ['sales', '--test-connection'])).toEqual({ project: 'sales', testConnection: true });
    expect(commandHelp('config')).toMatch(/^dbee config \[<project>\] \[options\]/);
    expect(commandHelp('status')).toMatch(/^dbee status <project> \[options\]/);
  });

  it('refuses a flag the command does not have, and one without its value', () => {
    expect(() => parseCommandLine('deploy', ['sales', '--dryrun'])).toThrow(
      'unknown option --dryrun for dbee deploy: did you mean --dry-run?',
    );
    expect(() => parseCommandLine('deploy', ['sales', '--asume-yes'])).toThrow('did you mean --assume-yes?');
    expect(() => parseCommandLine('deploy', ['sales', '--Ticket=X'])).toThrow('did you mean --ticket?');
    expect(() => parseCommandLine('status', ['sales', '--rename'])).toThrow(
      /^unknown option --rename for dbee status$/,
    );
    expect(() => parseCommandLine('deploy', ['sales', '--env'])).toThrow("Option '-e, --env <value>' argument missing");
  });

  it('reads --help and --cwd, which every command has', () => {
    expect(parseCommandLine('rollback', ['--help'])).toEqual({ help: true });
    expect(parseCommandLine('rollback', ['sales', '--cwd', '/tmp/w'])).toMatchObject({ help: false, cwd: '/tmp/w' });
  });

  it('prints every flag with its description in --help, and every command in dbee --help', () => {
    const help = commandHelp('deploy');
    expect(help).toMatch(/^dbee deploy <project> \[options\]\n/);
    for (const flag of [
      '-e, --env <name>',
      '--dry-run',
      '-y, --assume-yes',
      '--wait-for-lock <seconds>',
      '--new-queries <source>',
      '--no-deps',
      '-p, --package <folder>',
      '--if-exists <raise|rename|drop|skip|ignore>',
      '--allow-hazards <kinds>',
      '--continue-on-error',
      '--countdown-from <seconds>',
      '--report <file>',
      '--cwd <dir>',
    ]) {
      expect(help).toContain(flag);
    }
    expect(help).not.toContain('--now');
    expect(commandHelp('enable')).toMatch(/^dbee enable <project> <object> \[options\]/);
    for (const command of ['build', 'diff', 'deploy', 'smoke-test', 'rollback', 'plan', 'status', 'disable', 'enable'])
      expect(usage()).toContain(`  ${command} `);
  });

  it("reads the option schemas' generated table, which is theirs (else: npm run generate:executor-schemas)", () => {
    expect(COMMAND_NAMES).toEqual(COMMANDS);
    for (const command of COMMANDS)
      expect(COMMAND_TABLE[command], command).toEqual({
        summary: COMMAND_DEFINITIONS[command].summary,
        options: optionEntries(COMMAND_DEFINITIONS[command]),
      });
  });
});
