import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { logRequests } from '../support/request-log';
import { run } from '../support/run';
import { ENGINES, type TestWorkspace } from '../runner/helpers';
import { backToV1, diffCount, shopAtV1, V2, writeAll } from './fixture';

/**
 * A rollback to a git ref records the project's ledger state at that ref: every object it changed, forgot or brought
 * back, and the migrations. On the server those writes go in one request, not one or two per object (a rollback of a
 * release that changed a thousand objects sent a thousand requests and more). What they leave must be the state a
 * deployment of the ref's sources records: nothing pending for them afterwards.
 */
const N = 12;

/** `N` views over shop.customers, their bodies told apart by `version`. */
const views = (version: 1 | 2) =>
  Object.fromEntries(
    Array.from({ length: N }, (_, i) => [
      `shop/v${i}.sql`,
      `CREATE OR REPLACE VIEW shop.v${i} AS SELECT id FROM shop.customers WHERE id > ${i * version};\n`,
    ]),
  );

function git(root: string, ...args: string[]): void {
  execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', '-c', 'commit.gpgsign=false', ...args], {
    cwd: root,
  });
}

let workspaces: TestWorkspace[] = [];
afterEach(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

describe.each(ENGINES)('a rollback to a git ref records the ledger state together [%s]', (engine) => {
  it('writes the state of every object it changed in one request, and leaves the ref’s state', async () => {
    const w = await shopAtV1(engine, '', views(1));
    workspaces.push(w);
    git(w.root, 'init', '-q');
    w.write('.gitignore', '.dbee/\n');
    git(w.root, 'add', '-A');
    git(w.root, 'commit', '-q', '-m', 'v1');
    const atV1 = await w.target.query<{ object_key: string; checksum: string }>(
      "SELECT object_key, checksum FROM dbee.objects WHERE project = 'shop' ORDER BY object_key",
    );
    const migrationsAtV1 = await w.target.query<{ version: string; checksum: string }>(
      "SELECT version, checksum FROM dbee.migrations WHERE project = 'shop' ORDER BY version",
    );
    // A migration applied after the ref: the ref's state does not have it, the rollback forgets it.
    writeAll(w, {
      ...V2,
      ...views(2),
      'shop/migrations/V2__more.sql': "INSERT INTO shop.customers VALUES (3, 'cy');\n",
      'shop/migrations/V2__more.rollback.sql': 'DELETE FROM shop.customers WHERE id = 3;\n',
    });
    git(w.root, 'add', '-A');
    git(w.root, 'commit', '-q', '-m', 'v2');
    const deployed = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(deployed.code, deployed.stderr).toBe(0);

    const log = logRequests({ pglite: true });
    let r: Awaited<ReturnType<typeof run>>;
    try {
      r = await run(w.root, 'rollback', { project: 'shop', toRef: 'HEAD~1', force: true }, w.target.vars);
    } finally {
      log.restore();
    }
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const stateWrites = log.events.filter(
      (e) => e.kind === 'sent' && /(INSERT INTO|DELETE FROM) dbee\.(objects|migrations)\b/.test(e.text),
    );
    // The views, the function and the table changed, the table orders is gone: N + 3 objects' states; a migration forgotten.
    const written = stateWrites.map((e) => e.text.match(/(INSERT INTO|DELETE FROM) dbee\.objects\b/g)?.length ?? 0);
    expect(written.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(N + 3);
    // One request on the server; an embedded database takes no batch, one statement at a time.
    if (engine === 'postgres') expect(stateWrites).toHaveLength(1);

    const after = await w.target.query<{ object_key: string; checksum: string }>(
      "SELECT object_key, checksum FROM dbee.objects WHERE project = 'shop' ORDER BY object_key",
    );
    expect(after).toEqual(atV1);
    expect(
      await w.target.query("SELECT version, checksum FROM dbee.migrations WHERE project = 'shop' ORDER BY version"),
    ).toEqual(migrationsAtV1);
    expect(migrationsAtV1).toHaveLength(1);
    expect(stateWrites.some((e) => /DELETE FROM dbee\.migrations\b/.test(e.text))).toBe(true);
    backToV1(w);
    for (const f of ['V2__more.sql', 'V2__more.rollback.sql']) rmSync(join(w.root, 'shop', 'migrations', f));
    writeAll(w, views(1));
    expect(await diffCount(w)).toBe(0);
  });
});
