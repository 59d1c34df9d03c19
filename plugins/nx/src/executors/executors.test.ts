import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import type { CommandInput } from '@dbee/core';
import { TestWorkspace } from '../testing/workspace';

// The executors' only collaborator: the command runner shared with the CLI.
const cli = vi.hoisted(() => ({
  runDbeeCommand: vi.fn(),
  fingerprint: undefined as undefined | (() => Promise<string>),
}));
vi.mock('@dbee/cli', () => cli);
// Where the executors take runDbeeCommand from (and validOptions, the real one).
vi.mock('@dbee/cli/run', async (real) => ({ ...(await real<object>()), runDbeeCommand: cli.runDbeeCommand }));

// Test files share their worker's modules (vitest.config.ts, isolate: false): an earlier file may have loaded the
// executors with the real @dbee/cli, and a later one must not get the mock. So the executors (and @dbee/core, whose
// DbeeError they recognise) are loaded afresh here, with the mock, and the registry is emptied again afterwards.
let core: typeof import('@dbee/core');
let deployExecutor: typeof import('./deploy/deploy.impl').default;
let diffExecutor: typeof import('./diff/diff.impl').default;
let diffBatch: typeof import('./diff/diff.batch').default;
let rollbackExecutor: typeof import('./rollback/rollback.impl').default;
let statusExecutor: typeof import('./status/status.impl').default;
let taskOrder: typeof import('./run-batch').taskOrder;
beforeAll(async () => {
  vi.resetModules();
  core = await import('@dbee/core');
  deployExecutor = (await import('./deploy/deploy.impl')).default;
  diffExecutor = (await import('./diff/diff.impl')).default;
  diffBatch = (await import('./diff/diff.batch')).default;
  rollbackExecutor = (await import('./rollback/rollback.impl')).default;
  statusExecutor = (await import('./status/status.impl')).default;
  taskOrder = (await import('./run-batch')).taskOrder;
});
afterAll(() => {
  vi.doUnmock('@dbee/cli');
  vi.doUnmock('@dbee/cli/run');
  vi.resetModules();
});

const pluginRoot = join(__dirname, '..', '..');

let workspace: TestWorkspace;
let stderr: string;
beforeEach(() => {
  workspace = new TestWorkspace({});
  stderr = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  cli.runDbeeCommand.mockReset().mockResolvedValue(0);
  cli.fingerprint = undefined;
  vi.stubEnv('DBEE_ENV', '');
  vi.stubEnv('NX_SKIP_NX_CACHE', '');
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  workspace.remove();
});

function context(projectName = 'db-sales'): ExecutorContext {
  return { root: workspace.root, cwd: workspace.root, isVerbose: false, projectName } as ExecutorContext;
}

