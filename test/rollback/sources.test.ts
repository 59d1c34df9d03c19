import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { ENGINES, type TestWorkspace } from '../runner/helpers';
import { backToV1, catalog, deployOk, diffCount, shopAtV1, shopsAtV1, V2, writeAll } from './fixture';

let workspaces: TestWorkspace[] = [];
afterEach(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});
const keep = (w: TestWorkspace) => (workspaces.push(w), w);
/** Shop v1 deployed once for the server's two cases, a copy each. */
const shops = shopsAtV1();
afterAll(() => shops.removeAll());

function git(root: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-c', 'user.email=t@example.com', '-c', 'user.name=t', '-c', 'commit.gpgsign=false', ...args],
    { cwd: root },
  )
    .toString()
    .trim();
}

describe.each(ENGINES)('rollback to sources and packages [%s]', (engine) => {
  it('--to-ref goes back to the sources at a git ref by a diff of the live database (data loss refused without --force)', async () => {
    // The only case from this state on PGlite, deployed in place there (`shopsAtV1`: a copy pays from the second).
    const w = keep(await (engine === 'pglite' ? shopAtV1 : shops.atV1)(engine));
    git(w.root, 'init', '-q');
    w.write('.gitignore', '.dbee/\n');
    git(w.root, 'add', '-A');
    git(w.root, 'commit', '-q', '-m', 'v1');
    const v1 = await catalog(w);
    writeAll(w, V2);
    git(w.root, 'add', '-A');
    git(w.root, 'commit', '-q', '-m', 'v2');
    await deployOk(w);

    const dry = await run(w.root, 'rollback', { project: 'shop', toRef: 'HEAD~1', dryRun: true }, w.target.vars);
    expect(dry.code).toBe(1);
    expect(dry.stdout).toMatch(/-- back to the sources at HEAD~1 \([0-9a-f]{12}\)/);
    expect(dry.stderr).toContain('loses data');

    const r = await run(w.root, 'rollback', { project: 'shop', toRef: 'HEAD~1', force: true }, w.target.vars);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('shop: back to the sources at HEAD~1');
    // What its steps touched is compared with the sources at the ref, as a deployment's with its sources (issue 88).
    expect(r.stdout).toMatch(
      /shop: converged: the (\d+ objects|object) the deployment touched equals? the sources at HEAD~1/,
    );
    expect(await catalog(w)).toEqual(v1);
    const row = await w.target.query<{
      kind: string;
      reverts: number | null;
      summary: { toRef: { ref: string; commit: string } };
    }>('SELECT kind, reverts, summary FROM dbee.deployments WHERE id = 3');
    expect(row[0]).toMatchObject({
      kind: 'rollback',
      reverts: null,
      summary: { toRef: { ref: 'HEAD~1', commit: git(w.root, 'rev-parse', 'HEAD~1') } },
    });

    // The ledger is at v1's sources: nothing pending for them; the v2 sources deploy again.
    backToV1(w);
    expect(await diffCount(w)).toBe(0);
    expect(await deployOk(w)).toContain('shop: nothing to deploy, the database is up to date');
    writeAll(w, V2);
    expect(await deployOk(w)).toContain('shop: deployed');
    expect(await diffCount(w)).toBe(0);
  });

  // Which deployment applied a package is read from the ledger (core, the same statements on both engines): on the
  // server only, where the case costs about a third of PGlite's; --to-ref, a diff of the live database, runs on both
  // (CONTRIBUTING.md, "Engine-independent matrices run whole on one engine, one cell on the other").
  if (engine === 'postgres')
    it('--package undoes the deployment that applied a package', async () => {
      const w = keep(await shops.atV1(engine));
      const v1 = await catalog(w);
      writeAll(w, {
        'shop/names.sql': 'CREATE OR REPLACE VIEW shop.names AS SELECT id, upper(name) AS name FROM shop.customers;\n',
        'shop/orders.sql': V2['shop/orders.sql']!,
        'shop/migrations/V2__more.sql': "INSERT INTO shop.customers VALUES (3, 'cy');\n",
        'shop/migrations/V2__more.rollback.sql': 'DELETE FROM shop.customers WHERE id = 3;\n',
      });
      const planned = await run(w.root, 'plan', { project: 'shop', out: 'dist/pkg' }, w.target.vars);
      expect(planned.code).toBe(0);
      await deployOk(w, { package: 'dist/pkg' });
      expect(await w.target.query('SELECT count(*)::int AS n FROM shop.customers')).toEqual([{ n: 3 }]);

      const r = await run(w.root, 'rollback', { project: 'shop', package: 'dist/pkg' }, w.target.vars);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('shop: undoing deployment #2');
      expect(await catalog(w)).toEqual(v1);
      expect(await w.target.query('SELECT count(*)::int AS n FROM shop.customers')).toEqual([{ n: 2 }]);
      const none = await run(w.root, 'rollback', { project: 'shop', package: 'dist/pkg' }, w.target.vars);
      expect(none.code).toBe(1);
      expect(none.stderr).toContain('no deployment of shop on target applied package dist/pkg');
    });
});
