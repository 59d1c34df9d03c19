import { describe, expect, it } from 'vitest';
import { tempWorkspace } from '../support/workspace';
import { run } from '../support/run';

/**
 * Issue #37 item 2, and no false green for the strategy's dry run: `deploy --dry-run --strategy expand-contract`
 * applies the expand to a scratch copy of the target (as a direct dry run does) and checks the running application's
 * queries against the old version schema there. A column renamed through the strategy keeps the old application's
 * queries working; the same rename in one step breaks them. Before: the strategy's dry run printed its statements,
 * ignored --queries, and verified nothing (exit 0).
 */
const WS = `version: 1
defaultEnvironment: local
environments:
  local:
    engine: postgres
    connection: { embedded: .dbee/local }
`;
const V1 = {
  'zd/db.yaml': 'version: 1\nname: zd\nengine: postgres\nschemas: [zd]\n',
  'zd/schema.sql': 'CREATE SCHEMA zd;\n',
  'zd/items.sql': 'CREATE TABLE zd.items (id int PRIMARY KEY, name text);\n',
  'app/queries.sql': 'SELECT name FROM items WHERE id = $1;\nSELECT id FROM items ORDER BY id;\n',
};
const V2 = {
  'zd/db.yaml':
    'version: 1\nname: zd\nengine: postgres\nschemas: [zd]\nrenames:\n  - { kind: column, schema: zd, table: items, from: name, to: title }\n',
  'zd/items.sql': 'CREATE TABLE zd.items (id int PRIMARY KEY, title text);\n',
};

describe('deploy --dry-run --strategy expand-contract [pglite]', () => {
  it('verifies the expand on a scratch copy and checks the old queries against the old version schema', async () => {
    const w = tempWorkspace({ 'dbee.yaml': WS, ...V1 });
    try {
      expect((await run(w.root, 'deploy', { project: 'zd' })).code).toBe(0);
      for (const [rel, text] of Object.entries(V2)) w.write(rel, text);

      const direct = await run(w.root, 'deploy', { project: 'zd', dryRun: true, queries: 'app/queries.sql' });
      expect(direct.code, direct.stdout + direct.stderr).toBe(1);
      expect(direct.stdout).toContain('compatibility: 2 queries checked, 1 broken');

      const expand = await run(w.root, 'deploy', {
        project: 'zd',
        dryRun: true,
        strategy: 'expand-contract',
        queries: 'app/queries.sql',
      });
      expect(expand.code, expand.stdout + expand.stderr).toBe(0);
      expect(expand.stdout).toContain("dry run: verified on a scratch copy of the target's schemas");
      expect(expand.stdout).toContain('compatibility: 2 queries checked, 0 broken');
      expect(expand.stdout).toContain('through the old version (zd_v0, ...)');

      // --no-verify prints the plan unverified, and says so.
      const unverified = await run(w.root, 'deploy', {
        project: 'zd',
        dryRun: true,
        strategy: 'expand-contract',
        verify: false,
      });
      expect(unverified.code, unverified.stderr).toBe(0);
      expect(unverified.stdout).toContain('not verified (--no-verify)');
    } finally {
      w.remove();
    }
  });
});