describe('executors', () => {
  it('every command has an executor in executors.json that runs that command with the dbee project name and fromNx', async () => {
    const executors = JSON.parse(readFileSync(join(pluginRoot, 'executors.json'), 'utf8')).executors as Record<
      string,
      { implementation: string; schema: string }
    >;
    expect(Object.keys(executors).sort()).toEqual([...core.COMMANDS].sort());

    for (const command of core.COMMANDS) {
      expect(executors[command]!.implementation).toMatch(
        new RegExp(`/executors/${command}/${command}\\.impl(\\.js)?$`),
      );
      expect(executors[command]!.schema).toMatch(new RegExp(`/executors/${command}/schema\\.json$`));
      const impl = (await import(`./${command}/${command}.impl.ts`)).default as (
        o: object,
        c: ExecutorContext,
      ) => Promise<{ success: boolean }>;
      // The options the target sets: the CLI's positional arguments.
      const options = Object.fromEntries(
        core
          .optionEntries(core.COMMAND_DEFINITIONS[command])
          .filter((e) => e.positional)
          .map((e) => [e.name, e.name === 'project' ? 'sales' : (e.json?.enum?.[0] ?? 'sales.f')]),
      );
      cli.runDbeeCommand.mockClear();
      expect(await impl(options, context()), command).toEqual({ success: true });
      expect(cli.runDbeeCommand).toHaveBeenCalledWith(command, options, {
        workspaceRoot: workspace.root,
        fromNx: true,
        stdout: process.stdout,
        stderr: process.stderr,
      });
    }
  });

  it('succeeds exactly when the command exits with 0', async () => {
    for (const [code, success] of [
      [0, true],
      [1, false],
      [2, false],
      [3, false],
    ] as const) {
      cli.runDbeeCommand.mockResolvedValueOnce(code);
      expect(await deployExecutor({ project: 'sales', env: 'test' }, context())).toEqual({ success });
    }
  });

  it('passes every option through under its camelCase name', async () => {
    const options: CommandInput<'deploy'> = {
      project: 'sales',
      env: 'test',
      dryRun: true,
      ifExists: 'rename',
      allowHazards: ['data-loss'],
      assumeYes: true,
      countdownFrom: 0,
      waitForLock: 30,
      report: 'r.json',
      continueOnError: false,
      package: 'pkg',
    };
    await deployExecutor(options, context());

    expect(cli.runDbeeCommand.mock.calls[0]![1]).toEqual(options);
  });

  it('leaves the environment to dbee when --env is not given (dbee reads DBEE_ENV, as for the CLI), and passes --env as given', async () => {
    vi.stubEnv('DBEE_ENV', 'test');
    await deployExecutor({ project: 'sales' }, context());
    await deployExecutor({ project: 'sales', env: 'prod', assumeYes: true }, context());

    expect(cli.runDbeeCommand.mock.calls.map((c) => c[1].env)).toEqual([undefined, 'prod']);
  });

  it('reads args as the command line reads its flags (the habit of nx:run-commands), over the defaults Nx fills in', async () => {
    // As Nx calls the executor: the schema's defaults filled in (dryRun: false), the target's options (env: test).
    await deployExecutor(
      { project: 'sales', dryRun: false, args: '--env=local --dry-run --allow-hazards data-loss' } as never,
      context(),
    );
    await deployExecutor({ project: 'sales', env: 'test', args: '--env local --ticket "CHG 42"' } as never, context());

    expect(cli.runDbeeCommand.mock.calls.map((c) => c[1])).toEqual([
      { project: 'sales', env: 'local', dryRun: true, allowHazards: ['data-loss'] },
      { project: 'sales', env: 'local', ticket: 'CHG 42' },
    ]);
  });

  it('refuses args naming a flag the command does not have, as the command line does, without a stack', async () => {
    const result = await deployExecutor({ project: 'sales', args: '--env=local --dryrun' } as never, context());

    expect(result).toEqual({ success: false });
    expect(cli.runDbeeCommand).not.toHaveBeenCalled();
    expect(stderr).toBe(
      '@dbee/nx:deploy (db-sales): invalid args\nunknown option --dryrun for dbee deploy: did you mean --dry-run?\n  hint: see dbee deploy --help\n',
    );
  });

  it('refuses invalid options before running anything, listing every problem', async () => {
    const result = await deployExecutor(
      {
        project: 'sales',
        ifExists: 'nuke',
        countdownFrom: -1,
        allowHazards: ['data-loss', 'fun'],
        colour: 'red',
      } as never,
      context(),
    );

    expect(result).toEqual({ success: false });
    expect(cli.runDbeeCommand).not.toHaveBeenCalled();
    expect(stderr).toBe(
      [
        '@dbee/nx:deploy (db-sales): invalid options',
        '  - ifExists: expected one of raise, rename, drop, skip, ignore, got "nuke"',
        '  - allowHazards[1]: expected one of data-loss, table-rewrite, long-lock, backward-incompatible, index-build, rls-bypass, got "fun"',
        '  - countdownFrom: expected a number of seconds, at least 0, got -1',
        '  - colour: unknown option (known: project, env, dryRun, assumeYes, ticket, verify, testRollback, queries, newQueries, dbt, waitForLock, withDependencies, package, ifExists, allowHazards, prune, safe, continueOnError, countdownFrom, report, canary, concurrency, maxFailures, strategy, release, labels, objects, objectsFrom, withNeeded, shard)',
        '',
      ].join('\n'),
    );
  });

  it('prints a user error as dbee formats it, without a stack, and fails', async () => {
    cli.runDbeeCommand.mockRejectedValueOnce(
      new core.DbeeError('unknown environment "staging"', {
        code: 'ENV_UNKNOWN',
        location: { file: 'dbee.yaml', line: 3 },
        hint: 'use one of: local, test',
      }),
    );

    expect(await statusExecutor({ project: 'sales', env: 'staging' }, context())).toEqual({ success: false });
    expect(stderr).toBe('dbee.yaml:3: unknown environment "staging"\n  hint: use one of: local, test\n');
  });

  it('prints an unexpected exception with its stack and fails instead of throwing', async () => {
    cli.runDbeeCommand.mockRejectedValueOnce(new TypeError('cannot read properties of undefined'));

    expect(await rollbackExecutor({ project: 'sales' }, context())).toEqual({ success: false });
    expect(stderr).toMatch(/^TypeError: cannot read properties of undefined\n\s+at /);
  });
});

