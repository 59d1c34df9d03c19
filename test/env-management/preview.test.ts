import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'pg';
import { OwnCluster } from '../support/own-cluster';
import { queryUrl } from '../support/pg';
import { spawnDbee } from '../runner/helpers';
import { openEmbeddedFolder } from '../support/pglite';
import { run } from '../support/run';
import { tempWorkspace } from '../support/workspace';

type Engine = 'pglite' | 'postgres';

/**
 * `dbee preview`, one whole scenario per back end: the base environment `test` at release 1 (two projects, a
 * migration run there); a preview of a branch made from it (structure cloned with the migrations test ran, seeded,
 * the application's queries checked, the branch deployed, smoke checks run), updated, listed; the limit on how many;
 * an orphan cleaned up by age while a database under the prefix that is no preview stays; the preview dropped.
 */
const release1 = {
  'core/db.yaml': 'version: 1\nname: core\nengine: postgres\nschemas: [core]\n',
  'core/region.sql': 'CREATE SCHEMA core;\nCREATE TABLE core.region (code text PRIMARY KEY);\n',
  'sales/db.yaml': 'version: 1\nname: sales\nengine: postgres\nschemas: [sales]\ndependsOn: [core]\n',
  'sales/orders.sql':
    'CREATE SCHEMA sales;\nCREATE TABLE sales.orders (id int PRIMARY KEY, region text REFERENCES core.region, total numeric NOT NULL DEFAULT 0);\n',
  // Run on test once: run again on a preview holding the seed's rows, it would fail (duplicate key).
  'sales/migrations/V1__regions.sql': "INSERT INTO core.region VALUES ('eu');\n",
  'sales/migrations/V1__regions.rollback.sql': "DELETE FROM core.region WHERE code = 'eu';\n",
  'sales/smoke/orders.yaml':
    'checks:\n  - name: orders readable\n    query: SELECT count(*)::int >= 0 AS ok FROM sales.orders\n    rows: [{ ok: true }]\n',
  'seed/regions.sql':
    "INSERT INTO core.region VALUES ('eu'), ('us');\nINSERT INTO sales.orders VALUES (1, 'eu', 10);\n",
  'queries/app.sql': 'SELECT id, total FROM sales.orders;\n',
};
/** The branch: a view, and a migration that the preview runs (test has not). */
const branch = {
  'sales/open_orders.sql': 'CREATE VIEW sales.big_orders AS SELECT id, total FROM sales.orders WHERE total > 5;\n',
  'sales/migrations/V2__apac.sql': "INSERT INTO core.region VALUES ('apac');\n",
  'sales/migrations/V2__apac.rollback.sql': "DELETE FROM core.region WHERE code = 'apac';\n",
};

