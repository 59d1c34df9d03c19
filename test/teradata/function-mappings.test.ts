import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runBteq } from '../../packages/teradata/testing';
import { exportScripts, teradataWorkspace, type TeradataWorkspace } from './helpers';

// Function mappings on Teradata (#73 item 9, d-bee's `.mfnc`): `CREATE FUNCTION MAPPING [db.]name FOR [db.]function
// [SERVER ...] [EXTERNAL SECURITY [DEFINER | INVOKER] [TRUSTED] authorization] [USING ...]` (SQL Data Definition
// Language, "CREATE FUNCTION MAPPING and REPLACE FUNCTION MAPPING"). A mapping deploys after the function it maps and
// the authorization it names, is compared with SHOW FUNCTION MAPPING, conflict-checked, extracted and exported.

let w: TeradataWorkspace;
afterEach(() => w?.dispose());

const FUNCTION =
  'REPLACE FUNCTION orders_op (x INTEGER) RETURNS INTEGER LANGUAGE SQL CONTAINS SQL DETERMINISTIC ' +
  'SQL SECURITY DEFINER COLLATION INVOKER INLINE TYPE 1 RETURN x * 2;\n';
const AUTH = "CREATE AUTHORIZATION s3_public AS DEFINER TRUSTED USER '' PASSWORD '';\n";
const mapping = (location: string) =>
  `CREATE FUNCTION MAPPING orders_map FOR {{env}}_EDW.orders_op EXTERNAL SECURITY DEFINER TRUSTED s3_public USING LOCATION('${location}');\n`;

/** A mapping made by hand, of a function the double does not hold (unqualified: Teradata looks in SYSLIB too). */
const BY_HAND = "CREATE FUNCTION MAPPING DEV_EDW.orders_map FOR orders_op USING LOCATION('/by/hand/')";

function withMapping(): TeradataWorkspace {
  const made = teradataWorkspace();
  for (const folder of ['functions', 'function_mappings', 'authorizations'])
    mkdirSync(join(made.root, `schema/edw/${folder}`), { recursive: true });
  made.write('schema/edw/functions/orders_op.sql', FUNCTION);
  // `function_mappings/` sorts before `functions/`: only the reference puts the function first.
  made.write('schema/edw/function_mappings/orders_map.sql', mapping('/s3/bucket/orders/'));
  made.write('schema/edw/authorizations/s3_public.sql', AUTH);
  return made;
}

/** The db.yaml of the workspace with a conflict rule for the mapping's file. */
function mappingRule(t: TeradataWorkspace, strategy: string): void {
  const yaml = readFileSync(join(t.root, 'db.yaml'), 'utf8');
  t.write(
    'db.yaml',
    yaml.replace(
      'conflicts:\n',
      `conflicts:\n  - match: schema/edw/function_mappings/orders_map.sql\n    ifExists: ${strategy}\n`,
    ),
  );
}

