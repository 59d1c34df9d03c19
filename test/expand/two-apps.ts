import { expect } from 'vitest';
import { Client } from 'pg';
import { tempWorkspace } from '../support/workspace';
import { run } from '../support/run';
import { scratchDatabase } from '../support/pg';
import { SERVER_YAML } from './workspace';

/**
 * The Done-when scenario of the expand/contract strategy, on the server: an "old app" (search path `s_v0, s`: the
 * physical tables until the old version schema exists, then its views) and a "new app" (`dbee.version` = 1 and the
 * new version schema) each run a steady loop of inserts, updates and reads while dbee expands, backfills and then
 * completes (the old app stops first, as it would once retired) or aborts (the new app stops first). Both apps see
 * no error; every row either wrote is visible in both shapes while expanded, and in the surviving shape after; no
 * statement of dbee waited for a lock more than once (the lock timeout plus one retry).
 *
 * Two scenarios cover the supported changes: `columns` (a column added NOT NULL and computed from others, a rename,
 * a type change, NOT NULL added, a drop) and `tables` (a column split in two, a unique constraint, a foreign key and
 * a CHECK, a table rename, two columns merged into one).
 */
const WS = SERVER_YAML;

/** What one iteration wrote: its row's id and the values the other shape must show. */
type Written = { id: number } & Record<string, unknown>;

interface Scenario {
  v1: Record<string, string>;
  v2: Record<string, string>;
  seed(rows: number): string;
  /** One iteration of an app: insert a row (returned), update an existing one, read its own row back. */
  op(c: Client, shape: 'old' | 'new', id: number, i: number, rows: number): Promise<Written>;
  /** Old-app rows read through the new version and new-app rows through the old one: each there, with its values. */
  bothShapes(url: string, old: Written[], young: Written[]): Promise<void>;
  /** After complete or abort: every row either app wrote, in the shape that stayed. */
  survived(url: string, end: 'complete' | 'abort', all: Written[]): Promise<void>;
}

const NEW_SESSION = "SET dbee.version = '1'; SET search_path = s_v1, s";
const OLD_SESSION = 'SET search_path = s_v0, s';

async function rowsIn(
  url: string,
  setup: string,
  sql: string,
  ids: number[],
): Promise<Map<number, Record<string, unknown>>> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(setup);
    const r = await c.query(sql, [ids]);
    return new Map(r.rows.map((row) => [Number(row.id), row]));
  } finally {
    await c.end();
  }
}

async function expectRows(url: string, setup: string, sql: string, expected: Written[], what: string): Promise<void> {
  const found = await rowsIn(
    url,
    setup,
    sql,
    expected.map((w) => w.id),
  );
  for (const w of expected) expect(found.get(w.id), `${what}: row ${w.id}`).toEqual(w);
}

