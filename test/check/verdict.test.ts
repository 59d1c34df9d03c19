import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempWorkspace } from '../support/workspace';
import { run } from '../support/run';

/**
 * One verdict rule (docs/compat.md, "Exit codes") for every command that runs the compatibility check: the direct dry
 * run, the expand-contract dry run and `diff --format markdown`. `compat.mode: warn` lets a broken query through with
 * a warning; a check that checked nothing is refused whatever the mode. Before, the two dry runs only warned about a
 * check of nothing under `warn` (exit 0) while the diff refused it.
 */
const ws = (mode: string, queries: string, newQueries?: string) => `version: 1
defaultEnvironment: local
environments:
  local:
    engine: postgres
    connection: { embedded: .dbee/local }
    compat: { queries: ${queries}, ${newQueries ? `newQueries: ${newQueries}, ` : ''}mode: ${mode} }
`;
const V1 = {
  'zd/db.yaml': 'version: 1\nname: zd\nengine: postgres\nschemas: [zd]\n',
  'zd/schema.sql': 'CREATE SCHEMA zd;\n',
  'zd/items.sql': 'CREATE TABLE zd.items (id int PRIMARY KEY, name text);\n',
  // The running application reads `name`; the new one still does (a query the rename leaves behind).
  'app/old.sql': 'SELECT name FROM items WHERE id = $1;\nSELECT id FROM items ORDER BY id;\n',
  'app/new.sql': 'SELECT name FROM items WHERE id = $1;\n',
  // Another application's queries: each fails on today's schema already, so nothing is checked.
  'app/other.sql': 'SELECT total FROM invoices WHERE id = $1;\n',
};
const RENAMED = {
  'zd/db.yaml':
    'version: 1\nname: zd\nengine: postgres\nschemas: [zd]\nrenames:\n  - { kind: column, schema: zd, table: items, from: name, to: title }\n',
  'zd/items.sql': 'CREATE TABLE zd.items (id int PRIMARY KEY, title text);\n',
};

const COMMANDS = {
  'deploy --dry-run': { command: 'deploy', options: { dryRun: true, allowHazards: ['backward-incompatible'] } },
  'deploy --dry-run --strategy expand-contract': {
    command: 'deploy',
    options: { dryRun: true, strategy: 'expand-contract' },
  },
  'diff --format markdown': { command: 'diff', options: { format: 'markdown', cache: false } },
} as const;

describe('one compatibility verdict for the dry runs and the diff [pglite]', () => {
  const w = tempWorkspace({ 'dbee.yaml': ws('off', 'app/old.sql'), ...V1 });
  beforeAll(async () => {
    const deployed = await run(w.root, 'deploy', { project: 'zd' });
    expect(deployed.code, deployed.stderr).toBe(0);
    for (const [rel, text] of Object.entries(RENAMED)) w.write(rel, text);
  });
  afterAll(() => w.remove());

  const each = Object.entries(COMMANDS).map(([name, c]) => ({ name, ...c }));

  it.each(each)('$name: a query that fails after the plan is refused with compat.mode fail', async (c) => {
    w.write('dbee.yaml', ws('fail', 'app/old.sql', 'app/new.sql'));
    const r = await run(w.root, c.command, { project: 'zd', ...c.options });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).not.toContain('hazards');
    expect(r.stderr).toContain("1 of the new application's 1 query fails on the new schema");
  });

  it.each(each)('$name: compat.mode warn says it and exits 0', async (c) => {
    w.write('dbee.yaml', ws('warn', 'app/old.sql', 'app/new.sql'));
    const r = await run(w.root, c.command, { project: 'zd', ...c.options });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toContain('(compat.mode: warn)');
  });

  it.each(each)('$name: a check of nothing is refused even with compat.mode warn', async (c) => {
    w.write('dbee.yaml', ws('warn', 'app/other.sql'));
    const r = await run(w.root, c.command, { project: 'zd', ...c.options });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toContain('none of the 1 application query could be checked');
  });
});
