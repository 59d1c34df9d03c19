import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { queryUrl, SERVER_URL } from '../support/pg';
import { ENGINES, type TestWorkspace } from '../runner/helpers';
import { asRole, shopsAtV1 } from './fixture';

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});
/** Shop v1 deployed once per engine, a copy per case. */
const shops = shopsAtV1();
afterAll(() => shops.removeAll());

/** Two roles for the test: `app` uses the function through PUBLIC, `report` holds an explicit grant with grant option. */
async function withRoles(w: TestWorkspace): Promise<{ app: string; report: string }> {
  const tag = randomBytes(4).toString('hex');
  const app = `dbee_app_${tag}`;
  const report = `dbee_report_${tag}`;
  for (const r of [app, report]) await w.target.query(`CREATE ROLE ${r}`);
  await w.target.query(`GRANT USAGE ON SCHEMA shop TO ${app}, ${report}`);
  await w.target.query(`GRANT EXECUTE ON FUNCTION shop.greet(text) TO ${report} WITH GRANT OPTION`);
  // Roles live in the cluster on a server: drop them once the test database is gone.
  if (w.target.engine === 'postgres')
    cleanups.unshift(async () => void (await queryUrl(SERVER_URL, `DROP ROLE IF EXISTS ${app}, ${report}`)));
  return { app, report };
}

