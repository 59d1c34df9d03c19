import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { ENGINES, ok, releaseWorkspace, type ReleaseWorkspace } from './helpers';

const DB_YAML = 'version: 1\nname: shop\nengine: postgres\nschemas: [shop]\n';

/** v1: a column and the data migration that fills it, deployed to prod and to a database that stays behind. */
const V1 = {
  'shop/db.yaml': DB_YAML,
  'shop/orders.sql': 'CREATE TABLE shop.orders (id int PRIMARY KEY, status text, legacy_note text);\n',
  'shop/migrations/V1__fill_note.sql': "UPDATE shop.orders SET legacy_note = 'n/a' WHERE legacy_note IS NULL;\n",
  'shop/migrations/V1__fill_note.rollback.sql': 'SELECT 1;\n',
};
/** v2: another data migration. */
const V2 = {
  'shop/migrations/V2__default_status.sql': "UPDATE shop.orders SET status = 'new' WHERE status IS NULL;\n",
  'shop/migrations/V2__default_status.rollback.sql': 'SELECT 1;\n',
};
/** v3: a zero-downtime release drops the column V1 writes to. */
const V3 = {
  'shop/orders.sql': 'CREATE TABLE shop.orders (id int PRIMARY KEY, status text);\n',
};

/**
 * #58, "a fresh database cannot be built from the sources": after an expand-contract release dropped a column that an
 * old data migration writes to, a new environment fails on that migration (and editing it is refused). `dbee baseline`
 * records the migrations as the starting state of new environments: a new one builds (from the sources, or from a
 * package, with a folded migration's file deleted), and the existing ones deploy as before.
 */
describe.each(ENGINES)('a baseline: new environments from any history [%s]', (engine) => {
  let w: ReleaseWorkspace;
  const migrations = async (env: string) =>
    (
      await w
        .db(env)
        .query<{ version: string }>(`SELECT version FROM dbee.migrations WHERE project = 'shop' ORDER BY version`)
    ).map((r) => r.version);
  const columns = async (env: string) =>
    (
      await w
        .db(env)
        .query<{ name: string }>(
          `SELECT attname AS name FROM pg_attribute WHERE attrelid = 'shop.orders'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
        )
    ).map((r) => r.name);

  beforeAll(async () => {
    w = await releaseWorkspace(engine, ['prod', 'behind', 'canary', 'fresh']);
    w.commit(V1, 'v1');
    await ok(w, 'deploy', { project: 'shop', env: 'prod' });
    await ok(w, 'deploy', { project: 'shop', env: 'behind' });
    await w.db('behind').exec('INSERT INTO shop.orders (id) VALUES (1);');
    w.commit(V2, 'v2');
    await ok(w, 'deploy', { project: 'shop', env: 'prod' });
    w.commit(V3, 'v3');
    await ok(w, 'deploy', { project: 'shop', env: 'prod', strategy: 'expand-contract' });
    await ok(w, 'complete', { project: 'shop', env: 'prod' });
  });
  afterAll(async () => {
    await w?.remove();
  });

  it('fails to build a new environment without a baseline, and refuses an edit of the applied migration', async () => {
    expect(await columns('prod')).toEqual(['id', 'status']);
    const canary = await run(w.root, 'deploy', { project: 'shop', env: 'canary' }, w.vars);
    expect(canary.code).toBe(2);
    expect(canary.stderr).toContain('shop/migrations/V1__fill_note.sql:1: column "legacy_note" does not exist');
    w.write('shop/migrations/V1__fill_note.sql', 'SELECT 1;\n');
    const edited = await run(w.root, 'status', { project: 'shop', env: 'prod' }, w.vars);
    expect(edited.code).toBe(1);
    expect(edited.stderr).toContain('migration 1 was changed after it was applied');
    w.write('shop/migrations/V1__fill_note.sql', V1['shop/migrations/V1__fill_note.sql']);
  });

  it('builds new environments from the baseline; existing ones keep their history', async () => {
    const out = await ok(w, 'baseline', { project: 'shop' });
    expect(out).toContain('shop: baseline through V2 written to shop/migrations/baseline.yaml (2 migrations)');
    expect(w.read('shop/migrations/baseline.yaml')).toContain('file: "migrations/V2__default_status.sql"');
    w.commit({}, 'v4');
    // The canary's failed first deployment undone, it has nothing of shop: it starts from the baseline.
    await ok(w, 'rollback', { project: 'shop', env: 'canary' });
    const canary = await ok(w, 'deploy', { project: 'shop', env: 'canary' });
    expect(canary).toContain('migrate migration:shop/V1 (in the baseline: recorded, not run)');
    expect(await migrations('canary')).toEqual(['1', '2']);
    expect(await columns('canary')).toEqual(['id', 'status']);
    expect(await ok(w, 'deploy', { project: 'shop', env: 'prod' })).toContain('nothing to deploy');
    // A database that has deployed shop runs the folded migration it has not run, as before.
    const behind = await ok(w, 'deploy', { project: 'shop', env: 'behind', allowHazards: 'data-loss' });
    expect(behind).not.toContain('in the baseline');
    expect(await w.db('behind').query('SELECT id, status FROM shop.orders')).toEqual([{ id: 1, status: 'new' }]);
    expect(await migrations('behind')).toEqual(['1', '2']);
  });

  it('lets a folded migration file go: a package builds a new environment without it', async () => {
    w.commit({ 'shop/migrations/V1__fill_note.sql': null, 'shop/migrations/V1__fill_note.rollback.sql': null }, 'v5');
    await ok(w, 'plan', { project: 'shop', out: 'dist/v5' });
    const fresh = await ok(w, 'deploy', { project: 'shop', env: 'fresh', package: 'dist/v5' });
    expect(fresh).toContain('migrate migration:shop/V1 (in the baseline: recorded, not run)');
    expect(await migrations('fresh')).toEqual(['1', '2']);
    expect(await ok(w, 'deploy', { project: 'shop', env: 'prod', package: 'dist/v5' })).toContain('nothing to deploy');
    // A migration written later with an older version than the baseline's would never run on a new environment.
    w.write('shop/migrations/V1_5__late.sql', 'SELECT 1;\n');
    w.write('shop/migrations/V1_5__late.rollback.sql', 'SELECT 1;\n');
    const late = await run(w.root, 'plan', { project: 'shop' }, w.vars);
    expect(late.code).toBe(1);
    expect(late.stderr).toContain(
      'shop/migrations/V1_5__late.sql:1: migration 1_5 is older than the baseline (shop/migrations/baseline.yaml, through V2) but not part of it',
    );
  });
});
