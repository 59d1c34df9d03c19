import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { run } from '../support/run';
import { dbYaml, spawnDbee, workspaceWith, workspaceYaml, type TestWorkspace } from '../runner/helpers';
import { SHOP_V1 } from '../runner/shop';

// A deployment's steps write only their `steps` rows; the project's `objects` rows follow from its applied steps in one
// statement when it ends (`Ledger.fold`). Every reader sees what per-step rows would say: a running deployment's
// applied steps are merged into what `objects` holds, and one whose process died is folded by the next lock holder.

/** A workspace on a scratch database of the server, removed when the test ends. */
async function workspace(files: Record<string, string>): Promise<TestWorkspace> {
  const w = await workspaceWith('postgres', files);
  onTestFinished(() => w.remove());
  return w;
}

/** Shop v1 (5 steps) and a migration that sleeps 2 s: a deployment still running after its first five steps. */
const SLOW_SHOP = {
  ...SHOP_V1,
  'shop/migrations/V2__slow.sql': 'SELECT pg_sleep(2);\n',
  'shop/migrations/V2__slow.rollback.sql': 'SELECT 0;\n',
};

/** Start deploying the slow shop in a process of its own, and kill it while its migration sleeps. */
async function killedHalfWay(w: TestWorkspace): Promise<void> {
  const a = await spawnDbee(w.root, ['deploy', 'shop'], w.target.vars);
  await a.waitFor('migrate migration:shop/V2');
  a.child.kill('SIGKILL');
  expect(await a.exit).toBeNull();
}
const OBJECTS = ['function:shop.greet(text)', 'schema:shop', 'table:shop.customers', 'view:shop.names'];

type ObjectRow = { object_key: string; checksum: string; deployment_id: string };
const objectsOf = (w: TestWorkspace) =>
  w.target.query<ObjectRow>(
    "SELECT object_key, checksum, deployment_id::text FROM dbee.objects WHERE project = 'shop' ORDER BY object_key",
  );
/** The checksums the applied (or since undone) non-migration steps of deployment `id` recorded, by object. */
const stepChecksums = async (w: TestWorkspace, id: number) =>
  Object.fromEntries(
    (
      await w.target.query<{ object_key: string; checksum: string }>(
        "SELECT object_key, checksum FROM dbee.steps WHERE deployment_id = $1 AND status IN ('applied', 'undone') AND action <> 'migrate'",
        [id],
      )
    ).map((r) => [r.object_key, r.checksum]),
  );

/** A project of a table and a view over it, deployed without an automatic rollback and with its hazards allowed. */
const VIEW_OVER_TABLE = {
  'dbee.yaml': workspaceYaml('postgres', {
    environment: 'deploy:\n  allowHazards: [backward-incompatible, data-loss]\n  autoRollback: false',
  }),
  'm/db.yaml': dbYaml('m'),
  'm/a_schema.sql': 'CREATE SCHEMA m;\n',
  'm/t.sql': 'CREATE TABLE m.t (id int PRIMARY KEY, v text);\n',
  'm/v1.sql': 'CREATE VIEW m.v1 AS SELECT id, v FROM m.t;\n',
};

