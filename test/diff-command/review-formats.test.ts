import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GCC_LINE } from '../../plugins/nx/src/generators/vscode/vscode';
import { run } from '../support/run';
import { sarifErrors } from '../support/sarif';
import { tempWorkspace } from '../support/workspace';

/**
 * `--format github|sarif|gcc` of `diff`, `plan` and `check`: the hazards of a release that drops a column, at the file
 * and line of the table's definition, and the application query it breaks, at its file and line. SARIF is validated
 * against the SARIF 2.1.0 schema (vendored, see test/fixtures/schemas/README.md). On PGlite (`check` needs a database).
 */

const TABLE = 'shop/schema/shop/tables/items.sql';
const ITEMS_V1 =
  'CREATE SCHEMA shop;\n\nCREATE TABLE shop.items (\n  id integer PRIMARY KEY,\n  name text,\n  note text\n);\n';
const ITEMS_V2 = 'CREATE SCHEMA shop;\n\nCREATE TABLE shop.items (\n  id integer PRIMARY KEY,\n  name text\n);\n';

describe('review formats: a release dropping a column, and a query it breaks', () => {
  const ws = tempWorkspace({
    'dbee.yaml':
      'version: 1\ndefaultEnvironment: local\nenvironments:\n  local:\n    engine: postgres\n    connection:\n      embedded: .dbee/local\n',
    'shop/db.yaml': 'version: 1\nname: shop\nengine: postgres\nschemas: [shop]\n',
    [TABLE]: ITEMS_V1,
    'app/queries.sql': 'SELECT id, name FROM shop.items;\n\nSELECT note\n  FROM shop.items;\n',
  });
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd: ws.root });

  beforeAll(async () => {
    git('init', '-q', '-b', 'main');
    git('add', '-A');
    git('commit', '-qm', 'v1');
    git('tag', 'v1');
    expect((await run(ws.root, 'deploy', { project: 'shop' })).code).toBe(0);
    ws.write(TABLE, ITEMS_V2);
    git('commit', '-qam', 'v2: items lose their note');
  });
  afterAll(() => ws.remove());

  it("diff --format github: one workflow annotation a line, at the table's file and line; gcc the same place", async () => {
    const github = await run(ws.root, 'diff', { project: 'shop', base: 'v1', head: 'HEAD', format: 'github' });
    expect(github.code).toBe(0);
    const lines = github.stdout.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(/^::(error|warning) file=[^,]+,line=\d+,col=\d+,title=[^:]+::\S.*$/);
    expect(lines).toContainEqual(
      expect.stringMatching(new RegExp(`^::error file=${TABLE},line=3,col=1,title=dbee hazard/data-loss[^:]*::.*note`)),
    );

    const gcc = await run(ws.root, 'diff', { project: 'shop', base: 'v1', head: 'HEAD', format: 'gcc' });
    expect(gcc.stdout).toMatch(new RegExp(`^${TABLE}:3:1: error: .*note.* \\[hazard/data-loss[^\\]]*\\]$`, 'm'));
    // The editor's problem matcher (nx g @dbee/nx:vscode) reads every line at the same place.
    for (const line of gcc.stdout.trimEnd().split('\n')) expect(line).toMatch(new RegExp(GCC_LINE));
    expect(gcc.stdout.match(new RegExp(GCC_LINE, 'm'))?.slice(1, 5)).toEqual([TABLE, '3', '1', 'error']);
  });

  it('plan --format sarif validates against the SARIF 2.1.0 schema, with the result at the file and line', async () => {
    const sarif = await run(ws.root, 'plan', { project: 'shop', base: 'v1', head: 'HEAD', format: 'sarif' });
    expect(sarif.code).toBe(0);
    expect(sarifErrors(sarif.stdout)).toEqual([]);
    const log = JSON.parse(sarif.stdout);
    expect(log.runs[0].results).toContainEqual(
      expect.objectContaining({
        level: 'error',
        locations: [
          {
            physicalLocation: {
              artifactLocation: { uri: TABLE, uriBaseId: '%SRCROOT%' },
              region: { startLine: 3, startColumn: 1 },
            },
          },
        ],
      }),
    );
    // The schema is not blind: a result without its message is refused.
    delete log.runs[0].results[0].message;
    expect(sarifErrors(JSON.stringify(log))).not.toEqual([]);
  });

  it('check --format github: the query the drop breaks, at its file and line', async () => {
    const r = await run(ws.root, 'check', { project: 'shop', queries: 'app/queries.sql', format: 'github' });
    expect(r.stdout).toMatch(/^::error file=app\/queries.sql,line=3,col=1,title=dbee check\/broken-query::.*note/m);
    expect(r.stdout).not.toContain('line=1,');
  });
});
