import { expect } from 'vitest';
import { Client } from 'pg';
import { tempWorkspace } from '../support/workspace';
import { run } from '../support/run';
import { scratchDatabase } from '../support/pg';

/**
 * The Done-when scenario of the expand/contract strategy, on the server: an "old app" (search path `s_v0, s`: the
 * physical table until the old version schema exists, then its views) and a "new app" (`dbee.version` = 1 and the
 * new version schema) each run a steady loop of inserts, updates and reads while dbee expands, backfills and then
 * completes (the old app stops first, as it would once retired) or aborts (the new app stops first). Both apps see
 * no error; every row either wrote is visible in both shapes while expanded, and in the surviving shape after; no
 * statement of dbee waited for a lock more than once (the lock timeout plus one retry).
 *
 * One release carries the five main changes at once: a column added NOT NULL and computed from others (`total`), a
 * rename (`state` → `status`), a type change (`amount` int → numeric), NOT NULL added (`label`), a drop (`note`).
 */
const WS = `version: 1
defaultEnvironment: server
environments:
  server:
    engine: postgres
    connection: { url: "\${EXPAND_TEST_URL}" }
`;
const V1 = {
  's/db.yaml': 'version: 1\nname: s\nengine: postgres\nschemas: [s]\n',
  's/schema.sql': 'CREATE SCHEMA s;',
  's/orders.sql':
    'CREATE TABLE s.orders (id int PRIMARY KEY, price int NOT NULL, qty int NOT NULL, state text, amount int, label text, note text NOT NULL);',
};
const V2 = {
  's/db.yaml':
    'version: 1\nname: s\nengine: postgres\nschemas: [s]\nrenames:\n  - { kind: column, schema: s, table: orders, from: state, to: status }\n',
  's/orders.sql':
    'CREATE TABLE s.orders (id int PRIMARY KEY, price int NOT NULL, qty int NOT NULL, status text, amount numeric(12,2), label text NOT NULL, total int NOT NULL);',
  's/orders.expand.yaml':
    "columns:\n  total:\n    up: price * qty\n  label:\n    up: COALESCE(label, 'none')\n  note:\n    down: COALESCE(note, '')\n",
};

interface Written {
  id: number;
  price: number;
  qty: number;
  state: string;
  amount: number;
  label: string;
}

/** One application stand-in: a loop of insert, update, read until stopped; errors are collected, never thrown. */
class App {
  readonly errors: string[] = [];
  readonly written: Written[] = [];
  ops = 0;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private constructor(
    private readonly client: Client,
    private readonly shape: 'old' | 'new',
    private readonly firstId: number,
    private readonly rows: number,
  ) {}

  static async start(url: string, shape: 'old' | 'new', firstId: number, rows: number): Promise<App> {
    const client = new Client({ connectionString: url });
    await client.connect();
    if (shape === 'old') await client.query('SET search_path = s_v0, s');
    else await client.query("SET dbee.version = '1'; SET search_path = s_v1, s");
    const app = new App(client, shape, firstId, rows);
    app.loop = app.run();
    return app;
  }

