import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDbeeCommand } from '@dbee/cli';
import { run } from '../support/run';
import { ENGINES, ok, releaseWorkspace, type ReleaseWorkspace } from './helpers';

/** auth <- tracking <- ops: ops reads both. */
const FILES = {
  'auth/db.yaml': 'version: 1\nname: auth\nengine: postgres\nschemas: [auth]\n',
  'auth/tenant_h.sql': 'CREATE TABLE auth.tenant_h (id int PRIMARY KEY, name text NOT NULL);\n',
  'auth/migrations/V1__tenants.sql': "INSERT INTO auth.tenant_h VALUES (1, 'acme');\n",
  'auth/migrations/V1__tenants.rollback.sql': 'DELETE FROM auth.tenant_h;\n',
  'tracking/db.yaml': 'version: 1\nname: tracking\nengine: postgres\nschemas: [tracking]\ndependsOn: [auth]\n',
  'tracking/events.sql':
    'CREATE TABLE tracking.events (id int PRIMARY KEY, tenant int NOT NULL REFERENCES auth.tenant_h (id), kind text);\n',
  'ops/db.yaml': 'version: 1\nname: ops\nengine: postgres\nschemas: [ops]\ndependsOn: [auth, tracking]\n',
  'ops/per_tenant.sql':
    'CREATE OR REPLACE VIEW ops.per_tenant AS SELECT t.name, count(e.id) AS events FROM auth.tenant_h t LEFT JOIN tracking.events e ON e.tenant = t.id GROUP BY t.name;\n',
  'ops/smoke/ops.yaml':
    'checks:\n  - name: acme has no events yet\n    query: SELECT name, events::int AS events FROM ops.per_tenant\n    rows: [{ name: acme, events: 0 }]\n',
};

const deployments = (w: ReleaseWorkspace, env: string) =>
  w.db(env).query<{ project: string; status: string }>('SELECT project, status FROM dbee.deployments ORDER BY id');