describe('schemas', () => {
  /** The options each executor documents: the contract between Nx targets and dbee commands. */
  it('document every option with a description, and nothing else', () => {
    const properties = Object.fromEntries(
      core.COMMANDS.map((command) => {
        const schema = JSON.parse(readFileSync(join(__dirname, command, 'schema.json'), 'utf8'));
        expect(schema).toMatchObject({ version: 2, type: 'object', additionalProperties: false });
        expect(schema.required[0]).toBe('project');
        for (const property of Object.values(schema.properties) as Array<{ description?: string }>)
          expect(property.description).toMatch(/\.$/);
        // Besides the command's options, its flags as one string (nx:run-commands' habit), read by the executor.
        expect(schema.properties.args).toMatchObject({ type: 'string' });
        return [command, Object.keys(schema.properties).filter((k) => k !== 'args')];
      }),
    );

    // The contract of the commands Nx infers targets for (other commands may be added beside them).
    expect(properties).toMatchObject({
      build: ['project', 'env', 'outputPath'],
      diff: [
        ...['project', 'env', 'labels', 'shard', 'concurrency'],
        ...['againstEnv', 'base', 'head', 'format', 'failOnDiff', 'output', 'cache'],
      ],
      deploy: [
        ...[
          'project',
          'env',
          'dryRun',
          'assumeYes',
          'ticket',
          'verify',
          'testRollback',
          'queries',
          'newQueries',
          'dbt',
          'waitForLock',
          'withDependencies',
          'package',
        ],
        ...[
          'ifExists',
          'allowHazards',
          'prune',
          'safe',
          'continueOnError',
          'countdownFrom',
          'report',
          'canary',
          'concurrency',
          'maxFailures',
          'strategy',
          'release',
          'labels',
          'objects',
          'objectsFrom',
          'withNeeded',
          'shard',
        ],
      ],
      'smoke-test': ['project', 'env', 'format', 'labels', 'shard', 'concurrency', 'objects', 'objectsFrom'],
      rollback: [
        'project',
        'env',
        'labels',
        'shard',
        'concurrency',
        'maxFailures',
        'dryRun',
        'verify',
        'assumeYes',
        'ticket',
        'to',
        'toRef',
        'package',
        'objects',
        'objectsFrom',
        'withDependents',
        'force',
        'emergency',
        'report',
      ],
      plan: [
        'project',
        'env',
        'out',
        'format',
        'withDependencies',
        'safe',
        'testRollback',
        'diff',
        'package',
        'ticket',
        'allowHazards',
        'strategy',
        'againstEnv',
        'base',
        'head',
        'objects',
        'objectsFrom',
        'withNeeded',
      ],
      status: ['project', 'env', 'format', 'objects', 'objectsFrom', 'labels', 'shard'],
      disable: ['project', 'object', 'env', 'dryRun', 'assumeYes', 'ticket', 'rename'],
      enable: ['project', 'object', 'env', 'dryRun', 'assumeYes', 'ticket'],
    });
  });
});

describe('diff and the Nx cache', () => {
  it('runs any comparison while the fingerprint is not wired, since such diffs are never cached', async () => {
    expect(await diffExecutor({ project: 'sales', env: 'test', againstEnv: 'prod' }, context())).toEqual({
      success: true,
    });
  });

  it('refuses --env other than the fingerprinted environment once the fingerprint is wired', async () => {
    cli.fingerprint = async () => 'x';

    expect(await diffExecutor({ project: 'sales', env: 'test' }, context())).toEqual({ success: false });
    expect(cli.runDbeeCommand).not.toHaveBeenCalled();
    expect(stderr).toBe(
      'diff --env=test: a cached diff is keyed on the live fingerprint of "local" (DBEE_ENV, else dbee.yaml\'s defaultEnvironment), so it could be replayed after test changed\n' +
        '  hint: run DBEE_ENV=test npx nx run db-sales:diff, or add --skip-nx-cache, or run npx dbee diff sales --env=test\n',
    );
  });

  it('accepts the environment the fingerprint was taken from, and anything with --skip-nx-cache', async () => {
    cli.fingerprint = async () => 'x';
    expect(await diffExecutor({ project: 'sales', env: 'local' }, context())).toEqual({ success: true });
    vi.stubEnv('DBEE_ENV', 'test');
    expect(await diffExecutor({ project: 'sales', env: 'test' }, context())).toEqual({ success: true });
    expect(await diffExecutor({ project: 'sales', againstEnv: 'prod' }, context())).toEqual({ success: false });
    vi.stubEnv('NX_SKIP_NX_CACHE', 'true');
    expect(await diffExecutor({ project: 'sales', againstEnv: 'prod', base: 'main' }, context())).toEqual({
      success: true,
    });

    expect(cli.runDbeeCommand.mock.calls.map((c) => c[1])).toEqual([
      { project: 'sales', env: 'local' },
      { project: 'sales', env: 'test' },
      { project: 'sales', againstEnv: 'prod', base: 'main' },
    ]);
  });

  it('refuses git refs, which move while their names stay the same', async () => {
    cli.fingerprint = async () => 'x';

    expect(await diffExecutor({ project: 'sales', base: 'main' }, context())).toEqual({ success: false });
    expect(stderr).toContain(
      'diff --base/--head: a cached diff is keyed on the working tree, not on git refs, which move',
    );
  });
});

