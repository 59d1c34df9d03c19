import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryUrl, SERVER_URL } from '../support/pg';
import { envWorkspace, type Engine } from './helpers';

/**
 * The newcomer scenarios of issue 13 that concern what dbee owns: schemas come with the project, internal objects
 * (foreign-key triggers) are never drift, a DBA's grant to a role the sources never mention survives a table change,
 * and `manage:` leaves ignored objects alone.
 */
const auth = {
  // No CREATE SCHEMA file: `schemas:` is enough.
  'auth/db.yaml': 'version: 1\nname: auth\nengine: postgres\nschemas: [auth]\n',
  'auth/schema/auth/tables/tenant_h.sql': 'CREATE TABLE auth.tenant_h (id int PRIMARY KEY, name text NOT NULL);\n',
};
const tracking = {
  'tracking/db.yaml': 'version: 1\nname: tracking\nengine: postgres\nschemas: [tracking]\ndependsOn: [auth]\n',
  'tracking/schema/tracking/tables/event.sql':
    'CREATE TABLE tracking.event (id bigint PRIMARY KEY, tenant_id int NOT NULL REFERENCES auth.tenant_h (id), at timestamptz NOT NULL DEFAULT now());\n',
};

/**
 * The `manage:` settings (the last two cases) are engine-independent (both engines read the same scope through the same
 * introspection), so they run on the server only, where a case costs about a third of PGlite's; the cases before them
 * run on both (CONTRIBUTING.md, "Engine-independent matrices run whole on one engine, one cell on the other").
 */
