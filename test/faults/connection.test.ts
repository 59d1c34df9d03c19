import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { tempWorkspace } from '../support/workspace';
import { SERVER_URL } from '../support/pg';
import { dbYaml } from '../runner/helpers';

const w = tempWorkspace({
  'dbee.yaml': `version: 1
defaultEnvironment: bad
environments:
  bad:
    engine: postgres
    connection:
      url: \${BAD_DB_URL}
  badport:
    engine: postgres
    connection:
      host: 127.0.0.1
      port: \${BAD_DB_PORT}
`,
  'p/db.yaml': dbYaml('p'),
  'p/s.sql': 'CREATE SCHEMA p;\n',
});
afterAll(() => w.remove());

const withUser = (user: string) => {
  const u = new URL(SERVER_URL);
  u.username = user;
  u.password = 'sekret-pw';
  return u.toString();
};

// Each case: a user error (exit 1), no stack, naming the environment and the variable that holds the URL.
const CASES: [string, string, Record<string, string>][] = [
  ['a malformed URL', 'bad', { BAD_DB_URL: 'postgres://u@127.0.0.1:notaport/db' }],
  ['a URL that is not postgres://', 'bad', { BAD_DB_URL: 'mysql://u@127.0.0.1/db' }],
  ['a non-numeric port', 'badport', { BAD_DB_PORT: 'fivefour' }],
  ['an unreachable server (nothing listens)', 'bad', { BAD_DB_URL: `postgres://postgres@127.0.0.1:1/postgres` }],
  [
    'SSL required by the client, refused by the server',
    'bad',
    { BAD_DB_URL: `${SERVER_URL}${SERVER_URL.includes('?') ? '&' : '?'}sslmode=no-verify` },
  ],
  ['authentication failed (no such role)', 'bad', { BAD_DB_URL: withUser('dbee_no_such_role') }],
];

describe('fault: connection errors are user errors [postgres]', () => {
  it.each(CASES)('%s: exit 1, no stack, names the environment and the variable', async (_what, env, vars) => {
    for (const command of ['deploy', 'status'] as const) {
      const r = await run(w.root, command, { project: 'p', env }, vars);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/^error: dbee.yaml:\d+:\d+: environment /);
      expect(r.stderr).toContain(`environment ${env}`);
      expect(r.stderr).toContain(env === 'bad' ? '$BAD_DB_URL' : '$BAD_DB_PORT');
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stderr).not.toContain('internal error');
      // The URL's secrets never appear.
      expect(r.stderr).not.toContain('sekret-pw');
    }
  });
});