  private async run(): Promise<void> {
    let i = 0;
    while (!this.stopped) {
      const id = this.firstId + i;
      const w: Written = {
        id,
        price: 1 + (i % 7),
        qty: 1 + (i % 5),
        state: `${this.shape}${i}`,
        amount: i % 90,
        label: `L${i}`,
      };
      const existing = 1 + ((i * 7919) % this.rows);
      try {
        if (this.shape === 'old') {
          await this.client.query(
            'INSERT INTO orders (id, price, qty, state, amount, label, note) VALUES ($1, $2, $3, $4, $5, $6, $7)',
            [w.id, w.price, w.qty, w.state, w.amount, w.label, `n${i}`],
          );
          await this.client.query('UPDATE orders SET state = $2 WHERE id = $1', [existing, `o${i}`]);
          const r = await this.client.query(
            'SELECT id, price, qty, state, amount, label, note FROM orders WHERE id = $1',
            [id],
          );
          if (r.rows[0]?.state !== w.state) this.errors.push(`read ${id}: ${JSON.stringify(r.rows[0])}`);
        } else {
          await this.client.query(
            'INSERT INTO orders (id, price, qty, status, amount, label, total) VALUES ($1, $2, $3, $4, $5, $6, $7)',
            [w.id, w.price, w.qty, w.state, w.amount, w.label, w.price * w.qty],
          );
          await this.client.query('UPDATE orders SET status = $2 WHERE id = $1', [existing, `n${i}`]);
          const r = await this.client.query(
            'SELECT id, price, qty, status, amount, label, total FROM orders WHERE id = $1',
            [id],
          );
          if (r.rows[0]?.status !== w.state) this.errors.push(`read ${id}: ${JSON.stringify(r.rows[0])}`);
        }
        this.written.push(w);
      } catch (e) {
        this.errors.push(`${this.shape} app, op ${i}: ${(e as Error).message}`);
      }
      this.ops++;
      i++;
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /** Resolves once the app has done `more` more iterations. */
  async after(more: number): Promise<void> {
    const target = this.ops + more;
    while (this.ops < target && !this.stopped) await new Promise((r) => setTimeout(r, 20));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await this.client.end();
  }
}

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

/** Old-app rows read in the new shape, and new-app rows in the old one: every one there, with the synced values. */
async function expectBothShapes(url: string, old: Written[], young: Written[]): Promise<void> {
  const viaNew = await rowsIn(
    url,
    "SET dbee.version = '1'; SET search_path = s_v1, s",
    'SELECT id, status, amount, label, total FROM orders WHERE id = ANY($1)',
    old.map((w) => w.id),
  );
  for (const w of old)
    expect(viaNew.get(w.id), `old app's row ${w.id} in the new shape`).toEqual({
      id: w.id,
      status: w.state,
      amount: w.amount.toFixed(2),
      label: w.label,
      total: w.price * w.qty,
    });
  const viaOld = await rowsIn(
    url,
    'SET search_path = s_v0, s',
    'SELECT id, state, amount, label, note FROM orders WHERE id = ANY($1)',
    young.map((w) => w.id),
  );
  for (const w of young)
    expect(viaOld.get(w.id), `new app's row ${w.id} in the old shape`).toEqual({
      id: w.id,
      state: w.state,
      amount: w.amount,
      label: w.label,
      note: '',
    });
}

/** The whole scenario on a fresh database with `rows` rows; `end` is `complete` or `abort`. */
export async function twoApps(rows: number, end: 'complete' | 'abort'): Promise<void> {
  const db = await scratchDatabase('dbee_xa');
  const w = tempWorkspace({ 'dbee.yaml': WS, ...V1 });
  const vars = { EXPAND_TEST_URL: db.url };
  const apps: App[] = [];
  try {
    expect((await run(w.root, 'deploy', { project: 's' }, vars)).code).toBe(0);
    const c = new Client({ connectionString: db.url });
    await c.connect();
    await c.query(
      `INSERT INTO s.orders (id, price, qty, state, amount, label, note) SELECT g, 1 + g % 10, 1 + g % 3, 's' || g, g % 1000, CASE WHEN g % 3 = 0 THEN 'x' END, 'n' FROM generate_series(1, ${rows}) g`,
    );
    await c.end();
    for (const [f, text] of Object.entries(V2)) w.write(f, text);

    const oldApp = await App.start(db.url, 'old', 10_000_000, rows);
    apps.push(oldApp);
    await oldApp.after(10);
    const expanded = await run(w.root, 'deploy', { project: 's', strategy: 'expand-contract' }, vars);
    expect(expanded.stderr).not.toMatch(/error/);
    expect(expanded.code).toBe(0);
    const newApp = await App.start(db.url, 'new', 20_000_000, rows);
    apps.push(newApp);
    await Promise.all([oldApp.after(30), newApp.after(30)]);
    await expectBothShapes(db.url, [...oldApp.written], [...newApp.written]);

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

    // Every row either app wrote is in the shape that survived.
    const all = [...oldApp.written, ...newApp.written];
    const sql =
      end === 'complete'
        ? 'SELECT id, status AS state, amount::int AS amount, label FROM s.orders WHERE id = ANY($1)'
        : 'SELECT id, state, amount, label FROM s.orders WHERE id = ANY($1)';
    const found = await rowsIn(
      db.url,
      'SELECT 1',
      sql,
      all.map((x) => x.id),
    );
    expect(found.size).toBe(all.length);
    for (const x of all)
      expect(found.get(x.id)).toEqual({ id: x.id, state: x.state, amount: x.amount, label: x.label });

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
