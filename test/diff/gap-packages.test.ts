import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { envWorkspace, type Engine } from '../env-management/helpers';

/**
 * Gap packages deploy (issue 35, item 0): a package made by `plan --against-env` (one environment brought to
 * another's schema) or by `plan --diff` (an environment brought to the sources) is bound to the target's state by a
 * base fingerprint; deploying it with nothing changed in between must not be refused as stale, whatever `manage:`
 * says (the plan and the freshness check read the same scope).
 */
const MANAGES: [string, string][] = [
  ['default manage', ''],
  ['grants: all', 'manage:\n  grants: all\n'],
  ['grants: false', 'manage:\n  grants: false\n'],
  ['owners: true', 'manage:\n  owners: true\n'],
  ['comments: false', 'manage:\n  comments: false\n'],
  ['ignore', "manage:\n  ignore: ['table:fx.*_bak']\n"],
];

const TABLE =
  "CREATE TABLE fx.t (id int PRIMARY KEY, name text NOT NULL);\nCOMMENT ON TABLE fx.t IS 'the t';\nGRANT SELECT ON fx.t TO PUBLIC;\n";

/**
 * The `manage:` settings are engine-independent (both engines read the same scope through the same introspection
 * and freshness check), so the whole matrix runs on the server and one representative cell, the default, on
 * PGlite, where each cell costs about three times as much (suite-trim: both engines keep a cell).
 */
const CELLS: [Engine, [string, string][]][] = [
  ['pglite', MANAGES.slice(0, 1)],
  ['postgres', MANAGES],
];

describe.each(CELLS)('gap packages deploy [%s]', (engine, manages) => {
  for (const [label, manage] of manages) {
    describe(label, () => {
      const w = envWorkspace(engine, {
        'fx/db.yaml': `version: 1\nname: fx\nengine: postgres\nschemas: [fx]\n${manage}`,
        'fx/schema/fx/tables/t.sql': TABLE,
      });
      beforeAll(async () => {
        await w.setup();
      });
      afterAll(async () => {
        await w.teardown();
      });

      it('deploys a package made by plan --against-env, after which the two environments have no differences', async () => {
        // Environment 2 holds the sources plus a column added by hand; environment 1 an older state of them.
        expect((await w.dbee('deploy', { project: 'fx', env: w.env(2) })).code).toBe(0);
        await w.exec(2, 'ALTER TABLE fx.t ADD COLUMN note text; CREATE TABLE fx.t_bak (x int)');
        await w.exec(1, 'CREATE SCHEMA fx; CREATE TABLE fx.t (id int PRIMARY KEY)');
        const p = await w.dbee('plan', { project: 'fx', env: w.env(1), againstEnv: w.env(2), out: 'pkg-env' });
        expect(p.stderr).toBe('');
        expect(p.code).toBe(0);
        const d = await w.dbee('deploy', { project: 'fx', env: w.env(1), package: 'pkg-env' });
        expect(d.stderr).toBe('');
        expect(d.code).toBe(0);
        const after = await w.dbee('diff', {
          project: 'fx',
          env: w.env(1),
          againstEnv: w.env(2),
          format: 'json',
          cache: false,
        });
        expect(after.code, after.stderr).toBe(0);
        expect((JSON.parse(after.stdout) as { changes: number }).changes).toBe(0);
        expect(
          await w.query(
            1,
            `SELECT count(*)::int AS n FROM information_schema.columns WHERE table_schema = 'fx' AND table_name = 't'`,
          ),
        ).toEqual([{ n: 3 }]);
      });

      it('deploys a package made by plan --diff (the sources against the live database)', async () => {
        w.write(
          'fx/schema/fx/tables/t.sql',
          TABLE.replace('name text NOT NULL', 'name text NOT NULL, note text, added date'),
        );
        const p = await w.dbee('plan', { project: 'fx', env: w.env(1), diff: true, out: 'pkg-diff' });
        expect(p.stderr).toBe('');
        expect(p.code).toBe(0);
        const summary = readFileSync(join(w.root, 'pkg-diff', 'summary.md'), 'utf8');
        expect(summary).toMatch(/^- gap: from one live database \(schema fingerprint [^)]+\) to the sources/m);
        expect(summary).not.toContain('full state');
        // fx.t_bak came with the first package and is not in the sources: this package drops it (data loss, allowed).
        const d = await w.dbee('deploy', {
          project: 'fx',
          env: w.env(1),
          package: 'pkg-diff',
          allowHazards: ['data-loss'],
        });
        expect(d.stderr).toBe('');
        expect(d.code).toBe(0);
        expect(
          await w.query(
            1,
            `SELECT count(*)::int AS n FROM information_schema.columns WHERE table_schema = 'fx' AND table_name = 't'`,
          ),
        ).toEqual([{ n: 4 }]);
        expect(await w.query(1, `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'fx'`)).toEqual([
          { n: 1 },
        ]);
        // Run again where it ran (#58): nothing to deploy, not "stale".
        const again = await w.dbee('deploy', { project: 'fx', env: w.env(1), package: 'pkg-diff' });
        expect(again.stderr).toBe('');
        expect(again.code).toBe(0);
        expect(again.stdout).toContain('nothing to deploy');
      });

      it('still refuses the package when the database changed since it was planned', async () => {
        w.write(
          'fx/schema/fx/tables/t.sql',
          TABLE.replace('name text NOT NULL', 'name text NOT NULL, note text, added date, more int'),
        );
        expect((await w.dbee('plan', { project: 'fx', env: w.env(1), diff: true, out: 'pkg-stale' })).code).toBe(0);
        await w.exec(1, 'ALTER TABLE fx.t ADD COLUMN by_hand int');
        const d = await w.dbee('deploy', { project: 'fx', env: w.env(1), package: 'pkg-stale' });
        expect(d.code).toBe(1);
        expect(d.stderr).toContain('the plan is stale');
      });
    });
  }
});

