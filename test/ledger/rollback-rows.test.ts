import { afterEach, describe, expect, it } from 'vitest';
import { PgConnection } from '@dbee/postgres';
import { run } from '../support/run';
import { workspaceWith, workspaceYaml, type TestWorkspace } from '../runner/helpers';
import { SHOP_V1, shopV2, writeAll } from '../runner/shop';

// The ledger rows of an undone step (the undone step's status and its deployment's count, the undo's own row, the
// object's state put back) travel in one request, in the undo's transaction: a rollback of thousands of steps pays
// one round trip for them per step, not four.

let workspaces: TestWorkspace[] = [];
afterEach(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

/** The text of every call made on a server connection while `f` runs. */
async function calls(f: () => Promise<unknown>): Promise<string[]> {
  const proto = PgConnection.prototype as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const names = ['query', 'queryPrepared', 'execute', 'executeBatch'] as const;
  const saved = Object.fromEntries(names.map((m) => [m, proto[m]!]));
  const out: string[] = [];
  for (const m of names)
    proto[m] = function (this: unknown, sql: unknown, ...rest: unknown[]) {
      out.push(Array.isArray(sql) ? sql.join('\n;\n') : String(sql));
      return saved[m]!.call(this, sql, ...rest);
    };
  try {
    await f();
  } finally {
    Object.assign(proto, saved);
  }
  return out;
}

describe('the ledger rows of an undone step [postgres]', () => {
  it('dbee rollback: one request per undone object step for its status, its row and the object state', async () => {
    const w = await workspaceWith('postgres', SHOP_V1);
    workspaces.push(w);
    expect((await run(w.root, 'deploy', { project: 'shop' }, w.target.vars)).code).toBe(0);
    const sent = await calls(async () => {
      const r = await run(w.root, 'rollback', { project: 'shop', assumeYes: true }, w.target.vars);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    });
    const rows = sent.filter((s) => /INSERT INTO dbee\.steps/.test(s));
    // The four objects' undos and the migration's.
    expect(rows).toHaveLength(5);
    // Those of the four objects' undos carry the undone step's status and count and the object's state (the
    // migration's reads the migration first).
    const together = rows.filter(
      (s) =>
        /UPDATE dbee\.steps SET status = E'undone'/.test(s) &&
        /UPDATE dbee\.deployments SET steps_applied = steps_applied \+ -1/.test(s) &&
        /(INSERT INTO|DELETE FROM) dbee\.objects/.test(s),
    );
    expect(together).toHaveLength(4);
    expect(await w.target.query("SELECT count(*)::int AS n FROM dbee.objects WHERE project = 'shop'")).toEqual([
      { n: 0 },
    ]);
    expect(await w.target.query('SELECT status, steps_applied FROM dbee.deployments ORDER BY id')).toEqual([
      { status: 'succeeded', steps_applied: 0 },
      { status: 'succeeded', steps_applied: 5 },
    ]);
  });

  it('the automatic rollback: one request per undone object step for its status and the object state', async () => {
    const w = await workspaceWith('postgres', {
      ...SHOP_V1,
      'dbee.yaml': workspaceYaml('postgres', { environment: 'deploy:\n  autoRollback: true' }),
    });
    workspaces.push(w);
    expect((await run(w.root, 'deploy', { project: 'shop' }, w.target.vars)).code).toBe(0);
    const before = await w.target.query(
      "SELECT object_key, checksum FROM dbee.objects WHERE project = 'shop' ORDER BY object_key",
    );
    writeAll(w, shopV2(true));
    const sent = await calls(async () => {
      const r = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
      expect(r.code).toBe(2);
      expect(r.stdout).toContain('rolling back');
    });
    const undone = sent.filter((s) => /UPDATE dbee\.steps SET status = E'undone'/.test(s));
    const objects = undone.filter((s) => /dbee\.objects/.test(s));
    expect(objects).toHaveLength(4);
    for (const s of objects) expect(s).toMatch(/UPDATE dbee\.deployments SET steps_applied = steps_applied \+ -1/);
    expect(
      await w.target.query("SELECT object_key, checksum FROM dbee.objects WHERE project = 'shop' ORDER BY object_key"),
    ).toEqual(before);
  });
});
