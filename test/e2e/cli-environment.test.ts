import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { scratchDatabase } from '../support/pg';
import { run } from '../support/run';
import { tempWorkspace } from '../support/workspace';

const BIN = join(__dirname, '..', '..', 'packages', 'cli', 'bin', 'dbee.js');
let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

const SALES = {
  'sales/db.yaml': 'version: 1\nname: sales\nengine: postgres\nschemas: [sales]\n',
  'sales/t.sql': 'CREATE SCHEMA sales;\nCREATE TABLE sales.t (id int);\n',
};

/** Connection settings of an environment on the server (a scratch database) or on PGlite (a folder of the workspace). */
type Kind = 'server' | 'pglite';
const connection = (kind: Kind, name: string) =>
  kind === 'server' ? `url: \${URL_${name.toUpperCase()}}` : `embedded: .dbee/${name}`;

/** A workspace whose default environment `local` and second environment `test` are on the given kinds of database. */
async function workspace(local: Kind, test: Kind) {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, kind] of [
    ['local', local],
    ['test', test],
  ] as const) {
    if (kind !== 'server') continue;
    const db = await scratchDatabase();
    cleanup.push(() => db.drop());
    env[`URL_${name.toUpperCase()}`] = db.url;
  }
  const yaml = [
    'version: 1',
    'defaultEnvironment: local',
    'environments:',
    ...['local', 'test'].flatMap((name) => [
      `  ${name}:`,
      '    engine: postgres',
      '    connection:',
      `      ${connection(name === 'local' ? local : test, name)}`,
    ]),
    '',
  ].join('\n');
  const w = tempWorkspace({ 'dbee.yaml': yaml, ...SALES });
  cleanup.push(w.remove);
  /** Run the real `dbee` binary in the workspace, with DBEE_ENV as given (unset when undefined). */
  const dbee = (args: string[], dbeeEnv?: string) => {
    const { DBEE_ENV: _unset, ...base } = process.env;
    const r = spawnSync(process.execPath, [BIN, ...args, '--cwd', w.root], {
      encoding: 'utf8',
      env: { ...base, ...env, ...(dbeeEnv === undefined ? {} : { DBEE_ENV: dbeeEnv }) },
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  /** What `dbee status sales` reports with DBEE_ENV as given: the environment and its last deployment's status. */
  const status = (dbeeEnv: string | undefined, args: string[] = []) => {
    const r = dbee(['status', 'sales', ...args, '--format', 'json'], dbeeEnv);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as { environment: string; lastDeployment: { status: string } | null };
    return { environment: json.environment, last: json.lastDeployment?.status ?? null };
  };
  /**
   * The same report read in-process (the CLI's command runner, `run`), DBEE_ENV unset: for the confirmations of a case
   * that is about another command. A dbee process reading an embedded environment costs seconds of CPU more.
   */
  const read = async (args: { env?: string } = {}) => {
    const r = await run(
      w.root,
      'status',
      { project: 'sales', ...args, format: 'json' },
      { ...env, DBEE_ENV: undefined },
    );
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as { environment: string; lastDeployment: { status: string } | null };
    return { environment: json.environment, last: json.lastDeployment?.status ?? null };
  };
  return { dbee, status, read };
}

describe('DBEE_ENV picks the environment of a dbee command when --env is not given', () => {
  it.each([
    ['on the server, the default on PGlite', 'pglite', 'server'],
    ['on PGlite, the default on the server', 'server', 'pglite'],
  ] as const)('DBEE_ENV=test dbee deploy sales deploys to test (%s)', async (_, local, test) => {
    const w = await workspace(local, test);

    const r = w.dbee(['deploy', 'sales'], 'test');

    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('dbee deploy sales -> test (');
    expect(await w.read({ env: 'test' })).toEqual({ environment: 'test', last: 'succeeded' });
    expect(await w.read()).toEqual({ environment: 'local', last: null });
  });

  it('--env wins over DBEE_ENV, an empty DBEE_ENV means the default environment, and status follows DBEE_ENV too', async () => {
    // Both on the server: what is tested is which environment is chosen (the kinds are the cases above), and a dbee
    // process that opens an embedded database costs seconds more.
    const w = await workspace('server', 'server');

    const deployed = w.dbee(['deploy', 'sales', '--env', 'local'], 'test');
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stdout).toContain('dbee deploy sales -> local (');
    expect(w.status('')).toEqual({ environment: 'local', last: 'succeeded' });
    expect(w.status('test')).toEqual({ environment: 'test', last: null });
  });

  it('a DBEE_ENV that names no environment is refused with exit code 1, saying where the name came from', async () => {
    const w = await workspace('pglite', 'pglite');

    const r = w.dbee(['deploy', 'sales'], 'staging');

    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'error: dbee.yaml:3:1: DBEE_ENV="staging" names an unknown environment\n' +
        '  hint: set DBEE_ENV to one of: local, test (declared under "environments" in dbee.yaml), or unset it to use defaultEnvironment (local)\n',
    );
  });
});