describe('diff batch', () => {
  /** A task graph as Nx 24 hands it to a batch: edges are `{ id }` objects and may point outside the batch. */
  function graph(dependencies: Record<string, string[]>): TaskGraph {
    const ids = Object.keys(dependencies);
    return {
      roots: ids.filter((id) => dependencies[id]!.length === 0),
      tasks: Object.fromEntries(
        ids.map((id) => [
          id,
          { id, target: { project: id.split(':')[0]!, target: 'diff' }, overrides: {}, outputs: [] },
        ]),
      ),
      dependencies: Object.fromEntries(ids.map((id) => [id, dependencies[id]!.map((dep) => ({ id: dep }))])),
      continuousDependencies: Object.fromEntries(ids.map((id) => [id, []])),
    } as unknown as TaskGraph;
  }

  async function runBatch(taskGraph: TaskGraph, inputs: Record<string, { project: string }>) {
    const results: Record<string, { success: boolean; terminalOutput: string; status?: string }> = {};
    const out = await diffBatch(taskGraph, inputs, { project: '' }, context());
    for await (const { task, result } of out as AsyncIterable<{ task: string; result: (typeof results)[string] }>)
      results[task] = result;
    return results;
  }

  it('runs every task in one process, dependencies first, each with its own output', async () => {
    const calls: string[] = [];
    cli.runDbeeCommand.mockImplementation(
      async (
        _command: string,
        options: { project: string },
        ctx: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
      ) => {
        calls.push(options.project);
        ctx.stdout.write(`no changes in ${options.project}\n`);
        if (options.project === 'hr') ctx.stderr.write('hr: 1 hazard\n');
        return options.project === 'hr' ? 1 : 0;
      },
    );
    // db-core:build is outside the batch (another executor); Nx ran it already.
    const taskGraph = graph({
      'db-sales:diff': ['db-core:diff', 'db-sales:build'],
      'db-hr:diff': [],
      'db-core:diff': [],
    });

    const results = await runBatch(taskGraph, {
      'db-sales:diff': { project: 'sales' },
      'db-hr:diff': { project: 'hr' },
      'db-core:diff': { project: 'core' },
    });

    expect(calls).toEqual(['core', 'hr', 'sales']);
    expect(results).toEqual({
      'db-core:diff': expect.objectContaining({ success: true, terminalOutput: 'no changes in core\n' }),
      'db-hr:diff': expect.objectContaining({ success: false, terminalOutput: 'no changes in hr\nhr: 1 hazard\n' }),
      'db-sales:diff': expect.objectContaining({ success: true, terminalOutput: 'no changes in sales\n' }),
    });
  });

  it('skips a task whose dependency failed in the same batch', async () => {
    cli.runDbeeCommand.mockImplementation(async (_c: string, options: { project: string }) =>
      options.project === 'core' ? 2 : 0,
    );

    const results = await runBatch(graph({ 'db-sales:diff': ['db-core:diff'], 'db-core:diff': [] }), {
      'db-sales:diff': { project: 'sales' },
      'db-core:diff': { project: 'core' },
    });

    expect(cli.runDbeeCommand).toHaveBeenCalledTimes(1);
    expect(results['db-sales:diff']).toEqual(
      expect.objectContaining({ success: false, status: 'skipped', terminalOutput: 'not run: db-core:diff failed\n' }),
    );
  });

  it('orders a chain whatever order the tasks arrive in', () => {
    const taskGraph = graph({ 'a:diff': ['b:diff'], 'b:diff': ['c:diff'], 'c:diff': [] });

    expect(taskOrder(taskGraph, ['a:diff', 'b:diff', 'c:diff'])).toEqual(['c:diff', 'b:diff', 'a:diff']);
  });
});
