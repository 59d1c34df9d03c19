import { afterAll, describe, expect, it } from 'vitest';
import { ENGINES, spawnDbee, workspaceWith, type TestWorkspace } from '../runner/helpers';
import { SHOP_V1 } from '../runner/shop';
import { assertCatalogAsFresh, assertLedgerInvariants } from './invariants';

// Long fault case (npm run test:faults only): 20 dbee processes deploy the same project to one database at once.

let workspaces: TestWorkspace[] = [];
afterAll(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

/** Shop v1 with a migration that keeps the lock for a while, so that the others meet it. */
const FILES = {
  ...SHOP_V1,
  'shop/migrations/V2__slow.sql': 'SELECT pg_sleep(2);\n',
  'shop/migrations/V2__slow.rollback.sql': 'SELECT 0;\n',
};

describe.each(ENGINES)('fault: 20 parallel deployments to one database [%s]', (engine) => {
  it('only one applies; the others wait and find nothing to deploy, or refuse at once (lock held); the ledger holds its invariants', async () => {
    const w = await workspaceWith(engine, FILES);
    workspaces.push(w);
    // Half wait for the lock (long enough for the first to finish), half give up at once.
    const procs = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        spawnDbee(w.root, ['deploy', 'shop', '--wait-for-lock', i % 2 ? '0' : '120'], w.target.vars),
      ),
    );
    const codes = await Promise.all(procs.map((p) => p.exit));
    const outputs = procs.map((p) => p.output());
    const appliers = outputs.filter((o) => /shop: deployed \d+ steps?/.test(o.stdout));
    expect(appliers, outputs.map((o) => o.stdout + o.stderr).join('\n----\n')).toHaveLength(1);
    for (const [i, code] of codes.entries()) {
      const o = outputs[i]!;
      if (code === 0) {
        expect(o.stderr.replace(/^warning: .*\n/gm, '')).toBe('');
        if (!appliers.includes(o)) expect(o.stdout).toContain('nothing to deploy');
      } else {
        expect(code, o.stderr).toBe(1);
        expect(o.stderr).toMatch(/another deployment holds the lock/);
      }
    }
    // Those that waited all found the database up to date.
    expect(codes.filter((c, i) => c === 0 && i % 2 === 0).length).toBe(10);
    const rows = await w.target.query<{ kind: string; status: string; steps_applied: number }>(
      'SELECT kind, status, steps_applied FROM dbee.deployments ORDER BY id',
    );
    expect(rows).toEqual([{ kind: 'deploy', status: 'succeeded', steps_applied: 6 }]);
    await assertLedgerInvariants(w.target);
    await assertCatalogAsFresh(w, FILES, ['shop']);
  });
});
