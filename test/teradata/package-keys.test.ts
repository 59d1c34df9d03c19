import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runBteq } from '../../packages/teradata/testing';
import { devAndProd, type TeradataWorkspace } from './helpers';

// A package is built once and deployed to every environment: the example names its database `{{env}}_EDW`, so the
// package's step keys stay templates (`table:{{env}}_EDW.CUSTOMERS`) and each environment's ledger gets its own
// names (DEV_EDW on td-dev, PROD_EDW on td-prod), by `deploy --package` and by the package's BTEQ export alike.

const opened: TeradataWorkspace[] = [];
afterEach(() => {
  vi.useRealTimers();
  for (const w of opened.splice(0)) w.dispose();
});

/** td-dev (DEV_EDW) and td-prod (PROD_EDW); `prodGates` adds prod's gates. */
function workspace(prodGates = ''): TeradataWorkspace {
  const w = devAndProd(prodGates);
  opened.push(w);
  return w;
}

/** Object keys the ledger's `objects` rows hold for `environment`'s database, sorted. */
function objectKeys(w: TeradataWorkspace, environment: string): string[] {
  const ids = new Set(
    w
      .ledger('deployments')
      .filter((d) => d.ENVIRONMENT === environment)
      .map((d) => d.ID),
  );
  const steps = w.ledger('steps').filter((s) => ids.has(s.DEPLOYMENT_ID));
  return [...new Set(steps.map((s) => String(s.OBJECT_KEY)))].sort();
}