export const COLUMNS: Scenario = {
  v1: {
    's/db.yaml': 'version: 1\nname: s\nengine: postgres\nschemas: [s]\n',
    's/schema.sql': 'CREATE SCHEMA s;',
    's/orders.sql':
      'CREATE TABLE s.orders (id int PRIMARY KEY, price int NOT NULL, qty int NOT NULL, state text, amount int, label text, note text NOT NULL);',
  },
  v2: {
    's/db.yaml':
      'version: 1\nname: s\nengine: postgres\nschemas: [s]\nrenames:\n  - { kind: column, schema: s, table: orders, from: state, to: status }\n',
    's/orders.sql':
      'CREATE TABLE s.orders (id int PRIMARY KEY, price int NOT NULL, qty int NOT NULL, status text, amount numeric(12,2), label text NOT NULL, total int NOT NULL);',
    's/orders.expand.yaml':
      "columns:\n  total:\n    up: price * qty\n  label:\n    up: COALESCE(label, 'none')\n  note:\n    down: COALESCE(note, '')\n",
  },
  seed: (rows) =>
    `INSERT INTO s.orders (id, price, qty, state, amount, label, note) SELECT g, 1 + g % 10, 1 + g % 3, 's' || g, g % 1000, CASE WHEN g % 3 = 0 THEN 'x' END, 'n' FROM generate_series(1, ${rows}) g`,
  async op(c, shape, id, i, rows) {
    const price = 1 + (i % 7);
    const qty = 1 + (i % 5);
    const state = `${shape}${i}`;
    const amount = i % 90;
    const label = `L${i}`;
    const existing = 1 + ((i * 7919) % rows);
    if (shape === 'old') {
      await c.query(
        'INSERT INTO orders (id, price, qty, state, amount, label, note) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [id, price, qty, state, amount, label, `n${i}`],
      );
      await c.query('UPDATE orders SET state = $2 WHERE id = $1', [existing, `o${i}`]);
      const r = await c.query('SELECT state FROM orders WHERE id = $1', [id]);
      if (r.rows[0]?.state !== state) throw new Error(`read ${id}: ${JSON.stringify(r.rows[0])}`);
    } else {
      await c.query(
        'INSERT INTO orders (id, price, qty, status, amount, label, total) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [id, price, qty, state, amount, label, price * qty],
      );
      await c.query('UPDATE orders SET status = $2 WHERE id = $1', [existing, `n${i}`]);
      const r = await c.query('SELECT status FROM orders WHERE id = $1', [id]);
      if (r.rows[0]?.status !== state) throw new Error(`read ${id}: ${JSON.stringify(r.rows[0])}`);
    }
    return { id, price, qty, state, amount, label };
  },
  async bothShapes(url, old, young) {
    await expectRows(
      url,
      NEW_SESSION,
      'SELECT id, price, qty, status AS state, amount::int AS amount, label, total = price * qty AS total_ok FROM orders WHERE id = ANY($1)',
      old.map((w) => ({ ...w, total_ok: true })),
      "old app's row in the new shape",
    );
    await expectRows(
      url,
      OLD_SESSION,
      "SELECT id, price, qty, state, amount, label, note = '' AS note_ok FROM orders WHERE id = ANY($1)",
      young.map((w) => ({ ...w, note_ok: true })),
      "new app's row in the old shape",
    );
  },
  async survived(url, end, all) {
    const sql =
      end === 'complete'
        ? 'SELECT id, price, qty, status AS state, amount::int AS amount, label FROM s.orders WHERE id = ANY($1)'
        : 'SELECT id, price, qty, state, amount, label FROM s.orders WHERE id = ANY($1)';
    await expectRows(url, 'SELECT 1', sql, all, `row after ${end}`);
  },
};

/** The new shape's split and merged columns, read from the old shape's columns. */
const OLD_NAMES =
  "split_part(c.name, ' ', 1) AS first_name, split_part(c.name, ' ', 2) AS last_name, c.street || ', ' || c.city AS address";

