import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { PgliteConnection, PgConnection } from '@dbee/postgres';
import type { Connection } from '@dbee/core';
import { tempWorkspace } from '../support/workspace';
import { run } from '../support/run';
import { scratchDatabase } from '../support/pg';
import { spawnDbee } from '../runner/helpers';
import { inSession } from './sessions';
import { RELEASE_V1, LOCAL_AND_SERVER_YAML as WS } from './workspace';

/**
 * A release of the expand-contract strategy that creates tables with foreign keys, one to a table that already exists
 * (`s.orders`) and one to a table the same release creates (`s.kinds`): the keys are made at expand, validated (the
 * new tables are empty and the old version never writes them), so the new version's writes are checked from the start;
 * abort drops the new tables with their keys; after complete `dbee diff --fail-on-diff` finds nothing. PGlite and the
 * server.
 */
const V2 = {
  's/kinds.sql': 'CREATE TABLE s.kinds (id int PRIMARY KEY, name text);',
  's/tags.sql':
    'CREATE TABLE s.tags (id int PRIMARY KEY, order_id int REFERENCES s.orders (id), kind_id int CONSTRAINT tags_kind_fk REFERENCES s.kinds (id), tag text);',
};

describe.each([
  ['pglite', 'local'],
  ['postgres', 'server'],
])('a table created by an expand-contract release gets its foreign keys [%s]', (_name, env) => {
  const w = tempWorkspace({ 'dbee.yaml': WS, ...RELEASE_V1 });
  let vars: NodeJS.ProcessEnv = {};
  let drop = async () => {};
  let open: () => Promise<Connection> = () => PgliteConnection.open(join(w.root, '.dbee', 'local'), 't');
  const q = (sql: string) => inSession(open, sql);
  const newApp = (...sql: string[]) => inSession(open, "SET dbee.version = '1'", 'SET search_path = s_v1, s', ...sql);
  const dbee = (command: 'deploy' | 'complete' | 'abort', extra: Record<string, unknown> = {}) =>
    run(w.root, command, { project: 's', env, ...extra }, vars);
  /** The foreign keys on the release's tables, each with whether it is validated. */
  const foreignKeys = () =>
    q(
      `SELECT conrelid::regclass::text AS t, confrelid::regclass::text AS ref, convalidated AS valid FROM pg_constraint WHERE contype = 'f' AND connamespace = 's'::regnamespace ORDER BY 1, 2`,
    );
  const fks = [
    { t: 's.tags', ref: 's.kinds', valid: true },
    { t: 's.tags', ref: 's.orders', valid: true },
  ];

  afterAll(async () => {
    await drop();
    w.remove();
  });

  it('makes the keys at expand, abort drops them with the tables, complete leaves no difference', async () => {
    if (env === 'server') {
      const db = await scratchDatabase('dbee_expandfk');
      vars = { EXPAND_TEST_URL: db.url };
      drop = db.drop;
      open = () => PgConnection.open({ connectionString: db.url }, 'scratch');
    }
    expect((await dbee('deploy')).code).toBe(0);
    await q(`INSERT INTO s.orders (id, price, qty, note) VALUES (1, 1, 1, 'n')`);
    for (const [f, text] of Object.entries(V2)) w.write(f, text);

    const expanded = await dbee('deploy', { strategy: 'expand-contract' });
    expect(expanded.stderr).toBe('');
    expect(expanded.code).toBe(0);
    expect(await foreignKeys()).toEqual(fks);
    // The new version's writes are checked from the start.
    await newApp("INSERT INTO kinds VALUES (1, 'k')", "INSERT INTO tags VALUES (1, 1, 1, 'ok')");
    await expect(newApp("INSERT INTO tags VALUES (2, 99, 1, 'no order')")).rejects.toThrow(/foreign key/);
    await expect(newApp("INSERT INTO tags VALUES (3, 1, 99, 'no kind')")).rejects.toThrow(/tags_kind_fk/);

    const aborted = await dbee('abort');
    expect(aborted.stderr).toBe('');
    expect(aborted.code).toBe(0);
    expect(await q(`SELECT to_regclass('s.tags') AS tags, to_regclass('s.kinds') AS kinds`)).toEqual([
      { tags: null, kinds: null },
    ]);
    expect(await foreignKeys()).toEqual([]);

    expect((await dbee('deploy', { strategy: 'expand-contract' })).code).toBe(0);
    const completed = await dbee('complete');
    expect(completed.stderr).toBe('');
    expect(completed.code).toBe(0);
    expect(await foreignKeys()).toEqual(fks);
    const p = await spawnDbee(w.root, ['diff', 's', '--env', env, '--fail-on-diff'], vars);
    const code = await p.exit;
    expect(p.output().stdout).toContain('no differences');
    expect(code).toBe(0);
  });
});