describe('a package built once deploys to every environment under its own names', () => {
  it('keeps template keys in the package; td-dev then td-prod each record their own names; smoke passes; again: nothing', async () => {
    const w = workspace();
    const pkg = w.packageFolder();
    const built = await w.dbee('plan', { out: pkg });
    expect(built.code, built.stderr).toBe(0);
    const plan = readFileSync(join(pkg, 'plan.json'), 'utf8');
    expect(plan).toContain('table:{{env}}_EDW.CUSTOMERS');
    expect(plan).not.toContain('DEV_EDW');
    expect(readdirSync(join(pkg, 'steps')).join(' ')).not.toContain('DEV_EDW');

    for (const [env, mine, other] of [
      ['td-dev', 'DEV_EDW', 'PROD_EDW'],
      ['td-prod', 'PROD_EDW', 'DEV_EDW'],
    ] as const) {
      const r = await w.dbee('deploy', { env, package: pkg, assumeYes: true });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const keys = objectKeys(w, env);
      expect(keys).toContain(`table:${mine}.CUSTOMERS`);
      expect(keys.join(' ')).not.toContain(other);
      expect(keys.join(' ')).not.toContain('{{');
      const again = await w.dbee('deploy', { env, package: pkg, assumeYes: true });
      expect(again.code, again.stdout + again.stderr).toBe(0);
      expect(again.stdout + again.stderr).toMatch(/nothing to deploy/i);
    }
    const objects = w.ledger('objects').map((o) => String(o.OBJECT_KEY));
    expect(objects).toContain('table:DEV_EDW.CUSTOMERS');
    expect(objects).toContain('table:PROD_EDW.CUSTOMERS');
    expect(objects.join(' ')).not.toContain('{{');
  });

  it("the package's BTEQ export for td-prod records PROD_EDW keys (the promotion flow: td-dev by BTEQ, smoke by deploy)", async () => {
    const w = workspace('    gates:\n      requireTicket: true\n      promotedFrom: [td-dev]\n');
    const pkg = w.packageFolder();
    expect((await w.dbee('plan', { out: pkg })).code).toBe(0);
    const dev = await w.dbee('plan', { format: 'bteq', out: 'dev', package: pkg });
    expect(dev.code, dev.stderr).toBe(0);
    const ranDev = await runBteq(readFileSync(join(w.root, 'dev', 'deploy.btq'), 'utf8'), w.session.newSession());
    expect(ranDev.exitCode, ranDev.output.join('\n')).toBe(0);
    const settled = await w.dbee('deploy', { package: pkg, assumeYes: true });
    expect(settled.code, settled.stdout + settled.stderr).toBe(0);
    expect(objectKeys(w, 'td-dev')).toContain('table:DEV_EDW.CUSTOMERS');

    // A script's deployment id is the second it was written (bteq.ts defaultBteqDeploymentId): the prod export is
    // written later than dev's, as a promotion is (in the same second, it would find dev's deployment done).
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 60_000);
    const prod = await w.dbee('plan', { env: 'td-prod', format: 'bteq', out: 'prod', ticket: 'CHG-9', package: pkg });
    expect(prod.code, prod.stderr).toBe(0);
    const script = readFileSync(join(w.root, 'prod', 'deploy.btq'), 'utf8');
    expect(script).not.toContain('DEV_EDW');
    expect(readFileSync(join(w.root, 'prod', 'rollback.btq'), 'utf8')).not.toContain('DEV_EDW');
    const ranProd = await runBteq(script, w.session.newSession());
    expect(ranProd.exitCode, ranProd.output.join('\n')).toBe(0);
    const keys = objectKeys(w, 'td-prod');
    expect(keys).toContain('table:PROD_EDW.CUSTOMERS');
    expect(keys.join(' ')).not.toContain('DEV_EDW');
    // dbee deploy of the same package on td-prod finds it deployed, and its smoke checks pass there.
    const after = await w.dbee('deploy', { env: 'td-prod', package: pkg, ticket: 'CHG-9', assumeYes: true });
    expect(after.code, after.stdout + after.stderr).toBe(0);
    expect(after.stdout + after.stderr).toMatch(/nothing to deploy/i);
  });

  it('refuses (exit 1, nothing recorded) where a name comes from a placeholder it cannot map back, as deploy and as BTEQ', async () => {
    const w = workspace();
    // A variable holding a qualified name: the key's names are not one identifier of the source each.
    w.write(
      'dbee.yaml',
      readFileSync(join(w.root, 'dbee.yaml'), 'utf8')
        .replace('      env: DEV\n', '      env: DEV\n      audit: DEV_EDW.AUDIT_LOG\n')
        .replace('      env: PROD\n', '      env: PROD\n      audit: PROD_EDW.AUDIT_LOG\n'),
    );
    w.write('schema/edw/tables/audit_log.sql', 'CREATE MULTISET TABLE {{audit}} (id INTEGER) PRIMARY INDEX (id);\n');
    const pkg = w.packageFolder();
    expect((await w.dbee('plan', { out: pkg })).code).toBe(0);
    expect(JSON.parse(readFileSync(join(pkg, 'release.json'), 'utf8')).variables.edw.boundKeys.keys).toEqual([
      'table:DEV_EDW.AUDIT_LOG',
    ]);
    const dev = await w.dbee('deploy', { package: pkg, assumeYes: true });
    expect(dev.code, dev.stdout + dev.stderr).toBe(0);
    expect(objectKeys(w, 'td-dev')).toContain('table:DEV_EDW.AUDIT_LOG');

    const prod = await w.dbee('deploy', { env: 'td-prod', package: pkg, assumeYes: true });
    expect(prod.code).toBe(1);
    expect(prod.stderr).toMatch(/table:DEV_EDW\.AUDIT_LOG as td-dev does[\s\S]*cannot map back[\s\S]*--env td-prod/);
    expect(prod.stderr).not.toMatch(/\n\s+at /);
    const exported = await w.dbee('plan', { env: 'td-prod', format: 'bteq', out: 'prod', package: pkg });
    expect(exported.code).toBe(1);
    expect(exported.stderr).toMatch(/cannot map back/);
    expect(w.ledger('deployments').filter((d) => d.ENVIRONMENT === 'td-prod')).toEqual([]);
  });
});
