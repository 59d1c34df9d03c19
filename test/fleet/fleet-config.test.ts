import { afterAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PgliteConnection } from '@dbee/postgres';
import { tempWorkspace } from '../support/workspace';
import { run } from '../support/run';
import { queryUrl, scratchDatabase, SERVER_URL } from '../support/pg';
import { Writable } from 'node:stream';
import { runDbeeCommand } from '@dbee/cli';
import { SessionPool } from '@dbee/core';

const PROJECT = {
  'a/db.yaml': 'version: 1\nname: a\nengine: postgres\nschemas: [a]\n',
  'a/t.sql': 'CREATE SCHEMA a;\nCREATE TABLE a.t (id int PRIMARY KEY);\n',
};
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

function workspace(yaml: string) {
  const w = tempWorkspace({ 'dbee.yaml': yaml, ...PROJECT });
  cleanups.push(w.remove);
  return w;
}

const hasLedger = async (url: string) =>
  (await queryUrl<{ l: boolean }>(url, "SELECT to_regclass('dbee.deployments') IS NOT NULL AS l"))[0]!.l;

describe('fleet environments in dbee.yaml: bad input is refused with file and line, nothing deployed', () => {
  it('a fleet with neither targets nor discover', async () => {
    const w = workspace(
      'version: 1\ndefaultEnvironment: f\nenvironments:\n  f:\n    engine: postgres\n    fleet: {}\n',
    );
    const r = await run(w.root, 'deploy', { project: 'a' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /dbee\.yaml:6:\d+: environments\.f\.fleet: give either "targets" \(a list\) or "discover" \(a query or a command\)/,
    );
  });

  it('a discovery query without the environment it runs on, and an unknown key of a target', async () => {
    const w = workspace(
      'version: 1\ndefaultEnvironment: f\nenvironments:\n  f:\n    engine: postgres\n    fleet:\n      discover: { query: "select 1" }\n  g:\n    engine: postgres\n    fleet:\n      targets:\n        - { name: x, conection: {} }\n',
    );
    const r = await run(w.root, 'deploy', { project: 'a' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /dbee\.yaml:7:\d+: environments\.f\.fleet\.discover\.environment: a discovery query needs "environment"/,
    );
    expect(r.stderr).toMatch(/dbee\.yaml:12:\d+: environments\.g\.fleet\.targets\.0: unknown key "conection"/);
  });

  it('two targets with one name, and a literal password (never printed)', async () => {
    const dup = workspace(
      'version: 1\ndefaultEnvironment: f\nenvironments:\n  f:\n    engine: postgres\n    connection: {}\n    fleet:\n      targets:\n        - { name: x, connection: { database: a } }\n        - { name: x, connection: { database: b } }\n',
    );
    const r1 = await run(dup.root, 'deploy', { project: 'a' });
    expect(r1.code).toBe(1);
    expect(r1.stderr).toMatch(/dbee\.yaml:10:\d+: fleet f: two targets are named "x"/);
    const secret = workspace(
      'version: 1\ndefaultEnvironment: f\nenvironments:\n  f:\n    engine: postgres\n    connection: {}\n    fleet:\n      targets:\n        - { name: x, connection: { url: "postgres://app:hunter2@db/x" } }\n',
    );
    const r2 = await run(secret.root, 'deploy', { project: 'a' });
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/dbee\.yaml:9:\d+: fleet f, target x: connection\.url holds a literal password/);
    expect(r2.stderr + r2.stdout).not.toContain('hunter2');
  });

  it('a command without a fleet form, an unknown target, and --labels or --shard that select nothing', async () => {
    const w = workspace(
      'version: 1\ndefaultEnvironment: f\nenvironments:\n  f:\n    engine: postgres\n    connection: {}\n    fleet:\n      targets:\n        - { name: x, connection: { database: nowhere }, labels: { region: eu } }\n',
    );
    const extract = await run(w.root, 'extract', { project: 'a', env: 'f' });
    expect(extract.code).toBe(1);
    expect(extract.stderr).toMatch(
      /dbee extract runs on one database, and environment "f" is a fleet[\s\S]*--env f\/<target>/,
    );
    const unknown = await run(w.root, 'status', { project: 'a', env: 'f/y' });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/fleet "f" has no target "y"[\s\S]*targets: x/);
    const none = await run(w.root, 'deploy', { project: 'a', env: 'f', labels: 'region=us' });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/fleet f: no target has the labels region=us \(1 target in all\)/);
    const shard = await run(w.root, 'deploy', { project: 'a', env: 'f', shard: '3/2' });
    expect(shard.code).toBe(1);
    expect(shard.stderr).toMatch(/--shard 3\/2: the shard must be between 1 and 2/);
  });
});

