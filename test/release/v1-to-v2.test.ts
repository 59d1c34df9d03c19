import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { ENGINES, ok, releaseWorkspace, type ReleaseWorkspace } from './helpers';

const DB_YAML = 'version: 1\nname: tracking\nengine: postgres\nschemas: [tracking]\n';

/** v0: what a forgotten database still runs. */
const V0 = {
  'tracking/db.yaml': DB_YAML,
  'tracking/events.sql': 'CREATE TABLE tracking.events (id bigint PRIMARY KEY, kind text NOT NULL);\n',
  'tracking/recent.sql': 'CREATE OR REPLACE VIEW tracking.recent AS SELECT id, kind FROM tracking.events;\n',
};
/** v1: deployed to qa and prod. */
const V1 = {
  'tracking/events.sql':
    'CREATE TABLE tracking.events (id bigint PRIMARY KEY, kind text NOT NULL, note text, qty int DEFAULT 1);\n',
  'tracking/recent.sql': 'CREATE OR REPLACE VIEW tracking.recent AS SELECT id, kind, qty FROM tracking.events;\n',
  'tracking/count_kind.sql':
    'CREATE OR REPLACE FUNCTION tracking.count_kind(k text) RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM tracking.events WHERE kind = k $$;\n',
  'tracking/migrations/V1__seed.sql': "INSERT INTO tracking.events (id, kind) VALUES (1, 'click'), (2, 'view');\n",
  'tracking/migrations/V1__seed.rollback.sql': 'DELETE FROM tracking.events WHERE id IN (1, 2);\n',
  'tracking/smoke/tracking.yaml':
    'checks:\n  - name: one click\n    function: tracking.count_kind\n    args: [click]\n    rows: [{ count_kind: 1 }]\n',
};
/**
 * v2: the table gains a column, a check constraint and another default, loses a column, gains an index; the view and
 * the function change; a migration backfills the new column; the smoke checks change with it.
 */
const V2 = {
  'tracking/events.sql':
    'CREATE TABLE tracking.events (id bigint PRIMARY KEY, kind text NOT NULL, qty int DEFAULT 2 CHECK (qty > 0), source text);\n' +
    'CREATE INDEX events_kind ON tracking.events (kind);\n',
  'tracking/recent.sql':
    'CREATE OR REPLACE VIEW tracking.recent AS SELECT id, kind, qty, source FROM tracking.events;\n',
  'tracking/count_kind.sql':
    'CREATE OR REPLACE FUNCTION tracking.count_kind(k text) RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM tracking.events WHERE kind = k AND source IS NOT NULL $$;\n',
  'tracking/migrations/V2__backfill.sql': "UPDATE tracking.events SET source = 'seed';\n",
  'tracking/migrations/V2__backfill.rollback.sql': 'UPDATE tracking.events SET source = NULL;\n',
  'tracking/smoke/tracking.yaml':
    'checks:\n  - name: one click\n    function: tracking.count_kind\n    args: [click]\n    rows: [{ count_kind: 1 }]\n' +
    "  - name: backfilled\n    query: SELECT count(*)::int AS n FROM tracking.events WHERE source = 'seed'\n    rows: [{ n: 2 }]\n",
};
/** v2 as a DBA would build it by hand with psql: the sources in dependency order, then the migrations. */
const V2_BY_PSQL = [
  'CREATE SCHEMA tracking;',
  V2['tracking/events.sql'],
  V2['tracking/recent.sql'],
  V2['tracking/count_kind.sql'],
  V1['tracking/migrations/V1__seed.sql'],
  V2['tracking/migrations/V2__backfill.sql'],
].join('\n');