export const TABLES: Scenario = {
  v1: {
    's/db.yaml': 'version: 1\nname: s\nengine: postgres\nschemas: [s]\n',
    's/schema.sql': 'CREATE SCHEMA s;',
    's/customers.sql': 'CREATE TABLE s.customers (id int PRIMARY KEY, name text, email text, street text, city text);',
    's/notes.sql': 'CREATE TABLE s.notes (id int PRIMARY KEY, customer_id int, body text, price int NOT NULL);',
  },
  v2: {
    's/db.yaml':
      'version: 1\nname: s\nengine: postgres\nschemas: [s]\nrenames:\n  - { kind: table, schema: s, from: notes, to: memos }\n',
    's/customers.sql':
      'CREATE TABLE s.customers (id int PRIMARY KEY, first_name text, last_name text, email text, address text, CONSTRAINT customers_email_key UNIQUE (email));',
    's/customers.expand.yaml': [
      'columns:',
      '  first_name: { up: "split_part(name, \' \', 1)" }',
      '  last_name: { up: "split_part(name, \' \', 2)" }',
      '  name: { down: "first_name || \' \' || last_name" }',
      '  address: { up: "street || \', \' || city" }',
      '  street: { down: "split_part(address, \', \', 1)" }',
      '  city: { down: "split_part(address, \', \', 2)" }',
      '',
    ].join('\n'),
    's/notes.sql': '',
    's/memos.sql':
      'CREATE TABLE s.memos (id int PRIMARY KEY, customer_id int, body text, price int NOT NULL, CONSTRAINT memos_customer_fk FOREIGN KEY (customer_id) REFERENCES s.customers (id), CONSTRAINT memos_price_positive CHECK (price > 0));',
  },
  seed: (rows) =>
    `INSERT INTO s.customers SELECT g, 'First' || g || ' Last' || g, 'c' || g || '@x', 'S' || g, 'C' || g FROM generate_series(1, ${rows}) g;
     INSERT INTO s.notes SELECT g, g, 'b' || g, 1 + g % 9 FROM generate_series(1, ${rows}) g`,
  async op(c, shape, id, i, rows) {
    const first = `F${shape}${i}`;
    const last = `L${i}`;
    const existing = 1 + ((i * 7919) % rows);
    const body = `${shape} note ${i}`;
    const [street, city] = [`S${i}`, `C${shape}${i}`];
    if (shape === 'old') {
      await c.query('INSERT INTO customers (id, name, email, street, city) VALUES ($1, $2, $3, $4, $5)', [
        id,
        `${first} ${last}`,
        `${id}@o`,
        street,
        city,
      ]);
      await c.query('INSERT INTO notes (id, customer_id, body, price) VALUES ($1, $1, $2, $3)', [
        id,
        body,
        1 + (i % 5),
      ]);
      await c.query('UPDATE customers SET email = $2 WHERE id = $1', [existing, `c${existing}.${i}@o`]);
      const r = await c.query('SELECT name FROM customers WHERE id = $1', [id]);
      if (r.rows[0]?.name !== `${first} ${last}`) throw new Error(`read ${id}: ${JSON.stringify(r.rows[0])}`);
    } else {
      await c.query('INSERT INTO customers (id, first_name, last_name, email, address) VALUES ($1, $2, $3, $4, $5)', [
        id,
        first,
        last,
        `${id}@n`,
        `${street}, ${city}`,
      ]);
      await c.query('INSERT INTO memos (id, customer_id, body, price) VALUES ($1, $1, $2, $3)', [
        id,
        body,
        1 + (i % 5),
      ]);
      await c.query('UPDATE customers SET email = $2 WHERE id = $1', [existing, `c${existing}.${i}@n`]);
      const r = await c.query('SELECT first_name FROM customers WHERE id = $1', [id]);
      if (r.rows[0]?.first_name !== first) throw new Error(`read ${id}: ${JSON.stringify(r.rows[0])}`);
    }
    return { id, first_name: first, last_name: last, address: `${street}, ${city}`, body };
  },
  async bothShapes(url, old, young) {
    const sql = (notes: string) =>
      `SELECT c.id, c.first_name, c.last_name, c.address, n.body FROM customers c JOIN ${notes} n ON n.id = c.id WHERE c.id = ANY($1)`;
    await expectRows(url, NEW_SESSION, sql('memos'), old, "old app's rows in the new shape");
    await expectRows(
      url,
      OLD_SESSION,
      `SELECT c.id, ${OLD_NAMES}, n.body FROM customers c JOIN notes n ON n.id = c.id WHERE c.id = ANY($1)`,
      young,
      "new app's rows in the old shape",
    );
  },
  async survived(url, end, all) {
    const sql =
      end === 'complete'
        ? 'SELECT c.id, c.first_name, c.last_name, c.address, n.body FROM s.customers c JOIN s.memos n ON n.id = c.id WHERE c.id = ANY($1)'
        : `SELECT c.id, ${OLD_NAMES}, n.body FROM s.customers c JOIN s.notes n ON n.id = c.id WHERE c.id = ANY($1)`;
    await expectRows(url, 'SELECT 1', sql, all, `row after ${end}`);
  },
};

