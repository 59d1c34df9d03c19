import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { dbYaml, snapshot, workspaceWith, workspaceYaml, type TestWorkspace } from '../runner/helpers';

let workspaces: TestWorkspace[] = [];
afterAll(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

/**
 * Issue 59: a view whose columns change is dropped and created again by the diff; a view of another project over it
 * made PostgreSQL refuse the drop (the deployment failed at that step, and the dry run's copy, which held only the
 * project's schemas, verified green). Now the deployment drops that view first and creates it again after, from the
 * live catalog, in the same plan, and the dry run's copy holds its schema; when it no longer compiles over the new
 * view, the dry run refuses naming it.
 */
const FILES = {
  'a/db.yaml': dbYaml('a'),
  'a/a_schema.sql': 'CREATE SCHEMA a;\n',
  'a/t.sql': 'CREATE TABLE a.t (id int PRIMARY KEY, x int, y text);\n',
  'a/v.sql': 'CREATE VIEW a.v AS SELECT id, x, y FROM a.t;\n',
  'b/db.yaml': dbYaml('b', 'dependsOn: [a]\n'),
  'b/a_schema.sql': 'CREATE SCHEMA b;\n',
  'b/w.sql': 'CREATE VIEW b.w AS SELECT id, y FROM a.v;\n',
};

const SETUPS = [
  { engine: 'pglite', shadow: 'embedded' },
  { engine: 'postgres', shadow: 'server' },
] as const;

describe.each(SETUPS)("another project's view over a view whose columns change [$engine]", ({ engine, shadow }) => {
  it('is dropped and created again within the deployment, verified by the dry run; one that no longer compiles is refused', async () => {
    const w = await workspaceWith(engine, {
      'dbee.yaml': workspaceYaml(engine, { top: `shadow: ${shadow}` }),
      ...FILES,
    });
    workspaces.push(w);
    const deploy = (project: string, dryRun = false) =>
      run(
        w.root,
        'deploy',
        { project, allowHazards: 'backward-incompatible', ...(dryRun ? { dryRun } : {}) },
        w.target.vars,
      );
    const columns = async () =>
      (
        await w.target.query(
          "select table_name, column_name from information_schema.columns where table_schema in ('a', 'b') and table_name in ('v', 'w') order by table_name, ordinal_position",
        )
      ).map((r) => `${r['table_name']}.${r['column_name']}`);
    for (const p of ['a', 'b']) {
      const r = await deploy(p);
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
    // x removed from a.v (b.w does not read it): CREATE OR REPLACE cannot, so a.v is dropped and created again.
    w.write('a/v.sql', 'CREATE VIEW a.v AS SELECT id, y FROM a.t;\n');
    const before = await snapshot(w.target);
    const dry = await deploy('a', true);
    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    expect(dry.stdout).toContain("dry run: verified on a scratch copy of the target's schemas");
    // One step, one transaction: b.w dropped before a.v and created again after it, from the live catalog.
    expect(dry.stdout).toMatch(/^-- step 1\/1: drop view:a\.v {2}\(a\/v\.sql:1\)$/m);
    expect(dry.stdout).toContain(
      "with: drop and create view:b.w (b/w.sql:1), another project's, which stands on view:a.v",
    );
    const sql = dry.stdout.replace(/\s+/g, ' ');
    const at = (text: string) => sql.indexOf(text);
    expect(at('DROP VIEW b.w')).toBeGreaterThan(0);
    expect(at('DROP VIEW b.w')).toBeLessThan(at('DROP VIEW a.v'));
    expect(at('DROP VIEW a.v')).toBeLessThan(at('CREATE VIEW a.v'));
    expect(at('CREATE VIEW a.v')).toBeLessThan(at('CREATE VIEW b.w'));
    expect((await snapshot(w.target)).hash).toBe(before.hash);
    const real = await deploy('a');
    expect(real.code, real.stdout + real.stderr).toBe(0);
    expect(await columns()).toEqual(['v.id', 'v.y', 'w.id', 'w.y']);
    // b's ledger is not disturbed: nothing to deploy there, and a has nothing left.
    for (const p of ['b', 'a']) {
      const again = await deploy(p, true);
      expect(again.code, again.stdout + again.stderr).toBe(0);
      expect(again.stdout).not.toMatch(/-- step/);
    }

    // The rollback undoes the one step: a.v back with x, b.w dropped and created again over it.
    const back = await run(w.root, 'rollback', { project: 'a' }, w.target.vars);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await columns()).toEqual(['v.id', 'v.x', 'v.y', 'w.id', 'w.y']);
    const redo = await deploy('a');
    expect(redo.code, redo.stdout + redo.stderr).toBe(0);
    expect(await columns()).toEqual(['v.id', 'v.y', 'w.id', 'w.y']);

    // y removed from a.v, which b.w reads: refused by the dry run naming b.w, and nothing applied.
    w.write('a/v.sql', 'CREATE VIEW a.v AS SELECT id FROM a.t;\n');
    const kept = await snapshot(w.target);
    const refused = await deploy('a', true);
    expect(refused.code, refused.stdout + refused.stderr).toBe(1);
    expect(refused.stderr).toMatch(
      /^error: a\/v\.sql:1: step 1 \(drop view:a\.v\) fails on a copy of the target's schemas: [^\n]*\by\b[^\n]*\n {2}statement: CREATE VIEW b\.w/m,
    );
    expect((await snapshot(w.target)).hash).toBe(kept.hash);
    expect(refused.stderr).toContain("with: drop and create view:b.w (b/w.sql:1), another project's");
    // Without the dry run, the step fails as one transaction: both views stay as they were.
    const real2 = await deploy('a');
    expect(real2.code, real2.stdout + real2.stderr).toBe(2);
    expect(real2.stderr).toContain('CREATE VIEW b.w');
    expect(await columns()).toEqual(['v.id', 'v.y', 'w.id', 'w.y']);
  });
});

// The status of a merged step is the engine's plan read the same way on both: the server alone.
describe("another project's view over a view whose columns change, in status [postgres]", () => {
  it('status lists every change the one merged step makes: the table beside the view', async () => {
    const w = await workspaceWith('postgres', FILES);
    workspaces.push(w);
    for (const p of ['a', 'b']) expect((await run(w.root, 'deploy', { project: p }, w.target.vars)).code).toBe(0);
    // a.t gains a column and a.v loses x: one step (drop a.v, alter a.t, create a.v, around b.w). Before, status
    // listed the view only and the table's change was not pending anywhere.
    w.write('a/t.sql', 'CREATE TABLE a.t (id int PRIMARY KEY, x int, y text, z int);\n');
    w.write('a/v.sql', 'CREATE VIEW a.v AS SELECT id, y FROM a.t;\n');
    const status = await run(w.root, 'status', { project: 'a', format: 'json' }, w.target.vars);
    expect(status.code, status.stderr).toBe(0);
    expect(
      JSON.parse(status.stdout).pendingSteps.map((p: { action: string; key: string }) => `${p.action} ${p.key}`),
    ).toEqual(['drop view:a.v', 'alter table:a.t']);
  });
});