it('a shard waiting for the canary refuses at once what the canary is refused for: an unknown project', async () => {
  // canaryTimeout 30s: before, the shard waited this long (an hour by default), then blamed the canary.
  const w = workspace(
    'version: 1\ndefaultEnvironment: f\nenvironments:\n  f:\n    engine: postgres\n    connection: {}\n    fleet:\n      canaryTimeout: 30s\n      targets:\n        - { name: x, connection: { database: nowhere_x } }\n        - { name: y, connection: { database: nowhere_y } }\n        - { name: z, connection: { database: nowhere_z } }\n',
  );
  const r = await run(w.root, 'deploy', { project: 'nope', shard: '2/2', canary: 2 });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/fleet f: the deployment is refused on canary x \(unknown project "nope"\)/);
  expect(r.stderr).not.toMatch(/not at the release/);
});

it('the fleet options are refused on an environment of one database, nothing deployed', async () => {
  const w = workspace(
    'version: 1\ndefaultEnvironment: local\nenvironments:\n  local:\n    engine: postgres\n    connection: { embedded: .dbee/local }\n',
  );
  const r = await run(w.root, 'deploy', { project: 'a', canary: 2, labels: 'region=eu' });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(
    /dbee deploy: --canary, --labels apply to fleet environments only, and "local" is one database/,
  );
  expect(existsSync(join(w.root, '.dbee', 'local'))).toBe(false);
});

describe('fleet discovery', () => {
  it('a query on a catalog database: one target per row, connection values with ${VAR}, labels from a JSON column; --labels selects', async () => {
    const catalog = await scratchDatabase('dbee_fleet_cat');
    cleanups.push(catalog.drop);
    const tenants = await Promise.all([0, 1, 2].map(() => scratchDatabase('dbee_fleet_t')));
    for (const t of tenants) cleanups.push(t.drop);
    await queryUrl(catalog.url, 'CREATE TABLE tenants (name text, region text)');
    await queryUrl(catalog.url, "INSERT INTO tenants VALUES ('acme', 'eu'), ('bolt', 'us'), ('cask', 'eu')");
    const w = workspace(`version: 1
defaultEnvironment: tenants
environments:
  catalog:
    engine: postgres
    connection: { url: "\${CATALOG_URL}" }
  tenants:
    engine: postgres
    fleet:
      discover:
        environment: catalog
        query: "SELECT name, '\${URL_' || upper(name) || '}' AS url, json_build_object('region', region)::text AS labels FROM tenants ORDER BY name"
`);
    const env = {
      CATALOG_URL: catalog.url,
      URL_ACME: tenants[0]!.url,
      URL_BOLT: tenants[1]!.url,
      URL_CASK: tenants[2]!.url,
    };
    const r = await run(w.root, 'deploy', { project: 'a', labels: 'region=eu', concurrency: 2 }, env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/fleet tenants: 2 targets: 2 succeeded/);
    expect(await Promise.all(tenants.map((t) => hasLedger(t.url)))).toEqual([true, false, true]);
    // A row without a name is refused, naming the row and the key of dbee.yaml it comes from.
    await queryUrl(catalog.url, "INSERT INTO tenants VALUES (NULL, 'eu')");
    const bad = await run(w.root, 'deploy', { project: 'a' }, env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /dbee\.yaml:10:\d+: the discovery query of environments\.tenants, row 4: name: missing, expected string/,
    );
  });

  it('a command printing JSON; its failure is refused with its message', async () => {
    const db = await scratchDatabase('dbee_fleet_t');
    cleanups.push(db.drop);
    const w = workspace(`version: 1
defaultEnvironment: tenants
environments:
  tenants:
    engine: postgres
    fleet:
      discover:
        command: node list.js
`);
    w.write(
      'list.js',
      `console.log(JSON.stringify([{ name: 'only', connection: { url: '\${ONLY_URL}' }, labels: { tier: 'a' } }]));\n`,
    );
    const r = await run(w.root, 'deploy', { project: 'a' }, { ONLY_URL: db.url });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\[only\] .*succeeded/m);
    expect(await hasLedger(db.url)).toBe(true);
    w.write('list.js', "console.error('inventory service unreachable'); process.exit(3);\n");
    const bad = await run(w.root, 'deploy', { project: 'a' }, { ONLY_URL: db.url });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /dbee\.yaml:8:\d+: the discovery command of environments\.tenants failed: inventory service unreachable/,
    );
  });
});

describe('a fleet of embedded databases', () => {
  it('deploys every target, each in its own PGlite folder, and addresses one with --env <fleet>/<target>', async () => {
    const w = workspace(`version: 1
defaultEnvironment: local
environments:
  local:
    engine: postgres
    fleet:
      targets:
        - { name: one, connection: { embedded: .dbee/one } }
        - { name: two, connection: { embedded: .dbee/two } }
`);
    const r = await run(w.root, 'deploy', { project: 'a', concurrency: 2 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/fleet local: 2 targets: 2 succeeded/);
    for (const dir of ['one', 'two']) {
      const c = await PgliteConnection.open(join(w.root, '.dbee', dir), 't');
      try {
        expect((await c.query("SELECT to_regclass('a.t') IS NOT NULL AS t")).rows).toEqual([{ t: true }]);
      } finally {
        await c.close();
      }
    }
    const one = await run(w.root, 'status', { project: 'a', env: 'local/one' });
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/a on local\/one/);
  });
});

