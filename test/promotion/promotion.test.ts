import { afterAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENGINES, KEY, promotionWorkspace } from './helpers';

/**
 * `gates.promotedFrom`: a package reaches prod only after the same package passed on qa. qa's ledger is read when its
 * connection is available; otherwise the signed promotion record the qa deployment wrote into the package folder.
 */
describe.each(ENGINES)('promotion gate [%s]', (engine) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });
  async function setup() {
    // perf promotes from dev: dev deployments write promotion records too (for the copied-record case).
    const ws = await promotionWorkspace(engine, ['dev', 'qa', 'prod', 'perf'], {
      prod: '{ promotedFrom: [qa] }',
      perf: '{ promotedFrom: [dev] }',
    });
    cleanups.push(ws.cleanup);
    const planned = await ws.dbee('plan', { project: 'a', out: 'dist/pkg' }, ws.vars('dev'));
    expect(planned.code, planned.stderr).toBe(0);
    return ws;
  }

  it('a package deployed to qa with passing smoke checks deploys to prod: from the ledger, and from the signed record', async () => {
    const ws = await setup();
    const qa = await ws.dbee('deploy', { project: 'a', env: 'qa', package: 'dist/pkg' }, { ...ws.vars('qa'), ...KEY });
    expect(qa.code, qa.stderr).toBe(0);
    expect(qa.stdout).toContain('promotion record written to');
    // qa reachable: its ledger decides.
    const dry = await ws.dbee(
      'deploy',
      { project: 'a', env: 'prod', package: 'dist/pkg', dryRun: true },
      ws.vars('qa', 'prod'),
    );
    expect(dry.code, dry.stderr).toBe(0);
    // qa not reachable from here: the record, checked with the key.
    const prod = await ws.dbee(
      'deploy',
      { project: 'a', env: 'prod', package: 'dist/pkg' },
      { ...ws.vars('prod'), ...KEY },
    );
    expect(prod.code, prod.stderr).toBe(0);
    expect(prod.stdout).toContain(
      "promotion: qa's ledger cannot be read from here (environment variable P_QA is not set",
    );
    expect(await ws.deployed('prod')).toBe(true);
  });

  it('refuses, with exit 1 and nothing applied: a package never deployed to qa, and a deployment from the sources', async () => {
    const ws = await setup();
    const never = await ws.dbee(
      'deploy',
      { project: 'a', env: 'prod', package: 'dist/pkg' },
      { ...ws.vars('qa', 'prod'), ...KEY },
    );
    expect(never.code).toBe(1);
    expect(never.stderr).toContain('cannot be deployed to prod (gates.promotedFrom: [qa])');
    expect(never.stderr).toContain(
      "qa's database has no dbee ledger (nothing was ever deployed there), and the package has no promotion record from qa",
    );
    // qa has a ledger, but this package is not in it: the sources (even of the same plan) are not the package.
    expect((await ws.dbee('deploy', { project: 'a', env: 'qa' }, ws.vars('qa'))).code).toBe(0);
    const notThis = await ws.dbee(
      'deploy',
      { project: 'a', env: 'prod', package: 'dist/pkg' },
      { ...ws.vars('qa', 'prod'), ...KEY },
    );
    expect(notThis.code).toBe(1);
    expect(notThis.stderr).toContain("a: this package was never deployed to qa (qa's ledger)");
    const sources = await ws.dbee('deploy', { project: 'a', env: 'prod' }, ws.vars('qa', 'prod'));
    expect(sources.code).toBe(1);
    expect(sources.stderr).toContain('a deployment from the sources is refused');
    expect(await ws.deployed('prod')).toBe(false);
  });

  it('refuses a package whose qa smoke checks failed (ledger and record)', async () => {
    const ws = await setup();
    await ws.query('qa', 'CREATE TABLE public.smoke_blocker (id int)');
    const qa = await ws.dbee('deploy', { project: 'a', env: 'qa', package: 'dist/pkg' }, { ...ws.vars('qa'), ...KEY });
    expect(qa.code, qa.stderr).toBe(3);
    const fromLedger = await ws.dbee(
      'deploy',
      { project: 'a', env: 'prod', package: 'dist/pkg' },
      { ...ws.vars('qa', 'prod'), ...KEY },
    );
    expect(fromLedger.code).toBe(1);
    expect(fromLedger.stderr).toMatch(/a: its deployment to qa (failed|rolled-back)/);
    const fromRecord = await ws.dbee(
      'deploy',
      { project: 'a', env: 'prod', package: 'dist/pkg' },
      { ...ws.vars('prod'), ...KEY },
    );
    expect(fromRecord.code).toBe(1);
    expect(fromRecord.stderr).toMatch(/a: its deployment to qa (failed|rolled-back)/);
    expect(await ws.deployed('prod')).toBe(false);
  });

  it('refuses a tampered record, a record checked without the key, one copied from another package or from another environment', async () => {
    const ws = await setup();
    const pkg = join(ws.w.root, 'dist', 'pkg');
    expect(
      (await ws.dbee('deploy', { project: 'a', env: 'qa', package: 'dist/pkg' }, { ...ws.vars('qa'), ...KEY })).code,
    ).toBe(0);
    const record = join(pkg, 'promotion', 'qa.json');
    const original = readFileSync(record, 'utf8');
    const refused = async (dir: string, env: NodeJS.ProcessEnv, message: string) => {
      const r = await ws.dbee('deploy', { project: 'a', env: 'prod', package: dir }, { ...ws.vars('prod'), ...env });
      expect(r.code, r.stdout).toBe(1);
      expect(r.stderr).toContain(message);
      expect(await ws.deployed('prod')).toBe(false);
    };
    await refused('dist/pkg', {}, 'DBEE_PROMOTION_KEY is not set');
    await refused(
      'dist/pkg',
      { DBEE_PROMOTION_KEY: 'another-secret-of-some-length-000' },
      'does not match its signature',
    );
    // Edited by hand: the finish time moved back (a soak faked), everything else kept.
    const edited = JSON.parse(original) as { finishedAt: string };
    edited.finishedAt = '2020-01-01T00:00:00.000Z';
    writeFileSync(record, JSON.stringify(edited, null, 2));
    await refused('dist/pkg', KEY, 'promotion/qa.json does not match its signature');
    writeFileSync(record, original);
    // Another package (other sources), with qa's record of the first one.
    ws.w.write('a/u.sql', 'CREATE TABLE a.u (id int);');
    expect((await ws.dbee('plan', { project: 'a', out: 'dist/other' }, ws.vars('dev'))).code).toBe(0);
    mkdirSync(join(ws.w.root, 'dist', 'other', 'promotion'));
    copyFileSync(record, join(ws.w.root, 'dist', 'other', 'promotion', 'qa.json'));
    await refused('dist/other', KEY, 'promotion/qa.json records another package');
    // dev's record of this package (signed: perf promotes from dev), copied over qa's.
    expect(
      (await ws.dbee('deploy', { project: 'a', env: 'dev', package: 'dist/pkg' }, { ...ws.vars('dev'), ...KEY })).code,
    ).toBe(0);
    copyFileSync(join(pkg, 'promotion', 'dev.json'), record);
    await refused('dist/pkg', KEY, 'promotion/qa.json records a deployment to dev, not to qa');
    // The real record passes.
    writeFileSync(record, original);
    const ok = await ws.dbee(
      'deploy',
      { project: 'a', env: 'prod', package: 'dist/pkg' },
      { ...ws.vars('prod'), ...KEY },
    );
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('gates.minSoak: refused until the package has passed on qa long enough ago', async () => {
    const ws = await promotionWorkspace(engine, ['qa', 'prod'], { prod: '{ promotedFrom: [qa], minSoak: 24h }' });
    cleanups.push(ws.cleanup);
    expect((await ws.dbee('plan', { project: 'a', out: 'dist/pkg' }, ws.vars('qa'))).code).toBe(0);
    expect(
      (await ws.dbee('deploy', { project: 'a', env: 'qa', package: 'dist/pkg' }, { ...ws.vars('qa'), ...KEY })).code,
    ).toBe(0);
    const early = await ws.dbee('deploy', { project: 'a', env: 'prod', package: 'dist/pkg' }, ws.vars('qa', 'prod'));
    expect(early.code).toBe(1);
    expect(early.stderr).toContain('gates.minSoak asks for 24h');
    const later = new Date(Date.now() + 25 * 3_600_000);
    const soaked = await ws.dbee(
      'deploy',
      { project: 'a', env: 'prod', package: 'dist/pkg', now: later },
      { ...ws.vars('prod'), ...KEY },
    );
    expect(soaked.code, soaked.stderr).toBe(0);
  });

  it('a package built from a selection (plan --objects) deploys to qa, then is promoted to prod; what it left out stays out (#62)', async () => {
    const ws = await promotionWorkspace(engine, ['qa', 'prod'], { prod: '{ promotedFrom: [qa] }' });
    cleanups.push(ws.cleanup);
    // v1 through the gate as any package, then a hotfix of one routine of two.
    expect((await ws.dbee('plan', { project: 'a', out: 'dist/v1' }, ws.vars('qa'))).code).toBe(0);
    for (const env of ['qa', 'prod']) {
      const r = await ws.dbee('deploy', { project: 'a', env, package: 'dist/v1' }, { ...ws.vars(env), ...KEY });
      expect(r.code, r.stderr).toBe(0);
    }
    ws.w.write('a/f.sql', "CREATE FUNCTION a.f() RETURNS int LANGUAGE sql AS 'SELECT 1';");
    ws.w.write('a/g.sql', "CREATE FUNCTION a.g() RETURNS int LANGUAGE sql AS 'SELECT 2';");
    const planned = await ws.dbee(
      'plan',
      { project: 'a', objects: ['function:a.f'], out: 'dist/hotfix' },
      ws.vars('qa'),
    );
    expect(planned.code, planned.stderr).toBe(0);
    const routines = async (env: string) =>
      (
        await ws.query<{ proname: string }>(
          env,
          "SELECT proname FROM pg_proc WHERE pronamespace = 'a'::regnamespace ORDER BY 1",
        )
      ).map((r) => r.proname);
    const qa = await ws.dbee(
      'deploy',
      { project: 'a', env: 'qa', package: 'dist/hotfix' },
      { ...ws.vars('qa'), ...KEY },
    );
    expect(qa.code, qa.stderr).toBe(0);
    const prod = await ws.dbee(
      'deploy',
      { project: 'a', env: 'prod', package: 'dist/hotfix' },
      { ...ws.vars('prod'), ...KEY },
    );
    expect(prod.code, prod.stderr).toBe(0);
    expect(await routines('qa')).toEqual(['f']);
    expect(await routines('prod')).toEqual(['f']);
  });
});
