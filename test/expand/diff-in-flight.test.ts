import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { PgliteConnection, PgConnection } from '@dbee/postgres';
import type { Connection } from '@dbee/core';
import { tempWorkspace } from '../support/workspace';
import { run } from '../support/run';
import { scratchDatabase } from '../support/pg';
import { spawnDbee } from '../runner/helpers';
import { inSession } from './sessions';
import { RELEASE_V1, RELEASE_V2 } from './workspace';

/**
 * `dbee diff` while a release of the expand-contract strategy is in flight on `local` (issue #55): dbee's own objects
 * (the version schema, shadow columns, sync trigger, the checks that stand for NOT NULL) are not differences and no
 * plan drops them, against the sources and against `qa` (which never had the release) in both directions; one line
 * names the release and what it holds; a hand edit made meanwhile is still a difference. PGlite and the server.
 *
 * On the server the diffs and clones under test are processes of the real CLI; on PGlite the same commands run
 * in-process (`runDbeeCommand`, the same exit code and output), since what is tested is what the command reads and
 * prints, not how a process starts: a PGlite process costs several times a server one (it compiles and starts its
 * own PGlite), and the process path itself does not depend on the engine (suite-trim). The setup runs in-process.
 */
const yaml = (server: boolean) => `version: 1
defaultEnvironment: local
environments:
  local:
    engine: postgres
    connection: ${server ? '{ url: "${INFLIGHT_LOCAL_URL}" }' : '{ embedded: .dbee/local }'}
  qa:
    engine: postgres
    connection: ${server ? '{ url: "${INFLIGHT_QA_URL}" }' : '{ embedded: .dbee/qa }'}
`;
const v1 = RELEASE_V1;
/** Release 1: a rename, a new type, NOT NULL added, a column added and one dropped, a table created with a foreign key. */
const v2 = RELEASE_V2;
const LINE =
  'in flight on local, not compared as differences: release 1 expanded: version schema s_v1, 2 shadow columns, 1 trigger, 1 new column, 1 new table; dbee complete s --env local or dbee abort s --env local';

