import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BteqRun, type FakeTeradataSession, runBteq } from '../../packages/teradata/testing';
import { ansiEnvironment, EXAMPLE, exportScripts, teradataWorkspace, type TeradataWorkspace } from './helpers';

// #64 S4: rollback.btq puts back the earlier text of the views, macros and procedures a release changed, and the
// join index made by hand that the release dropped to make its own. The target: release 1 of examples/teradata
// (without its join index) deployed by dbee, rows in its tables, a join index made by hand; release 2 changes the
// view, the macro and the procedure, and brings the join index. Verified on the test double only.

/**
 * The user objects of a fake system and their SHOW text, and the tables' rows. Left out of the text: trailing `;` and
 * blanks, and the ` --` BTEQ's scripts put after a `;` that ends a line inside a macro or procedure body (else BTEQ
 * would end the request there; Teradata keeps the comment in the text).
 */
function state(s: FakeTeradataSession): Record<string, unknown> {
  return Object.fromEntries(
    [...s.catalog]
      .filter(([k]) => k.startsWith('DEV_EDW.'))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, o]) => [
        k,
        { show: o.show.replace(/ --$/gm, '').replace(/[;\s]+$/, ''), rows: o.rows?.length ? o.rows : undefined },
      ]),
  );
}

const why = (r: BteqRun) => r.output.slice(-4).join('\n');

/**
 * Cut points of an ANSI-mode run: right after each COMMIT (a kill anywhere before the next COMMIT rolls the open
 * transaction back to that state).
 */
function ansiCutPoints(run: BteqRun): number[] {
  return run.requests
    .flatMap((r, i) => (/^\s*COMMIT\s*;?\s*$/i.test(r) ? [i + 2] : []))
    .filter((k) => k <= run.requests.length);
}

/** Cut points of a Teradata-mode run: every request that commits on its own, and each BT (see change-window.test). */
function cutPoints(run: BteqRun): number[] {
  let open = false;
  return run.requests.flatMap((r, i) => {
    if (/^\s*BT\s*$/i.test(r)) {
      open = true;
      return [i + 1];
    }
    if (/^\s*ET\s*$/i.test(r)) {
      open = false;
      return [];
    }
    return open || /^\s*SELECT\b/i.test(r) ? [] : [i + 1];
  });
}

const HAND_MADE_JI =
  'CREATE JOIN INDEX DEV_EDW.ji_orders_by_customer AS SELECT o.order_id, o.customer_id, o.amount FROM DEV_EDW.orders o PRIMARY INDEX (customer_id)';

async function release(tmode: 'TERA' | 'ANSI'): Promise<{ w: TeradataWorkspace; deploy: string; rollback: string }> {
  const w = teradataWorkspace({ tmode });
  if (tmode === 'ANSI') ansiEnvironment(w);
  rmSync(join(w.root, 'schema/edw/join_indexes'), { recursive: true, force: true });
  const first = await w.dbee('deploy', { assumeYes: true });
  expect(first.code, first.stdout + first.stderr).toBe(0);
  const dba = w.session.newSession();
  if (tmode === 'ANSI') await dba.setAutocommit(true);
  await dba.run('INSERT INTO DEV_EDW.customers VALUES (?, ?, ?, ?)', [7, 'Ada', 'R', '2026-01-01 00:00:00']);
  await dba.run(
    'INSERT INTO DEV_EDW.orders (order_id, customer_id, order_date, status, amount) VALUES (?, ?, ?, ?, ?)',
    [1, 7, '2026-01-02', 'O', 10],
  );
  await dba.run(HAND_MADE_JI);
  const edit = (path: string, from: string | RegExp, to: string) => {
    const text = readFileSync(join(w.root, path), 'utf8');
    const changed = text.replace(from, to);
    expect(changed).not.toBe(text);
    w.write(path, changed);
  };
  edit('schema/edw/views/v_customer_orders.sql', 'c.segment', 'c.segment,\n       c.created_at');
  edit('schema/edw/macros/purge_cancelled.sql', 'AS remaining', 'AS still_cancelled');
  edit('schema/edw/procedures/load_orders.sql', 'SET loaded = n;', 'SET loaded = n + 0;');
  mkdirSync(join(w.root, 'schema/edw/join_indexes'));
  w.write(
    'schema/edw/join_indexes/ji_orders_by_customer.sql',
    readFileSync(join(EXAMPLE, 'schema/edw/join_indexes/ji_orders_by_customer.sql'), 'utf8'),
  );
  const scripts = await exportScripts(w);
  return { w, ...scripts };
}