describe('objects folded from the steps when a deployment ends [postgres]', () => {
  it('while it runs, its steps write no objects rows; its end writes them all', async () => {
    const w = await workspace(SLOW_SHOP);
    const a = await spawnDbee(w.root, ['deploy', 'shop'], w.target.vars);
    await a.waitFor('migrate migration:shop/V2');
    expect(await objectsOf(w)).toEqual([]);
    expect(await a.exit).toBe(0);
    const checksums = await stepChecksums(w, 1);
    expect(await objectsOf(w)).toEqual(
      OBJECTS.map((key) => ({ object_key: key, checksum: checksums[key], deployment_id: '1' })),
    );
    expect(await w.target.query('SELECT status, steps_applied FROM dbee.deployments')).toEqual([
      { status: 'succeeded', steps_applied: 6 },
    ]);
  });

  it('killed half-way: status and a dry run see its applied steps, the next deployment folds them and resumes', async () => {
    const w = await workspace(SLOW_SHOP);
    await killedHalfWay(w);
    expect(await objectsOf(w)).toEqual([]);

    const status = await run(w.root, 'status', { project: 'shop' }, w.target.vars);
    expect(status.stdout).toMatch(/pending: 1 step\(s\)\n\s+migrate migration:shop\/V2\n/);
    const dry = await run(w.root, 'deploy', { project: 'shop', dryRun: true }, w.target.vars);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('-- step 1/1: migrate migration:shop/V2');

    const again = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/shop: deploying 1 step \(deployment \d+\)/);
    const checksums = await stepChecksums(w, 1);
    expect(await objectsOf(w)).toEqual(
      OBJECTS.map((key) => ({ object_key: key, checksum: checksums[key], deployment_id: '1' })),
    );
  });

  it('killed half-way, then rolled back: the rollback finds the objects its steps left and undoes them', async () => {
    const w = await workspace(SLOW_SHOP);
    await killedHalfWay(w);

    const back = await run(w.root, 'rollback', { project: 'shop', assumeYes: true }, w.target.vars);
    expect(back.code).toBe(0);
    expect(back.stdout).toContain('undoing deployment #1 (deploy, interrupted, 5 steps)');
    // Each undo recorded the state it found: the checksum the undone step had left.
    const checksums = await stepChecksums(w, 1);
    const undos = await w.target.query<{ object_key: string; previous_checksum: string | null }>(
      "SELECT object_key, previous_checksum FROM dbee.steps WHERE deployment_id = 2 AND object_key NOT LIKE 'migration:%' ORDER BY object_key",
    );
    expect(undos).toEqual(OBJECTS.map((key) => ({ object_key: key, previous_checksum: checksums[key] })));
    expect(await objectsOf(w)).toEqual([]);
    expect(await w.target.query("SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'shop'")).toEqual([
      { n: 0 },
    ]);
  });

  it("a step's previous checksum follows an earlier step of the same deployment on the same object; a drop is folded", async () => {
    const w = await workspace(VIEW_OVER_TABLE);
    type Step = { object_key: string; action: string; status: string; previous_checksum: string | null };
    const stepsOf = (id: number) =>
      w.target.query<Step>(
        'SELECT object_key, action, status, previous_checksum FROM dbee.steps WHERE deployment_id = $1 ORDER BY step_order',
        [id],
      );
    const objects = () =>
      w.target.query("SELECT object_key, checksum FROM dbee.objects WHERE project = 'm' ORDER BY object_key");
    expect((await run(w.root, 'deploy', { project: 'm' }, w.target.vars)).code).toBe(0);
    const first = await stepChecksums(w, 1);

    // The view dropped and made again around its table's change: the creation found what the drop before it left.
    w.write('m/t.sql', 'CREATE TABLE m.t (id int PRIMARY KEY, v varchar(10));\n');
    w.write('m/v1.sql', 'CREATE VIEW m.v1 AS SELECT id, v, 1 AS one FROM m.t;\n');
    expect((await run(w.root, 'deploy', { project: 'm' }, w.target.vars)).code).toBe(0);
    expect(await stepsOf(2)).toEqual([
      { object_key: 'view:m.v1', action: 'drop', status: 'applied', previous_checksum: first['view:m.v1'] },
      { object_key: 'table:m.t', action: 'alter', status: 'applied', previous_checksum: first['table:m.t'] },
      { object_key: 'view:m.v1', action: 'create', status: 'applied', previous_checksum: null },
    ]);
    const second = Object.fromEntries(
      (await objects()).map((o) => [(o as { object_key: string }).object_key, (o as { checksum: string }).checksum]),
    );

    // The view's file removed: its drop is folded (no objects row left).
    rmSync(join(w.root, 'm/v1.sql'));
    const r = await run(w.root, 'deploy', { project: 'm', prune: true }, w.target.vars);
    expect(r.code, r.stderr).toBe(0);
    expect(await stepsOf(3)).toEqual([
      { object_key: 'view:m.v1', action: 'drop', status: 'applied', previous_checksum: second['view:m.v1'] },
    ]);
    expect(await objects()).toEqual([
      { object_key: 'schema:m', checksum: first['schema:m'] },
      { object_key: 'table:m.t', checksum: second['table:m.t'] },
    ]);
  });

  it('a failure inside a re-creation rolls back the whole of it: no step applied, no object row changed', async () => {
    const w = await workspace(VIEW_OVER_TABLE);
    expect((await run(w.root, 'deploy', { project: 'm' }, w.target.vars)).code).toBe(0);
    const before = await w.target.query('SELECT object_key, checksum FROM dbee.objects ORDER BY object_key');
    await w.target.query(`CREATE FUNCTION public.no_views() RETURNS event_trigger LANGUAGE plpgsql AS
      $$ BEGIN RAISE EXCEPTION 'no views here'; END $$`);
    await w.target.query(
      "CREATE EVENT TRIGGER no_views ON ddl_command_end WHEN TAG IN ('CREATE VIEW') EXECUTE FUNCTION public.no_views()",
    );
    w.write('m/t.sql', 'CREATE TABLE m.t (id int PRIMARY KEY, v varchar(10));\n');
    w.write('m/v1.sql', 'CREATE VIEW m.v1 AS SELECT id, v, 1 AS one FROM m.t;\n');
    const r = await run(w.root, 'deploy', { project: 'm' }, w.target.vars);
    await w.target.query('DROP EVENT TRIGGER no_views');
    expect(r.code).toBe(2);
    expect(
      (
        await w.target.query<{ status: string }>(
          'SELECT status FROM dbee.steps WHERE deployment_id = 2 ORDER BY step_order',
        )
      ).map((s) => s.status),
    ).toEqual(['rolled-back', 'rolled-back', 'failed']);
    expect(await w.target.query('SELECT object_key, checksum FROM dbee.objects ORDER BY object_key')).toEqual(before);
    expect(
      await w.target.query(
        "SELECT data_type FROM information_schema.columns WHERE table_name = 't' AND column_name = 'v'",
      ),
    ).toEqual([{ data_type: 'text' }]);
  });
});
