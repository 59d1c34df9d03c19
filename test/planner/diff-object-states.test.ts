import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { dbYaml, ENGINES, workspaceWith, type TestWorkspace } from '../runner/helpers';

let workspaces: TestWorkspace[] = [];
afterAll(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

/**
 * A project whose table changed is planned by a diff of the live schema, and the ledger then records the state of
 * every object of its sources: the same rows as a first deployment of those sources records, for a schema the sources
 * do not create (its step comes from db.yaml), tables in a foreign-key cycle (the constraint split out of its table is
 * an object of its own), views and functions. The next deployment has nothing to do.
 */
const FILES = {
  'app/db.yaml': dbYaml('app'),
  'app/p.sql':
    'CREATE TABLE app.p (id int PRIMARY KEY, c_id int);\nALTER TABLE app.p ADD CONSTRAINT p_c_fk FOREIGN KEY (c_id) REFERENCES app.c (id);\n',
  'app/c.sql': 'CREATE TABLE app.c (id int PRIMARY KEY, p_id int REFERENCES app.p (id));\n',
  'app/v.sql': 'CREATE VIEW app.v AS SELECT p.id, c.id AS c FROM app.p p JOIN app.c c ON c.id = p.c_id;\n',
  'app/f.sql': 'CREATE FUNCTION app.f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n',
};
const CHANGED = {
  'app/c.sql': 'CREATE TABLE app.c (id int PRIMARY KEY, p_id int REFERENCES app.p (id), note text);\n',
  'app/f.sql': 'CREATE FUNCTION app.f() RETURNS int LANGUAGE sql AS $$ SELECT 2 $$;\n',
};

describe.each(ENGINES)('the ledger after a project planned by a diff [%s]', (engine) => {
  const states = async (w: TestWorkspace) =>
    w.target.query<{ object_key: string; checksum: string }>(
      `SELECT object_key, checksum FROM dbee.objects WHERE project = 'app' ORDER BY 1`,
    );

  it('records the states a first deployment of the same sources records, and nothing is left to deploy', async () => {
    const w = await workspaceWith(engine, FILES);
    const fresh = await workspaceWith(engine, { ...FILES, ...CHANGED });
    workspaces.push(w, fresh);
    expect((await run(w.root, 'deploy', { project: 'app' }, w.target.vars)).code).toBe(0);
    for (const [file, text] of Object.entries(CHANGED)) w.write(file, text);
    const diffed = await run(w.root, 'deploy', { project: 'app' }, w.target.vars);
    expect(diffed.code, diffed.stderr).toBe(0);
    expect(diffed.stdout + diffed.stderr).toContain('planning this project by a diff');

    expect((await run(fresh.root, 'deploy', { project: 'app' }, fresh.target.vars)).code).toBe(0);
    const recorded = await states(w);
    expect(recorded.map((r) => r.object_key)).toEqual(
      expect.arrayContaining(['schema:app', 'table:app.c', 'table:app.p', 'view:app.v']),
    );
    expect(recorded.some((r) => r.object_key.startsWith('constraint:'))).toBe(true);
    expect(recorded).toEqual(await states(fresh));

    const again = await run(w.root, 'deploy', { project: 'app' }, w.target.vars);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout + again.stderr).toContain('nothing to deploy');
  });
});