describe('S4: rollback.btq restores changed views, macros, procedures and a hand-made join index', () => {
  const opened: TeradataWorkspace[] = [];
  afterAll(() => {
    for (const w of opened) w.dispose();
  });

  for (const tmode of ['TERA', 'ANSI'] as const) {
    it(`${tmode}: the release runs, then rollback.btq brings back every earlier text, the join index and the rows`, async () => {
      const { w, deploy, rollback } = await release(tmode);
      opened.push(w);
      const before = state(w.session);
      const s = w.session.copySystem();
      const run = await runBteq(deploy, s.newSession());
      expect(run.exitCode, why(run)).toBe(0);
      expect(String((state(s)['DEV_EDW.V_CUSTOMER_ORDERS'] as { show: string }).show)).toMatch(/created_at/);
      expect(String((state(s)['DEV_EDW.JI_ORDERS_BY_CUSTOMER'] as { show: string }).show)).toMatch(/customer_name/);
      const back = await runBteq(rollback, s.newSession());
      expect(back.exitCode, why(back)).toBe(0);
      expect(state(s)).toEqual(before);
      expect(s.rows('DBEE_LEDGER.LOCK')).toEqual([]);
    });
  }

  it('ANSI: deploy.btq killed after any COMMIT: re-running it completes the release; rollback.btq restores the target', async () => {
    const { w, deploy, rollback } = await release('ANSI');
    opened.push(w);
    const before = state(w.session);
    const reference = w.session.copySystem();
    const full = await runBteq(deploy, reference.newSession());
    expect(full.exitCode, why(full)).toBe(0);
    const after = state(reference);
    const cuts = ansiCutPoints(full);
    expect(cuts.length).toBeGreaterThan(10);
    for (const k of cuts) {
      const s = w.session.copySystem();
      expect((await runBteq(deploy, s.newSession(), { kill: k })).exitCode).toBe(-1);
      const again = await runBteq(deploy, s.newSession());
      expect(again.exitCode, `deploy re-run after a kill before request ${k}: ${why(again)}`).toBe(0);
      expect(state(s)).toEqual(after);
      const r = w.session.copySystem();
      await runBteq(deploy, r.newSession(), { kill: k });
      const back = await runBteq(rollback, r.newSession());
      expect(back.exitCode, `rollback after a kill before request ${k}: ${why(back)}`).toBe(0);
      expect(state(r), `rollback after a kill before request ${k}`).toEqual(before);
    }
  });

  describe('TERA: killed at every cut point', () => {
    let w: TeradataWorkspace;
    let scripts: { deploy: string; rollback: string };
    let before: Record<string, unknown>;
    let after: Record<string, unknown>;
    let deployCuts: number[];
    let rollbackCuts: number[];
    beforeAll(async () => {
      const made = await release('TERA');
      w = made.w;
      opened.push(w);
      scripts = made;
      before = state(w.session);
      const s = w.session.copySystem();
      const full = await runBteq(scripts.deploy, s.newSession());
      expect(full.exitCode, why(full)).toBe(0);
      after = state(s);
      deployCuts = cutPoints(full);
      const undo = await runBteq(scripts.rollback, s.newSession());
      expect(undo.exitCode, why(undo)).toBe(0);
      rollbackCuts = cutPoints(undo);
    });

    it('deploy.btq killed at any statement: re-running it completes the release; rollback.btq restores the target', async () => {
      expect(deployCuts.length).toBeGreaterThan(10);
      for (const k of deployCuts) {
        const s = w.session.copySystem();
        expect((await runBteq(scripts.deploy, s.newSession(), { kill: k })).exitCode).toBe(-1);
        const again = await runBteq(scripts.deploy, s.newSession());
        expect(again.exitCode, `deploy re-run after a kill before request ${k}: ${why(again)}`).toBe(0);
        expect(state(s)).toEqual(after);

        const r = w.session.copySystem();
        await runBteq(scripts.deploy, r.newSession(), { kill: k });
        const back = await runBteq(scripts.rollback, r.newSession());
        expect(back.exitCode, `rollback after a kill before request ${k}: ${why(back)}`).toBe(0);
        expect(state(r), `rollback after a kill before request ${k}`).toEqual(before);
      }
    });

    it('rollback.btq killed at any statement: re-running it restores the target', async () => {
      expect(rollbackCuts.length).toBeGreaterThan(5);
      for (const k of rollbackCuts) {
        const s = w.session.copySystem();
        await runBteq(scripts.deploy, s.newSession());
        expect((await runBteq(scripts.rollback, s.newSession(), { kill: k })).exitCode).toBe(-1);
        const again = await runBteq(scripts.rollback, s.newSession());
        expect(again.exitCode, `rollback re-run after a kill before request ${k}: ${why(again)}`).toBe(0);
        expect(state(s), `rollback re-run after a kill before request ${k}`).toEqual(before);
      }
    });
  });
});
