import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fingerprint, runDbeeCommand } from '../../packages/cli/src';
import { scratchDatabase } from '../support/pg';

/**
 * `fingerprint()` of @dbee/cli, what bin/fingerprint.js prints for the diff target: per project, and for the whole
 * environment (the plugin's default, one runtime input for every project). On PGlite and on the server.
 */

const FILES: Record<string, string> = {
  'dbee.yaml': `version: 1
defaultEnvironment: local
environments:
  local: { engine: postgres, connection: { embedded: .dbee/local } }
  server: { engine: postgres, connection: { url: '\${DBEE_FP_URL}' } }
`,
  'db/core/db.yaml': 'version: 1\nname: core\nengine: postgres\nschemas: [core]\n',
  'db/core/schema.sql': 'CREATE SCHEMA core;\nCREATE TABLE core.t (id int PRIMARY KEY);\n',
  'db/sales/db.yaml': 'version: 1\nname: sales\nengine: postgres\nschemas: [sales]\ndependsOn: [core]\n',
  'db/sales/schema.sql': 'CREATE SCHEMA sales;\nCREATE TABLE sales.o (id int PRIMARY KEY, t int REFERENCES core.t);\n',
};

let root: string;
let server: Awaited<ReturnType<typeof scratchDatabase>>;
const quiet = () => new Writable({ write: (_c, _e, done) => done() });

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'dbee-cli-fp-'));
  for (const [path, text] of Object.entries(FILES)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  server = await scratchDatabase('dbee_fp');
  process.env.DBEE_FP_URL = server.url;
});

afterAll(async () => {
  delete process.env.DBEE_FP_URL;
  await server?.drop();
  rmSync(root, { recursive: true, force: true });
});

describe.each([['local'], ['server']])('fingerprint [%s]', (env) => {
  const deploy = async (project: string) =>
    expect(
      await runDbeeCommand(
        'deploy',
        { project, env, withDependencies: false },
        { workspaceRoot: root, stdout: quiet(), stderr: quiet(), interactive: false },
      ),
    ).toBe(0);
  const fp = (projectRoot?: string) => fingerprint({ workspaceRoot: root, projectRoot, env });

  test('the environment-wide value changes when any project is deployed; a project value only with its own', async () => {
    await deploy('core');
    const [wholeBefore, coreBefore, salesBefore] = [await fp(), await fp('db/core'), await fp('db/sales')];
    expect(wholeBefore).toMatch(new RegExp(`^${env} pg4:\\d+\\.\\d+:\\d+:[0-9a-f]{32} deployments:\\d+,none$`));
    expect(salesBefore).toMatch(/ deployment:none$/);
    expect(await fp()).toBe(wholeBefore);

    await deploy('sales');
    const whole = await fp();
    expect(whole).not.toBe(wholeBefore);
    expect(await fp('db/sales')).not.toBe(salesBefore);
    // core's schemas and ledger rows are untouched by a deployment of sales.
    expect(await fp('db/core')).toBe(coreBefore);
  });
});

describe('fingerprint of an environment with a query source (the diff Markdown runs the compatibility check)', () => {
  const withCompat = (queries: string) =>
    writeFileSync(
      join(root, 'dbee.yaml'),
      `version: 1
defaultEnvironment: local
environments:
  local: { engine: postgres, connection: { embedded: .dbee/local }, compat: { queries: ${queries} } }
`,
    );
  afterAll(() => writeFileSync(join(root, 'dbee.yaml'), FILES['dbee.yaml']!));

  test("changes with the query files (the new application's too), and never repeats with pg_stat_statements", async () => {
    mkdirSync(join(root, 'app'), { recursive: true });
    writeFileSync(join(root, 'app', 'q.sql'), 'SELECT id FROM core.t;\n');
    withCompat('app');
    const fp = () => fingerprint({ workspaceRoot: root, env: 'local' });
    const first = await fp();
    expect(first).toMatch(/ compat:[0-9a-f]{16}$/);
    expect(await fp()).toBe(first);
    writeFileSync(join(root, 'app', 'q.sql'), 'SELECT id FROM core.t WHERE id = $1;\n');
    expect(await fp()).not.toBe(first);
    // The new application's queries (compat.newQueries) are read by the check too.
    mkdirSync(join(root, 'next'), { recursive: true });
    writeFileSync(join(root, 'next', 'q.sql'), 'SELECT id FROM core.t;\n');
    withCompat('app, newQueries: next');
    const withNew = await fp();
    expect(await fp()).toBe(withNew);
    writeFileSync(join(root, 'next', 'q.sql'), 'SELECT id FROM core.t ORDER BY id;\n');
    expect(await fp()).not.toBe(withNew);
    withCompat('pg_stat_statements');
    expect(await fp()).not.toBe(await fp());
  });
});