describe.each<[Engine]>([['pglite'], ['postgres']])('dbee preview [%s]', (engine) => {
  const prefix = `tpv_${randomBytes(3).toString('hex')}_`;
  let w: ReturnType<typeof tempWorkspace>;
  let base: { url: string } | null = null;
  /**
   * The server's previews are made on a cluster of this file's own: the kill case holds a lock on the catalog of
   * shared comments, which every database of a cluster shares (another file's `COMMENT ON DATABASE` or `DROP
   * DATABASE` on the shared server would wait behind it).
   */
  let cluster: OwnCluster | null = null;
  let SERVER_URL = '';
  const env: NodeJS.ProcessEnv = {};
  const dbee = (options: Record<string, unknown>) =>
    run(w.root, 'preview', { project: 'sales', env: 'test', ...options } as { project: string }, env);
  /** A query on the preview `name` (its database on the server, its data folder in PGlite). */
  const onPreview = async <T>(name: string, sql: string): Promise<T[]> => {
    if (engine === 'postgres') return queryUrl<T>(withDatabase(base!.url, name), sql);
    const c = await openEmbeddedFolder(join(w.root, '.dbee/previews', name, 'data'), 'test');
    try {
      return (await c.query(sql)).rows as T[];
    } finally {
      await c.close();
    }
  };

  beforeAll(async () => {
    if (engine === 'postgres') {
      cluster = await OwnCluster.start();
      SERVER_URL = cluster.url();
      await queryUrl(SERVER_URL, 'CREATE DATABASE dbee_pv');
      base = { url: cluster.url('dbee_pv') };
    }
    env.PV_TEST = base ? base.url : '.dbee/test';
    const key = engine === 'postgres' ? 'url' : 'embedded';
    w = tempWorkspace({
      ...release1,
      'dbee.yaml': [
        'version: 1',
        'defaultEnvironment: test',
        'environments:',
        '  test:',
        '    engine: postgres',
        `    connection: { ${key}: "\${PV_TEST}" }`,
        '    gates: { requireTicket: true }',
        'preview:',
        `  prefix: ${prefix}`,
        '  maxAge: 7d',
        '  maxCount: 2',
        '  seed: [seed/regions.sql]',
        '',
      ].join('\n'),
    });
    const r = await run(w.root, 'deploy', { project: 'sales', env: 'test', ticket: 'CHG-1' }, env);
    expect(r.code, r.stderr).toBe(0);
    for (const [f, t] of Object.entries(branch)) w.write(f, t);
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    w?.remove();
  }, 120_000);

  it('creates, deploys, checks, refuses a name that folds to it, updates, limits, cleans up orphans and drops previews', async () => {
    const name = `${prefix}feature_big_orders`;
    const created = await dbee({ action: 'create', name: 'feature/Big-Orders', queries: 'queries' });
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain(`preview ${name} (branch feature/Big-Orders) of test`);
    expect(created.stdout).toContain('structure: cloned core, sales from test');
    expect(created.stdout).toContain('seed: seed/regions.sql');
    expect(created.stdout).toContain('check: passed');
    expect(created.stdout).toContain('deploy: succeeded');
    expect(created.stdout).toContain('smoke: core passed, sales passed');
    expect(created.stdout).toContain('result: ready');
    // Never a connection secret: the base's URL is not printed (only the redacted description).
    if (engine === 'postgres') expect(created.stdout + created.stderr).not.toContain(base!.url);
    // The branch is on the preview (the seed's rows, V2 run once, V1 not again), and not on test.
    expect(await onPreview<{ code: string }>(name, 'SELECT code FROM core.region ORDER BY code')).toEqual([
      { code: 'apac' },
      { code: 'eu' },
      { code: 'us' },
    ]);
    expect(await onPreview(name, "SELECT to_regclass('sales.big_orders') IS NOT NULL AS made")).toEqual([
      { made: true },
    ]);
    const status = await run(w.root, 'status', { project: 'sales', env: 'test' }, env);
    // test is as it was: the branch is still pending there, and no preview deployment is in its ledger.
    expect(status.stdout).toContain('pending: 2 step(s)');
    expect(status.stdout).toContain('deployments: 1,');
    const kinds = await onPreview<{ project: string; kind: string; status: string }>(
      name,
      'SELECT project, kind, status FROM dbee.deployments ORDER BY id',
    );
    expect(kinds.map((k) => `${k.project} ${k.kind} ${k.status}`)).toEqual([
      'core clone succeeded',
      'sales clone succeeded',
      'sales deploy succeeded',
    ]);

    // A name that folds to this preview's database is refused, naming both, by create and by drop (on this preview:
    // making one of its own for it cost a whole create).
    for (const action of ['create', 'drop']) {
      const folded = await dbee({ action, name: 'feature/Big-Orders-ß' });
      expect(folded.code).toBe(1);
      expect(folded.stderr).toContain(
        `--name feature/Big-Orders-ß and --name feature/Big-Orders fold to the same preview, ${name}`,
      );
    }

    // Run again for the branch: the preview is kept and brought to the branch (nothing new to deploy).
    const again = await dbee({ action: 'create', name: 'feature/Big-Orders', format: 'json' });
    expect(again.code, again.stderr).toBe(0);
    const report = JSON.parse(again.stdout);
    expect(report).toMatchObject({ preview: name, created: false, deploy: 'succeeded', exitCode: 0 });
    expect(report.check).toContain('not run');

    // An orphan from ten days ago; the limit of two then refuses a third preview.
    const old = new Date(Date.now() - 10 * 86_400_000);
    expect((await dbee({ action: 'create', name: 'pr-7', now: old })).code).toBe(0);
    const third = await dbee({ action: 'create', name: 'pr-8' });
    expect(third.code).toBe(1);
    expect(third.stderr).toMatch(/dbee\.yaml:\d+.*2 previews already/);
    const list = await dbee({ action: 'list' });
    expect(list.stdout).toContain(`${prefix}pr_7  branch pr-7`);
    // The refused names left the preview as it was, under its own branch.
    expect(list.stdout).toContain(`${name}  branch feature/Big-Orders`);

    // Something under the prefix that is no preview: never dropped.
    if (engine === 'postgres') await queryUrl(SERVER_URL, `CREATE DATABASE ${prefix}not_mine`);
    else mkdirSync(join(w.root, '.dbee/previews', `${prefix}not_mine`), { recursive: true });
    const dry = await dbee({ action: 'cleanup', dryRun: true });
    expect(dry.stdout + dry.stderr).toContain(`would drop preview ${prefix}pr_7 (branch pr-7, 10d old): older than 7d`);
    const cleaned = await dbee({ action: 'cleanup' });
    expect(cleaned.code, cleaned.stderr).toBe(0);
    expect(cleaned.stdout + cleaned.stderr).toContain('1 preview dropped, 1 kept');
    // Nor is it ever used as a preview.
    const notMine = await dbee({ action: 'create', name: 'Not-Mine' });
    expect(notMine.code).toBe(1);
    expect(notMine.stderr).toContain(`${prefix}not_mine exists beside test and is not a preview made by dbee`);
    const after = JSON.parse((await dbee({ action: 'list', format: 'json' })).stdout);
    expect(after.previews.map((p: { name: string }) => p.name)).toEqual([name]);

    expect((await dbee({ action: 'drop', name: 'feature/Big-Orders' })).code).toBe(0);
    expect((await dbee({ action: 'list' })).stdout).toBe('no previews of test\n');
    if (engine === 'postgres') {
      const dbs = await queryUrl<{ datname: string }>(
        SERVER_URL,
        `SELECT datname FROM pg_database WHERE datname LIKE '${prefix}%' ORDER BY 1`,
      );
      expect(dbs).toEqual([{ datname: `${prefix}not_mine` }]);
    } else {
      expect(existsSync(join(w.root, '.dbee/previews', name))).toBe(false);
      expect(existsSync(join(w.root, '.dbee/previews', `${prefix}not_mine`))).toBe(true);
    }
  }, 240_000);

  it("copies the projects' reference data from the base, with the rows it references, and refuses a table over the bound", async () => {
    const dbeeYaml = readFileSync(join(w.root, 'dbee.yaml'), 'utf8');
    const coreYaml = readFileSync(join(w.root, 'core/db.yaml'), 'utf8');
    try {
      // The lookup rows test's migration V1 wrote ('eu') come from test, not from a seed file.
      w.write('dbee.yaml', dbeeYaml.replace('  seed: [seed/regions.sql]\n', ''));
      w.write('core/db.yaml', `${coreYaml}referenceData: [core.region]\n`);
      const made = await dbee({ action: 'create', name: 'ref-1' });
      expect(made.code, made.stderr).toBe(0);
      expect(made.stdout).toContain('reference data: core.region (1 row) from test');
      // 'eu' from test's reference data, 'apac' from the branch's migration V2 run on the preview.
      expect(await onPreview<{ code: string }>(`${prefix}ref_1`, 'SELECT code FROM core.region ORDER BY code')).toEqual(
        [{ code: 'apac' }, { code: 'eu' }],
      );
      expect((await dbee({ action: 'drop', name: 'ref-1' })).code).toBe(0);

      // More rows on the base than preview.referenceRows: refused at the table's line, and no preview is left.
      w.write('dbee.yaml', dbeeYaml.replace('  seed: [seed/regions.sql]\n', '  referenceRows: 1\n'));
      w.write('core/db.yaml', `${coreYaml}referenceData: [core.region, sales.orders]\n`);
      if (engine === 'postgres') await queryUrl(base!.url, "INSERT INTO core.region VALUES ('us')");
      else {
        const c = await openEmbeddedFolder(join(w.root, '.dbee/test'), 'test');
        try {
          await c.query("INSERT INTO core.region VALUES ('us')");
        } finally {
          await c.close();
        }
      }
      const over = await dbee({ action: 'create', name: 'ref-2' });
      expect(over.code).toBe(1);
      expect(over.stderr).toContain('core/db.yaml:5');
      expect(over.stderr).toContain(
        'referenceData: core.region has more rows on test than preview.referenceRows takes (1)',
      );
      expect(over.stderr).not.toMatch(/at .*\.ts:\d+/);
      expect((await dbee({ action: 'list' })).stdout).toBe('no previews of test\n');

      // A misspelt table: refused at its line with the nearest name (before: the server's raw error, exit 2).
      w.write('core/db.yaml', `${coreYaml}referenceData: [core.regoin]\n`);
      const misspelt = await dbee({ action: 'create', name: 'ref-3' });
      expect(misspelt.code, misspelt.stderr).toBe(1);
      expect(misspelt.stderr).toContain('core/db.yaml:5');
      expect(misspelt.stderr).toContain("referenceData: there is no table core.regoin in the preview's structure");
      expect(misspelt.stderr).toContain('did you mean core.region?');
      expect((await dbee({ action: 'list' })).stdout).toBe('no previews of test\n');
    } finally {
      w.write('dbee.yaml', dbeeYaml);
      w.write('core/db.yaml', coreYaml);
    }
  }, 240_000);

  // A kill between CREATE DATABASE and the record: the record's write is held (a lock on the catalog of shared
  // comments) until dbee is killed, and its statement ended with it. Server only: PGlite's folder is renamed whole.
  if (engine === 'postgres')
    it("a create killed before its record leaves no database under the preview's name", async () => {
      const holder = new Client({ connectionString: SERVER_URL });
      await holder.connect();
      let child: Awaited<ReturnType<typeof spawnDbee>> | null = null;
      try {
        await holder.query("BEGIN; SET LOCAL lock_timeout = '60s'");
        await holder.query('LOCK TABLE pg_catalog.pg_shdescription IN EXCLUSIVE MODE');
        child = await spawnDbee(w.root, ['preview', 'sales', 'create', '--name', 'pr-9', '--env', 'test'], env);
        const waiting = async () =>
          queryUrl<{ pid: number }>(
            SERVER_URL,
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'dbee-preview' AND wait_event_type = 'Lock' AND query LIKE 'COMMENT ON DATABASE%'",
          );
        let blocked: { pid: number }[] = [];
        for (let i = 0; i < 600 && !blocked.length; i++) {
          blocked = await waiting();
          if (!blocked.length) await new Promise((r) => setTimeout(r, 100));
        }
        expect(blocked).toHaveLength(1);
        child.child.kill('SIGKILL');
        await child.exit;
        await queryUrl(SERVER_URL, `SELECT pg_terminate_backend(${blocked[0]!.pid})`);
      } finally {
        await holder.query('ROLLBACK').catch(() => {});
        await holder.end();
        if (child && child.child.exitCode === null) child.child.kill('SIGKILL');
      }
      const named = await queryUrl(SERVER_URL, `SELECT 1 FROM pg_database WHERE datname = '${prefix}pr_9'`);
      expect(named).toEqual([]);
      const list = await dbee({ action: 'list' });
      expect(list.stdout).toMatch(new RegExp(`${prefix}making-[0-9a-f]{12}  half-made: a create that did not finish`));
      const dry = await dbee({ action: 'cleanup', dryRun: true });
      expect(dry.stdout + dry.stderr).toContain('half-made by a create that did not finish');
      const again = await dbee({ action: 'create', name: 'pr-9' });
      expect(again.code, again.stderr).toBe(0);
      const left = await queryUrl<{ datname: string }>(
        SERVER_URL,
        `SELECT datname FROM pg_database WHERE datname LIKE '${prefix}%' ORDER BY 1`,
      );
      expect(left.map((d) => d.datname)).toEqual([`${prefix}not_mine`, `${prefix}pr_9`]);
      expect((await dbee({ action: 'drop', name: 'pr-9' })).code).toBe(0);
    }, 240_000);

  // A kill after the structure is cloned, before the reference data is copied: the copy's read of the base table is
  // held (a lock on it) until dbee is killed. The preview is half-made, not ready: the next create makes it whole.
  if (engine === 'postgres')
    it('a create killed before its reference data is copied is half-made, and the next create copies the rows', async () => {
      const dbeeYaml = readFileSync(join(w.root, 'dbee.yaml'), 'utf8');
      const coreYaml = readFileSync(join(w.root, 'core/db.yaml'), 'utf8');
      const holder = new Client({ connectionString: base!.url });
      let child: Awaited<ReturnType<typeof spawnDbee>> | null = null;
      try {
        w.write('dbee.yaml', dbeeYaml.replace('  seed: [seed/regions.sql]\n', ''));
        w.write('core/db.yaml', `${coreYaml}referenceData: [core.region]\n`);
        await holder.connect();
        await holder.query('BEGIN');
        await holder.query('LOCK TABLE core.region IN ACCESS EXCLUSIVE MODE');
        child = await spawnDbee(w.root, ['preview', 'sales', 'create', '--name', 'pr-10', '--env', 'test'], env);
        const waiting = async () =>
          queryUrl<{ pid: number }>(
            SERVER_URL,
            "SELECT pid FROM pg_stat_activity WHERE datname = 'dbee_pv' AND wait_event_type = 'Lock' AND query LIKE '%core%region%'",
          );
        let blocked: { pid: number }[] = [];
        for (let i = 0; i < 600 && !blocked.length; i++) {
          blocked = await waiting();
          if (!blocked.length) await new Promise((r) => setTimeout(r, 100));
        }
        expect(blocked).toHaveLength(1);
        // The structure is made (core and sales cloned, recorded in the preview's ledger): the kill falls after it.
        const cloned = await onPreview<{ n: number }>(
          `${prefix}pr_10`,
          "SELECT count(*)::int AS n FROM dbee.deployments WHERE kind = 'clone'",
        );
        expect(cloned).toEqual([{ n: 2 }]);
        child.child.kill('SIGKILL');
        await child.exit;
        await queryUrl(SERVER_URL, `SELECT pg_terminate_backend(${blocked[0]!.pid})`);
        await holder.query('ROLLBACK');
        // Not ready: listed as half-made under its own name (its structure is there, its reference rows are not).
        const list = await dbee({ action: 'list' });
        expect(list.stdout).toContain(`${prefix}pr_10  half-made (branch pr-10)`);
        const again = await dbee({ action: 'create', name: 'pr-10' });
        expect(again.code, again.stderr).toBe(0);
        // Test's rows (the earlier case adds 'us' to its 'eu'), and 'apac' from the branch's migration V2.
        const onBase = await queryUrl<{ code: string }>(base!.url, 'SELECT code FROM core.region ORDER BY code');
        const n = onBase.length;
        expect(again.stdout).toContain(`reference data: core.region (${n} row${n === 1 ? '' : 's'}) from test`);
        expect(again.stdout).toContain('result: ready');
        const codes = await onPreview<{ code: string }>(`${prefix}pr_10`, 'SELECT code FROM core.region ORDER BY code');
        expect(codes.map((r) => r.code)).toEqual([...onBase.map((r) => r.code), 'apac'].sort());
        expect((await dbee({ action: 'list' })).stdout).toContain(`${prefix}pr_10  branch pr-10`);
        expect((await dbee({ action: 'drop', name: 'pr-10' })).code).toBe(0);
      } finally {
        await holder.query('ROLLBACK').catch(() => {});
        await holder.end().catch(() => {});
        if (child && child.child.exitCode === null) child.child.kill('SIGKILL');
        w.write('dbee.yaml', dbeeYaml);
        w.write('core/db.yaml', coreYaml);
      }
    }, 240_000);
});

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = '/' + database;
  return u.toString();
}
