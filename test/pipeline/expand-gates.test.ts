import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookSink } from './webhooks';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KEY, promotionWorkspace, type EngineName } from '../promotion/helpers';

/** On the server only: the matrix (guarantees.test.ts) holds the phases' gates, log rows and drift on PGlite too. */
const SERVER: EngineName[] = ['postgres'];

/**
 * The five reproductions of issue #55 in the dev/qa/prod example of docs/gates.md (prod: `promotedFrom: [qa]`,
 * `requireTicket`, `protected`): the expand-contract strategy, `complete` and `abort` go through the same pipeline as
 * a direct deployment, so its gates, notifications, `dbee log` rows and drift bookkeeping hold for them too.
 */
describe.each(SERVER)('expand-contract through the pipeline [%s]', (engine) => {
  const hooks = webhookSink<{ event: string; phase?: string; ticket: string | null; environment: string }>();
  const { received } = hooks;
  const cleanups: (() => Promise<void>)[] = [];
  beforeAll(() => hooks.listen());
  afterAll(async () => {
    await hooks.close();
    for (const c of cleanups) await c();
  });

  it('gates, tickets, notifications, log rows and drift hold for expand, complete and abort', async () => {
    const ws = await promotionWorkspace(engine, ['qa', 'prod'], {
      prod: '{ promotedFrom: [qa], requireTicket: true, protected: true }',
    });
    cleanups.push(ws.cleanup);
    const yaml = readFileSync(join(ws.w.root, 'dbee.yaml'), 'utf8');
    ws.w.write('dbee.yaml', `${yaml}notify:\n  - url: "${hooks.url()}"\n`);
    const both = { ...ws.vars('qa', 'prod'), ...KEY };
    const yes = { assumeYes: true, ticket: 'CHG-1' };
    // Release 0: the package of the first state, through qa to prod.
    expect((await ws.dbee('plan', { project: 'a', out: 'dist/v1' }, both)).code).toBe(0);
    expect((await ws.dbee('deploy', { project: 'a', env: 'qa', package: 'dist/v1' }, both)).code).toBe(0);
    const v1 = await ws.dbee('deploy', { project: 'a', env: 'prod', package: 'dist/v1', ...yes }, both);
    expect(v1.code, v1.stderr).toBe(0);
    // Release 1 adds a column, with the expand-contract strategy.
    ws.w.write('a/t.sql', 'CREATE SCHEMA a;\nCREATE TABLE a.t (id int PRIMARY KEY, b int);');
    const pkg = await ws.dbee('plan', { project: 'a', out: 'dist/v2', strategy: 'expand-contract' }, both);
    expect(pkg.code, pkg.stderr).toBe(0);
    const hasB = async (env: string) =>
      (
        await ws.query<{ n: number }>(
          env,
          "SELECT count(*)::int AS n FROM information_schema.columns WHERE table_schema = 'a' AND column_name = 'b'",
        )
      )[0]!.n > 0;
    const strategy = 'expand-contract';

    // 1. From the sources to prod: refused (a package is required there), nothing applied.
    const fromSources = await ws.dbee('deploy', { project: 'a', env: 'prod', strategy, ...yes }, both);
    expect(fromSources.code).toBe(1);
    expect(fromSources.stderr).toContain('only accepts packages promoted from qa');
    // 2. The package's dry run on prod before qa: refused, naming the gate, as the direct dry run is.
    const dry = await ws.dbee(
      'deploy',
      { project: 'a', env: 'prod', package: 'dist/v2', strategy, dryRun: true },
      both,
    );
    expect(dry.code).toBe(1);
    expect(dry.stderr).toMatch(/requires a change ticket|never deployed to qa/);
    const dryTicket = await ws.dbee(
      'deploy',
      { project: 'a', env: 'prod', package: 'dist/v2', strategy, dryRun: true, ticket: 'CHG-1' },
      both,
    );
    expect(dryTicket.code).toBe(1);
    expect(dryTicket.stderr).toContain('this package was never deployed to qa');
    expect(await hasB('prod')).toBe(false);

    // On qa (no gates), then on prod once qa passed: the expand phase is a deployment in the ledger with its steps.
    const qa = await ws.dbee('deploy', { project: 'a', env: 'qa', package: 'dist/v2', strategy }, both);
    expect(qa.code, qa.stderr).toBe(0);
    expect((await ws.dbee('complete', { project: 'a', env: 'qa' }, both)).code).toBe(0);
    received.length = 0;
    const noConfirm = await ws.dbee(
      'deploy',
      { project: 'a', env: 'prod', package: 'dist/v2', strategy, ticket: 'CHG-2' },
      both,
    );
    expect(noConfirm.code).toBe(1);
    expect(noConfirm.stderr).toContain('is protected: a non-interactive run needs --assume-yes');
    const prod = await ws.dbee('deploy', { project: 'a', env: 'prod', package: 'dist/v2', strategy, ...yes }, both);
    expect(prod.code, prod.stderr).toBe(0);
    expect(await hasB('prod')).toBe(true);
    // 4. Notifications of the phase, with its ticket.
    expect(received.map((n) => [n.event, n.phase, n.ticket])).toEqual([
      ['deploy-started', 'expand', 'CHG-1'],
      ['deploy-succeeded', 'expand', 'CHG-1'],
    ]);
    // 5. While expanded, the release's own version schema, triggers and columns are not drift.
    const status = await ws.dbee('status', { project: 'a', env: 'prod' }, both);
    expect(status.stdout).toContain('drift: no');

    // 3. complete needs the ticket on prod; with it, it runs and is recorded.
    const noTicket = await ws.dbee('complete', { project: 'a', env: 'prod', assumeYes: true }, both);
    expect(noTicket.code).toBe(1);
    expect(noTicket.stderr).toContain('environment prod requires a change ticket: complete refused');
    // Its dry run is verified on a scratch copy of the expanded tables, and changes nothing,
    const dryComplete = await ws.dbee(
      'complete',
      { project: 'a', env: 'prod', dryRun: true, assumeYes: true, ticket: 'CHG-3' },
      both,
    );
    expect(dryComplete.code, dryComplete.stderr).toBe(0);
    // and compared there with the sources, as the real run is on the target.
    expect(dryComplete.stdout + dryComplete.stderr).toContain(
      "dry run: verified on a scratch copy of the target's schemas (2 steps, all applied) and converged: the object they touch equals the sources",
    );
    const completed = await ws.dbee('complete', { project: 'a', env: 'prod', assumeYes: true, ticket: 'CHG-3' }, both);
    expect(completed.code, completed.stderr).toBe(0);
    expect(received.slice(2).map((n) => [n.event, n.phase, n.ticket])).toEqual([
      ['deploy-started', 'complete', 'CHG-3'],
      ['deploy-succeeded', 'complete', 'CHG-3'],
    ]);

    // A release aborted on qa: its row too.
    ws.w.write('a/t.sql', 'CREATE SCHEMA a;\nCREATE TABLE a.t (id int PRIMARY KEY, b int, c int);');
    expect((await ws.dbee('deploy', { project: 'a', env: 'qa', strategy }, both)).code).toBe(0);
    const dryAbort = await ws.dbee('abort', { project: 'a', env: 'qa', dryRun: true }, both);
    expect(dryAbort.code, dryAbort.stderr).toBe(0);
    expect(dryAbort.stdout + dryAbort.stderr).toContain('dry run: applied on a scratch copy');
    expect((await ws.dbee('abort', { project: 'a', env: 'qa' }, both)).code).toBe(0);

    // `dbee log`: every phase a row naming package, ticket and phase, with its steps.
    const log = async (env: string) =>
      JSON.parse((await ws.dbee('log', { project: 'a', env, format: 'json' }, both)).stdout) as {
        deployments: {
          kind: string;
          result: string;
          package: string | null;
          ticket: string | null;
          steps: unknown[];
        }[];
      };
    const prodLog = (await log('prod')).deployments;
    expect(prodLog.map((d) => [d.kind, d.result, d.ticket, d.package !== null])).toEqual([
      // complete records the release's package (its expand's: issue 71).
      ['complete', 'succeeded', 'CHG-3', true],
      ['expand', 'succeeded', 'CHG-1', true],
      ['deploy', 'succeeded', 'CHG-1', true],
    ]);
    expect(prodLog[0]!.steps.length).toBeGreaterThan(0);
    expect(prodLog[1]!.steps.length).toBeGreaterThan(0);
    expect((await log('qa')).deployments.map((d) => d.kind).slice(0, 2)).toEqual(['abort', 'expand']);
  });

  it('a package already at its state on qa runs its smoke checks there and writes its promotion record: prod takes it (#58)', async () => {
    const ws = await promotionWorkspace(engine, ['qa', 'prod'], { prod: '{ promotedFrom: [qa] }' });
    cleanups.push(ws.cleanup);
    const both = { ...ws.vars('qa', 'prod'), ...KEY };
    // qa deployed from the sources (CI on every push), then the release package of that same state.
    expect((await ws.dbee('deploy', { project: 'a', env: 'qa' }, both)).code).toBe(0);
    expect((await ws.dbee('plan', { project: 'a', out: 'dist/r' }, both)).code).toBe(0);
    const qa = await ws.dbee('deploy', { project: 'a', env: 'qa', package: 'dist/r' }, both);
    expect(qa.code, qa.stderr).toBe(0);
    expect(qa.stdout).toContain("the package's smoke checks run here for its promotion record");
    expect(qa.stdout).toContain('promotion record written to');
    const prod = await ws.dbee('deploy', { project: 'a', env: 'prod', package: 'dist/r' }, both);
    expect(prod.code, prod.stderr).toBe(0);
    expect(await ws.deployed('prod')).toBe(true);
    // Failing checks on qa: the package is not promoted (exit 3), prod still refuses it.
    await ws.query('qa', 'CREATE TABLE public.smoke_blocker (id int)');
    const again = await ws.dbee('deploy', { project: 'a', env: 'qa', package: 'dist/r' }, both);
    expect(again.code).toBe(3);
  });
});
