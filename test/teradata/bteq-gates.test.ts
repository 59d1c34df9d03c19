import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runBteq } from '../../packages/teradata/testing';
import { devAndProd, type TeradataWorkspace } from './helpers';

// Issue #55: the BTEQ export is a deployment that BTEQ runs later, so the pipeline's gates judge it when dbee writes
// it (the same `gatesBeforeLock` as `dbee deploy`), and the rows its script writes name the ticket and the package as
// dbee deploy's rows do. On the Teradata test double (packages/teradata/testing), as every BTEQ test.

const opened: TeradataWorkspace[] = [];
afterEach(() => {
  for (const w of opened.splice(0)) w.dispose();
});

/** td-dev, and td-prod (PROD_EDW) behind a ticket and a promotion from td-dev; `extra` adds to prod's gates. */
function workspace(extra = ''): TeradataWorkspace {
  const w = devAndProd(`    gates:\n      requireTicket: true\n      promotedFrom: [td-dev]\n${extra}`);
  opened.push(w);
  return w;
}

const prod = { env: 'td-prod', format: 'bteq' };

describe('dbee plan --format bteq goes through the gates of the environment it is written for', () => {
  it('refuses without a ticket, from the sources, and a package td-dev never deployed (exit 1, no script)', async () => {
    const w = workspace();
    const noTicket = await w.dbee('plan', { ...prod, out: 'prod' });
    expect(noTicket.code).toBe(1);
    expect(noTicket.stderr).toMatch(/requires a change ticket/);
    expect(existsSync(join(w.root, 'prod'))).toBe(false);

    const fromSources = await w.dbee('plan', { ...prod, out: 'prod', ticket: 'CHG-7' });
    expect(fromSources.code).toBe(1);
    expect(fromSources.stderr).toMatch(/only accepts packages promoted from td-dev/);
    expect(existsSync(join(w.root, 'prod', 'deploy.btq'))).toBe(false);

    const pkg = w.packageFolder();
    expect((await w.dbee('plan', { out: pkg })).code).toBe(0);
    const notPromoted = await w.dbee('plan', { ...prod, out: 'prod', ticket: 'CHG-7', package: pkg });
    expect(notPromoted.code, notPromoted.stderr).toBe(1);
    expect(notPromoted.stderr).toMatch(/td-dev/);
    expect(existsSync(join(w.root, 'prod', 'deploy.btq'))).toBe(false);
  });

  it('the script records the ticket it was exported under, and a package its path, as dbee deploy does', async () => {
    const w = workspace();
    // td-dev behind a ticket too: exported from a package, which its deployment row names.
    w.write(
      'dbee.yaml',
      readFileSync(join(w.root, 'dbee.yaml'), 'utf8').replace(
        '      env: DEV\n',
        '      env: DEV\n    gates:\n      requireTicket: true\n',
      ),
    );
    const pkg = w.packageFolder();
    expect((await w.dbee('plan', { out: pkg })).code).toBe(0);
    const exported = await w.dbee('plan', { format: 'bteq', out: 'dev', ticket: 'CHG-7', package: pkg });
    expect(exported.code, exported.stderr).toBe(0);
    const ran = await runBteq(readFileSync(join(w.root, 'dev', 'deploy.btq'), 'utf8'), w.session.newSession());
    expect(ran.exitCode, ran.output.join('\n')).toBe(0);
    const row = w.ledger('deployments').find((d) => d.ENVIRONMENT === 'td-dev');
    expect(row?.TICKET).toBe('CHG-7');
    expect(row?.PACKAGE).toBe(pkg);
    expect(row?.STATUS).toBe('succeeded');
    // BTEQ runs no smoke checks: td-prod's promotion gate waits for them. `dbee deploy --package` of the same package
    // finds nothing to deploy and runs them, recording the promotion evidence; then the gate passes.
    const waiting = await w.dbee('plan', { ...prod, out: 'prod', ticket: 'CHG-8', package: pkg });
    expect(waiting.code).toBe(1);
    expect(waiting.stderr).toMatch(/smoke checks did not run on td-dev/);
    const settled = await w.dbee('deploy', { package: pkg, ticket: 'CHG-7', assumeYes: true });
    expect(settled.code, settled.stderr).toBe(0);
    expect(settled.stdout + settled.stderr).toMatch(/smoke checks run here for its promotion record/);
    const promoted = await w.dbee('plan', { ...prod, out: 'prod', ticket: 'CHG-8', package: pkg });
    expect(promoted.code, promoted.stderr).toBe(0);
    expect(readFileSync(join(w.root, 'prod', 'deploy.btq'), 'utf8')).toContain("'CHG-8'");
  });

  it('refuses a script that could drop an existing object where prod requires a backup (the example drops its staging table)', async () => {
    const w = workspace('      requireBackup: true\n');
    const pkg = w.packageFolder();
    expect((await w.dbee('plan', { out: pkg })).code).toBe(0);
    expect((await w.dbee('deploy', { package: pkg, assumeYes: true })).code).toBe(0);
    const r = await w.dbee('plan', { ...prod, out: 'prod', ticket: 'CHG-8', package: pkg });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/STAGE_ORDERS[\s\S]*requires a backup/i);
    expect(existsSync(join(w.root, 'prod', 'deploy.btq'))).toBe(false);
  });

  it('--ticket and --package are refused on a plan that is not exported as scripts', async () => {
    const w = workspace();
    const r = await w.dbee('plan', { ticket: 'CHG-1' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--ticket is for a plan exported as scripts/);
  });
});
