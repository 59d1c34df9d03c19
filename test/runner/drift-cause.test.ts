import { describe, expect, it, onTestFinished } from 'vitest';
import { dbYaml, ENGINES, snapshot, workspaceWith, type TestWorkspace } from './helpers';
import { run } from '../support/run';

/**
 * A drift that a dependency's deployment may have made is not blamed on a hand edit alone. `sales` depends on `core`
 * and has a view over core's table; core's release renames a column the view reads, and PostgreSQL rewrites the view
 * (`t.name AS label`). When sales's view had been changed by hand before (its `WHERE true`), core's deployment carries
 * nothing of sales forward, and `dbee deploy sales` then refuses sales, rightly (its live view is neither what its last
 * deployment recorded nor what its sources make), and says that core's later deployment may have made the change too,
 * with the way to make the view again from the sources. (Without the hand edit, core's deployment carries sales's state
 * forward and sales's deployment makes the view again without a refusal: test/runner/rewritten-dependents.test.ts.) A
 * hand edit with no later deployment of a dependency is said as before, word for word.
 */

const HAZARDS = { allowHazards: 'backward-incompatible' };

/** The workspace's projects: core's table, sales's view over it. */
const FILES = {
  'core/db.yaml': dbYaml('core'),
  'core/schema.sql': 'CREATE SCHEMA core;\n',
  'core/t.sql': 'CREATE TABLE core.t (id int PRIMARY KEY, label text);\n',
  'sales/db.yaml': dbYaml('sales', 'dependsOn: [core]\n'),
  'sales/schema.sql': 'CREATE SCHEMA sales;\n',
  'sales/v.sql': 'CREATE VIEW sales.v AS SELECT * FROM core.t;\n',
};

/** Core's release: `core.t.label` renamed to `name` (declared). */
function renameLabel(w: TestWorkspace): void {
  w.write('core/t.sql', 'CREATE TABLE core.t (id int PRIMARY KEY, name text);\n');
  w.write(
    'core/db.yaml',
    dbYaml('core', 'renames:\n  - { kind: column, schema: core, table: t, from: label, to: name }\n'),
  );
}

/** A workspace with `FILES`, core then sales deployed (deployments #1 and #2), each by a command of its own. */
async function deployed(engine: (typeof ENGINES)[number]): Promise<TestWorkspace> {
  const w = await workspaceWith(engine, FILES);
  onTestFinished(() => w.remove());
  for (const project of ['core', 'sales']) {
    const r = await run(w.root, 'deploy', { project, ...HAZARDS }, w.target.vars);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  }
  return w;
}

/** The first `error:` line of an output, and the `hint:` line after it. */
const errorLine = (out: string) => /^error: .*$/m.exec(out)?.[0];
const hintLine = (out: string) => /^ {2}hint: .*$/m.exec(out)?.[0];

/** The catalog's line of `sales.v`: its columns and its definition as PostgreSQL prints it. */
async function salesView(w: TestWorkspace): Promise<string | undefined> {
  return (await snapshot(w.target, { withLedger: false })).catalog.find((l) => l.startsWith('relation sales.v:'));
}

const CAUSE =
  ", or by a later deployment of a project sales depends on: core's deployment #3 (renaming or retyping a column that a view reads, for one, makes the database rewrite the view)";

