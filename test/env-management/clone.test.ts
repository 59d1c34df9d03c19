import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envWorkspace, type Engine } from './helpers';

/**
 * `clone --from prod --to test`: test's project schemas become equal to prod's (pg_dump compared on the server;
 * diff --against-env on both), through a reviewed plan whose hazards the target's settings gate, recorded in the
 * target's ledger as a deployment of kind clone.
 */
const v1 = {
  'shop/db.yaml': 'version: 1\nname: shop\nengine: postgres\nschemas: [shop]\n',
  'shop/schema/shop/tables/orders.sql':
    'CREATE TABLE shop.orders (id int PRIMARY KEY, total numeric NOT NULL DEFAULT 0);\n',
  'shop/schema/shop/functions/total.sql':
    'CREATE FUNCTION shop.total() RETURNS numeric LANGUAGE sql STABLE AS $$ SELECT sum(total) FROM shop.orders $$;\n',
};
const v2 = {
  'shop/schema/shop/tables/orders.sql':
    "CREATE TABLE shop.orders (id int PRIMARY KEY, total numeric NOT NULL DEFAULT 0, status text NOT NULL DEFAULT 'new');\nCOMMENT ON TABLE shop.orders IS 'Orders';\n",
  'shop/schema/shop/functions/total.sql':
    "CREATE FUNCTION shop.total() RETURNS numeric LANGUAGE sql STABLE AS $$ SELECT sum(total) FROM shop.orders WHERE status <> 'void' $$;\n",
  'shop/schema/shop/views/open_orders.sql':
    "CREATE VIEW shop.open_orders AS SELECT id, total FROM shop.orders WHERE status = 'new';\n",
};