describe.each(ENGINES)('a package of a project and its dependencies [%s]', (engine) => {
  let w: ReleaseWorkspace;
  beforeAll(async () => {
    w = await releaseWorkspace(engine, ['empty', 'bare', 'nx']);
    w.commit(FILES, 'v1');
    await ok(w, 'plan', { project: 'ops', out: 'dist/release-1' });
    await ok(w, 'plan', { project: 'ops', withDependencies: false, out: 'dist/ops-only' });
  }, 300_000);
  afterAll(async () => {
    await w?.remove();
  });

  it('plan ops holds auth, tracking and ops; deploy --package applies them in order, one ledger deployment each', async () => {
    expect(JSON.parse(w.read('dist/release-1/plan.json')).projects).toEqual(['auth', 'tracking', 'ops']);
    const out = await ok(w, 'deploy', { project: 'ops', env: 'empty', package: 'dist/release-1' });
    expect(out).toContain('pass  acme has no events yet');
    expect(await deployments(w, 'empty')).toEqual([
      { project: 'auth', status: 'succeeded' },
      { project: 'tracking', status: 'succeeded' },
      { project: 'ops', status: 'succeeded' },
    ]);
    expect(await w.db('empty').query('SELECT name, events::int AS events FROM ops.per_tenant')).toEqual([
      { name: 'acme', events: 0 },
    ]);
  });

  it('a package without the dependencies is refused on a database that lacks them, in the dry run and the real run', async () => {
    for (const dryRun of [true, false]) {
      const r = await run(w.root, 'deploy', { project: 'ops', env: 'bare', package: 'dist/ops-only', dryRun }, w.vars);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('ops depends on auth, which is not deployed on bare and is not in this package');
      expect(r.stderr).toContain('ops depends on tracking, which is not deployed on bare');
    }
    expect(
      await w.db('bare').query("SELECT count(*)::int AS n FROM pg_namespace WHERE nspname IN ('ops', 'dbee')"),
    ).toEqual([{ n: 0 }]);
    // Once the dependencies are there, the same package deploys.
    await ok(w, 'deploy', { project: 'tracking', env: 'bare' });
    await ok(w, 'deploy', { project: 'ops', env: 'bare', package: 'dist/ops-only' });
  });

  it("under Nx the package is deployed by its project's task: the dependencies' tasks, which receive it too, do nothing", async () => {
    const nx = async (project: string) => {
      let stdout = '';
      const sink = new Writable({ write: (c, _e, cb) => ((stdout += String(c)), cb()) });
      const code = await runDbeeCommand(
        'deploy',
        { project, env: 'nx', package: 'dist/release-1' },
        {
          workspaceRoot: w.root,
          fromNx: true,
          stdout: sink,
          stderr: sink,
          env: { ...process.env, ...w.vars },
          interactive: false,
        },
      );
      return { code, stdout };
    };
    for (const dep of ['auth', 'tracking']) {
      const r = await nx(dep);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`${dep}: the package`);
      expect(r.stdout).toContain('is deployed by the task of ops');
    }
    expect(
      await w
        .db('nx')
        .query("SELECT count(*)::int AS n FROM pg_namespace WHERE nspname IN ('auth', 'tracking', 'ops', 'dbee')"),
    ).toEqual([{ n: 0 }]);
    const r = await nx('ops');
    expect(r.code).toBe(0);
    expect((await deployments(w, 'nx')).map((d) => d.project)).toEqual(['auth', 'tracking', 'ops']);
  });

  it('an incremental package of the three (auth and ops changed, tracking not) deploys to a database at v1 with one deployment per changed project', async () => {
    w.commit(
      {
        'auth/tenant_h.sql':
          "CREATE TABLE auth.tenant_h (id int PRIMARY KEY, name text NOT NULL, plan text NOT NULL DEFAULT 'free');\n",
        'ops/per_tenant.sql':
          'CREATE OR REPLACE VIEW ops.per_tenant AS SELECT t.name, count(e.id) AS events, t.plan FROM auth.tenant_h t LEFT JOIN tracking.events e ON e.tenant = t.id GROUP BY t.name, t.plan;\n',
        'ops/smoke/ops.yaml':
          'checks:\n  - name: acme is on the free plan\n    query: SELECT name, plan FROM ops.per_tenant\n    rows: [{ name: acme, plan: free }]\n',
      },
      'v2',
    );
    await ok(w, 'plan', { project: 'ops', base: 'v1', head: 'v2', out: 'dist/release-2' });
    const release = JSON.parse(w.read('dist/release-2/release.json'));
    expect([...new Set(release.preconditions.map((p: { project: string }) => p.project))]).toEqual(['auth', 'ops']);
    if (engine === 'pglite') {
      // The diff of the same two refs shows what the package carries (#58): auth's change too, beside ops's own. Two
      // refs read no database: once is enough.
      const diff = JSON.parse(await ok(w, 'diff', { project: 'ops', base: 'v1', head: 'v2', format: 'json' }));
      expect(diff.changes).toBeGreaterThan(0);
      expect(diff.dependencies.map((d: { project: string; changes: number }) => [d.project, d.changes > 0])).toEqual([
        ['auth', true],
      ]);
    }
    const before = (await deployments(w, 'empty')).length;
    const out = await ok(w, 'deploy', { project: 'ops', env: 'empty', package: 'dist/release-2' });
    expect(out).toContain('pass  acme is on the free plan');
    expect((await deployments(w, 'empty')).slice(before)).toEqual([
      { project: 'auth', status: 'succeeded' },
      { project: 'ops', status: 'succeeded' },
    ]);
    for (const project of ['auth', 'tracking', 'ops']) {
      const diff = await ok(w, 'diff', { project, env: 'empty', format: 'json', cache: false });
      expect(JSON.parse(diff).changes).toBe(0);
    }
  });
});