describe.each(ENGINES)('the cause of a drift [%s]', (engine) => {
  it("core's later deployment rewrote sales's view, changed by hand before: the refusal names it, and its hint's command converges sales", async () => {
    const w = await deployed(engine);
    // A hand edit before core's release: sales had drifted, so core's deployment carries nothing of it forward.
    await w.target.execute('CREATE OR REPLACE VIEW sales.v AS SELECT t.id, t.label FROM core.t WHERE true');
    renameLabel(w);
    const core = await run(w.root, 'deploy', { project: 'core', ...HAZARDS }, w.target.vars);
    expect(core.code, core.stdout + core.stderr).toBe(0);
    expect(core.stdout).toContain('(deployment 3)');
    expect(await salesView(w)).toMatch(/AS label/);

    const sales = await run(w.root, 'deploy', { project: 'sales', ...HAZARDS }, w.target.vars);
    expect(sales.code, sales.stdout + sales.stderr).toBe(1);
    expect(errorLine(sales.stderr)).toBe(
      "error: sales/v.sql:1: view:sales.v was changed outside dbee since deployment #2 (the database's definition differs from its unchanged sources: drop, create)" +
        `${CAUSE}; a deployment does not write over it (ifExists: raise, default); nothing was applied`,
    );
    expect(hintLine(sales.stderr)).toBe(
      '  hint: dbee diff sales --env target shows what differs; when the sources are what you want, dbee deploy sales --env target --if-exists drop makes the objects again from them; ' +
        "to keep the database's definition, write it into the sources (dbee extract sales --env target) and deploy",
    );

    // status says the same, in its text and its JSON; a rollback of sales names the cause too.
    const status = await run(w.root, 'status', { project: 'sales' }, w.target.vars);
    expect(status.stdout).toContain(
      `  drift: yes (the schemas changed outside dbee since the last deployment: view:sales.v)${CAUSE}\n`,
    );
    const json = await run(w.root, 'status', { project: 'sales', format: 'json' }, w.target.vars);
    expect(JSON.parse(json.stdout).drift).toMatchObject({ state: 'yes', after: [{ project: 'core', id: 3 }] });
    const rollback = await run(w.root, 'rollback', { project: 'sales' }, w.target.vars);
    expect(rollback.code).toBe(1);
    expect(errorLine(rollback.stderr)).toBe(
      `error: the schemas of sales changed outside dbee since deployment #2${CAUSE}: the recorded reverses may no longer apply; nothing was changed`,
    );

    // The hint's commands, as printed: the diff shows the view, the deployment makes it again from the sources.
    const diff = await run(w.root, 'diff', { project: 'sales', env: 'target' }, w.target.vars);
    expect(diff.code, diff.stdout + diff.stderr).toBe(0);
    expect(diff.stdout).toMatch(/view:sales\.v\n\s+- drop[\s\S]*\+ create[\s\S]*name\n/);
    const [, env] = /dbee deploy sales --env (\S+) --if-exists drop/.exec(sales.stderr)!;
    const hinted = { project: 'sales', env, ifExists: 'drop' };
    // The view loses its column `label`: the hazard gate asks for that to be accepted, as for any deployment.
    const gated = await run(w.root, 'deploy', hinted, w.target.vars);
    expect(gated.code, gated.stdout + gated.stderr).toBe(1);
    expect(gated.stderr).toContain('pass --allow-hazards=backward-incompatible');
    const fixed = await run(w.root, 'deploy', { ...hinted, ...HAZARDS }, w.target.vars);
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    expect(fixed.stdout).toContain('sales: deployed 2 steps');
    const after = await run(w.root, 'status', { project: 'sales' }, w.target.vars);
    expect(after.stdout).toContain('  drift: no\n');
    expect(after.stdout).toContain('pending: nothing, up to date with the sources');

    // The view is the one the sources make: as a first deployment of the release's sources makes it.
    const fresh = await workspaceWith(engine, FILES);
    onTestFinished(() => fresh.remove());
    renameLabel(fresh);
    for (const project of ['core', 'sales'])
      expect((await run(fresh.root, 'deploy', { project, ...HAZARDS }, fresh.target.vars)).code).toBe(0);
    expect(await salesView(w)).toBe(await salesView(fresh));
    expect(await salesView(w)).not.toMatch(/label/);
  });

  it('a hand edit with no later deployment of a dependency: the messages are as before, word for word', async () => {
    const w = await deployed(engine);
    await w.target.execute('CREATE OR REPLACE VIEW sales.v AS SELECT id, label, 1 AS extra FROM core.t');
    const sales = await run(w.root, 'deploy', { project: 'sales', ...HAZARDS }, w.target.vars);
    expect(sales.code, sales.stdout + sales.stderr).toBe(1);
    expect(errorLine(sales.stderr)).toBe(
      "error: sales/v.sql:1: view:sales.v was changed outside dbee since deployment #2 (the database's definition differs from its unchanged sources: drop, create); a deployment does not write over it (ifExists: raise, default); nothing was applied",
    );
    expect(hintLine(sales.stderr)).toBe(
      "  hint: to put it back to the sources' definition, deploy with --if-exists drop (or rename: a step of the plan replaces it, its reverse keeps the hand change), or set deploy.ifExists for target; " +
        'to keep the hand change, write it into the sources (dbee extract sales --env target) and deploy',
    );
    expect(sales.stderr).toContain(
      'warning: sales: changed outside dbee since deployment #2: view:sales.v (drop, create); the conflict strategy decides (deploy.ifExists)\n',
    );
    const status = await run(w.root, 'status', { project: 'sales' }, w.target.vars);
    expect(status.stdout).toContain(
      '  drift: yes (the schemas changed outside dbee since the last deployment: view:sales.v)\n',
    );
    const json = await run(w.root, 'status', { project: 'sales', format: 'json' }, w.target.vars);
    expect(JSON.parse(json.stdout).drift).not.toHaveProperty('after');
    const rollback = await run(w.root, 'rollback', { project: 'sales' }, w.target.vars);
    expect(errorLine(rollback.stderr)).toBe(
      'error: the schemas of sales changed outside dbee since deployment #2: the recorded reverses may no longer apply; nothing was changed',
    );
  });
});
