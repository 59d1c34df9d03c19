import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { ENGINES, snapshot, type TestWorkspace } from '../runner/helpers';
import {
  backToV1,
  catalog,
  deployments,
  deployOk,
  diffCount,
  objects,
  shopAtV1,
  shopsAtV1,
  V2,
  writeAll,
} from './fixture';

let workspaces: TestWorkspace[] = [];
afterEach(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});
const keep = (w: TestWorkspace) => (workspaces.push(w), w);
/** Shop v1 deployed once per engine and sources, a copy per case (a state of one case on PGlite deploys in place). */
const shops = shopsAtV1();
afterAll(() => shops.removeAll());
/** The sources grant EXECUTE on shop.greet to PUBLIC: a REVOKE by hand is drift. */
const GRANTED = { 'shop/grants.sql': 'GRANT EXECUTE ON FUNCTION shop.greet(text) TO PUBLIC;\n' };

/**
 * The first case (v2 to v1 and back, the converged checks by the fingerprint, the ledger's pairs of steps), the
 * refused rollback of a table holding rows (the rows read through the engine) and the rollback of a deployment that put
 * back a hand edit (the fingerprint read before its steps, recorded) run on both engines. The others judge what the
 * ledger recorded (fingerprints and their formats, which deployments `--to` undoes, what a dry run prints, the
 * convergence report of a rollback script that undoes nothing): core code that both engines reach through the same
 * statements, so they run on the server only, where a case costs about a third of PGlite's (CONTRIBUTING.md,
 * "Engine-independent matrices run whole on one engine, one cell on the other"; PGlite keeps the three cases above and
 * the generated column below).
 */
const everyCase = (engine: (typeof ENGINES)[number]) => engine === 'postgres';

