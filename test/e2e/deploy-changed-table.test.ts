import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { PgliteConnection } from '@dbee/postgres';
import { tempWorkspace } from '../support/workspace';
import { run } from '../support/run';
import { queryUrl, scratchDatabase } from '../support/pg';

const WS = `version: 1
defaultEnvironment: local
environments:
  local:
    engine: postgres
    connection: { embedded: .dbee/local }
  server:
    engine: postgres
    connection: { url: "\${CHANGE_TEST_URL}" }
`;
const v1 = {
  'a/db.yaml': 'version: 1\nname: a\nengine: postgres\nschemas: [a]\n',
  'a/schema.sql': 'CREATE SCHEMA a;',
  'a/t.sql': 'CREATE TABLE a.t (id int PRIMARY KEY, note text);',
  'a/v.sql': 'CREATE VIEW a.v AS SELECT id FROM a.t;',
  'a/f.sql': 'CREATE FUNCTION a.f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;',
};
const v2 = {
  'a/t.sql': 'CREATE TABLE a.t (id int PRIMARY KEY, note text, qty int NOT NULL DEFAULT 0);',
  'a/v.sql': 'CREATE VIEW a.v AS SELECT id, qty FROM a.t;',
  'a/f.sql': 'CREATE FUNCTION a.f() RETURNS int LANGUAGE sql AS $$ SELECT 2 $$;',
  'a/u.sql': 'CREATE TABLE a.u (id int PRIMARY KEY REFERENCES a.t (id));',
};

describe.each([
  ['pglite', 'local'],
  ['postgres', 'server'],
])('deploying changed tables through the diff engine [%s]', (_name, env) => {
  const w = tempWorkspace({ 'dbee.yaml': WS, ...v1 });
  let vars: NodeJS.ProcessEnv = {};
  let drop = async () => {};
  let query: (sql: string) => Promise<Record<string, unknown>[]> = async (sql) => {
    const c = await PgliteConnection.open(join(w.root, '.dbee', 'local'), 't');
    try {
      return (await c.query(sql)).rows;
    } finally {
      await c.close();
    }
  };
  afterAll(async () => {
    await drop();
    w.remove();
  });

  it('deploys v1, then v2 (an added column, a changed view and function, a new table), and then nothing is pending', async () => {
    if (env === 'server') {
      const db = await scratchDatabase();
      vars = { CHANGE_TEST_URL: db.url };
      drop = db.drop;
      query = (sql) => queryUrl(db.url, sql);
    }
    expect((await run(w.root, 'deploy', { project: 'a', env }, vars)).code).toBe(0);
    await query("INSERT INTO a.t VALUES (1, 'kept')");
    for (const [f, t] of Object.entries(v2)) w.write(f, t);
    const r = await run(w.root, 'deploy', { project: 'a', env }, vars);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('planning this project by a diff');
    expect(await query('SELECT id, note, qty, a.f() AS f FROM a.v JOIN a.t USING (id, qty)')).toEqual([
      { id: 1, note: 'kept', qty: 0, f: 2 },
    ]);
    const diff = await run(w.root, 'diff', { project: 'a', env, format: 'json', cache: false }, vars);
    expect(JSON.parse(diff.stdout).changes).toBe(0);
    const again = await run(w.root, 'deploy', { project: 'a', env }, vars);
    expect(again.stdout).toContain('a: nothing to deploy');
  });

  it('refuses a hazardous change (data loss) unless it is allowed, then applies it', async () => {
    w.write('a/t.sql', 'CREATE TABLE a.t (id int PRIMARY KEY, qty int NOT NULL DEFAULT 0);');
    const refused = await run(w.root, 'deploy', { project: 'a', env }, vars);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('data-loss');
    expect(
      await query(
        "SELECT count(*)::int AS n FROM information_schema.columns WHERE table_schema = 'a' AND column_name = 'note'",
      ),
    ).toEqual([{ n: 1 }]);
    const allowed = await run(w.root, 'deploy', { project: 'a', env, allowHazards: 'data-loss' }, vars);
    expect(allowed.stderr).toBe('');
    expect(allowed.code).toBe(0);
    expect(
      await query(
        "SELECT count(*)::int AS n FROM information_schema.columns WHERE table_schema = 'a' AND column_name = 'note'",
      ),
    ).toEqual([{ n: 0 }]);
  });
});