/** One application stand-in: a loop of the scenario's iteration until stopped; errors are collected, never thrown. */
class App {
  readonly errors: string[] = [];
  readonly written: Written[] = [];
  ops = 0;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private constructor(
    private readonly client: Client,
    private readonly scenario: Scenario,
    private readonly shape: 'old' | 'new',
    private readonly firstId: number,
    private readonly rows: number,
  ) {}

  static async start(url: string, scenario: Scenario, shape: 'old' | 'new', firstId: number, rows: number) {
    const client = new Client({ connectionString: url });
    await client.connect();
    await client.query(shape === 'old' ? OLD_SESSION : NEW_SESSION);
    const app = new App(client, scenario, shape, firstId, rows);
    app.loop = app.run();
    return app;
  }

  private async run(): Promise<void> {
    for (let i = 0; !this.stopped; i++) {
      try {
        this.written.push(await this.scenario.op(this.client, this.shape, this.firstId + i, i, this.rows));
      } catch (e) {
        this.errors.push(`${this.shape} app, op ${i}: ${(e as Error).message}`);
      }
      this.ops++;
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /** Resolves once the app has done `more` more iterations. */
  async after(more: number): Promise<void> {
    const target = this.ops + more;
    while (this.ops < target && !this.stopped) await new Promise((r) => setTimeout(r, 20));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.loop;
    await this.client.end();
  }
}

/** The whole scenario on a fresh database with `rows` rows; `end` is `complete` or `abort`. */
export async function twoApps(scenario: Scenario, rows: number, end: 'complete' | 'abort'): Promise<void> {
  const db = await scratchDatabase('dbee_xa');
  const w = tempWorkspace({ 'dbee.yaml': WS, ...scenario.v1 });
  const vars = { EXPAND_TEST_URL: db.url };
  const apps: App[] = [];
  try {
    expect((await run(w.root, 'deploy', { project: 's' }, vars)).code).toBe(0);
    const c = new Client({ connectionString: db.url });
    await c.connect();
    await c.query(scenario.seed(rows));
    await c.end();
    for (const [f, text] of Object.entries(scenario.v2)) w.write(f, text);

    const oldApp = await App.start(db.url, scenario, 'old', 10_000_000, rows);
    apps.push(oldApp);
    await oldApp.after(10);
    const expanded = await run(w.root, 'deploy', { project: 's', strategy: 'expand-contract' }, vars);
    expect(expanded.stderr).not.toMatch(/error/);
    expect(expanded.code).toBe(0);
    const newApp = await App.start(db.url, scenario, 'new', 20_000_000, rows);
    apps.push(newApp);
    await Promise.all([oldApp.after(30), newApp.after(30)]);
    await scenario.bothShapes(db.url, [...oldApp.written], [...newApp.written]);

    // The app that the end retires stops first; the other keeps running through it.
    const [retired, survivor] = end === 'complete' ? [oldApp, newApp] : [newApp, oldApp];
    await retired.stop();
    const done = await run(w.root, end, { project: 's' }, vars);
    expect(done.stderr).toBe('');
    expect(done.code).toBe(0);
    await survivor.after(20);
    await survivor.stop();
    expect(oldApp.errors).toEqual([]);
    expect(newApp.errors).toEqual([]);
    await scenario.survived(db.url, end, [...oldApp.written, ...newApp.written]);

    // No statement of dbee waited for a lock more than once: the lock timeout plus one retry at most.
    const c2 = new Client({ connectionString: db.url });
    await c2.connect();
    const r = await c2.query(
      `SELECT phase, (SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM jsonb_array_elements(lock_attempts) a GROUP BY a->>'statement') x)::int AS worst FROM dbee.expand_releases`,
    );
    await c2.end();
    expect(r.rows).toEqual([{ phase: end === 'complete' ? 'done' : 'aborted', worst: expect.any(Number) }]);
    expect(r.rows[0].worst).toBeLessThanOrEqual(1);
  } finally {
    for (const a of apps) await a.stop().catch(() => undefined);
    w.remove();
    await db.drop();
  }
}