/**
 * Env vs env grants (issue 35, item 4): no source names a grantee, so the rule is every grantee that exists on both
 * sides. A grant to a role that exists on both is copied; a DBA's grant on the target to such a role is revoked (it is
 * the other environment's state that is wanted); with `manage: { grants: false }` nothing is compared.
 */
describe.each<[Engine]>([['pglite'], ['postgres']])('env vs env grants [%s]', (engine) => {
  const role = `dbee_gap_${engine}_${process.pid}`;
  const w = envWorkspace(engine, {
    'fx/db.yaml': 'version: 1\nname: fx\nengine: postgres\nschemas: [fx]\n',
    'fx/schema/fx/tables/t.sql': 'CREATE TABLE fx.t (id int PRIMARY KEY);\n',
  });
  const createRole = `DO $$ BEGIN CREATE ROLE ${role} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`;
  beforeAll(async () => {
    await w.setup();
    for (const n of [1, 2] as const) expect((await w.dbee('deploy', { project: 'fx', env: w.env(n) })).code).toBe(0);
    await w.exec(1, createRole);
    await w.exec(2, createRole);
  });
  afterAll(async () => {
    for (const n of [1, 2] as const)
      for (const r of [role, `${role}_o`])
        await w.exec(n, `DROP OWNED BY ${r}; DROP ROLE IF EXISTS ${r}`).catch(() => undefined);
    await w.teardown();
  });
  const diff = async () => {
    const r = await w.dbee('diff', {
      project: 'fx',
      env: w.env(1),
      againstEnv: w.env(2),
      format: 'json',
      cache: false,
    });
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as { changes: number; steps: { statements: string[] }[]; uncompared?: string[] };
  };

  it('compares the grants of a role that exists on both sides, and a gap package copies them', async () => {
    await w.exec(2, `GRANT SELECT, INSERT ON fx.t TO ${role}`);
    const d = await diff();
    expect(d.steps.flatMap((s) => s.statements).join('\n')).toMatch(new RegExp(`GRANT .*ON .*fx.*t.* TO ${role}`, 'i'));
    expect((await w.dbee('plan', { project: 'fx', env: w.env(1), againstEnv: w.env(2), out: 'pkg-grants' })).code).toBe(
      0,
    );
    const r = await w.dbee('deploy', { project: 'fx', env: w.env(1), package: 'pkg-grants' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((await diff()).changes).toBe(0);
    expect(await w.query(1, `SELECT has_table_privilege('${role}', 'fx.t', 'INSERT') AS ok`)).toEqual([{ ok: true }]);
  });

  it('a clone compares grants by the same rule: the grant to a role both sides have is copied', async () => {
    await w.exec(2, `GRANT UPDATE ON fx.t TO ${role}`);
    const c = await w.dbee('clone', { project: 'fx', from: w.env(2), to: w.env(1) });
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(new RegExp(`GRANT UPDATE ON .*fx.*t.* TO ${role}`, 'i'));
    expect(await w.query(1, `SELECT has_table_privilege('${role}', 'fx.t', 'UPDATE') AS ok`)).toEqual([{ ok: true }]);
  });

  it('names what it leaves out: owners (manage.owners is false), and grants with manage: { grants: false }', async () => {
    await w.exec(2, `${createRole.replace(role, `${role}_o`)}; ALTER TABLE fx.t OWNER TO ${role}_o`);
    const owners = await diff();
    expect(owners.changes).toBe(0);
    expect(owners.uncompared).toEqual([
      expect.stringMatching(/^owners \(manage\.owners is false\): they differ on table:fx\.t$/),
    ]);
    const text = await w.dbee('diff', { project: 'fx', env: w.env(1), againstEnv: w.env(2), cache: false });
    expect(text.stdout).toContain('not compared: owners');
    expect(text.stdout).toContain('no differences in what was compared');
    expect(text.stdout).not.toContain('  no differences\n');
    w.write('fx/db.yaml', 'version: 1\nname: fx\nengine: postgres\nschemas: [fx]\nmanage:\n  owners: true\n');
    expect((await diff()).steps.flatMap((x) => x.statements)).toEqual([`ALTER TABLE fx.t OWNER TO ${role}_o`]);
    await w.exec(2, `GRANT DELETE ON fx.t TO ${role}`);
    w.write('fx/db.yaml', 'version: 1\nname: fx\nengine: postgres\nschemas: [fx]\nmanage:\n  grants: false\n');
    const off = await diff();
    expect(off.changes).toBe(0);
    expect(off.uncompared).toEqual([
      `grants (manage.grants is false): they differ for ${role}`,
      'owners (manage.owners is false): they differ on table:fx.t',
    ]);
    const clone = await w.dbee('clone', { project: 'fx', from: w.env(2), to: w.env(1) });
    expect(clone.code, clone.stderr).toBe(0);
    expect(clone.stdout).toContain(`not compared: grants (manage.grants is false): they differ for ${role}`);
    expect(clone.stdout).toContain('already equals');
    expect(clone.stdout).toContain('in what was compared');
  });
});
