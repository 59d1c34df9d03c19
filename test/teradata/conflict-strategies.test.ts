import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runBteq } from '../../packages/teradata/testing';
import { teradataWorkspace, type TeradataWorkspace } from './helpers';

// The `skip` and `ignore` conflict strategies on Teradata, through `dbee deploy`/`rollback` and the BTEQ export, over
// a view made by hand that the sources define with REPLACE VIEW (a conflict on Teradata: REPLACE would overwrite it).
// On the test double only (no Teradata system here).

const opened: TeradataWorkspace[] = [];
afterEach(() => {
  for (const w of opened.splice(0)) w.dispose();
});

const HAND_MADE = 'REPLACE VIEW DEV_EDW.v_customer_orders AS SELECT 1 AS hand_made';

async function withHandMadeView(strategy: 'skip' | 'ignore'): Promise<TeradataWorkspace> {
  const w = teradataWorkspace();
  opened.push(w);
  await w.session.newSession().run(HAND_MADE);
  // The view's file gets the strategy; the tables keep the example's (nothing of theirs exists yet).
  const dbYaml = readFileSync(join(w.root, 'db.yaml'), 'utf8');
  w.write(
    'db.yaml',
    dbYaml.replace(
      'conflicts:\n',
      `conflicts:\n  - match: schema/edw/views/v_customer_orders.sql\n    ifExists: ${strategy}\n`,
    ),
  );
  return w;
}

const viewText = (w: TeradataWorkspace) => w.session.catalog.get('DEV_EDW.V_CUSTOMER_ORDERS')?.show ?? '';
const viewKnown = (w: TeradataWorkspace) =>
  w.ledger('objects').some((o) => /V_CUSTOMER_ORDERS/i.test(String(o.OBJECT_KEY)));

async function exportDeploy(w: TeradataWorkspace): Promise<string> {
  const r = await w.dbee('plan', { format: 'bteq', out: 'out' });
  expect(r.code, r.stderr).toBe(0);
  return readFileSync(join(w.root, 'out', 'deploy.btq'), 'utf8');
}

describe('ifExists: skip on Teradata', () => {
  it('dbee deploy leaves the hand-made view as it is, deploys the rest and records nothing for the view', async () => {
    const w = await withHandMadeView('skip');
    const r = await w.dbee('deploy', { assumeYes: true });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('skipped (ifExists: skip');
    expect(viewText(w)).toContain('hand_made');
    expect(viewKnown(w)).toBe(false);
    expect(w.session.catalog.has('DEV_EDW.ORDERS')).toBe(true);
  });

  it('the BTEQ script jumps over the step: the view stays, no ledger row for it, exit 0', async () => {
    const w = await withHandMadeView('skip');
    const run = await runBteq(await exportDeploy(w), w.session.newSession());
    expect(run.exitCode, run.output.join('\n')).toBe(0);
    expect(viewText(w)).toContain('hand_made');
    expect(viewKnown(w)).toBe(false);
    expect(w.ledger('steps').some((s) => /V_CUSTOMER_ORDERS/i.test(String(s.OBJECT_KEY)))).toBe(false);
    expect(w.session.catalog.has('DEV_EDW.ORDERS')).toBe(true);
  });
});

describe('ifExists: ignore on Teradata', () => {
  it('dbee deploy replaces the hand-made view as the file says and records it; dbee rollback brings the hand-made text back', async () => {
    const w = await withHandMadeView('ignore');
    const mark = w.session.log.length;
    const r = await w.dbee('deploy', { assumeYes: true });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // The hand-made definition is read once, when the conflict is decided (it is the step's previous definition).
    expect(w.requestsSince(mark).filter((q) => /^SHOW VIEW\b/i.test(q))).toHaveLength(1);
    expect(viewText(w)).toContain('customer_name');
    expect(viewKnown(w)).toBe(true);
    expect(w.ledger('backups')).toEqual([]);
    const back = await w.dbee('rollback', { assumeYes: true });
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(viewText(w)).toContain('hand_made');
  });

  it('the BTEQ script replaces the view, recorded with no reverse; rollback.btq and dbee rollback refuse to drop it', async () => {
    const w = await withHandMadeView('ignore');
    const r = await w.dbee('plan', { format: 'bteq', out: 'out' });
    expect(r.code, r.stderr).toBe(0);
    const run = await runBteq(readFileSync(join(w.root, 'out', 'deploy.btq'), 'utf8'), w.session.newSession());
    expect(run.exitCode, run.output.join('\n')).toBe(0);
    expect(viewText(w)).toContain('customer_name');
    expect(viewKnown(w)).toBe(true);
    // As the runner records a step over an object whose earlier definition it could not read: a replace, no reverse.
    const view = w.ledger('steps').find((s) => /V_CUSTOMER_ORDERS/i.test(String(s.OBJECT_KEY)));
    expect([view?.ACTION, view?.REVERSE_STATEMENTS]).toEqual(['replace', null]);
    // The tables the script created over nothing keep their DROP.
    const orders = w.ledger('steps').find((s) => s.OBJECT_KEY === 'table:DEV_EDW.ORDERS');
    expect(JSON.parse(String(orders?.REVERSE_STATEMENTS))).toEqual(['DROP TABLE DEV_EDW.ORDERS']);

    const back = await runBteq(readFileSync(join(w.root, 'out', 'rollback.btq'), 'utf8'), w.session.newSession());
    expect(back.exitCode).toBeGreaterThan(16);
    expect(back.output.join('\n')).toMatch(/V_CUSTOMER_ORDERS, which existed before and which dbee did not make/);
    expect(viewText(w)).toContain('customer_name');
    expect(w.session.catalog.has('DEV_EDW.ORDERS')).toBe(true);

    const undo = await w.dbee('rollback', { assumeYes: true });
    expect(undo.code).toBe(1);
    expect(undo.stderr).toContain('the ledger records no reverse for it');
    expect(viewText(w)).toContain('customer_name');
  });

  it('the BTEQ script with ignore over nothing records the planned reverse: rollback.btq drops the view it made', async () => {
    const w = await withHandMadeView('ignore');
    await w.session.newSession().run('DROP VIEW DEV_EDW.v_customer_orders');
    const r = await w.dbee('plan', { format: 'bteq', out: 'out' });
    expect(r.code, r.stderr).toBe(0);
    const run = await runBteq(readFileSync(join(w.root, 'out', 'deploy.btq'), 'utf8'), w.session.newSession());
    expect(run.exitCode, run.output.join('\n')).toBe(0);
    const view = w.ledger('steps').find((s) => /V_CUSTOMER_ORDERS/i.test(String(s.OBJECT_KEY)));
    expect(view?.ACTION).toBe('create');
    const back = await runBteq(readFileSync(join(w.root, 'out', 'rollback.btq'), 'utf8'), w.session.newSession());
    expect(back.exitCode, back.output.join('\n')).toBe(0);
    expect(w.session.catalog.has('DEV_EDW.V_CUSTOMER_ORDERS')).toBe(false);
  });
});