describe('smoke-test, diff and rollback on a fleet', () => {
  it('run on every target --labels selects, one after the other, each on its own ledger', async () => {
    const dbs = await Promise.all([0, 1].map(() => scratchDatabase('dbee_fleet_t')));
    for (const d of dbs) cleanups.push(d.drop);
    const w = workspace(`version: 1
defaultEnvironment: f
environments:
  f:
    engine: postgres
    fleet:
      targets:
        - { name: eu1, connection: { url: "\${EU1_URL}" }, labels: { region: eu } }
        - { name: us1, connection: { url: "\${US1_URL}" }, labels: { region: us } }
`);
    const env = { EU1_URL: dbs[0]!.url, US1_URL: dbs[1]!.url };
    expect((await run(w.root, 'deploy', { project: 'a', concurrency: 2 }, env)).code).toBe(0);
    const smoke = await run(w.root, 'smoke-test', { project: 'a', labels: 'region=eu' }, env);
    expect(smoke.code, smoke.stderr).toBe(0);
    expect(smoke.stdout).toMatch(/^\[eu1\] /m);
    expect(smoke.stdout).not.toMatch(/^\[us1\] /m);
    expect(smoke.stdout).toMatch(/fleet f: smoke-test on 1 target: 1 succeeded\n {2}exit 0/);
    // Only the eu target is rolled back; the us one keeps its table.
    const back = await run(w.root, 'rollback', { project: 'a', labels: 'region=eu', assumeYes: true }, env);
    expect(back.code, back.stderr).toBe(0);
    const table = async (url: string) =>
      (await queryUrl<{ t: boolean }>(url, "SELECT to_regclass('a.t') IS NOT NULL AS t"))[0]!.t;
    expect([await table(dbs[0]!.url), await table(dbs[1]!.url)]).toEqual([false, true]);
    // diff names the target that differs from the sources, and its exit code says so for the fleet.
    const diff = await run(w.root, 'diff', { project: 'a', failOnDiff: true }, env);
    expect(diff.stdout).toMatch(
      /fleet f: diff on 2 targets: 1 differs, 1 succeeded\n {2}differs: eu1 \(exit 1\)\n {2}exit 2/,
    );
    expect(diff.code).toBe(2);
  }, 300_000);
});

describe('a fleet in an Nx batch (one process, a session pool for the whole batch)', () => {
  it("gives back each target's lock and connection when its deployment ends, not when the batch does", async () => {
    const dbs = await Promise.all([0, 1, 2].map(() => scratchDatabase('dbee_fleet_t')));
    for (const d of dbs) cleanups.push(d.drop);
    const w = workspace(`version: 1
defaultEnvironment: f
environments:
  f:
    engine: postgres
    fleet:
      targets:
${dbs.map((_, i) => `        - { name: t${i}, connection: { url: "\${T${i}_URL}" } }`).join('\n')}
`);
    const pool = new SessionPool();
    cleanups.push(() => pool.close());
    const sink = new Writable({ write: (_c, _e, cb) => cb() });
    const env = { ...process.env, ...Object.fromEntries(dbs.map((d, i) => [`T${i}_URL`, d.url])) };
    const code = await runDbeeCommand(
      'deploy',
      { project: 'a', concurrency: 3 },
      { workspaceRoot: w.root, sessions: pool, stdout: sink, stderr: sink, env, interactive: false, fromNx: true },
    );
    expect(code).toBe(0);
    // The batch's pool is still open: no session on any target may be left (a backend goes away shortly after its client).
    const sessions = () =>
      queryUrl<{ n: number }>(SERVER_URL, 'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = ANY($1)', [
        dbs.map((d) => d.name),
      ]);
    let open = (await sessions())[0]!.n;
    for (let i = 0; open > 0 && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 100));
      open = (await sessions())[0]!.n;
    }
    expect(open).toBe(0);
  }, 300_000);
});

describe("a fleet's settings hold for its targets", () => {
  it("the fleet's deploy.ifExists decides what happens to an object the target's ledger does not know", async () => {
    const db = await scratchDatabase('dbee_fleet_t');
    cleanups.push(db.drop);
    await queryUrl(db.url, 'CREATE SCHEMA a; CREATE TABLE a.t (id int PRIMARY KEY, old text)');
    const w = workspace(`version: 1
defaultEnvironment: f
environments:
  f:
    engine: postgres
    deploy: { ifExists: rename }
    fleet:
      targets:
        - { name: only, connection: { url: "\${ONLY_URL}" } }
`);
    const r = await run(w.root, 'deploy', { project: 'a', dryRun: true, verify: false }, { ONLY_URL: db.url });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^\[only\] -- {3}exists in the database, unknown to the ledger: rename \(dbee\.yaml environments\.f\.deploy\.ifExists\)/m,
    );
  }, 300_000);
});
