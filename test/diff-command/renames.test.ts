import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempWorkspace } from '../support/workspace';
import { run } from '../support/run';
import { scratchDatabase } from '../support/pg';

const WS = `version: 1
defaultEnvironment: local
environments:
  local:
    engine: postgres
    connection: { embedded: .dbee/local }
  server:
    engine: postgres
    connection: { url: "\${RENAME_TEST_URL}" }
`;
const project = (extra = '') => `version: 1\nname: a\nengine: postgres\nschemas: [a]\n${extra}`;

describe.each([
  ['pglite', 'local'],
  ['postgres', 'server'],
])('declared renames [%s]', (_name, env) => {
  let w: ReturnType<typeof tempWorkspace>;
  let vars: NodeJS.ProcessEnv = {};
  let drop = async () => {};
  beforeAll(async () => {
    w = tempWorkspace({
      'dbee.yaml': WS,
      'a/db.yaml': project(),
      'a/t.sql': 'CREATE SCHEMA a;\nCREATE TABLE a.t (id int PRIMARY KEY, old_name text);',
    });
    if (env === 'server') {
      const db = await scratchDatabase();
      vars = { RENAME_TEST_URL: db.url };
      drop = db.drop;
    }
    const deployed = await run(w.root, 'deploy', { project: 'a', env }, vars);
    expect(deployed.stderr).toBe('');
    expect(deployed.code).toBe(0);
    w.write('a/t.sql', 'CREATE SCHEMA a;\nCREATE TABLE a.t (id int PRIMARY KEY, new_name text);');
  });
  afterAll(async () => {
    await drop();
    w.remove();
  });

  const steps = async () => {
    const r = await run(w.root, 'diff', { project: 'a', env, format: 'json', cache: false }, vars);
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout).steps as { statements: string[]; hazards: { kind: string }[] }[];
  };

  it('never guesses: an undeclared rename is a drop and an add, with a data-loss hazard', async () => {
    const s = await steps();
    const sql = s.flatMap((x) => x.statements).join('\n');
    expect(sql).toContain('DROP COLUMN old_name');
    expect(sql).toContain('ADD COLUMN new_name');
    expect(s.flatMap((x) => x.hazards.map((h) => h.kind))).toContain('data-loss');
  });

  it('renames the column when db.yaml declares it', async () => {
    w.write(
      'a/db.yaml',
      project('renames:\n  - { kind: column, schema: a, table: t, from: old_name, to: new_name }\n'),
    );
    const s = await steps();
    expect(s.flatMap((x) => x.statements)).toEqual(['ALTER TABLE a.t RENAME COLUMN old_name TO new_name']);
  });
});