describe.each<[Engine]>([['pglite'], ['postgres']])('managed scope [%s]', (engine) => {
  const w = envWorkspace(engine, { ...auth, ...tracking });
  const role = `dbee_em_app_${randomBytes(3).toString('hex')}`;
  beforeAll(async () => {
    await w.setup();
  });
  afterAll(async () => {
    await w.teardown();
    if (engine === 'postgres') await queryUrl(SERVER_URL, `DROP ROLE IF EXISTS ${role}`);
  });
  const env = w.env(1);
  const status = async (project: string) => {
    const r = await w.dbee('status', { project, env, format: 'json' });
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as { drift: { state: string } };
  };
  const diff = async (project: string) => {
    const r = await w.dbee('diff', { project, env, format: 'json', cache: false });
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as { changes: number; steps: { key: string; action: string; statements: string[] }[] };
  };

  it('deploys a project with no CREATE SCHEMA file on the first try, the schema as a recorded, reversible step', async () => {
    const r = await w.dbee('deploy', { project: 'auth', env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const steps = await w.query<{ object_key: string; statements: unknown; reverse: unknown }>(
      1,
      `SELECT object_key, statements, reverse_statements AS reverse FROM dbee.steps ORDER BY deployment_id, step_order`,
    );
    expect(steps[0]).toMatchObject({
      object_key: 'schema:auth',
      statements: ['CREATE SCHEMA IF NOT EXISTS auth'],
      reverse: ['DROP SCHEMA IF EXISTS auth'],
    });
    expect((await diff('auth')).changes).toBe(0);
    expect((await w.dbee('deploy', { project: 'auth', env })).stdout).toContain('auth: nothing to deploy');
  });

  it("shows no drift on a project whose table another project's foreign key references, and rolls it back without --force", async () => {
    w.write(
      'auth/schema/auth/functions/tenant_name.sql',
      'CREATE FUNCTION auth.tenant_name(p int) RETURNS text LANGUAGE sql STABLE AS $$ SELECT name FROM auth.tenant_h WHERE id = p $$;\n',
    );
    expect((await w.dbee('deploy', { project: 'auth', env })).code).toBe(0);
    const t = await w.dbee('deploy', { project: 'tracking', env });
    expect(t.stderr).toBe('');
    expect(t.code).toBe(0);
    // PostgreSQL added internal RI triggers on auth.tenant_h.
    expect(
      (
        await w.query<{ n: number }>(
          1,
          `SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = 'auth.tenant_h'::regclass AND tgisinternal`,
        )
      )[0]!.n,
    ).toBeGreaterThan(0);
    expect((await status('auth')).drift.state).toBe('no');
    expect((await status('tracking')).drift.state).toBe('no');
    expect((await diff('auth')).changes).toBe(0);
    const rb = await w.dbee('rollback', { project: 'auth', env });
    expect(rb.stderr).toBe('');
    expect(rb.code).toBe(0);
    expect(await w.query(1, `SELECT to_regprocedure('auth.tenant_name(int)') AS f`)).toEqual([{ f: null }]);
  });

  it("keeps a DBA's grant to a role the sources never mention through a table change, and does not call it drift", async () => {
    await w.query(
      1,
      `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${role}') THEN CREATE ROLE ${role}; END IF; END $$`,
    );
    await w.query(1, `GRANT USAGE ON SCHEMA tracking TO ${role}`);
    await w.query(1, `GRANT SELECT ON tracking.event TO ${role}`);
    expect((await status('tracking')).drift.state).toBe('no');
    w.write(
      'tracking/schema/tracking/tables/event.sql',
      'CREATE TABLE tracking.event (id bigint PRIMARY KEY, tenant_id int NOT NULL REFERENCES auth.tenant_h (id), at timestamptz NOT NULL DEFAULT now(), note text);\n',
    );
    const d = await diff('tracking');
    expect(d.steps.flatMap((s) => s.statements)).toEqual(['ALTER TABLE tracking.event ADD COLUMN note text']);
    const r = await w.dbee('deploy', { project: 'tracking', env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(
      await w.query(
        1,
        `SELECT has_schema_privilege('${role}', 'tracking', 'USAGE') AS u, has_table_privilege('${role}', 'tracking.event', 'SELECT') AS s`,
      ),
    ).toEqual([{ u: true, s: true }]);
    expect((await status('tracking')).drift.state).toBe('no');
  });

  if (engine === 'postgres')
    it('manages the grants the sources declare, leaves other grantees alone, and every grantee with grants: all', async () => {
      // The sources name PUBLIC (the shadow database has no application roles): PUBLIC is managed, the DBA's role is not.
      w.write('tracking/schema/tracking/grants.sql', 'GRANT USAGE ON SCHEMA tracking TO PUBLIC;\n');
      const d = await diff('tracking');
      expect(d.steps.flatMap((s) => s.statements)).toEqual(['GRANT USAGE ON SCHEMA tracking TO PUBLIC']);
      const r = await w.dbee('deploy', { project: 'tracking', env });
      expect(r.code, r.stderr).toBe(0);
      expect(
        await w.query(
          1,
          `SELECT has_schema_privilege('${role}', 'tracking', 'USAGE') AS u, has_table_privilege('${role}', 'tracking.event', 'SELECT') AS s`,
        ),
      ).toEqual([{ u: true, s: true }]);
      w.write('tracking/schema/tracking/grants.sql', '-- no grants\n');
      // PUBLIC is no longer named: its grant stays, as any grant to a role the sources do not mention.
      expect((await diff('tracking')).changes).toBe(0);
      w.write(
        'tracking/db.yaml',
        'version: 1\nname: tracking\nengine: postgres\nschemas: [tracking]\ndependsOn: [auth]\nmanage:\n  grants: all\n',
      );
      const all = (await diff('tracking')).steps.flatMap((s) => s.statements);
      expect(all).toContain(`REVOKE USAGE ON SCHEMA tracking FROM ${role}`);
      expect(all).toContain(`REVOKE SELECT ON TABLE tracking.event FROM ${role}`);
      expect(all).toContain('REVOKE USAGE ON SCHEMA tracking FROM PUBLIC');
      w.write(
        'tracking/db.yaml',
        'version: 1\nname: tracking\nengine: postgres\nschemas: [tracking]\ndependsOn: [auth]\nmanage:\n  grants: false\n',
      );
      expect((await diff('tracking')).changes).toBe(0);
    });

  if (engine === 'postgres')
    it('leaves ignored objects alone: not diffed, not dropped, not drift', async () => {
      w.write(
        'tracking/db.yaml',
        "version: 1\nname: tracking\nengine: postgres\nschemas: [tracking]\ndependsOn: [auth]\nmanage:\n  ignore: ['table:tracking.*_old', 'function:ext_*']\n",
      );
      const r = await w.dbee('deploy', { project: 'tracking', env });
      expect(r.code, r.stderr).toBe(0);
      await w.query(1, 'CREATE TABLE tracking.event_old (id int PRIMARY KEY, at timestamptz)');
      await w.query(1, 'CREATE INDEX event_old_at ON tracking.event_old (at)');
      await w.query(1, 'CREATE FUNCTION tracking.ext_version() RETURNS text LANGUAGE sql AS $$ SELECT 1::text $$');
      await w.query(1, 'CREATE TABLE tracking.stray (id int)');
      const d = await diff('tracking');
      expect(d.steps.map((s) => s.key)).toEqual(['table:tracking.stray']);
      expect((await status('tracking')).drift.state).toBe('yes');
      await w.query(1, 'DROP TABLE tracking.stray');
      expect((await status('tracking')).drift.state).toBe('no');
      expect((await diff('tracking')).changes).toBe(0);
    });
});
