import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import type { TestWorkspace } from './helpers';
import { deployedShop } from './shop';

let workspaces: TestWorkspace[] = [];
afterEach(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

// Timeouts need another session holding a lock, or a clock interrupting a statement: a server matter
// (PGlite is one session in one process).
describe('session timeouts per environment [postgres]', () => {
  it('lockTimeout aborts a step that waits on a lock held by another session; the failure is recorded (exit 2)', async () => {
    const w = await deployedShop('postgres', 'deploy:\n  lockTimeout: 500ms');
    workspaces.push(w);
    w.write('shop/recent.sql', 'CREATE VIEW shop.recent AS SELECT id, name FROM shop.customers;\n');
    const holder = await w.target.connect();
    try {
      await holder.execute('BEGIN');
      await holder.execute('LOCK TABLE shop.customers IN ACCESS EXCLUSIVE MODE');
      const t0 = Date.now();
      const r = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('canceling statement due to lock timeout');
      const steps = await w.target.query<{ object_key: string; status: string; error: string }>(
        'SELECT object_key, status, error FROM dbee.steps WHERE deployment_id = 2',
      );
      expect(steps.map((s) => [s.object_key, s.status])).toEqual([['view:shop.recent', 'failed']]);
    } finally {
      await holder.execute('ROLLBACK');
      await holder.close();
    }
    const again = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(again.code).toBe(0);
  });

  it('statementTimeout cancels a step that runs too long', async () => {
    const w = await deployedShop('postgres', 'deploy:\n  statementTimeout: 300ms');
    workspaces.push(w);
    w.write('shop/migrations/V2__slow.sql', 'SELECT pg_sleep(5);\n');
    w.write('shop/migrations/V2__slow.rollback.sql', 'SELECT 0;\n');
    const t0 = Date.now();
    const r = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(Date.now() - t0).toBeLessThan(4_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('canceling statement due to statement timeout');
  });
});
