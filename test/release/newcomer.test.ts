import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { ENGINES, ok, releaseWorkspace, type ReleaseWorkspace } from './helpers';

const V1 = {
  'tracking/db.yaml': 'version: 1\nname: tracking\nengine: postgres\nschemas: [tracking]\n',
  'tracking/events.sql': 'CREATE TABLE tracking.events (id int PRIMARY KEY, kind text NOT NULL);\n',
  'tracking/migrations/V1__seed.sql': "INSERT INTO tracking.events VALUES (1, 'click');\n",
  'tracking/migrations/V1__seed.rollback.sql': 'DELETE FROM tracking.events;\n',
  'tracking/smoke/tracking.yaml':
    'checks:\n  - name: one event\n    query: SELECT count(*)::int AS n FROM tracking.events\n    rows: [{ n: 1 }]\n',
};
/** v2 adds a column and a check that only v2 passes. */
const V2 = {
  'tracking/events.sql': 'CREATE TABLE tracking.events (id int PRIMARY KEY, kind text NOT NULL, source text);\n',
  'tracking/smoke/tracking.yaml':
    'checks:\n  - name: one event\n    query: SELECT count(*)::int AS n FROM tracking.events\n    rows: [{ n: 1 }]\n  - name: events have a source\n    query: SELECT source FROM tracking.events\n',
};

describe.each(ENGINES)('what a newcomer runs into [%s]', (engine) => {
  let w: ReleaseWorkspace;
  const cmd = (command: Parameters<typeof run>[1], env: string, extra: Record<string, unknown> = {}) =>
    run(w.root, command, { project: 'tracking', env, ...extra }, w.vars);
  beforeAll(async () => {
    w = await releaseWorkspace(engine, ['first', 'back', 'pending', 'smoke']);
    w.commit(V1, 'v1');
  });
  afterAll(async () => {
    await w?.remove();
  });

  it("rolling back a project's first deployment exits 0 (no check of the dropped schema runs)", async () => {
    await ok(w, 'deploy', { project: 'tracking', env: 'first' });
    const r = await cmd('rollback', 'first');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await w.db('first').query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'tracking'")).toEqual(
      [{ n: 0 }],
    );
  });

  it('rolling back to an earlier deployment whose smoke checks differ from the working tree exits 0', async () => {
    w.checkout('v1');
    await ok(w, 'deploy', { project: 'tracking', env: 'back' });
    w.commit(V2, 'v2');
    await ok(w, 'deploy', { project: 'tracking', env: 'back' });
    // The working tree holds v2's checks; the rollback to v1 runs v1's.
    const r = await cmd('rollback', 'back');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(
      await w
        .db('back')
        .query(
          "SELECT count(*)::int AS n FROM information_schema.columns WHERE table_schema = 'tracking' AND column_name = 'source'",
        ),
    ).toEqual([{ n: 0 }]);
  });

  it('status with a pending table change exits 0 and says what is pending, with the change kinds', async () => {
    w.checkout('v1');
    await ok(w, 'deploy', { project: 'tracking', env: 'pending' });
    w.checkout('v2');
    const r = await cmd('status', 'pending');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('alter table:tracking.events (add-column)');
    const json = JSON.parse((await cmd('status', 'pending', { format: 'json' })).stdout);
    expect(json.pendingSteps).toEqual([{ key: 'table:tracking.events', action: 'alter', changes: ['add-column'] }]);
    expect(json.drift.state).toBe('no');
  });

  it('a deployment that fails its smoke checks records its object state: status then has nothing pending', async () => {
    w.checkout('v1');
    await ok(w, 'deploy', { project: 'tracking', env: 'smoke' });
    w.checkout('v2');
    w.write(
      'tracking/smoke/tracking.yaml',
      'checks:\n  - name: two events\n    query: SELECT count(*)::int AS n FROM tracking.events\n    rows: [{ n: 2 }]\n',
    );
    const failed = await cmd('deploy', 'smoke');
    expect(failed.code).toBe(3);
    const status = await cmd('status', 'smoke', { format: 'json' });
    expect(status.stderr).toBe('');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).pendingSteps).toEqual([]);
    w.git('checkout', '--', 'tracking/smoke/tracking.yaml');
  });
});