describe.each(ENGINES)('rollback [%s]', (engine) => {
  it('rolls back v2 to v1 (diff against v1 empty), a rollback of the rollback restores v2, and deploys afterwards do the right thing', async () => {
    const w = keep(await shops.atV1(engine));
    const v1 = await catalog(w);
    const v1Objects = await objects(w.target);
    writeAll(w, V2);
    expect(await deployOk(w)).toContain('shop: deployed');
    await w.target.query("UPDATE shop.customers SET email = 'ada@example.com' WHERE id = 1");
    const v2 = await catalog(w);
    const v2Objects = await objects(w.target);
    expect(v2).not.toEqual(v1);

    const back = await run(w.root, 'rollback', { project: 'shop' }, w.target.vars);
    expect(back.stderr).toBe('');
    expect(back.code).toBe(0);
    expect(back.stdout).toContain('shop: undoing deployment #2 (deploy, succeeded');
    expect(back.stdout).toMatch(/shop: deployment #2 rolled back: \d+ steps undone in .* \(deployment #3\)/);
    expect(back.stdout).toMatch(/smoke: +shop passed/);
    // Compared with the state deployment #1 recorded (its fingerprint): the same.
    expect(back.stdout).toContain('shop: converged: its schemas are as deployment #1 left them');
    expect(await catalog(w)).toEqual(v1);
    expect(await objects(w.target)).toEqual(v1Objects);
    expect(await w.target.query('SELECT id, name FROM shop.customers ORDER BY id')).toEqual([
      { id: 1, name: 'ada' },
      { id: 2, name: 'bob' },
    ]);
    expect(await deployments(w.target)).toEqual([
      { id: 1, kind: 'deploy', status: 'succeeded', reverts: null, steps_applied: 5 },
      { id: 2, kind: 'deploy', status: 'succeeded', reverts: null, steps_applied: 0 },
      { id: 3, kind: 'rollback', status: 'succeeded', reverts: 2, steps_applied: expect.any(Number) },
    ]);
    // Each step of the rollback records what ran and, as its reverse, the statements of the step it undid.
    const pairs = await w.target.query<{
      undone: string[];
      ran: string[];
      reverse: string[];
      forward_reverse: string[];
      status: string;
      reverts_step: number;
    }>(
      `SELECT d.statements AS undone, d.reverse_statements AS forward_reverse, r.statements AS ran, r.reverse_statements AS reverse, d.status, r.reverts_step
         FROM dbee.steps r JOIN dbee.steps d ON d.deployment_id = 2 AND d.step_order = r.reverts_step WHERE r.deployment_id = 3 ORDER BY r.step_order`,
    );
    expect(pairs.length).toBeGreaterThan(3);
    for (const p of pairs) {
      expect(p.status).toBe('undone');
      expect(p.reverse).toEqual(p.undone);
      // What ran is the recorded reverse (a view that gained columns is dropped first: it cannot be replaced back).
      expect(p.ran.slice(-p.forward_reverse.length)).toEqual(p.forward_reverse);
    }
    // Newest first: the rollback undoes step N of deployment 2 first.
    expect(pairs.map((p) => p.reverts_step)).toEqual([...pairs.map((p) => p.reverts_step)].sort((a, b) => b - a));

    // The live schema is v1: a diff against v1's sources is empty, and deploying them has nothing to do.
    backToV1(w);
    expect(await diffCount(w)).toBe(0);
    expect(await deployOk(w)).toContain('shop: nothing to deploy, the database is up to date');

    // A rollback of the rollback restores v2 (the email column comes back empty: its data went with the rollback).
    const again = await run(w.root, 'rollback', { project: 'shop' }, w.target.vars);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('shop: undoing deployment #3 (rollback, succeeded');
    // The email column put back takes a new position, which the fingerprint deployment #2 recorded holds; the
    // position-free one it recorded too is equal (failed before: "not proven converged").
    expect(again.stdout).toContain(
      "shop: converged: its schemas are as deployment #2 left them (the fingerprint it recorded, the columns' positions aside)",
    );
    expect(await catalog(w)).toEqual(v2);
    expect(await objects(w.target)).toEqual(v2Objects);
    expect(await w.target.query('SELECT status FROM dbee.steps WHERE deployment_id = 2 GROUP BY status')).toEqual([
      { status: 'applied' },
    ]);
    writeAll(w, V2);
    expect(await diffCount(w)).toBe(0);
    expect(await deployOk(w)).toContain('shop: nothing to deploy, the database is up to date');

    // Rolled back once more (to v1), a deploy of the newer sources applies them again.
    const third = await run(w.root, 'rollback', { project: 'shop' }, w.target.vars);
    expect(third.code).toBe(0);
    expect(third.stdout).toContain('undoing deployment #4 (rollback');
    expect(await catalog(w)).toEqual(v1);
    expect(await deployOk(w)).toMatch(/shop: deployed [1-9]\d* steps? .*\(deployment 6\)/);
    expect(await catalog(w)).toEqual(v2);
    expect(await diffCount(w)).toBe(0);
    // Eleven commands in a row, several of them diffs that build a shadow database: longer than one test's default.
  });

  it('a table the deployment created that holds rows written since refuses the rollback (exit 1, nothing changed) unless --force', async () => {
    const w = keep(await shops.atV1(engine));
    // With a migration whose rollback script (run first) does not name the table: it cannot have emptied it.
    writeAll(w, {
      ...V2,
      'shop/migrations/V2__touch.sql': 'SELECT 1;\n',
      'shop/migrations/V2__touch.rollback.sql': 'SELECT 2;\n',
    });
    await deployOk(w);
    await w.target.query('INSERT INTO shop.orders VALUES (1, 1, 9.5), (2, 2, 3)');
    const before = await snapshot(w.target);
    // Failed before: exit 0, shop.orders dropped with its two rows.
    const back = await run(w.root, 'rollback', { project: 'shop' }, w.target.vars);
    expect(back.code, back.stdout + back.stderr).toBe(1);
    expect(back.stderr).toContain(
      'cannot be undone without losing data: undoing it drops shop.orders, which the deployment created and which holds 2 rows written since',
    );
    expect(back.stderr).toContain('then pass --force to accept dropping it with its rows');
    expect((await snapshot(w.target)).hash).toBe(before.hash);
    const forced = await run(w.root, 'rollback', { project: 'shop', force: true }, w.target.vars);
    expect(forced.code, forced.stdout + forced.stderr).toBe(0);
    expect(await w.target.query("SELECT to_regclass('shop.orders') AS t")).toEqual([{ t: null }]);
  });

  if (everyCase(engine))
    it('a migration whose rollback script changes nothing fails the rollback, not converged (exit 2), recorded failed', async () => {
      const w = keep(await shops.atV1(engine));
      // A migration that changes the schema, with a rollback script that changes nothing.
      writeAll(w, {
        'shop/migrations/V2__note.sql': 'ALTER TABLE shop.customers ADD COLUMN note text;\n',
        'shop/migrations/V2__note.rollback.sql': 'SELECT 1;\n',
      });
      await deployOk(w);
      const back = await run(w.root, 'rollback', { project: 'shop' }, w.target.vars);
      // Failed before: exit 0, "not proven converged".
      expect(back.code, back.stderr).toBe(2);
      expect(back.stdout).not.toContain('shop: converged');
      expect(back.stderr).toContain(
        'shop: not converged: every step of the rollback ran (deployment #3), but its schemas then differ from the state deployment #1 left',
      );
      // What it can say of what differs: the step that undid the migration, by its rollback script; and what to do.
      expect(back.stderr).toMatch(/migration:shop\/V2: undone by its rollback script/);
      expect(back.stderr).toContain('a rollback script that does not undo its migration?');
      expect(back.stderr).toContain('dbee diff shop --env target names what differs from the sources');
      expect(back.stderr).not.toMatch(/^\s+at /m);
      // The rollback's step ran and stays applied; its deployment is recorded failed, not converged.
      expect(
        await w.target.query(
          "SELECT 1 AS x FROM information_schema.columns WHERE table_schema = 'shop' AND column_name = 'note'",
        ),
      ).toEqual([{ x: 1 }]);
      const [row] = await w.target.query<{ status: string; error: string; summary: { notConverged?: string[] } }>(
        'SELECT status, error, summary FROM dbee.deployments WHERE id = 3',
      );
      expect(row!.status).toBe('failed');
      expect(row!.error).toContain('shop: not converged');
      expect(row!.summary.notConverged).toEqual(['migration:shop/V2']);
    });

  it('a deployment that put back changes made outside dbee is rolled back to the state it started from, the hand edit included; an undo that misses something still fails', async () => {
    // The only case from this state on PGlite, deployed in place there (`shopsAtV1`: a copy pays from the second).
    const w = keep(await (engine === 'pglite' ? shopAtV1 : shops.atV1)(engine, '', GRANTED));
    // A hand edit (drift), put back by deployment #2 (--if-exists drop) along with a new table.
    await w.target.query('REVOKE EXECUTE ON FUNCTION shop.greet(text) FROM PUBLIC');
    const edited = await catalog(w);
    writeAll(w, { 'shop/orders.sql': V2['shop/orders.sql']! });
    const put = await run(w.root, 'deploy', { project: 'shop', ifExists: 'drop' }, w.target.vars);
    expect(put.code, put.stderr).toBe(0);
    expect(put.stdout + put.stderr).toContain('shop: changed outside dbee since deployment #1');
    // A hand edit after deployment #2 still refuses the rollback (its own drift check), as before.
    await w.target.query("COMMENT ON COLUMN shop.orders.total IS 'by hand'");
    const refused = await run(w.root, 'rollback', { project: 'shop' }, w.target.vars);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('the schemas of shop changed outside dbee since deployment #2');
    await w.target.query('COMMENT ON COLUMN shop.orders.total IS NULL');

    // The rollback brings the hand edit back (the reverse of the step that put it back): the state #2 started from.
    const back = await run(w.root, 'rollback', { project: 'shop' }, w.target.vars);
    // Failed before: exit 2, "not converged ... differ from the state deployment #1 left".
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain(
      "shop: converged: its schemas are as they were before deployment #2, changes made outside dbee included (the fingerprint it read before its steps, the columns' positions aside)",
    );
    expect(await catalog(w)).toEqual(edited);

    // Again over a hand edit, a deployment (#4) whose migration's rollback script changes nothing: compared with the
    // state #4 started from, the column it leaves is still found (exit 2).
    await w.target.query("COMMENT ON COLUMN shop.names.name IS 'by hand'");
    writeAll(w, {
      'shop/migrations/V2__note.sql': 'ALTER TABLE shop.customers ADD COLUMN note text;\n',
      'shop/migrations/V2__note.rollback.sql': 'SELECT 1;\n',
    });
    const again = await run(w.root, 'deploy', { project: 'shop', ifExists: 'drop' }, w.target.vars);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout + again.stderr).toContain('shop: changed outside dbee since deployment #3');
    const missed = await run(w.root, 'rollback', { project: 'shop' }, w.target.vars);
    expect(missed.code, missed.stderr).toBe(2);
    expect(missed.stderr).toContain(
      "shop: not converged: every step of the rollback ran (deployment #5), but its schemas then differ from the state before deployment #4, changes made outside dbee included (the fingerprint it read before its steps, the columns' positions aside)",
    );
    expect(missed.stderr).toMatch(/migration:shop\/V2: undone by its rollback script/);
  });

  if (everyCase(engine))
    it("compared with a deployment that recorded no position-free fingerprint (an older dbee's), a difference is not proven converged, not a failure", async () => {
      const w = keep(await shops.atV1(engine));
      writeAll(w, {
        'shop/migrations/V2__note.sql': 'ALTER TABLE shop.customers ADD COLUMN note text;\n',
        'shop/migrations/V2__note.rollback.sql': 'SELECT 1;\n',
      });
      await deployOk(w);
      const [first] = await w.target.query<{ summary: { positionFreeFingerprint?: string } }>(
        'SELECT summary FROM dbee.deployments WHERE id = 1',
      );
      expect(first!.summary.positionFreeFingerprint).toMatch(/^pg4np:\d+:[0-9a-f]{32}$/);
      await w.target.query("UPDATE dbee.deployments SET summary = summary - 'positionFreeFingerprint' WHERE id = 1");
      const back = await run(w.root, 'rollback', { project: 'shop' }, w.target.vars);
      expect(back.code, back.stderr).toBe(0);
      expect(back.stdout).toContain(
        "shop: not proven converged: its schemas' fingerprint differs from the one deployment #1 recorded",
      );
      expect(back.stdout).not.toContain('shop: converged');
    });

  if (everyCase(engine))
    it('compared with a deployment an earlier dbee recorded in an earlier fingerprint format: not compared, not a failure', async () => {
      const w = keep(await shops.atV1(engine));
      writeAll(w, V2);
      await deployOk(w);
      // Deployment #1's fingerprints as an earlier dbee recorded them (`pg3`, which prints less than `pg4`).
      await w.target.query(
        `UPDATE dbee.deployments SET summary = summary
           || jsonb_build_object('fingerprint', regexp_replace(summary->>'fingerprint', '^pg4:', 'pg3:'))
           || jsonb_build_object('positionFreeFingerprint', regexp_replace(summary->>'positionFreeFingerprint', '^pg4np:', 'pg3np:'))
         WHERE id = 1`,
      );
      const back = await run(w.root, 'rollback', { project: 'shop' }, w.target.vars);
      expect(back.code, back.stderr).toBe(0);
      expect(back.stdout).toContain(
        'shop: not compared with deployment #1: it recorded its fingerprint in an earlier format (pg3, by an earlier dbee)',
      );
    });

  if (everyCase(engine))
    it('--dry-run prints the SQL of the rollback and changes nothing, not even the ledger', async () => {
      const w = keep(await shops.atV1(engine));
      writeAll(w, V2);
      await deployOk(w);
      const before = await snapshot(w.target);
      const r = await run(w.root, 'rollback', { project: 'shop', dryRun: true }, w.target.vars);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('-- undo deployment #2 (deploy succeeded');
      expect(r.stdout).toMatch(/DROP TABLE shop\.orders;/);
      expect(r.stdout).toMatch(/--\s+hazard data-loss: DROP TABLE shop\.orders.*since deployment #2 is lost/);
      expect(r.stdout).toMatch(/CREATE OR REPLACE VIEW shop\.names AS/);
      expect(r.stdout).toContain('dry run: nothing was applied');
      expect((await snapshot(w.target)).hash).toBe(before.hash);
      // A CHECK the sources add to an existing table: its undo drops the constraint, not the table (it said `drop
      // table:shop.customers` before).
      w.write(
        'shop/customers.sql',
        V2['shop/customers.sql']!.replace('name text NOT NULL', 'name text NOT NULL CHECK (length(name) > 0)'),
      );
      await deployOk(w);
      const check = await run(w.root, 'rollback', { project: 'shop', dryRun: true }, w.target.vars);
      expect(check.code, check.stderr).toBe(0);
      expect(check.stdout).toContain('-- step 1/1: alter table:shop.customers  (undoes step 1: add-constraint)');
      expect(check.stdout).toMatch(/ALTER TABLE shop\.customers DROP CONSTRAINT customers_name_check;/);
      // Selected alone, the table is not taken for one the undo drops (which shop.names, standing on it, would lose:
      // refused before).
      const alone = await run(
        w.root,
        'rollback',
        { project: 'shop', dryRun: true, objects: ['table:shop.customers'] },
        w.target.vars,
      );
      expect(alone.code, alone.stdout + alone.stderr).toBe(0);
      expect(alone.stdout).toContain('DROP CONSTRAINT customers_name_check');
    });

  if (everyCase(engine))
    it('--to <deployment> undoes every later deployment, newest first; --to V<n> stops after that migration', async () => {
      const w = keep(await shops.atV1(engine));
      const v1 = await catalog(w);
      writeAll(w, {
        ...V2,
        'shop/migrations/V2__more.sql': "INSERT INTO shop.customers VALUES (3, 'cy');\n",
        'shop/migrations/V2__more.rollback.sql': 'DELETE FROM shop.customers WHERE id = 3;\n',
      });
      await deployOk(w);
      const v2 = await catalog(w);
      writeAll(w, {
        'shop/greet.sql':
          "CREATE OR REPLACE FUNCTION shop.greet(n text) RETURNS text LANGUAGE sql AS $$ SELECT 'hey ' || n $$;\n",
        'shop/migrations/V3__more.sql': "INSERT INTO shop.customers VALUES (4, 'di');\n",
        'shop/migrations/V3__more.rollback.sql': 'DELETE FROM shop.customers WHERE id = 4;\n',
      });
      await deployOk(w);

      const toV2 = await run(w.root, 'rollback', { project: 'shop', to: 'V2' }, w.target.vars);
      expect(toV2.stderr).toBe('');
      expect(toV2.code).toBe(0);
      expect(await catalog(w)).toEqual(v2);
      expect(await w.target.query('SELECT id::int FROM shop.customers ORDER BY id')).toEqual([
        { id: 1 },
        { id: 2 },
        { id: 3 },
      ]);
      expect(await w.target.query('SELECT version FROM dbee.migrations ORDER BY 1')).toEqual([
        { version: '1' },
        { version: '2' },
      ]);

      const toFirst = await run(w.root, 'rollback', { project: 'shop', to: '1' }, w.target.vars);
      expect(toFirst.stderr).toBe('');
      expect(toFirst.code).toBe(0);
      expect(toFirst.stdout).toContain('undoing deployment #2');
      expect(toFirst.stdout).not.toContain('undoing deployment #3');
      expect(toFirst.stdout).not.toContain('undoing deployment #4');
      expect(await catalog(w)).toEqual(v1);
      expect(await w.target.query('SELECT id::int FROM shop.customers ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }]);
      expect((await deployments(w.target)).map((d) => [d.id, d.kind, d.reverts])).toEqual([
        [1, 'deploy', null],
        [2, 'deploy', null],
        [3, 'deploy', null],
        [4, 'rollback', 3],
        [5, 'rollback', 2],
      ]);

      const nothing = await run(w.root, 'rollback', { project: 'shop', to: '1' }, w.target.vars);
      expect(nothing.code).toBe(0);
      expect(nothing.stdout).toContain('shop: nothing to roll back on target');
      const bad = await run(w.root, 'rollback', { project: 'shop', to: '99' }, w.target.vars);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('--to 99: deployment 99 is not a deployment of shop on target');
    });
});

// The recording is the first case's, on both engines; what `--to` compares with is engine-neutral: on the server only.
describe('rollback --to over drift put back [postgres]', () => {
  it('--to <id> over deployments that put back changes made outside dbee: judged against the state the oldest undone one started from', async () => {
    const w = keep(await shops.atV1('postgres', '', GRANTED));
    await w.target.query('REVOKE EXECUTE ON FUNCTION shop.greet(text) FROM PUBLIC');
    const edited = await catalog(w);
    writeAll(w, { 'shop/orders.sql': V2['shop/orders.sql']! });
    expect((await run(w.root, 'deploy', { project: 'shop', ifExists: 'drop' }, w.target.vars)).code).toBe(0);
    w.write('shop/items.sql', 'CREATE TABLE shop.items (id int PRIMARY KEY);\n');
    await deployOk(w);
    const toFirst = await run(w.root, 'rollback', { project: 'shop', to: '1' }, w.target.vars);
    // Failed before: exit 2, compared with the state deployment #1 left.
    expect(toFirst.code, toFirst.stderr).toBe(0);
    expect(toFirst.stdout).toContain(
      'shop: converged: its schemas are as they were before deployment #2, changes made outside dbee included',
    );
    expect(await catalog(w)).toEqual(edited);

    // A hand edit put back by a later deployment (#7) than the oldest one undone (#6): undoing #7 brings it back, so
    // the state #6 started from is not reached, and which of the two a difference is cannot be told: said, not failed.
    await deployOk(w);
    await w.target.query("COMMENT ON COLUMN shop.customers.name IS 'by hand'");
    w.write('shop/tags.sql', 'CREATE TABLE shop.tags (id int PRIMARY KEY);\n');
    expect((await run(w.root, 'deploy', { project: 'shop', ifExists: 'drop' }, w.target.vars)).code).toBe(0);
    const toFive = await run(w.root, 'rollback', { project: 'shop', to: '5' }, w.target.vars);
    expect(toFive.code, toFive.stderr).toBe(0);
    expect(toFive.stdout).toContain('shop: not proven converged: its schemas differ from the state deployment #5 left');
    expect(toFive.stdout).toContain('deployment #7 put back changes made outside dbee after deployment #6');
  });
});

describe('rollback of a generated column whose expression changed [pglite]', () => {
  it('puts the column, its values and the unique constraint on it back (failed before: no reverse for the drop)', async () => {
    const people = (expression: string) => ({
      'shop/customers.sql': `CREATE TABLE shop.customers (id int PRIMARY KEY, name text NOT NULL, name_key text GENERATED ALWAYS AS (${expression}) STORED UNIQUE);\n`,
    });
    const w = keep(await shopAtV1('pglite', '', people('lower(name)')));
    await w.target.query("UPDATE shop.customers SET name = ' Ada ' WHERE id = 1");
    const before = await catalog(w);
    // The expression changes: the column is dropped and added again, and with it the unique constraint.
    writeAll(w, people('lower(btrim(name))'));
    expect(await deployOk(w, { assumeYes: true })).toContain('shop: deployed');
    expect(await w.target.query('SELECT name_key FROM shop.customers WHERE id = 1')).toEqual([{ name_key: 'ada' }]);
    const back = await run(w.root, 'rollback', { project: 'shop' }, w.target.vars);
    expect(back.code, back.stderr).toBe(0);
    expect(await catalog(w)).toEqual(before);
    expect(await w.target.query('SELECT id, name_key FROM shop.customers ORDER BY id')).toEqual([
      { id: 1, name_key: ' ada ' },
      { id: 2, name_key: 'bob' },
    ]);
  });
});
