import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { queryUrl, SERVER_URL } from '../support/pg';
import { run } from '../support/run';
import { dbYaml, ENGINES, workspaceWith, workspaceYaml, type TestWorkspace } from '../runner/helpers';

let workspaces: TestWorkspace[] = [];
afterEach(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

const roleExists = async (role: string) =>
  (await queryUrl(SERVER_URL, 'SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).length > 0;

describe.each(ENGINES)('roles the sources name exist in the shadow, never on the target [%s]', (engine) => {
  for (const shadow of engine === 'postgres' ? (['embedded', 'server'] as const) : (['embedded'] as const)) {
    it(`GRANT ... TO and CREATE POLICY ... TO a role the target lacks build the desired model (shadow: ${shadow})`, async () => {
      const role = `dbee_t_ghost_${randomBytes(4).toString('hex')}`;
      const w = await workspaceWith(engine, {
        'dbee.yaml': workspaceYaml(engine, { top: `shadow: ${shadow}` }),
        'app/db.yaml': dbYaml('app'),
        'app/t.sql': `CREATE TABLE app.t (id int, owner text);
GRANT SELECT ON app.t TO ${role};
ALTER TABLE app.t ENABLE ROW LEVEL SECURITY;
CREATE POLICY mine ON app.t FOR SELECT TO ${role} USING (owner = current_user);
`,
      });
      workspaces.push(w);
      const r = await run(w.root, 'diff', { project: 'app' }, w.target.vars);
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('app.t');
      // The role was made for the shadow only: the target's cluster does not keep it.
      if (engine === 'postgres') expect(await roleExists(role)).toBe(false);
      else
        expect(await w.target.query('SELECT count(*)::int AS n FROM pg_roles WHERE rolname = $1', [role])).toEqual([
          { n: 0 },
        ]);
    });
  }
});
