import { expect } from 'vitest';
import { run } from '../support/run';
import { snapshot, workspaceWith, type Target, type TestWorkspace } from '../runner/helpers';

/**
 * The ledger's invariants after any fault, once every dbee process has ended:
 * - no step applied twice: the same object at the same checksum (or the same migration) is applied by at most one
 *   deployment step that is still `applied` (an undone step no longer counts);
 * - no object recorded by two deployments: every `objects` row points at a deployment that applied that object;
 * - no deployment left `running` (no live process is left to finish it).
 */
export async function assertLedgerInvariants(target: Target): Promise<void> {
  const twice = await target.query<{ object_key: string; checksum: string; n: number }>(
    `SELECT s.object_key, s.checksum, count(*)::int AS n
       FROM dbee.steps s JOIN dbee.deployments d ON d.id = s.deployment_id
      WHERE s.status = 'applied' AND d.kind = 'deploy'
      GROUP BY d.project, s.object_key, s.checksum HAVING count(*) > 1`,
  );
  expect(twice, 'steps applied twice').toEqual([]);
  const orphans = await target.query<{ object_key: string; deployment_id: number }>(
    `SELECT o.object_key, o.deployment_id::int AS deployment_id FROM dbee.objects o
      WHERE NOT EXISTS (SELECT 1 FROM dbee.steps s WHERE s.deployment_id = o.deployment_id AND s.object_key = o.object_key AND s.status = 'applied')
        AND EXISTS (SELECT 1 FROM dbee.steps s WHERE s.deployment_id = o.deployment_id)`,
  );
  expect(orphans, 'objects recorded by a deployment that did not apply them').toEqual([]);
  const running = await target.query(`SELECT id, project FROM dbee.deployments WHERE status = 'running'`);
  expect(running, 'deployments left running').toEqual([]);
}

/**
 * The catalog of `target` (without the ledger) against an independent snapshot: the same sources deployed to a
 * fresh database of the same kind in one undisturbed run per project.
 */
export async function assertCatalogAsFresh(
  w: TestWorkspace,
  files: Record<string, string>,
  projects: string[],
): Promise<void> {
  const fresh = await workspaceWith(w.target.engine, files);
  try {
    for (const project of projects) {
      const r = await run(fresh.root, 'deploy', { project }, fresh.target.vars);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
    const expected = await snapshot(fresh.target, { withLedger: false });
    const actual = await snapshot(w.target, { withLedger: false });
    expect(actual.catalog).toEqual(expected.catalog);
  } finally {
    await fresh.remove();
  }
}
