import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { tempWorkspace, WORKSPACE_YAML } from '../support/workspace';

const BIN = join(__dirname, '..', '..', 'packages', 'cli', 'bin', 'dbee.js');
let cleanup: (() => void)[] = [];
afterEach(() => {
  cleanup.forEach((f) => f());
  cleanup = [];
});

/** Run the real `dbee` binary in a workspace. */
function dbee(files: Record<string, string>, args: string[], env: NodeJS.ProcessEnv = {}) {
  const w = tempWorkspace(files);
  cleanup.push(w.remove);
  const { DBEE_TEST_PG_URL: _unset, ...base } = process.env;
  const r = spawnSync(process.execPath, [BIN, ...args, '--cwd', w.root], {
    encoding: 'utf8',
    env: { ...base, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const core = {
  'core/db.yaml': 'version: 1\nname: core\nengine: postgres\nschemas: [core]\n',
  'core/s.sql': 'CREATE SCHEMA core;',
};

describe('dbee CLI: bad input gives exit code 1 and a message with file, line and key', () => {
  it('malformed db.yaml', () => {
    const r = dbee(
      { 'dbee.yaml': WORKSPACE_YAML, 'core/db.yaml': 'version: 1\nname: core\nengine: postgres\nschemas: core\n' },
      ['deploy', 'core'],
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: core/db.yaml:4:1: schemas: expected array, got string "core"\n');
  });

  it('malformed dbee.yaml', () => {
    const r = dbee({ 'dbee.yaml': WORKSPACE_YAML.replace('version: 1', 'version: 2'), ...core }, ['deploy', 'core']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: dbee.yaml:1:1: version: expected one of 1, got 2\n');
  });

  it('unknown environment', () => {
    const r = dbee({ 'dbee.yaml': WORKSPACE_YAML, ...core }, ['deploy', 'core', '--env', 'staging']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: dbee.yaml:3:1: unknown environment "staging"');
  });

  it('unset variable', () => {
    const r = dbee({ 'dbee.yaml': WORKSPACE_YAML, ...core }, ['deploy', 'core', '--env', 'server']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'error: dbee.yaml:11:7: environment variable DBEE_TEST_PG_URL is not set (used by environments.server.connection.url)',
    );
    expect(r.stderr).not.toContain('    at ');
  });

  it('an unknown command fails with the usage; an unknown option with the closest one, not the whole help', () => {
    const unknown = dbee({ 'dbee.yaml': WORKSPACE_YAML, ...core }, ['deplyo', 'core']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('error: unknown command "deplyo"');
    const option = dbee({ 'dbee.yaml': WORKSPACE_YAML, ...core }, ['deploy', 'core', '--dryrun']);
    expect(option.code).toBe(1);
    expect(option.stderr).toBe(
      'error: unknown option --dryrun for dbee deploy: did you mean --dry-run?\n  hint: see dbee deploy --help\n',
    );
  });

  it('a wrong option value is refused before anything runs, naming the option and what it expects', () => {
    const r = dbee({ 'dbee.yaml': WORKSPACE_YAML, ...core }, [
      'deploy',
      'core',
      '--if-exists',
      'nuke',
      '--wait-for-lock',
      'soon',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'error: invalid options for deploy:\n' +
        '  - --wait-for-lock: expected a number of seconds, got "soon"\n' +
        '  - --if-exists: expected one of raise, rename, drop, skip, ignore, got "nuke"\n' +
        '  hint: see dbee deploy --help; nothing was done\n',
    );
  });

  it('--help lists every command', () => {
    const r = dbee({ 'dbee.yaml': WORKSPACE_YAML }, ['--help']);
    expect(r.code).toBe(0);
    for (const c of ['build', 'diff', 'deploy', 'smoke-test', 'rollback', 'plan', 'status'])
      expect(r.stdout).toContain(`  ${c}`);
  });
});
