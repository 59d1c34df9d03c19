import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { PgliteConnection, PgConnection } from '@dbee/postgres';
import type { Connection } from '@dbee/core';
import { tempWorkspace } from '../support/workspace';
import { run } from '../support/run';
import { scratchDatabase } from '../support/pg';
import { inSession } from './sessions';
import { spawnDbee } from '../runner/helpers';

/**
 * The other supported changes, without concurrency, on PGlite and the server: CHECK, foreign key and unique
 * constraints (NOT VALID or built concurrently at expand, validated at complete), a table rename, one column split
 * into two (release 1) and two merged into one (release 2); and a change the strategy does not support, refused.
 */
const WS = `version: 1
defaultEnvironment: local
environments:
  local:
    engine: postgres
    connection: { embedded: .dbee/local }
  server:
    engine: postgres
    connection: { url: "\${EXPAND_MORE_URL}" }
`;
const V1 = {
  's/db.yaml': 'version: 1\nname: s\nengine: postgres\nschemas: [s]\n',
  's/schema.sql': 'CREATE SCHEMA s;',
  's/customers.sql': 'CREATE TABLE s.customers (id int PRIMARY KEY, name text, email text);',
  's/orders.sql': 'CREATE TABLE s.orders (id int PRIMARY KEY, customer_id int, price int NOT NULL);',
  's/notes.sql': 'CREATE TABLE s.notes (id int PRIMARY KEY, body text);',
};
const V2 = {
  's/db.yaml':
    'version: 1\nname: s\nengine: postgres\nschemas: [s]\nrenames:\n  - { kind: table, schema: s, from: notes, to: memos }\n',
  's/customers.sql':
    'CREATE TABLE s.customers (id int PRIMARY KEY, first_name text, last_name text, email text, CONSTRAINT customers_email_key UNIQUE (email));',
  's/customers.expand.yaml': [
    'columns:',
    '  first_name: { up: "split_part(name, \' \', 1)" }',
    '  last_name: { up: "split_part(name, \' \', 2)" }',
    '  name: { down: "first_name || \' \' || last_name" }',
    '',
  ].join('\n'),
  's/orders.sql':
    'CREATE TABLE s.orders (id int PRIMARY KEY, customer_id int, price int NOT NULL, CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES s.customers (id), CONSTRAINT orders_price_positive CHECK (price > 0));',
  's/notes.sql': '',
  's/memos.sql': 'CREATE TABLE s.memos (id int PRIMARY KEY, body text);',
};
const V3 = {
  's/customers.sql':
    'CREATE TABLE s.customers (id int PRIMARY KEY, email text, full_name text, CONSTRAINT customers_email_key UNIQUE (email));',
  's/customers.expand.yaml': [
    'columns:',
    '  full_name: { up: "first_name || \' \' || last_name" }',
    '  first_name: { down: "split_part(full_name, \' \', 1)" }',
    '  last_name: { down: "split_part(full_name, \' \', 2)" }',
    '',
  ].join('\n'),
};

