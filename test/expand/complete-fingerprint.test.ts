import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresEngine } from '@dbee/postgres';
import { registerEngine } from '../../packages/cli/src/engines';
import { run } from '../support/run';
import { tempWorkspace } from '../support/workspace';
import { EMBEDDED_LOCAL_YAML } from './workspace';

/**
 * `dbee complete` records the finished release as a deployment with the schemas' fingerprint (what `dbee status`
 * compares for drift). When the fingerprint cannot be read, the release is still complete (its statements ran), and
 * that is said: a warning with the reason, and `status` shows drift as unknown. The failure is the real PGlite
 * engine's with its fingerprint made to throw through the CLI's engine seam.
 */
describe('dbee complete when the fingerprint cannot be read', () => {
  const w = tempWorkspace({
    'dbee.yaml': EMBEDDED_LOCAL_YAML,
    's/db.yaml': 'version: 1\nname: s\nengine: postgres\nschemas: [s]\n',
    's/schema.sql': 'CREATE SCHEMA s;',
    's/t.sql': 'CREATE TABLE s.t (id int PRIMARY KEY, a int NOT NULL);',
  });
  let unregister = () => {};
  afterAll(() => {
    unregister();
    w.remove();
  });

  it('completes, says so with the reason, and status shows drift as unknown', async () => {
    expect((await run(w.root, 'deploy', { project: 's' })).code).toBe(0);
    w.write('s/t.sql', 'CREATE TABLE s.t (id int PRIMARY KEY, a bigint NOT NULL);');
    expect((await run(w.root, 'deploy', { project: 's', strategy: 'expand-contract' })).code).toBe(0);
    unregister = registerEngine('postgres', () => {
      const engine = createPostgresEngine();
      const fingerprint = async () => {
        throw new Error('permission denied for table pg_foo');
      };
      // The recorded fingerprint is read with its position-free one, by the same query.
      return { ...engine, diff: { ...engine.diff!, fingerprint, recordableFingerprints: fingerprint } };
    });
    const done = await run(w.root, 'complete', { project: 's' });
    unregister();
    expect(done.code).toBe(0);
    expect(done.stdout).toContain('release 1 complete on local');
    expect(done.stderr).toContain(
      "the schemas' fingerprint could not be read (permission denied for table pg_foo): the completion is recorded without one",
    );
    const status = await run(w.root, 'status', { project: 's' });
    expect(status.stdout).toMatch(/recorded no fingerprint/);
  });
});