describe('function mappings on Teradata (.mfnc)', () => {
  it('deployed after the function it maps and its authorization; compared with SHOW FUNCTION MAPPING; a change is REPLACE, rolled back to the old text', async () => {
    w = withMapping();
    const r = await w.dbee('deploy', { assumeYes: true });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const at = (s: string) => r.stdout.indexOf(s);
    expect(at('create function:DEV_EDW.ORDERS_OP')).toBeGreaterThan(0);
    expect(at('create function-mapping:DEV_EDW.ORDERS_MAP')).toBeGreaterThan(at('create function:DEV_EDW.ORDERS_OP'));
    expect(at('create function-mapping:DEV_EDW.ORDERS_MAP')).toBeGreaterThan(
      at('create authorization:DEV_EDW.S3_PUBLIC'),
    );
    expect(w.ledger('OBJECTS').map((o) => o.OBJECT_KEY)).toContain('function-mapping:DEV_EDW.ORDERS_MAP');
    const shown = await w.session.newSession().run('SHOW FUNCTION MAPPING DEV_EDW.orders_map');
    expect(String(shown.resultSets[0]!.rows.map((x) => x[0]).join(''))).toMatch(/LOCATION\('\/s3\/bucket\/orders\/'\)/);

    const same = await w.dbee('diff', {});
    expect(same.code, same.stdout + same.stderr).toBe(0);
    expect(same.stdout).not.toMatch(/ORDERS_MAP/);

    w.write('schema/edw/function_mappings/orders_map.sql', mapping('/s3/bucket/orders-v2/'));
    const changed = await w.dbee('diff', { format: 'json' });
    expect(changed.stdout).toMatch(/REPLACE FUNCTION MAPPING orders_map FOR DEV_EDW\.orders_op/);
    const replaced = await w.dbee('deploy', { assumeYes: true });
    expect(replaced.code, replaced.stdout + replaced.stderr).toBe(0);
    expect(w.session.catalog.get('DEV_EDW.ORDERS_MAP')?.show).toMatch(/orders-v2/);

    const back = await w.dbee('rollback', { assumeYes: true });
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(w.session.catalog.get('DEV_EDW.ORDERS_MAP')?.show).toMatch(/\/s3\/bucket\/orders\/'/);
  });

  it('a mapping made by hand: rename is refused (no RENAME FUNCTION MAPPING, exit 1, nothing changed); drop drops and creates it', async () => {
    w = withMapping();
    await w.session.newSession().run(BY_HAND);
    mappingRule(w, 'rename');
    const refused = await w.dbee('deploy', { assumeYes: true, ifExists: 'rename' });
    expect(refused.code, refused.stdout + refused.stderr).toBe(1);
    expect(refused.stderr).toMatch(/function-mapping:DEV_EDW\.ORDERS_MAP already exists/);
    expect(w.session.catalog.get('DEV_EDW.ORDERS_MAP')?.show).toMatch(/by\/hand/);

    const dropped = await w.dbee('deploy', { assumeYes: true, ifExists: 'drop' });
    expect(dropped.code, dropped.stdout + dropped.stderr).toBe(0);
    expect(w.session.catalog.get('DEV_EDW.ORDERS_MAP')?.show).toMatch(/\/s3\/bucket\/orders\//);
  });

  it('dbee extract writes a mapping from SHOW FUNCTION MAPPING into its file', async () => {
    w = withMapping();
    expect((await w.dbee('deploy', { assumeYes: true })).code).toBe(0);
    rmSync(join(w.root, 'schema/edw/function_mappings'), { recursive: true });
    const x = await w.dbee('extract', {});
    expect(x.code, x.stdout + x.stderr).toBe(0);
    expect(x.stdout).toMatch(
      /write schema\/edw\/function_mappings\/orders_map\.sql {2}\(function-mapping:DEV_EDW\.ORDERS_MAP\)/,
    );
    expect(readFileSync(join(w.root, 'schema/edw/function_mappings/orders_map.sql'), 'utf8')).toMatch(
      /^CREATE FUNCTION MAPPING orders_map FOR \{\{env\}\}_EDW\.orders_op .*USING LOCATION\('\/s3\/bucket\/orders\/'\);\n$/,
    );
  });

  it('a dictionary view extract cannot read is reported, not skipped: the other files are written, exit 1 naming it', async () => {
    w = withMapping();
    expect((await w.dbee('deploy', { assumeYes: true })).code).toBe(0);
    rmSync(join(w.root, 'schema/edw/views'), { recursive: true });
    // A user without SELECT on the view (3523), or a release whose view differs from dbee's reading of it.
    w.session.on(/DBC\.FunctionMappingsV/i, {
      error: { code: 3523, text: 'The user does not have SELECT access to DBC.FunctionMappingsV.' },
    });
    const x = await w.dbee('extract', {});
    expect(x.code, x.stdout + x.stderr).toBe(1);
    expect(x.stderr).toMatch(
      /function mappings of DEV_EDW: DBC\.FunctionMappingsV cannot be read \(Teradata error 3523\)/,
    );
    expect(x.stdout).toMatch(/write schema\/edw\/views\/v_customer_orders\.sql/);
  });

  it('BTEQ: the script creates the mapping after its function; one made by hand fails its step under rename, saying why, nothing changed', async () => {
    w = withMapping();
    const { deploy } = await exportScripts(w, 'out-create');
    const fresh = w.session.copySystem();
    const run = await runBteq(deploy, fresh.newSession());
    expect(run.exitCode, run.output.slice(-6).join('\n')).toBe(0);
    expect(fresh.catalog.get('DEV_EDW.ORDERS_MAP')?.show).toMatch(/FUNCTION MAPPING orders_map/);

    mappingRule(w, 'rename');
    const { deploy: renaming } = await exportScripts(w, 'out-rename');
    const s = w.session.copySystem();
    await s.newSession().run(BY_HAND);
    const failed = await runBteq(renaming, s.newSession());
    expect(failed.output.join('\n')).toMatch(/Teradata has no RENAME FUNCTION MAPPING/);
    expect(failed.exitCode).toBeGreaterThan(16);
    expect(s.catalog.get('DEV_EDW.ORDERS_MAP')?.show).toMatch(/by\/hand/);
    expect(s.rows('DBEE_LEDGER.LOCK')).toEqual([]);
  });
});
