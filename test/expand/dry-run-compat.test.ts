import { describe, expect, it } from 'vitest';
import { tempWorkspace } from '../support/workspace';
import { run } from '../support/run';
import { EMBEDDED_LOCAL_YAML } from './workspace';

/**
 * Issue #37 item 2, and no false green for the strategy's dry run: `deploy --dry-run --strategy expand-contract`
 * applies the expand to a scratch copy of the target (as a direct dry run does) and checks the running application's
 * queries against the old version schema there, and the new application's (`--new-queries`) against the new one. A
 * column renamed through the strategy keeps both applications' queries working; the same rename in one step breaks
 * the old one's. Before: the strategy's dry run printed its statements, ignored --queries, and verified nothing
 * (exit 0); then it had no new queries.
 */
const WS = EMBEDDED_LOCAL_YAML;
const V1 = {
  'zd/db.yaml': 'version: 1\nname: zd\nengine: postgres\nschemas: [zd]\n',
  'zd/schema.sql': 'CREATE SCHEMA zd;\n',
  'zd/items.sql': 'CREATE TABLE zd.items (id int PRIMARY KEY, name text);\n',
  'app/queries.sql': 'SELECT name FROM items WHERE id = $1;\nSELECT id FROM items ORDER BY id;\n',
  // The new application version's queries: they read the renamed column by its new name.
  'app/new.sql': 'SELECT title FROM items WHERE id = $1;\nSELECT id, title FROM items ORDER BY id;\n',
};
const V2 = {
  'zd/db.yaml':
    'version: 1\nname: zd\nengine: postgres\nschemas: [zd]\nrenames:\n  - { kind: column, schema: zd, table: items, from: name, to: title }\n',
  'zd/items.sql': 'CREATE TABLE zd.items (id int PRIMARY KEY, title text);\n',
};

describe('deploy --dry-run --strategy expand-contract [pglite]', () => {
  it('verifies the expand on a scratch copy and checks the old queries against the old version schema, the new ones against the new', async () => {
    const w = tempWorkspace({ 'dbee.yaml': WS, ...V1 });
    try {
      expect((await run(w.root, 'deploy', { project: 'zd' })).code).toBe(0);
      for (const [rel, text] of Object.entries(V2)) w.write(rel, text);

      // The old application's queries against the old version schema, the new one's against the new version schema:
      // a rename made with the strategy passes for both; made in one step, the old queries fail and the new ones pass.
      const both = { project: 'zd', dryRun: true, queries: 'app/queries.sql', newQueries: 'app/new.sql' };
      const directBoth = await run(w.root, 'deploy', both);
      expect(directBoth.code, directBoth.stdout + directBoth.stderr).toBe(1);
      expect(directBoth.stdout).toContain('compatibility: 2 queries checked, 1 broken');
      expect(directBoth.stdout).toContain('compatibility of the new application: 2 queries checked, 0 failing');
      const expandBoth = await run(w.root, 'deploy', { ...both, strategy: 'expand-contract' });
      expect(expandBoth.code, expandBoth.stdout + expandBoth.stderr).toBe(0);
      expect(expandBoth.stdout).toContain("dry run: applied on a scratch copy of the target's schemas");
      expect(expandBoth.stdout).toContain('through the old version (zd_v0, ...)');
      expect(expandBoth.stdout).toContain('compatibility: 2 queries checked, 0 broken');
      expect(expandBoth.stdout).toContain('compatibility of the new application: 2 queries checked, 0 failing');
      expect(expandBoth.stdout).toContain("the new application's through the new version (zd_v1, ...)");
      // The new queries really go through the new version: there, the old name is gone.
      const stale = await run(w.root, 'deploy', {
        ...both,
        newQueries: 'app/queries.sql',
        strategy: 'expand-contract',
      });
      expect(stale.code, stale.stdout + stale.stderr).toBe(1);
      expect(stale.stdout).toContain('FAILS (new application) app/queries.sql:1: column "name" does not exist');
      expect(stale.stdout).toContain('compatibility of the new application: 2 queries checked, 1 failing');
      expect(stale.stderr).toContain("1 of the new application's 2 queries fails on the new schema");

      // dbee check on a project whose db.yaml picks the strategy: the same check, its report on stdout.
      w.write('zd/db.yaml', `${V2['zd/db.yaml']}deploy: { strategy: expand-contract }\n`);
      const checked = await run(w.root, 'check', {
        project: 'zd',
        queries: 'app/queries.sql',
        newQueries: 'app/new.sql',
        format: 'json',
      });
      expect(checked.code, checked.stdout + checked.stderr).toBe(0);
      expect(JSON.parse(checked.stdout)).toMatchObject({ checked: 2, broken: [], new: { checked: 2, failing: [] } });
      w.write('zd/db.yaml', V2['zd/db.yaml']);

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
