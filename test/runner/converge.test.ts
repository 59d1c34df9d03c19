import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresEngine } from '@dbee/postgres';
import { registerEngine } from '../../packages/cli/src/engines';
import { envWorkspace } from '../env-management/helpers';

/**
 * Issue 88, Deliver 1 with failure 1: verified means converged. A generated column's expression change drops and adds
 * the column; PostgreSQL's DROP COLUMN takes the unique constraint and the index on it along. The planner now creates
 * them again (test/diff/recreate.test.ts); here a renderer that leaves those re-creations out, as the planner did
 * before, stands for any plan that applies without error and does not reach its sources. The dry run must refuse it
 * (exit 1, never "verified"), and the real run must fail (exit 2, recorded as not converged), never exit 0.
 */
const table = (expression: string) =>
  `CREATE TABLE g.t (id int PRIMARY KEY, name text, name_key text GENERATED ALWAYS AS (${expression}) STORED UNIQUE);\nCREATE INDEX t_nk ON g.t (name_key);\n`;

describe('verified means converged [postgres]', () => {
  const w = envWorkspace('postgres', {
    'g/db.yaml': 'version: 1\nname: g\nengine: postgres\nschemas: [g]\n',
    'g/schema/g/tables/t.sql': table('lower(name)'),
  });
  let unregister = () => {};
  beforeAll(async () => {
    await w.setup();
    const first = await w.dbee('deploy', { project: 'g', env: w.env(1) });
    expect(first.code, first.stderr).toBe(0);
    w.write('g/schema/g/tables/t.sql', table('lower(btrim(name))'));
  });
  afterAll(async () => {
    unregister();
    await w.teardown();
  });

  it('a plan that reaches its sources is verified and converged, on the copy and on the target', async () => {
    const dry = await w.dbee('deploy', { project: 'g', env: w.env(1), dryRun: true });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(
      /dry run: verified on a scratch copy of the target's schemas \(\d+ steps, all applied\) and converged/,
    );
  });

  it('a plan that loses the constraint and index is refused by the dry run and fails the real run', async () => {
    // The planner as it was: the re-creations of what DROP COLUMN took along are left out of the rendered plan.
    unregister = registerEngine('postgres', () => {
      const engine = createPostgresEngine();
      const diff = engine.diff!;
      return {
        ...engine,
        diff: {
          ...diff,
          renderChanges: (changes, options) =>
            diff.renderChanges(
              changes.filter(
                (c) =>
                  !(
                    (c.kind === 'add-constraint' ||
                      c.kind === 'create-index' ||
                      c.kind === 'drop-constraint' ||
                      c.kind === 'drop-index') &&
                    c.recreate
                  ),
              ),
              options,
            ),
        },
      };
    });
    const dry = await w.dbee('deploy', { project: 'g', env: w.env(1), dryRun: true });
    expect(dry.code).toBe(1);
    expect(dry.stdout).not.toContain('dry run: verified');
    expect(dry.stderr).toContain('the copy then differs from the sources');
    expect(dry.stderr).toMatch(/table:g\.t: .*add-constraint t_name_key_key/);
    expect(dry.stderr).toMatch(/index:g\.t_nk@g\.t: create-index/);
    // Nothing ran: the constraint is still there.
    const before = await w.query(
      1,
      `SELECT conname FROM pg_constraint WHERE conrelid = 'g.t'::regclass AND contype = 'u'`,
    );
    expect(before).toEqual([{ conname: 't_name_key_key' }]);

    const real = await w.dbee('deploy', { project: 'g', env: w.env(1) });
    expect(real.code).toBe(2);
    expect(real.stderr).toContain('every step applied, but the objects the deployment touched differ from the sources');
    expect(real.stderr).toContain('t_name_key_key');
    const [row] = await w.query<{ status: string; summary: { notConverged?: string[] } }>(
      1,
      'SELECT status, summary FROM dbee.deployments ORDER BY id DESC LIMIT 1',
    );
    expect(row!.status).toBe('failed');
    expect(row!.summary.notConverged).toEqual(expect.arrayContaining(['table:g.t', 'index:g.t_nk@g.t']));
    unregister();
    unregister = () => {};
  });
});
