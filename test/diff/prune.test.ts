import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envWorkspace, type Engine } from '../env-management/helpers';

/**
 * `deploy --prune` (issue 35, item 8): an object the ledger records as the project's whose file was removed is
 * dropped only when asked, with the data-loss hazard on a table (so the gates and `--allow-hazards` apply) and listed
 * in the dry run; without `--prune`, deploy does what the sources ask and warns, naming what stays. The database here
 * was made by hand and adopted, as a team that takes over an existing database starts.
 */
const unlink = (root: string, file: string) => rmSync(join(root, file));
const db = (name: string, extra = '') => `version: 1\nname: ${name}\nengine: postgres\nschemas: [${name}]\n${extra}`;

describe.each<[Engine]>([['pglite'], ['postgres']])('deploy --prune [%s]', (engine) => {
  const w = envWorkspace(engine, {
    'fx/db.yaml': db('fx'),
    'fx/schema/fx/tables/t.sql': 'CREATE TABLE fx.t (id int PRIMARY KEY);\n',
    'fx/schema/fx/tables/u.sql':
      'CREATE TABLE fx.u (id int PRIMARY KEY, t_id int);\nCREATE INDEX u_t ON fx.u (t_id);\n',
    'fx/schema/fx/views/v.sql': 'CREATE VIEW fx.v AS SELECT id FROM fx.u;\n',
    'fx/schema/fx/functions/f.sql': 'CREATE FUNCTION fx.f(a int) RETURNS int LANGUAGE sql AS $$ SELECT a + 1 $$;\n',
  });
  beforeAll(async () => {
    await w.setup();
    await w.exec(
      1,
      `CREATE SCHEMA fx; CREATE TABLE fx.t (id int PRIMARY KEY); CREATE TABLE fx.u (id int PRIMARY KEY, t_id int);
       CREATE INDEX u_t ON fx.u (t_id); CREATE VIEW fx.v AS SELECT id FROM fx.u;
       CREATE FUNCTION fx.f(a int) RETURNS int LANGUAGE sql AS $$ SELECT a + 1 $$;
       INSERT INTO fx.u VALUES (1, 1); CREATE TABLE fx.by_hand (x int)`,
    );
    const a = await w.dbee('adopt', { project: 'fx', env: w.env(1), assumeYes: true });
    expect(a.code, a.stderr).toBe(0);
    unlink(w.root, 'fx/schema/fx/tables/u.sql');
    unlink(w.root, 'fx/schema/fx/views/v.sql');
    unlink(w.root, 'fx/schema/fx/functions/f.sql');
  });
  afterAll(async () => {
    await w.teardown();
  });
  const relations = async () =>
    (
      await w.query<{ name: string }>(
        1,
        `SELECT relname AS name FROM pg_class WHERE relnamespace = 'fx'::regnamespace AND relkind IN ('r', 'v') ORDER BY 1`,
      )
    ).map((r) => r.name);

  it('without --prune: deploys, leaves the removed objects and warns naming each of them', async () => {
    const r = await w.dbee('deploy', { project: 'fx', env: w.env(1) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('table:fx.u');
    expect(r.stderr).toContain('view:fx.v');
    expect(r.stderr).toContain('function:fx.f(integer)');
    expect(r.stderr).toContain('--prune');
    expect(await relations()).toEqual(['by_hand', 't', 'u', 'v']);
  });

  it('--prune --dry-run lists the drops and refuses the data loss the environment does not allow', async () => {
    const r = await w.dbee('deploy', { project: 'fx', env: w.env(1), prune: true, dryRun: true });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/DROP VIEW .*fx.*v/i);
    expect(r.stdout).toMatch(/DROP TABLE .*fx.*u/i);
    expect(r.stdout).toMatch(/DROP FUNCTION .*fx.*f/i);
    expect(r.stdout).not.toMatch(/by_hand/);
    expect(r.stderr).toContain('data-loss');
    expect(await relations()).toEqual(['by_hand', 't', 'u', 'v']);
  });

  it('--prune with the hazard allowed drops what the ledger owned and nothing else; the ledger forgets them', async () => {
    const r = await w.dbee('deploy', {
      project: 'fx',
      env: w.env(1),
      prune: true,
      allowHazards: ['data-loss', 'backward-incompatible'],
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await relations()).toEqual(['by_hand', 't']);
    expect(await w.query(1, `SELECT count(*)::int AS n FROM pg_proc WHERE pronamespace = 'fx'::regnamespace`)).toEqual([
      { n: 0 },
    ]);
    const again = await w.dbee('deploy', { project: 'fx', env: w.env(1) });
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(
      await w.query(
        1,
        `SELECT object_key FROM dbee.objects WHERE project = 'fx' AND object_key NOT LIKE 'schema:%' ORDER BY 1`,
      ),
    ).toEqual([{ object_key: 'table:fx.t' }]);
  });

  it('deploy.prune in db.yaml prunes without the flag; --prune is refused with --package', async () => {
    w.write('fx/schema/fx/tables/w.sql', 'CREATE TABLE fx.w (id int);\n');
    expect((await w.dbee('deploy', { project: 'fx', env: w.env(1) })).code).toBe(0);
    unlink(w.root, 'fx/schema/fx/tables/w.sql');
    w.write('fx/db.yaml', db('fx', 'deploy:\n  prune: true\n  allowHazards: [data-loss]\n'));
    const r = await w.dbee('deploy', { project: 'fx', env: w.env(1) });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await relations()).toEqual(['by_hand', 't']);
    expect((await w.dbee('plan', { project: 'fx', out: 'pkg' })).code).toBe(0);
    const p = await w.dbee('deploy', { project: 'fx', env: w.env(1), package: 'pkg', prune: true });
    expect(p.code).toBe(1);
    expect(p.stderr).toContain('--prune');
  });
});
