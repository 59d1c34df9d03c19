import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BTEQ_ID_TAKEN } from '@dbee/teradata';
import { runBteq } from '../../packages/teradata/testing';
import { teradataWorkspace, type TeradataWorkspace } from './helpers';

// A BTEQ script's deployment id is the second it was written, so two releases exported in one second share one. The
// second script stops (exit 13) under the lock before it changes anything, instead of reading the first's
// "succeeded" as its own and ending with 0 having deployed nothing. On the Teradata test double, as every BTEQ test.

const opened: TeradataWorkspace[] = [];
afterEach(() => {
  vi.useRealTimers();
  for (const w of opened.splice(0)) w.dispose();
});

describe('BTEQ scripts of two releases written in the same second', () => {
  it('the second stops with exit 13 and changes nothing; exported again (another second), it deploys', async () => {
    const w = teradataWorkspace();
    opened.push(w);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-11-25T23:00:00Z'));
    expect((await w.dbee('plan', { format: 'bteq', out: 'r1' })).code).toBe(0);
    // Release 2 adds a view.
    w.write(
      'schema/edw/views/v_orders_open.sql',
      "REPLACE VIEW {{env}}_EDW.v_orders_open AS LOCKING ROW FOR ACCESS SELECT order_id FROM {{env}}_EDW.orders WHERE status = 'O';\n",
    );
    expect((await w.dbee('plan', { format: 'bteq', out: 'r2' })).code).toBe(0);
    const script = (dir: string) => readFileSync(join(w.root, dir, 'deploy.btq'), 'utf8');
    expect(script('r1')).toContain('deployment 2026112523000000');
    expect(script('r2')).toContain('deployment 2026112523000000');

    const first = await runBteq(script('r1'), w.session.newSession());
    expect(first.exitCode, first.output.join('\n')).toBe(0);
    const rows = () => w.ledger('deployments').length;
    const before = { rows: rows(), steps: w.ledger('steps').length, log: w.session.log.length };
    const second = await runBteq(script('r2'), w.session.newSession());
    expect(second.exitCode, second.output.join('\n')).toBe(BTEQ_ID_TAKEN);
    expect(rows()).toBe(before.rows);
    expect(w.ledger('steps').length).toBe(before.steps);
    expect(
      w
        .requestsSince(before.log)
        .filter((r) => /^\s*(CREATE|REPLACE|DROP|RENAME)\b/i.test(r) && !/DBEE_LEDGER/i.test(r)),
    ).toEqual([]);
    // Its lock row is gone with it: the release exported again deploys.
    vi.setSystemTime(new Date('2026-11-25T23:00:05Z'));
    expect((await w.dbee('plan', { format: 'bteq', out: 'r3' })).code).toBe(0);
    const third = await runBteq(script('r3'), w.session.newSession());
    expect(third.exitCode, third.output.join('\n')).toBe(0);
    expect(w.ledger('deployments').length).toBe(before.rows + 1);
  });
});
