import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryUrl, SERVER_URL } from '../support/pg';
import { envWorkspace, type Engine } from './helpers';

/**
 * What changed by hand, as source files: with auditing enabled, two roles change objects by hand and
 * `extract --since 10m --by <role>` writes exactly that role's changes; without auditing the command says so and
 * exits 1. And `adopt`: a database dbee never deployed is recorded as a baseline so the first deploy applies only
 * the differences.
 */
const files = {
  'app/db.yaml': 'version: 1\nname: app\nengine: postgres\nschemas: [app]\n',
  'app/t.sql': 'CREATE TABLE app.t (id int PRIMARY KEY, note text);\n',
  'app/v.sql': 'CREATE VIEW app.v AS SELECT id, note FROM app.t;\n',
  'app/f.sql': 'CREATE FUNCTION app.f(p int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT p * 2 $$;\n',
};

function listFiles(dir: string, rel = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name), rel + e.name + '/') : [rel + e.name]))
    .sort();
}

describe.each<[Engine]>([['pglite'], ['postgres']])(
  'extract --since/--by with the audit trail, and adopt [%s]',
  (engine) => {
    const w = envWorkspace(engine, files);
    const suffix = randomBytes(3).toString('hex');
    const [r1, r2] = [`dbee_em_r1_${suffix}`, `dbee_em_r2_${suffix}`];
    beforeAll(() => w.setup(), 120_000);
    afterAll(async () => {
      await w.teardown();
      if (engine === 'postgres') for (const r of [r1, r2]) await queryUrl(SERVER_URL, `DROP ROLE IF EXISTS ${r}`);
    });

    it('without auditing, extract --since says so and exits 1, writing nothing', async () => {
      expect((await w.dbee('deploy', { project: 'app', env: w.env(1) })).code).toBe(0);
      const r = await w.dbee('extract', { project: 'app', env: w.env(1), since: '10m' });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('auditing was not enabled on this environment');
      expect(r.stderr).toContain('dbee audit');
      expect(listFiles(join(w.root, 'app', 'schema'))).toEqual([]);
    });

    it('writes exactly the changes one role made by hand, once auditing is enabled', async () => {
      // Auditing has been on for a quarter of an hour (the clock is injected), so `--since 10m` is covered.
      const on = await w.dbee('audit', {
        project: 'app',
        env: w.env(1),
        enable: true,
        now: new Date(Date.now() - 15 * 60_000),
      });
      expect(on.stderr).toBe('');
      expect(on.code).toBe(0);
      await w.exec(
        1,
        `CREATE ROLE ${r1}; CREATE ROLE ${r2}; GRANT CREATE, USAGE ON SCHEMA app TO ${r1}, ${r2};
       SET ROLE ${r1}; CREATE TABLE app.by_r1 (id int PRIMARY KEY, at timestamptz); CREATE INDEX by_r1_at ON app.by_r1 (at);
       CREATE FUNCTION app.r1_fn() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$; RESET ROLE;
       SET ROLE ${r2}; CREATE VIEW app.by_r2 AS SELECT 1 AS one; RESET ROLE;`,
      );
      const listed = await w.dbee('audit', { project: 'app', env: w.env(1), format: 'json' });
      const events = (JSON.parse(listed.stdout) as { events: { role: string; identity: string }[] }).events;
      expect(
        events
          .filter((e) => e.role === r1)
          .map((e) => e.identity)
          .sort(),
      ).toEqual(['app.by_r1', 'app.by_r1_at', 'app.by_r1_pkey', 'app.r1_fn()']);
      expect(events.filter((e) => e.role === r2).map((e) => e.identity)).toEqual(['app.by_r2']);
      const r = await w.dbee('extract', { project: 'app', env: w.env(1), since: '10m', by: r1 });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(listFiles(join(w.root, 'app', 'schema'))).toEqual(['app/functions/r1_fn.sql', 'app/tables/by_r1.sql']);
      const other = await w.dbee('extract', { project: 'app', env: w.env(1), since: '10m', by: r2, dryRun: true });
      expect(other.stdout).toContain('would write app/schema/app/views/by_r2.sql');
      expect(other.stdout).not.toContain('by_r1');
      // A role the database does not have (a typo): exit 1, nothing written (issue #33 point 7; it wrote nothing, exit 0).
      const typo = await w.dbee('extract', { project: 'app', env: w.env(1), since: '10m', by: `nosuchrole_${suffix}` });
      expect(typo.code).toBe(1);
      expect(typo.stderr).toContain(`--by nosuchrole_${suffix}: no role of that name on ${w.env(1)}`);
      expect(listFiles(join(w.root, 'app', 'schema'))).toEqual(['app/functions/r1_fn.sql', 'app/tables/by_r1.sql']);
      // A period auditing did not cover.
      const before = await w.dbee('extract', { project: 'app', env: w.env(1), since: '2026-01-01T00:00:00Z', by: r1 });
      expect(before.code).toBe(1);
      expect(before.stderr).toContain('auditing was not enabled for the whole period');
    });

    it('adopts a database dbee never deployed: the first deploy applies only the differences', async () => {
      const env = w.env(2);
      await w.exec(
        2,
        `CREATE SCHEMA app; CREATE TABLE app.t (id int PRIMARY KEY, note text); INSERT INTO app.t VALUES (1, 'kept');
       CREATE VIEW app.v AS SELECT id FROM app.t;`,
      );
      // Without adopt, the first deploy would refuse: app.t exists but the ledger does not know it.
      expect((await w.dbee('deploy', { project: 'app', env, dryRun: true })).code).toBe(1);
      const dry = await w.dbee('adopt', { project: 'app', env, dryRun: true });
      expect(dry.code).toBe(0);
      expect(await w.query(2, "SELECT to_regclass('dbee.deployments') AS l")).toEqual([{ l: null }]);
      const r = await w.dbee('adopt', { project: 'app', env });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('equal to the sources: table:app.t');
      expect(r.stdout).toContain('differs from the sources: view:app.v');
      expect(r.stdout).toContain('missing (the first deployment creates it): function:app.f(integer)');
      expect(await w.query(2, 'SELECT kind, status FROM dbee.deployments')).toEqual([
        { kind: 'adopt', status: 'succeeded' },
      ]);
      const d = await w.dbee('deploy', { project: 'app', env });
      expect(d.stderr).toBe('');
      expect(d.code).toBe(0);
      expect(d.stdout).not.toContain('table:app.t');
      expect(d.stdout).toContain('view:app.v');
      expect(d.stdout).toContain('function:app.f(integer)');
      expect(await w.query(2, 'SELECT id, note, app.f(id) AS f FROM app.v')).toEqual([{ id: 1, note: 'kept', f: 2 }]);
      const diff = await w.dbee('diff', { project: 'app', env, format: 'json', cache: false });
      expect(JSON.parse(diff.stdout).changes).toBe(0);
    });

    it('extracts a schema named with capitals into a new project whose db.yaml names it quoted, and reads it back', async () => {
      const env = w.env(1);
      await w.exec(1, 'CREATE SCHEMA "Sales"; CREATE TABLE "Sales".orders (id int PRIMARY KEY);');
      // Names are read as SQL reads them: `--schemas Sales` is sales, which does not exist: refused, nothing written.
      const folded = await w.dbee('extract', { project: 'sales', env, schemas: 'Sales' });
      expect(folded.code).toBe(1);
      expect(folded.stderr).toContain('nothing to extract: sales on ');
      expect(folded.stderr).toContain(`quote a name with capitals, e.g. --schemas '"Sales"'`);
      expect(existsSync(join(w.root, 'sales'))).toBe(false);
      // The quotes keep the case.
      const x = await w.dbee('extract', { project: 'sales', env, schemas: '"Sales"' });
      expect(x.stderr).toBe('');
      expect(x.code).toBe(0);
      expect(readFileSync(join(w.root, 'sales/db.yaml'), 'utf8')).toContain(`schemas: ['"Sales"']`);
      const adopted = await w.dbee('adopt', { project: 'sales', env });
      expect(adopted.code, adopted.stdout + adopted.stderr).toBe(0);
      expect(adopted.stdout).toContain('equal to the sources: table:Sales.orders');
      const diff = await w.dbee('diff', { project: 'sales', env, format: 'json', cache: false });
      expect(JSON.parse(diff.stdout).changes).toBe(0);
    });
  },
);