describe.each(ENGINES)('a release package from git, built once, deployed to qa then prod [%s]', (engine) => {
  let w: ReleaseWorkspace;
  let v1: string;
  const pkg = 'dist/release-2';
  const deploy = (env: string, extra: Record<string, unknown> = {}) =>
    run(
      w.root,
      'deploy',
      { project: 'tracking', env, package: pkg, allowHazards: 'data-loss,index-build,long-lock', ...extra },
      w.vars,
    );

  beforeAll(async () => {
    w = await releaseWorkspace(engine, ['qa', 'prod', 'old', 'ref', 'hand', 'resume', 'elsewhere']);
    w.commit(V0, 'v0');
    await ok(w, 'deploy', { project: 'tracking', env: 'old' });
    v1 = w.commit(V1, 'v1');
    await ok(w, 'deploy', { project: 'tracking', env: 'qa' });
    await ok(w, 'deploy', { project: 'tracking', env: 'prod' });
    await ok(w, 'deploy', { project: 'tracking', env: 'hand' });
    await ok(w, 'deploy', { project: 'tracking', env: 'resume' });
    await ok(w, 'deploy', { project: 'tracking', env: 'elsewhere' });
    w.commit(V2, 'v2');
  });
  afterAll(async () => {
    await w?.remove();
  });

  it('a full-state package meeting the v1 table is refused with the remedy: --base <the commit the ledger recorded>', async () => {
    await ok(w, 'plan', { project: 'tracking', out: 'dist/full' });
    const r = await run(
      w.root,
      'deploy',
      { project: 'tracking', env: 'prod', package: 'dist/full', dryRun: true },
      w.vars,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('table:tracking.events');
    expect(r.stderr).toContain(`dbee plan tracking --base ${v1} --out`);
    expect(r.stderr).not.toContain('--if-exists');
  });

  it('plan --base v1 --head v2 writes a self-contained package: preconditions, smoke checks, commits, tool version', async () => {
    const out = await ok(w, 'plan', { project: 'tracking', base: 'v1', head: 'v2', out: pkg });
    expect(out).toContain('from v1 to v2');
    const release = JSON.parse(w.read(`${pkg}/release.json`));
    expect(release.base).toEqual({ ref: 'v1', commit: v1 });
    expect(release.head.ref).toBe('v2');
    expect(release.preconditions.map((p: { key: string }) => p.key)).toEqual(
      expect.arrayContaining(['table:tracking.events', 'view:tracking.recent', 'function:tracking.count_kind(text)']),
    );
    expect(release.smoke.tracking).toEqual([
      { file: 'smoke/tracking/smoke/tracking.yaml', source: 'tracking/smoke/tracking.yaml' },
    ]);
    expect(w.read(`${pkg}/smoke/tracking/smoke/tracking.yaml`)).toContain('backfilled');
    expect(JSON.parse(w.read(`${pkg}/manifest.json`)).tool.name).toBe('dbee');
    const summary = w.read(`${pkg}/summary.md`);
    expect(summary).toContain('incremental: from v1');
    expect(summary).toContain('## Preconditions');
    // The package is a diff: ALTERs of the table, the new migration only (V1 is not in it).
    const plan = JSON.parse(w.read(`${pkg}/plan.json`));
    const sql = plan.steps.flatMap((s: { statements: string[] }) => s.statements).join('\n');
    expect(sql).toMatch(/ALTER TABLE tracking\.events[^;]*ADD COLUMN source/);
    expect(sql).toMatch(/DROP COLUMN note/);
    expect(sql).not.toMatch(/CREATE TABLE/);
    expect(plan.steps.map((s: { key: string }) => s.key)).toContain('migration:tracking/V2');
    expect(plan.steps.map((s: { key: string }) => s.key)).not.toContain('migration:tracking/V1');
  });

  it("plan --base/--head reads no database: it runs without the environment's connection variables and builds the same plan", async () => {
    const bare = await run(
      w.root,
      'plan',
      { project: 'tracking', base: 'v1', head: 'v2', out: 'dist/release-2-bare' },
      {},
    );
    expect(bare.stderr).toBe('');
    expect(bare.code).toBe(0);
    expect(w.read('dist/release-2-bare/plan.json')).toBe(w.read(`${pkg}/plan.json`));
  });

  it('its dry run numbers the steps 1..n; the package applies to qa, then unchanged to prod; both equal v2 built by psql', async () => {
    const dry = await deploy('qa', { dryRun: true });
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(
      /dry run: verified on a scratch copy of the target's schemas \(\d+ steps, all applied\) and converged/,
    );
    const numbers = [...dry.stdout.matchAll(/-- step (\d+)\/(\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(numbers.length).toBeGreaterThan(3);
    numbers.forEach(([i, n], k) => expect([i, n]).toEqual([k + 1, numbers.length]));

    for (const env of ['qa', 'prod']) {
      const r = await deploy(env);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('pass  backfilled'); // the package's smoke checks, not only the working tree's
      // The workspace is at the package's commit: the run ends with the convergence check, as a deploy of the sources.
      expect(r.stdout).toMatch(/tracking: converged: the \d+ objects the deployment touched equal the sources/);
    }
    await w.db('ref').exec(V2_BY_PSQL);
    const reference = await w.db('ref').dump('tracking');
    expect(reference).toContain('events_kind');
    expect(await w.db('qa').dump('tracking')).toEqual(reference);
    expect(await w.db('prod').dump('tracking')).toEqual(reference);
    for (const env of ['qa', 'prod']) {
      const diff = await ok(w, 'diff', { project: 'tracking', env, format: 'json', cache: false });
      expect(JSON.parse(diff).changes).toBe(0);
      const status = await ok(w, 'status', { project: 'tracking', env });
      expect(status).toContain('pending: nothing');
    }
    expect(await w.db('qa').query('SELECT id::int AS id, kind, qty, source FROM tracking.events ORDER BY id')).toEqual([
      { id: 1, kind: 'click', qty: 1, source: 'seed' },
      { id: 2, kind: 'view', qty: 1, source: 'seed' },
    ]);
  });

  it('deployed again, the package has nothing to do (its head checksums are recorded)', async () => {
    const r = await deploy('prod');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('nothing to deploy');
  });

  it('a database still at v0 is refused before anything runs, naming each object with the checksum expected and found', async () => {
    const before = await w.db('old').dump('tracking');
    for (const dryRun of [true, false]) {
      const r = await deploy('old', { dryRun });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('tracking on old is not at v1');
      expect(r.stderr).toMatch(/table:tracking\.events: expected v1:[0-9a-f]{64}, found v1:[0-9a-f]{64}/);
      expect(r.stderr).toMatch(/function:tracking\.count_kind\(text\): expected v1:[0-9a-f]{64}, found absent/);
    }
    expect(await w.db('old').dump('tracking')).toEqual(before);
    expect(
      await w.db('old').query("SELECT count(*)::int AS n FROM dbee.deployments WHERE status <> 'succeeded'"),
    ).toEqual([{ n: 0 }]);
  });

  it('diff --env --head compares an environment with the sources at a ref, read from git without a checkout', async () => {
    const atV2 = await ok(w, 'diff', { project: 'tracking', env: 'qa', head: 'v2', format: 'json', cache: false });
    expect(JSON.parse(atV2).changes).toBe(0);
    expect(JSON.parse(atV2).to).toBe('sources at v2');
    const atV1 = JSON.parse(
      await ok(w, 'diff', { project: 'tracking', env: 'qa', head: 'v1', format: 'json', cache: false }),
    );
    expect(atV1.changes).toBeGreaterThan(0);
    expect(atV1.steps.map((s: { key: string }) => s.key)).toContain('function:tracking.count_kind(text)');
    // plan --env --head: the same comparison as a gap package.
    await ok(w, 'plan', { project: 'tracking', env: 'old', head: 'v1', out: 'dist/old-to-v1' });
    expect(existsSync(join(w.root, 'dist/old-to-v1/manifest.json'))).toBe(true);
  });

  it('a database at v1 whose schema was changed by hand is refused: its fingerprint differs from the one its last deployment recorded', async () => {
    await w.db('hand').exec('CREATE INDEX by_hand ON tracking.events (qty);');
    const r = await deploy('hand', { dryRun: true });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/tracking on hand was changed outside dbee since deployment #\d+/);
  });

  it('a run that fails half-way (rows violate the new check) resumes when run again: the steps it applied are not run twice', async () => {
    await w.db('resume').exec("INSERT INTO tracking.events (id, kind, qty) VALUES (3, 'bad', 0);");
    const failed = await deploy('resume');
    expect(failed.code).toBe(2);
    expect(failed.stderr).toContain('events_qty_check');
    await w.db('resume').exec('DELETE FROM tracking.events WHERE id = 3;');
    const again = await deploy('resume');
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(await w.db('resume').dump('tracking')).toEqual(await w.db('ref').dump('tracking'));
    const diff = await ok(w, 'diff', { project: 'tracking', env: 'resume', format: 'json', cache: false });
    expect(JSON.parse(diff).changes).toBe(0);
  });

  it("deployed from a workspace whose sources are not the package's, it says it could not compare them, and why", async () => {
    w.write('tracking/recent.sql', `-- edited since the release\n${V2['tracking/recent.sql']}`);
    try {
      const dry = await deploy('elsewhere', { dryRun: true });
      expect(dry.code).toBe(0);
      expect(dry.stdout).toContain(
        "not verified against the sources: the workspace's sources are not the package's: 1 file differ, tracking/recent.sql first",
      );
      const r = await deploy('elsewhere');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(
        "tracking: not compared with the sources after deploying (the workspace's sources are not the package's: 1 file differ, tracking/recent.sql first; deploy it from a checkout of the commit it was planned from",
      );
      expect(r.stdout).not.toContain('tracking: converged');
      expect(await w.db('elsewhere').dump('tracking')).toEqual(await w.db('ref').dump('tracking'));
    } finally {
      w.write('tracking/recent.sql', V2['tracking/recent.sql']!);
    }
  });
});