describe.each([['pglite'], ['postgres']])('diff while a release is in flight [%s]', (backend) => {
  const server = backend === 'postgres';
  const w = tempWorkspace({ 'dbee.yaml': yaml(server), ...v1 });
  let vars: NodeJS.ProcessEnv = {};
  const drops: (() => Promise<void>)[] = [];
  let open: () => Promise<Connection> = () => PgliteConnection.open(join(w.root, '.dbee', 'local'), 't');
  const dbee = (command: 'deploy', extra: Record<string, unknown> = {}) =>
    run(w.root, command, { project: 's', env: 'local', ...extra }, vars);
  /** The same diff in-process (formats and checks after the command under test: no process start to pay). */
  const diffHere = (options: Record<string, unknown>) =>
    run(w.root, 'diff', { project: 's', failOnDiff: true, ...options }, vars);
  /**
   * `dbee <command> s <args>`: a process of the real CLI on the server, in-process on PGlite (see above); the
   * arguments are `--env`, `--against-env`, `--from`, `--to` and flags.
   */
  const cli = async (command: 'diff' | 'clone', ...args: string[]) => {
    if (server) {
      const p = await spawnDbee(w.root, [command, 's', ...args], vars);
      const code = await p.exit;
      return { code, ...p.output() };
    }
    const options: Record<string, unknown> = { project: 's' };
    for (let i = 0; i < args.length; i++) {
      const name = args[i]!.slice(2).replace(/-(\w)/g, (_m, c: string) => c.toUpperCase());
      if (args[i + 1] !== undefined && !args[i + 1]!.startsWith('--')) options[name] = args[++i];
      else options[name] = true;
    }
    return run(w.root, command, options, vars);
  };
  /** `dbee diff s <args> --fail-on-diff`: exit code and output. */
  const diff = (...args: string[]) => cli('diff', ...args, '--fail-on-diff');

  beforeAll(async () => {
    if (server) {
      const [local, qa] = [await scratchDatabase('dbee_inflight'), await scratchDatabase('dbee_inflight')];
      vars = { INFLIGHT_LOCAL_URL: local.url, INFLIGHT_QA_URL: qa.url };
      drops.push(local.drop, qa.drop);
      open = () => PgConnection.open({ connectionString: local.url }, 'scratch');
    }
    expect((await dbee('deploy')).code).toBe(0);
    expect((await dbee('deploy', { env: 'qa' })).code).toBe(0);
    for (const [f, text] of Object.entries(v2)) w.write(f, text);
    const expanded = await dbee('deploy', { strategy: 'expand-contract' });
    expect(expanded.stderr).not.toMatch(/error/);
    expect(expanded.code).toBe(0);
  });
  afterAll(async () => {
    for (const d of drops) await d();
    w.remove();
  });

  it('lists none of the release: against the sources, and against an environment without it both ways', async () => {
    // The sources are the release: what complete makes is not a difference either.
    const sources = await diff('--env', 'local');
    expect(sources.stderr).toBe('');
    expect(sources.stdout).toContain(LINE);
    expect(sources.stdout).not.toContain('_dbee');
    expect(sources.stdout).toContain('no differences');
    expect(sources.code).toBe(0);
    // qa never had the release: local's old shape is qa's.
    for (const sides of [
      ['--env', 'local', '--against-env', 'qa'],
      ['--env', 'qa', '--against-env', 'local'],
    ]) {
      const envs = await diff(...sides);
      expect(envs.stderr).toBe('');
      expect(envs.stdout.split('\n').filter((l) => l.includes('in flight'))).toEqual([`  ${LINE}`]);
      expect(envs.stdout).not.toContain('_dbee');
      expect(envs.stdout).toContain('no differences');
      expect(envs.code).toBe(0);
    }
    const markdown = await diffHere({ env: 'local', format: 'markdown' });
    expect(markdown.code).toBe(0);
    expect(markdown.stdout).toContain(`${LINE.replace(/^in/, 'In')}\n\nNo differences.`);
    const json = await diffHere({ env: 'local', format: 'json' });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      changes: 0,
      inFlight: [
        {
          environment: 'local',
          release: '1',
          phase: 'expanded',
          versionSchemas: ['s_v1'],
          shadowColumns: ['s.orders._dbee_new_amount', 's.orders._dbee_new_label'],
          triggers: ['s.orders'],
        },
      ],
    });
  });

  it('clone copies an expanded environment as it was before the release, and refuses to clone over one', async () => {
    // local's old shape is qa's: nothing to copy, and none of dbee's work in progress reaches qa.
    const copied = await cli('clone', '--from', 'local', '--to', 'qa', '--assume-yes');
    expect(copied.code, copied.stderr).toBe(0);
    expect(copied.stdout + copied.stderr).toContain('copied as it was before the release');
    expect(copied.stdout).not.toContain('_dbee');
    expect((await diffHere({ env: 'qa', againstEnv: 'local' })).code).toBe(0);
    // Over local, a clone would drop what the release made: refused, the release still in flight.
    const over = await cli('clone', '--from', 'qa', '--to', 'local', '--assume-yes');
    expect(over.code).toBe(1);
    expect(over.stderr).toMatch(/local has release 1 of s in flight \(expanded\)/);
    expect((await diffHere({ env: 'local' })).stdout).toContain(LINE);
  });

  it('still lists a hand edit made while the release is in flight', async () => {
    await inSession(
      open,
      'CREATE INDEX orders_qty ON s.orders (qty)',
      'ALTER TABLE s.customers ADD COLUMN hack int',
      'ALTER TABLE s.orders ALTER COLUMN total SET DEFAULT 7',
    );
    for (const sides of [
      ['--env', 'local'],
      ['--env', 'local', '--against-env', 'qa'],
    ]) {
      const d = await diff(...sides);
      expect(d.stdout).toContain(LINE);
      expect(d.stdout).toContain('DROP INDEX s.orders_qty');
      expect(d.stdout).toContain('ALTER TABLE s.customers DROP COLUMN hack');
      expect(d.stdout).not.toContain('_dbee');
      expect(d.stderr).toMatch(/difference\(s\) between local/);
      expect(d.code).toBe(1);
    }
    // Against the sources, the release's new column is compared as it is: a default set by hand shows.
    const sources = await diffHere({ env: 'local' });
    expect(sources.stdout).toContain('ALTER TABLE s.orders ALTER COLUMN total DROP DEFAULT');
    // Status names the release in the same words, and its drift is the hand edit only.
    const status = await run(w.root, 'status', { project: 's', env: 'local' }, vars);
    expect(status.stdout).toContain(`pending: ${LINE.replace(/^.*not compared as differences: /, '')}`);
    expect(status.stdout).toContain(
      'drift: yes (the schemas changed outside dbee since the last deployment: table:s.customers)',
    );
  });
});
