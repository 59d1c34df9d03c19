import { afterEach, describe, expect, it } from 'vitest';
import { createTeradataEngine } from '@dbee/teradata';
import { maskSecret } from '@dbee/core';
import { fakeDriver } from '../../packages/teradata/testing';
import { registerEngine } from '../../packages/cli/src/engines';
import { teradataWorkspace, type TeradataWorkspace } from './helpers';

/**
 * `dbee config` (#64 deliverable 6, d-bee's `cfg-print` and `env-test-connection`): the effective configuration with
 * the password masked, and `--test-connection` answering 0 when the system answers, 1 with the driver's message when
 * the logon fails. On the Teradata test double.
 */

let w: TeradataWorkspace;
afterEach(() => w?.dispose());

describe('dbee config on Teradata (#64)', () => {
  it('prints the effective configuration with the password masked; --test-connection: 0, then 1 on a failed logon', async () => {
    w = teradataWorkspace();
    const shown = await w.dbee('config', { format: 'json' });
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).not.toContain('td-test-secret');
    const json = JSON.parse(shown.stdout);
    expect(json.connection).toMatchObject({ host: 'fake', user: 'u', password: '***', database: 'DEV_EDW' });
    expect(json.connectionVariables).toEqual({ password: ['TD_PASSWORD'] });
    expect(json.variables).toEqual({ env: 'DEV' });
    expect(json).not.toHaveProperty('connectionTest');

    const ok = await w.dbee('config', { testConnection: true });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/password: \*\*\*|"password":"\*\*\*"/);
    expect(ok.stdout + ok.stderr).toMatch(/connection test: teradata:\/\/u@fake.* answered/);
    expect(ok.stdout + ok.stderr).not.toContain('td-test-secret');

    const failing = fakeDriver(w.session, {
      connectError: { code: 8017, text: 'The UserId, Password or Account is invalid.' },
    });
    const unregister = registerEngine('teradata', () => createTeradataEngine({ loadDriver: () => failing }));
    try {
      const bad = await w.dbee('config', { testConnection: true });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/connection test: td-dev did not answer: .*8017/);
      expect(bad.stdout + bad.stderr).not.toContain('td-test-secret');
    } finally {
      unregister();
    }
  });

  it('config --list: every environment with its engine and where it points, secrets masked; an unset variable named', async () => {
    w = teradataWorkspace();
    w.write(
      'dbee.yaml',
      'version: 1\ndefaultEnvironment: td-dev\nenvironments:\n' +
        '  td-dev:\n    engine: teradata\n    connection:\n      host: fake\n      user: u\n      password: ${TD_PASSWORD}\n      database: DEV_EDW\n' +
        '  td-prod:\n    engine: teradata\n    connection:\n      host: prod.example\n      user: deployer\n      password: ${TD_PROD_PASSWORD}\n      database: PROD_EDW\n' +
        '  local:\n    engine: postgres\n    connection:\n      url: postgres://app:pg-secret@db.example:5432/sales\n',
    );
    const r = await w.dbee('config', { list: true, project: undefined, env: undefined });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^td-dev \(default\)\s+teradata\s+host=fake user=u password=\*\*\* database=DEV_EDW$/);
    expect(lines[1]).toMatch(/^td-prod\s+teradata\s+\(environment variable TD_PROD_PASSWORD is not set/);
    expect(lines[2]).toMatch(/^local\s+postgres\s+url=postgres:\/\/app:\*\*\*@db\.example:5432\/sales$/);
    expect(r.stdout + r.stderr).not.toMatch(/td-test-secret|pg-secret/);

    const json = await w.dbee('config', { list: true, project: undefined, env: undefined, format: 'json' });
    expect(JSON.parse(json.stdout)).toMatchObject({
      defaultEnvironment: 'td-dev',
      environments: [
        { name: 'td-dev', engine: 'teradata', default: true, connection: { password: '***' } },
        { name: 'td-prod', default: false, unresolved: expect.stringMatching(/TD_PROD_PASSWORD/) },
        { name: 'local', engine: 'postgres', connection: { url: 'postgres://app:***@db.example:5432/sales' } },
      ],
    });

    // Without a project: the environment as dbee.yaml gives it, and its connection test (as the docs show it); with
    // --list, --env does not apply (exit 1, nothing printed on stdout).
    const none = await w.dbee('config', { project: undefined, testConnection: true });
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).toMatch(/^environment td-dev \(teradata\)\n/);
    expect(none.stdout + none.stderr).toMatch(/connection test: .* answered/);
    const both = await w.dbee('config', { list: true, project: undefined, env: 'td-dev' });
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/--env does not apply/);
    expect(both.stdout).toBe('');
  });

  it('masks secret keys and the password of a URL', () => {
    expect(maskSecret('password', 'x')).toBe('***');
    expect(maskSecret('apiToken', 'x')).toBe('***');
    expect(maskSecret('url', 'postgres://app:s3cret@db:5432/sales')).toBe('postgres://app:***@db:5432/sales');
    expect(maskSecret('url', 'postgres://app@db/sales')).toBe('postgres://app@db/sales');
    expect(maskSecret('port', 5432)).toBe(5432);
  });
});