describe.each([
  ['pglite', 'local'],
  ['postgres', 'server'],
])('expand/contract: constraints, a table rename, split and merge [%s]', (_name, env) => {
  const w = tempWorkspace({ 'dbee.yaml': WS, ...V1 });
  let vars: NodeJS.ProcessEnv = {};
  let drop = async () => {};
  let open: () => Promise<Connection> = () => PgliteConnection.open(join(w.root, '.dbee', 'local'), 't');
  const session = (...sql: string[]) => inSession(open, ...sql);
  const dbee = (command: 'deploy' | 'complete' | 'abort', extra: Record<string, unknown> = {}) =>
    run(w.root, command, { project: 's', env, ...extra }, vars);
  afterAll(async () => {
    await drop();
    w.remove();
  });

  it('expands, serves both shapes, and completes each change', async () => {
    if (env === 'server') {
      const db = await scratchDatabase('dbee_xm');
      vars = { EXPAND_MORE_URL: db.url };
      drop = db.drop;
      open = () => PgConnection.open({ connectionString: db.url }, 'scratch');
    }
    expect((await dbee('deploy')).code).toBe(0);
    await session(
      "INSERT INTO s.customers VALUES (1, 'Ada Lovelace', 'ada@x'), (2, 'Alan Turing', 'alan@x')",
      'INSERT INTO s.orders VALUES (1, 1, 10), (2, 2, 20)',
      "INSERT INTO s.notes VALUES (1, 'hello')",
    );

    // A change the strategy does not support is refused before anything runs.
    w.write('s/v.sql', 'CREATE VIEW s.v AS SELECT id FROM s.orders;');
    const refused = await dbee('deploy', { strategy: 'expand-contract' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('create-view s.v is not a change the expand-contract strategy supports');
    expect(refused.stderr).toContain('direct strategy');
    w.write('s/v.sql', '');

    for (const [f, text] of Object.entries(V2)) w.write(f, text);
    // An up expression that does not compile is refused, naming the file.
    w.write('s/customers.expand.yaml', V2['s/customers.expand.yaml'].replace('split_part(name', 'split_part(nome'));
    const bad = await dbee('deploy', { strategy: 'expand-contract' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('s/customers.expand.yaml');
    expect(bad.stderr).toContain('the up expression does not compile');
    w.write('s/customers.expand.yaml', V2['s/customers.expand.yaml']);

    const expanded = await dbee('deploy', { strategy: 'expand-contract' });
    expect(expanded.stderr).not.toMatch(/error/);
    expect(expanded.code).toBe(0);
    const v1 = (...sql: string[]) => session("SET dbee.version = '1'", 'SET search_path = s_v1, s', ...sql);
    const v0 = (...sql: string[]) => session('SET search_path = s_v0, s', ...sql);
    // Split: existing rows backfilled; each version's writes reach the other.
    expect(await v1('SELECT id, first_name, last_name FROM customers ORDER BY id')).toEqual([
      { id: 1, first_name: 'Ada', last_name: 'Lovelace' },
      { id: 2, first_name: 'Alan', last_name: 'Turing' },
    ]);
    await v0("INSERT INTO customers (id, name, email) VALUES (3, 'Grace Hopper', 'grace@x')");
    await v1("INSERT INTO customers (id, first_name, last_name, email) VALUES (4, 'Edsger', 'Dijkstra', 'ed@x')");
    expect(await v1('SELECT first_name, last_name FROM customers WHERE id = 3')).toEqual([
      { first_name: 'Grace', last_name: 'Hopper' },
    ]);
    expect(await v0('SELECT name FROM customers WHERE id = 4')).toEqual([{ name: 'Edsger Dijkstra' }]);
    // Table rename: the new version has memos, the old one notes, over the same rows.
    await v1("INSERT INTO memos VALUES (2, 'from new')");
    expect(await v0('SELECT id, body FROM notes ORDER BY id')).toEqual([
      { id: 1, body: 'hello' },
      { id: 2, body: 'from new' },
    ]);
    // Constraints hold for new rows from now on (NOT VALID: old rows are checked at complete).
    await expect(v0('INSERT INTO orders VALUES (3, 1, 0)')).rejects.toThrow(/orders_price_positive/);
    await expect(v1('INSERT INTO orders VALUES (3, 99, 5)')).rejects.toThrow(/orders_customer_fk/);
    await expect(v1("INSERT INTO customers (id, email) VALUES (5, 'ada@x')")).rejects.toThrow(/customers_email_key/);
    // A diff against the sources (a CLI process) finds nothing: each of these changes is the release's, made at
    // complete (the constraints validated, the table renamed: its old name is no pending drop either).
    const p = await spawnDbee(w.root, ['diff', 's', '--env', env, '--fail-on-diff'], vars);
    expect(await p.exit).toBe(0);
    expect(p.output().stdout).toContain(
      'release 1 expanded: version schema s_v1, 1 trigger, 2 new columns, 3 constraints',
    );
    expect(p.output().stdout).toContain('no differences');
    expect(p.output().stdout).not.toContain('pending drop');

    const completed = await dbee('complete');
    expect(completed.stderr).toBe('');
    expect(completed.code).toBe(0);
    expect(
      await session(
        `SELECT conname, convalidated FROM pg_constraint WHERE conrelid IN ('s.orders'::regclass, 's.customers'::regclass) AND contype IN ('c', 'f', 'u') ORDER BY 1`,
      ),
    ).toEqual([
      { conname: 'customers_email_key', convalidated: true },
      { conname: 'orders_customer_fk', convalidated: true },
      { conname: 'orders_price_positive', convalidated: true },
    ]);
    expect(await session('SELECT id, body FROM s.memos ORDER BY id')).toHaveLength(2);
    expect(await session(`SELECT to_regclass('s.notes') AS t`)).toEqual([{ t: null }]);
    expect(await session('SELECT id, first_name, last_name FROM s.customers ORDER BY id')).toEqual([
      { id: 1, first_name: 'Ada', last_name: 'Lovelace' },
      { id: 2, first_name: 'Alan', last_name: 'Turing' },
      { id: 3, first_name: 'Grace', last_name: 'Hopper' },
      { id: 4, first_name: 'Edsger', last_name: 'Dijkstra' },
    ]);

    // Release 2 merges the two columns back into one.
    for (const [f, text] of Object.entries(V3)) w.write(f, text);
    const merged = await dbee('deploy', { strategy: 'expand-contract' });
    expect(merged.stderr).toBe('');
    expect(merged.code).toBe(0);
    const v2 = (...sql: string[]) => session("SET dbee.version = '2'", 'SET search_path = s_v2, s', ...sql);
    expect(await v2('SELECT full_name FROM customers WHERE id = 4')).toEqual([{ full_name: 'Edsger Dijkstra' }]);
    await v2("INSERT INTO customers (id, full_name, email) VALUES (6, 'Barbara Liskov', 'b@x')");
    expect(await v1('SELECT first_name, last_name FROM customers WHERE id = 6')).toEqual([
      { first_name: 'Barbara', last_name: 'Liskov' },
    ]);
    expect((await dbee('complete')).code).toBe(0);
    expect(await session('SELECT id, full_name FROM s.customers WHERE id IN (1, 6) ORDER BY id')).toEqual([
      { id: 1, full_name: 'Ada Lovelace' },
      { id: 6, full_name: 'Barbara Liskov' },
    ]);
    expect(await session(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 's\\_v%' ORDER BY 1`)).toEqual([
      { nspname: 's_v2' },
    ]);
  });
});
