import { Client } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { SCHEMAS_SQL } from '../../packages/postgres/src/introspect/catalog-queries';
import { SERVER_URL } from '../support/pg';
import { logRequests } from '../support/request-log';
import { run } from '../support/run';
import { ENGINES, type TestWorkspace } from './helpers';
import { deployedShop } from './shop';

let workspaces: TestWorkspace[] = [];
afterEach(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

/**
 * Issue #56: a view edited by hand is drift that no deployment writes over. `status` names it in its pending list; a
 * deployment of an unrelated change refuses it (the default strategy `raise`), its dry run too; with `--if-exists drop`
 * the plan puts it back to its sources' definition in a step named in the plan, and only then is the drift gone.
 */
describe.each(ENGINES)('drift is a fact a deployment never writes over [%s]', (engine) => {
  it('a hand-edited view is listed by status, refused by deploy, then put back by a step of the plan', async () => {
    const w = await deployedShop(engine);
    workspaces.push(w);
    const status = async () => {
      const r = await run(w.root, 'status', { project: 'shop', format: 'json' }, w.target.vars);
      expect(r.code).toBe(0);
      return JSON.parse(r.stdout);
    };
    const c = await w.target.connect();
    await c.execute('CREATE OR REPLACE VIEW shop.names AS SELECT id, name FROM shop.customers LIMIT 999');
    await c.close();
    const drifted = await status();
    expect(drifted.drift).toMatchObject({ state: 'yes', objects: ['view:shop.names'] });
    expect(drifted.pendingSteps).toEqual([{ key: 'view:shop.names', action: 'replace', drift: 'changed' }]);

    // An unrelated table: the deployment refuses the drift (exit 1) and applies nothing; so does its dry run.
    w.write('shop/notes.sql', 'CREATE TABLE shop.notes (id int PRIMARY KEY);\n');
    for (const dryRun of [true, false]) {
      const refused = await run(w.root, 'deploy', { project: 'shop', dryRun }, w.target.vars);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('view:shop.names was changed outside dbee since deployment #1');
    }
    expect(await w.target.query(`SELECT count(*)::int AS n FROM dbee.deployments`)).toEqual([{ n: 1 }]);
    expect(await w.target.query(`SELECT to_regclass('shop.notes') AS t`)).toEqual([{ t: null }]);

    // With a strategy that acts, the plan (and its dry run) names the step that puts the view back.
    const dry = await run(w.root, 'deploy', { project: 'shop', dryRun: true, ifExists: 'drop' }, w.target.vars);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/replace\s+view:shop\.names/);
    expect(dry.stdout).toContain('drift: changed outside dbee since deployment #1');
    const fixed = await run(w.root, 'deploy', { project: 'shop', ifExists: 'drop' }, w.target.vars);
    expect(fixed.code).toBe(0);
    const [view] = await w.target.query<{ def: string }>(`SELECT pg_get_viewdef('shop.names'::regclass) AS def`);
    expect(view!.def).not.toMatch(/LIMIT/i);
    const after = await status();
    expect(after.drift).toMatchObject({ state: 'no', objects: [] });
    expect(after.pendingSteps).toEqual([]);
    // The ledger holds the view at its sources' checksum: the next deployment has nothing to do.
    const again = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing to deploy');
  });
});

/**
 * Issue #61: a database copied from a deployed one (`CREATE DATABASE ... TEMPLATE`, a restored snapshot) holds the same
 * definitions under another identity (its fingerprint names the database). That is no drift: `status` says so, and a
 * deployment there reads the live schema once, for its plan, not a second time to look for hand changes. Server only:
 * a copied PGlite folder keeps its identity (same system identifier and database oid), so its fingerprint is equal.
 */
describe('a copy of a deployed database has not drifted [postgres]', () => {
  it('status says no drift; a deployment of a changed table reads the live schema once', async () => {
    const w = await deployedShop('postgres');
    workspaces.push(w);
    const url = new URL(String(w.target.vars.DBEE_RUNNER_URL));
    const copy = `${url.pathname.slice(1)}_copy`;
    await admin(`CREATE DATABASE ${copy} TEMPLATE ${url.pathname.slice(1)}`);
    try {
      url.pathname = `/${copy}`;
      const vars = { DBEE_RUNNER_URL: url.toString() };
      const status = await run(w.root, 'status', { project: 'shop', format: 'json' }, vars);
      expect(status.code).toBe(0);
      expect(JSON.parse(status.stdout).drift).toMatchObject({ state: 'no', objects: [] });

      // A column added in the table's source: the project is planned by a diff of the live schema.
      w.write(
        'shop/customers.sql',
        'CREATE TABLE shop.customers (id int PRIMARY KEY, name text NOT NULL, note text);\n',
      );
      const log = logRequests();
      const deployed = await run(w.root, 'deploy', { project: 'shop' }, vars).finally(log.restore);
      expect(deployed.stderr).toBe('');
      expect(deployed.code).toBe(0);
      const schemaReads = log.events.filter((e) => e.kind === 'sent' && e.text.includes(SCHEMAS_SQL.trim()));
      // One for its plan, one after its steps (the convergence check, narrowed to what they touched): none to look
      // for hand changes.
      expect(schemaReads).toHaveLength(2);
    } finally {
      await admin(`DROP DATABASE IF EXISTS ${copy} WITH (FORCE)`);
    }
  });
});

async function admin(sql: string): Promise<void> {
  const c = new Client({ connectionString: SERVER_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}