/** `pg_dump --schema-only` of one schema, without its comments, SET lines and the random \\restrict keys. */
function dump(url: string): string {
  const out = execFileSync('pg_dump', ['--schema-only', '--no-owner', '--schema=shop', url], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter(
      (l) =>
        !l.startsWith('--') &&
        !l.startsWith('SET ') &&
        !l.startsWith('SELECT pg_catalog.set_config') &&
        !/^\\(un)?restrict /.test(l),
    )
    .join('\n')
    .replace(/\n{2,}/g, '\n\n');
}

describe.each<[Engine]>([['pglite'], ['postgres']])('clone --from prod --to test [%s]', (engine) => {
  const w = envWorkspace(engine, v1);
  beforeAll(() => w.setup(), 120_000);
  afterAll(() => w.teardown(), 120_000);
  const [prod, test] = [w.env(1), w.env(2)];

  it('refuses a gap plan with hazards the target does not allow, then makes test equal prod and records it', async () => {
    for (const env of [prod, test]) expect((await w.dbee('deploy', { project: 'shop', env })).code).toBe(0);
    for (const [f, t] of Object.entries(v2)) w.write(f, t);
    const r = await w.dbee('deploy', { project: 'shop', env: prod });
    expect(r.code, r.stderr).toBe(0);
    // test drifted on its own: a hand-made table and index that prod does not have.
    await w.exec(
      2,
      'CREATE TABLE shop.scratch (id int); INSERT INTO shop.scratch VALUES (1); CREATE INDEX orders_total ON shop.orders (total)',
    );
    const dry = await w.dbee('clone', { project: 'shop', from: prod, to: test, dryRun: true });
    expect(dry.code).toBe(1);
    // The plan is the gap from test as it is: the hand edit is put back visibly, never recorded as dbee's (issue 79).
    expect(dry.stderr).toContain(
      `shop on ${test} was changed outside dbee since deployment #1: the clone puts it back`,
    );
    expect(dry.stdout).toContain('DROP TABLE shop.scratch');
    expect(dry.stderr).toContain('data-loss');
    expect(await w.query(2, "SELECT to_regclass('shop.scratch') IS NOT NULL AS kept")).toEqual([{ kept: true }]);
    const refused = await w.dbee('clone', { project: 'shop', from: prod, to: test });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('nothing was applied');
    const c = await w.dbee('clone', { project: 'shop', from: prod, to: test, allowHazards: ['data-loss'] });
    expect(c.stderr).toBe(
      `warning: shop on ${test} was changed outside dbee since deployment #1: the clone puts it back to ${prod}'s schemas\n`,
    );
    expect(c.code).toBe(0);
    expect(c.stdout).toContain(`${test} now equals ${prod}`);
    const d = await w.dbee('diff', { project: 'shop', env: test, againstEnv: prod, format: 'json', cache: false });
    expect(JSON.parse(d.stdout).changes).toBe(0);
    if (engine === 'postgres') {
      const [p, t] = [dump(String(w.vars.EM_SERVER_URL)), dump(String(w.vars.EM_SERVER2_URL))];
      expect(p).toContain('CREATE VIEW shop.open_orders');
      expect(t).toBe(p);
    }
    const recorded = await w.query<{ kind: string; status: string }>(
      2,
      "SELECT kind, status FROM dbee.deployments WHERE kind = 'clone'",
    );
    expect(recorded).toEqual([{ kind: 'clone', status: 'succeeded' }]);
    // It records the state it started from, the hand edit included, which a rollback of it goes back to and is
    // compared with (not the state deployment #1 left).
    const [started] = await w.query<{ from: { fingerprint: string } | null; earlier: string }>(
      2,
      `SELECT c.summary->'startedFrom' AS from, d.summary->>'fingerprint' AS earlier
         FROM dbee.deployments c, dbee.deployments d WHERE c.kind = 'clone' AND d.id = 1`,
    );
    expect(started!.from?.fingerprint).toMatch(/^pg4:/);
    expect(started!.from!.fingerprint).not.toBe(started!.earlier);
    // test's ledger now says what prod's says: deploying the sources there has nothing to do, and no drift.
    const next = await w.dbee('deploy', { project: 'shop', env: test });
    expect(next.code, next.stderr).toBe(0);
    expect(next.stdout).toContain('shop: nothing to deploy');
    const status = JSON.parse((await w.dbee('status', { project: 'shop', env: test, format: 'json' })).stdout) as {
      drift: { state: string };
    };
    expect(status.drift.state).toBe('no');
    const again = await w.dbee('clone', { project: 'shop', from: prod, to: test });
    expect(again.stdout).toContain(`${test} already equals ${prod}`);
  });

  it('creates a SQL function after the view its body reads (the catalog records no such dependency)', async () => {
    // The view waits for the function it calls; the reader's name comes first: catalog order made the reader first,
    // and its body, checked when it is created, failed (`relation "shop.v_0010" does not exist`).
    w.write(
      'shop/schema/shop/functions/z_fmt.sql',
      'CREATE FUNCTION shop.z_fmt(numeric) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT $1::text $$;\n',
    );
    w.write(
      'shop/schema/shop/views/v_0010.sql',
      'CREATE VIEW shop.v_0010 AS SELECT id, shop.z_fmt(total) AS shown FROM shop.orders;\n',
    );
    w.write(
      'shop/schema/shop/functions/a_reader.sql',
      'CREATE FUNCTION shop.a_reader() RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT count(*) FROM shop.v_0010 $$;\n',
    );
    const r = await w.dbee('deploy', { project: 'shop', env: prod });
    expect(r.code, r.stderr).toBe(0);
    const c = await w.dbee('clone', { project: 'shop', from: prod, to: test });
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    expect(await w.query(2, 'SELECT shop.a_reader()::int AS n')).toEqual([{ n: 0 }]);
    const d = await w.dbee('diff', { project: 'shop', env: test, againstEnv: prod, format: 'json', cache: false });
    expect(JSON.parse(d.stdout).changes).toBe(0);
  });

  it('names the default privileges one side has (ALTER DEFAULT PRIVILEGES): never "already equals" with them left out', async () => {
    await w.exec(
      1,
      "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'dbee_t_reader') THEN CREATE ROLE dbee_t_reader; END IF; END $$; ALTER DEFAULT PRIVILEGES IN SCHEMA shop GRANT SELECT ON TABLES TO dbee_t_reader",
    );
    try {
      const c = await w.dbee('clone', { project: 'shop', from: prod, to: test });
      expect(c.code, c.stderr).toBe(0);
      expect(c.stdout).toContain(`${test} already equals ${prod} in what was compared`);
      expect(c.stdout).toMatch(
        /not compared: default privileges \(ALTER DEFAULT PRIVILEGES; .*\): default privileges FOR ROLE \S+ IN SCHEMA shop GRANT SELECT ON TABLES TO dbee_t_reader: only on /,
      );
      const d = await w.dbee('diff', { project: 'shop', env: test, againstEnv: prod, format: 'json', cache: false });
      expect(JSON.parse(d.stdout).uncompared).toEqual([expect.stringContaining('TO dbee_t_reader: only on')]);
    } finally {
      await w.exec(1, 'ALTER DEFAULT PRIVILEGES IN SCHEMA shop REVOKE SELECT ON TABLES FROM dbee_t_reader');
    }
  });
});
