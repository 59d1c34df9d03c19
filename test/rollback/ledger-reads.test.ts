import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { run } from '../support/run';
import { dbYaml, workspaceWith, type TestWorkspace } from '../runner/helpers';

let workspaces: TestWorkspace[] = [];
afterAll(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

/** The SQL texts `f` sends to the server through pg (every request of this process while it runs). */
async function sent(f: () => Promise<unknown>): Promise<string[]> {
  const proto = pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
  const query = proto.query;
  const texts: string[] = [];
  proto.query = function (this: unknown, ...a: unknown[]) {
    const text = typeof a[0] === 'string' ? a[0] : (a[0] as { text?: unknown } | null)?.text;
    if (typeof text === 'string') texts.push(text);
    return query.apply(this, a);
  };
  try {
    await f();
    return texts;
  } finally {
    proto.query = query;
  }
}

/**
 * The state a deployment started from (`deployments.ledger_before`) holds every object of the project: a rollback reads
 * it once per deployment it undoes, for planning (the smoke checks of that state, the objects that went with a table)
 * and for putting the ledger back, however large the project.
 */
describe('a rollback reads the state its deployment started from once [postgres]', () => {
  it('one read of ledger_before for one deployment undone', async () => {
    const w = await workspaceWith('postgres', {
      'app/db.yaml': dbYaml('app'),
      'app/a_schema.sql': 'CREATE SCHEMA app;\n',
      'app/t.sql': 'CREATE TABLE app.t (id int PRIMARY KEY);\n',
      'app/v.sql': 'CREATE VIEW app.v AS SELECT id FROM app.t;\n',
    });
    workspaces.push(w);
    expect((await run(w.root, 'deploy', { project: 'app' }, w.target.vars)).code).toBe(0);
    w.write('app/v.sql', 'CREATE VIEW app.v AS SELECT id FROM app.t WHERE id > 0;\n');
    expect((await run(w.root, 'deploy', { project: 'app' }, w.target.vars)).code).toBe(0);

    let code = -1;
    const texts = await sent(async () => {
      code = (await run(w.root, 'rollback', { project: 'app', assumeYes: true }, w.target.vars)).code;
    });
    expect(code).toBe(0);
    expect(texts.filter((t) => /\bledger_before\b/.test(t) && /^\s*SELECT\b/i.test(t))).toHaveLength(1);
    const [{ definition }] = await w.target.query<{ definition: string }>(
      `SELECT pg_get_viewdef('app.v'::regclass) AS definition`,
    );
    expect(definition).not.toMatch(/WHERE/);
  });
});