describe.each(ENGINES)('disable and enable a routine [%s]', (engine) => {
  it('disable revokes EXECUTE from PUBLIC and every grantee (recorded exactly); a non-owner cannot call it; enable gives back the same grants', async () => {
    const w = await shops.atV1(engine);
    cleanups.push(() => w.remove());
    const { app, report } = await withRoles(w);
    expect(await asRole(w.target, app, "SELECT shop.greet('x') AS g")).toEqual({ rows: [{ g: 'hello x' }] });

    // A table made by hand refuses the change, in the dry run too (issue 79: a hand edit is never recorded as dbee's).
    await w.target.query('CREATE TABLE shop.by_hand (id int)');
    for (const dryRun of [true, false]) {
      const refused = await run(w.root, 'disable', { project: 'shop', object: 'shop.greet', dryRun }, w.target.vars);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('shop on target was changed outside dbee since deployment #1');
    }
    expect((await asRole(w.target, app, "SELECT shop.greet('x') AS g")).rows).toBeDefined();
    await w.target.query('DROP TABLE shop.by_hand');

    const dry = await run(w.root, 'disable', { project: 'shop', object: 'shop.greet', dryRun: true }, w.target.vars);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('REVOKE EXECUTE ON ROUTINE shop.greet(text) FROM PUBLIC;');
    expect((await asRole(w.target, app, "SELECT shop.greet('x') AS g")).rows).toBeDefined();

    const off = await run(w.root, 'disable', { project: 'shop', object: 'shop.greet' }, w.target.vars);
    expect(off.stderr).toBe('');
    expect(off.code).toBe(0);
    expect(off.stdout).toContain(
      `shop: disabled function:shop.greet(text) on target: EXECUTE revoked from PUBLIC, ${report} (deployment #2)`,
    );
    expect((await asRole(w.target, app, "SELECT shop.greet('x') AS g")).error).toContain(
      'permission denied for function greet',
    );
    expect((await asRole(w.target, report, "SELECT shop.greet('x') AS g")).error).toContain(
      'permission denied for function greet',
    );
    expect(await w.target.query("SELECT shop.greet('owner') AS g")).toEqual([{ g: 'hello owner' }]);
    const rows = await w.target.query<{
      kind: string;
      summary: { disabled: unknown };
      statements: string[];
      reverse_statements: string[];
      action: string;
    }>(
      'SELECT d.kind, d.summary, s.statements, s.reverse_statements, s.action FROM dbee.deployments d JOIN dbee.steps s ON s.deployment_id = d.id WHERE d.id = 2',
    );
    expect(rows).toEqual([
      {
        kind: 'disable',
        action: 'disable',
        summary: expect.objectContaining({
          disabled: { object: 'function:shop.greet(text)', how: 'revoke', revoked: ['PUBLIC', report] },
        }),
        statements: [
          'REVOKE EXECUTE ON ROUTINE shop.greet(text) FROM PUBLIC',
          `REVOKE EXECUTE ON ROUTINE shop.greet(text) FROM ${report}`,
        ],
        reverse_statements: [
          'GRANT EXECUTE ON ROUTINE shop.greet(text) TO PUBLIC',
          `GRANT EXECUTE ON ROUTINE shop.greet(text) TO ${report} WITH GRANT OPTION`,
        ],
      },
    ]);
    const twice = await run(w.root, 'disable', { project: 'shop', object: 'function:shop.greet(text)' }, w.target.vars);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('function:shop.greet(text) is already disabled on target (deployment #2)');

    const on = await run(w.root, 'enable', { project: 'shop', object: 'function:shop.greet(text)' }, w.target.vars);
    expect(on.stderr).toBe('');
    expect(on.code).toBe(0);
    expect(on.stdout).toContain('shop: enabled function:shop.greet(text) on target (deployment #3 reverts #2)');
    expect(await asRole(w.target, app, "SELECT shop.greet('x') AS g")).toEqual({ rows: [{ g: 'hello x' }] });
    expect(
      await w.target.query(
        `SELECT has_function_privilege('${report}', 'shop.greet(text)', 'EXECUTE WITH GRANT OPTION') AS g`,
      ),
    ).toEqual([{ g: true }]);
    expect(
      await w.target.query(
        'SELECT id::int, kind, reverts::int, steps_applied FROM dbee.deployments WHERE id > 1 ORDER BY id',
      ),
    ).toEqual([
      { id: 2, kind: 'disable', reverts: null, steps_applied: 0 },
      { id: 3, kind: 'enable', reverts: 2, steps_applied: 1 },
    ]);
    // Each recorded the fingerprint it left: no drift.
    const status = await run(w.root, 'status', { project: 'shop' }, w.target.vars);
    expect(status.stdout).toContain('drift: no');
    const again = await run(w.root, 'enable', { project: 'shop', object: 'shop.greet' }, w.target.vars);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('shop.greet is not disabled on target');
  });

  it('--rename moves the routine aside; enable renames it back, found by its name in the ledger; names the candidates when a name is ambiguous or missing', async () => {
    const w = await shops.atV1(engine);
    cleanups.push(() => w.remove());
    const off = await run(
      w.root,
      'disable',
      { project: 'shop', object: 'shop.greet(text)', rename: true, now: new Date('2026-11-21T10:30:00Z') },
      w.target.vars,
    );
    expect(off.stderr).toBe('');
    expect(off.code).toBe(0);
    expect(off.stdout).toContain('renamed to shop.greet_bak_20261121t103000');
    expect(
      await w.target.query(
        "SELECT to_regprocedure('shop.greet(text)') IS NULL AS gone, to_regprocedure('shop.greet_bak_20261121t103000(text)') IS NOT NULL AS aside",
      ),
    ).toEqual([{ gone: true, aside: true }]);
    // Rollback ignores disables: they are undone by enable.
    const on = await run(w.root, 'enable', { project: 'shop', object: 'shop.greet' }, w.target.vars);
    expect(on.stderr).toBe('');
    expect(on.code).toBe(0);
    expect(await w.target.query("SELECT shop.greet('x') AS g")).toEqual([{ g: 'hello x' }]);
    // The routine put back is compared with its sources, as a deployment's objects are (issue 88).
    expect(on.stdout).toContain('shop: converged: the object the deployment touched equals the sources');

    // Names the candidates when a name is ambiguous or missing (on the same database: the routine is back).
    await w.target.query("CREATE FUNCTION shop.greet(n int) RETURNS text LANGUAGE sql AS $$ SELECT 'n' $$");
    const amb = await run(w.root, 'disable', { project: 'shop', object: 'shop.greet' }, w.target.vars);
    expect(amb.code).toBe(1);
    expect(amb.stderr).toContain(
      'shop.greet names 2 routines on target: function:shop.greet(integer), function:shop.greet(text)',
    );
    const missing = await run(
      w.root,
      'disable',
      { project: 'shop', object: 'function:shop.greet(bigint)' },
      w.target.vars,
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('function:shop.greet(bigint) does not exist on target');
  });
});
