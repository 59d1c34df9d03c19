/**
 * What a blue/green release costs an application (docs/blue-green.md), measured through dbee's own commands on a
 * deployment as a team runs one: a cluster of its own (`wal_level = logical`) with the server's default durability
 * (`fsync` and `synchronous_commit` on), a real PgBouncer (Debian's package) in transaction pooling, and an application
 * writing through it all along: inserts and updates across two tables with a foreign key (customers, their orders),
 * each write its own transaction, plus readers. The whole life cycle runs: `deploy --strategy blue-green`, `switch`,
 * `fallback`, `switch`, `finish`. It prints, per switchover, the longest gap between two successful writes (met or NOT
 * met against 1 s) or the refusal (refused before pausing, with its numbers), the lag the guard read, the lag it
 * paused at, the apply rate it measured and the drain's time (the `blue_green` record); then the writes and reads that
 * failed, acknowledged rows or updates missing on the side that serves at the end, duplicate keys, and the load
 * average at the start and the end (the figures are the machine's as much as dbee's).
 *
 * Cases of their own (`--case`):
 * - `open-transaction`: a session of the application left idle in its transaction on blue during the switch;
 * - `prepared`: the writers use named prepared statements through PgBouncer's transaction pooling;
 * - `direct`: a client that writes to blue directly, bypassing the router, after the switch.
 *
 *   node tools/run.js tools/bench-blue-green.ts                          # 500 writes/s, 20,000 customers
 *   node tools/run.js tools/bench-blue-green.ts --rate 2000 --clients 16
 *   node tools/run.js tools/bench-blue-green.ts --case open-transaction
 */
import { randomInt, randomUUID } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { OwnCluster } from '../test/support/own-cluster';
import { OwnPgBouncer } from '../test/support/pgbouncer';
import { dbee, fmtMs, load } from './bench/lib';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const CASE = (() => {
  const i = process.argv.indexOf('--case');
  return i > 0 ? (process.argv[i + 1] ?? '') : '';
})();
if (CASE && !['open-transaction', 'prepared', 'direct'].includes(CASE)) {
  console.error(`--case ${CASE}: one of open-transaction, prepared, direct`);
  process.exit(1);
}

const CUSTOMERS = arg('customers', 20_000);
const RATE = arg('rate', 500);
const CLIENTS = arg('clients', Math.max(8, Math.ceil(RATE / 100)));
const READERS = arg('readers', 4);
/** The longest write gap a switchover may cause (issue 91's goal). */
const GOAL_MS = 1000;

async function sql(url: string, ...statements: string[]): Promise<Record<string, unknown>[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    let rows: Record<string, unknown>[] = [];
    for (const s of statements) rows = (await c.query(s)).rows;
    return rows;
  } finally {
    await c.end();
  }
}

function workspace(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'dbee-bench-bg-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const yaml = (port: number, bouncer: OwnPgBouncer) => `version: 1
defaultEnvironment: blue
environments:
  blue:
    engine: postgres
    connection: { url: "postgres://postgres@127.0.0.1:${port}/app" }
    blueGreen:
      green: green
      router:
        pgbouncer: { admin: "postgres://postgres@127.0.0.1:${bouncer.port}/pgbouncer", config: "${bouncer.ini}", database: app }
      transactionWait: 3s
  green:
    engine: postgres
    connection: { url: "postgres://postgres@127.0.0.1:${port}/app_green" }
    deploy: { allowHazards: [index-build, long-lock] }
`;

const PROJECT = {
  's/db.yaml': 'version: 1\nname: s\nengine: postgres\nschemas: [s]\n',
  's/schema.sql': 'CREATE SCHEMA s;',
  's/customers.sql':
    'CREATE TABLE s.customers (id bigserial PRIMARY KEY, token uuid NOT NULL UNIQUE, name text NOT NULL, balance bigint NOT NULL DEFAULT 0, updated_at timestamptz NOT NULL DEFAULT now());',
  's/orders.sql':
    "CREATE TABLE s.orders (id bigserial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES s.customers (id), token uuid NOT NULL UNIQUE, amount int NOT NULL, status text NOT NULL DEFAULT 'new', note text, created_at timestamptz NOT NULL DEFAULT now());\nCREATE INDEX orders_customer ON s.orders (customer_id);",
};

/** The release: a column with a default and an index (carried by replication). */
const RELEASE = `${PROJECT['s/orders.sql'].replace('note text, created_at timestamptz NOT NULL DEFAULT now())', "note text, created_at timestamptz NOT NULL DEFAULT now(), channel text NOT NULL DEFAULT 'web')")}\nCREATE INDEX orders_created ON s.orders (created_at);`;

interface Outcome {
  at: number;
  ok: boolean;
  message?: string;
}

/**
 * The application: `clients` sessions through PgBouncer writing `rate` transactions a second on a fixed schedule, each
 * one of: a new order of an existing customer (60 %), an order's status and note updated (30 %), a new customer (10 %).
 * Every acknowledged insert (its token) and the last acknowledged update of each order (its note) is kept, to find
 * what is missing at the end. `prepared`: named prepared statements (`pg`'s `name`).
 */
class Application {
  readonly outcomes: Outcome[] = [];
  readonly reads: Outcome[] = [];
  readonly customers: string[] = [];
  readonly orders: string[] = [];
  /**
   * Ids of acknowledged orders, per client: each client updates only orders it inserted, so no two clients update one
   * row at once (the last acknowledged update is then the row's last).
   */
  private readonly orderIds: number[][] = [];
  /** Order id -> the note of its last acknowledged update. */
  readonly updates = new Map<number, string>();
  private readonly pool: pg.Pool;
  private running = false;
  private loops: Promise<void>[] = [];
  private maxCustomer: number;

  constructor(
    url: string,
    private readonly rate: number,
    private readonly clients: number,
    private readonly readers: number,
    customers: number,
    private readonly prepared: boolean,
  ) {
    this.pool = new pg.Pool({ connectionString: url, max: clients + readers });
    this.pool.on('error', () => {});
    this.maxCustomer = customers;
  }

  start(): void {
    this.running = true;
    const every = (1000 * this.clients) / this.rate;
    const t0 = Date.now();
    for (let c = 0; c < this.clients; c++) {
      const own: number[] = [];
      this.orderIds.push(own);
      this.loops.push(this.loop(t0 + (c * every) / this.clients, every, () => this.writeOne(own)));
    }
    for (let r = 0; r < this.readers; r++) this.loops.push(this.loop(t0 + r * 7, 20, () => this.readOne()));
  }

  private async loop(start: number, every: number, work: () => Promise<void>): Promise<void> {
    for (let i = 0; this.running; i++) {
      const wait = start + i * every - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (!this.running) break;
      await work();
    }
  }

  private query(name: string, text: string, values: unknown[]) {
    return this.pool.query(this.prepared ? { name, text, values } : { text, values });
  }

  private async writeOne(own: number[]): Promise<void> {
    const token = randomUUID();
    const dice = randomInt(100);
    try {
      if (dice < 10) {
        const r = await this.query('customer', 'INSERT INTO s.customers (token, name) VALUES ($1, $2) RETURNING id', [
          token,
          `c ${token.slice(0, 8)}`,
        ]);
        this.customers.push(token);
        this.maxCustomer = Math.max(this.maxCustomer, Number(r.rows[0].id));
      } else if (dice < 40 && own.length > 0) {
        const id = own[randomInt(own.length)]!;
        await this.query('update', "UPDATE s.orders SET status = 'paid', note = $2 WHERE id = $1", [id, token]);
        this.updates.set(id, token);
      } else {
        const customer = 1 + randomInt(Math.min(this.maxCustomer, CUSTOMERS));
        const r = await this.query(
          'order',
          'INSERT INTO s.orders (customer_id, token, amount) VALUES ($1, $2, $3) RETURNING id',
          [customer, token, 1 + randomInt(1000)],
        );
        this.orders.push(token);
        own.push(Number(r.rows[0].id));
      }
      this.outcomes.push({ at: Date.now(), ok: true });
    } catch (e) {
      this.outcomes.push({ at: Date.now(), ok: false, message: (e as Error).message });
    }
  }

  private async readOne(): Promise<void> {
    try {
      await this.query(
        'read',
        'SELECT c.name, count(o.id) FROM s.customers c LEFT JOIN s.orders o ON o.customer_id = c.id WHERE c.id = $1 GROUP BY c.name',
        [1 + randomInt(CUSTOMERS)],
      );
      this.reads.push({ at: Date.now(), ok: true });
    } catch (e) {
      this.reads.push({ at: Date.now(), ok: false, message: (e as Error).message });
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    await this.pool.end();
  }

  /** The longest time between two successive successful writes that ended within `[from, to]`. */
  longestGap(from: number, to: number): number {
    const times = this.outcomes
      .filter((o) => o.ok && o.at >= from && o.at <= to)
      .map((o) => o.at)
      .sort((a, b) => a - b);
    let gap = 0;
    for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
    return gap;
  }
}

/** What one switchover did, read from the command's exit and the `blue_green` record. */
interface Switched {
  phase: string;
  code: number;
  gap: number;
  said: string;
}

async function main(): Promise<void> {
  console.log(
    `blue/green benchmark${CASE ? ` (case ${CASE})` : ''}: ${RATE} writes/s (inserts and updates across customers and orders, a foreign key) by ${CLIENTS} clients and ${READERS} readers through PgBouncer, ${CUSTOMERS.toLocaleString('en-US')} customers; fsync and synchronous_commit on (node ${process.version}, load ${load()})`,
  );
  const cluster = await OwnCluster.start({
    wal_level: 'logical',
    max_replication_slots: '10',
    max_wal_senders: '10',
    fsync: 'on',
    synchronous_commit: 'on',
  });
  let bouncer: OwnPgBouncer | undefined;
  let root: string | undefined;
  let direct: pg.Client | undefined;
  try {
    await sql(cluster.url(), 'CREATE DATABASE app');
    bouncer = await OwnPgBouncer.start({ app: `host=127.0.0.1 port=${cluster.port} dbname=app` });
    root = workspace({ 'dbee.yaml': yaml(cluster.port, bouncer), ...PROJECT });
    // `dbee` of the benchmarks' library throws on an exit code other than 0: a refusal is a result here.
    const cli = async (command: Parameters<typeof dbee>[1], options: Record<string, unknown> = {}) => {
      try {
        return await dbee(root!, command, { project: 's', env: 'blue', assumeYes: true, ...options }, {});
      } catch (e) {
        const text = (e as Error).message;
        const code = Number(/ exited (\d+):/.exec(text)?.[1] ?? 2);
        return { code, stdout: '', stderr: text.slice(text.indexOf('\n') + 1) };
      }
    };
    const first = await cli('deploy');
    if (first.code !== 0) throw new Error(`dbee deploy exited ${first.code}:\n${first.stderr}`);
    await sql(
      cluster.url('app'),
      `INSERT INTO s.customers (token, name) SELECT gen_random_uuid(), 'seed ' || g FROM generate_series(1, ${CUSTOMERS}) g`,
      `INSERT INTO s.orders (customer_id, token, amount) SELECT 1 + g % ${CUSTOMERS}, gen_random_uuid(), g % 1000 FROM generate_series(1, ${CUSTOMERS * 5}) g`,
    );
    const app = new Application(bouncer.url('app'), RATE, CLIENTS, READERS, CUSTOMERS, CASE === 'prepared');
    app.start();
    const switched: Switched[] = [];
    let directWrites = { ok: 0, failed: 0, message: '' };
    let finished = '';
    try {
      writeFileSync(join(root, 's/orders.sql'), RELEASE);
      const deployed = await cli('deploy', { strategy: 'blue-green' });
      if (deployed.code !== 0)
        throw new Error(`dbee deploy --strategy blue-green exited ${deployed.code}:\n${deployed.stderr}`);
      for (const phase of ['switch', 'fallback', 'switch'] as const) {
        await new Promise((r) => setTimeout(r, 2000));
        let held: pg.Client | undefined;
        if (CASE === 'open-transaction' && switched.length === 0) {
          // A session of the application left idle in its transaction on blue, through the router.
          held = new pg.Client({ connectionString: bouncer.url('app'), application_name: 'bench-report' });
          held.on('error', () => {});
          await held.connect();
          await held.query('BEGIN');
          await held.query('SELECT count(*) FROM s.customers');
        }
        const from = Date.now();
        const r = await cli(phase);
        const to = Date.now() + 1000;
        await held?.end().catch(() => {});
        const said = (r.stderr.split('\n').find((l) => /refused|error|failed/i.test(l)) ?? '').trim();
        switched.push({ phase, code: r.code, gap: app.longestGap(from, to), said });
        // Refused before pausing, or undone: the life cycle stops there (finish then gives green up, or drops blue).
        if (r.code !== 0) break;
        if (CASE === 'direct' && phase === 'switch' && !direct) {
          // A client of blue's own, bypassing the router, after the switch.
          direct = new pg.Client({ connectionString: cluster.url('app') });
          direct.on('error', () => {});
          await direct.connect();
          for (let i = 0; i < 100; i++) {
            try {
              await direct.query('INSERT INTO s.customers (token, name) VALUES (gen_random_uuid(), $1)', ['direct']);
              directWrites.ok++;
            } catch (e) {
              directWrites.failed++;
              directWrites.message = (e as Error).message;
            }
          }
        }
      }
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      await app.stop();
    }
    const f = await cli('finish');
    finished = f.code === 0 ? 'done' : `exit ${f.code}: ${f.stderr.split('\n')[0]}`;
    const serving = String((await sql(bouncer.url('app'), 'SELECT current_database() AS d'))[0]!['d']);
    const url = cluster.url(serving);
    const records = (await sql(
      url,
      "SELECT phase, step, status, duration_ms, detail FROM dbee.blue_green WHERE phase IN ('switch', 'fallback') AND step IN ('guard', 'drain', 'end') ORDER BY id",
    )) as {
      phase: string;
      step: string;
      status: string;
      duration_ms: number | null;
      detail: Record<string, unknown> | null;
    }[];
    const tokens = new Set(
      [
        ...(await sql(url, 'SELECT token::text AS t FROM s.orders')),
        ...(await sql(url, 'SELECT token::text AS t FROM s.customers')),
      ].map((r) => r['t'] as string),
    );
    const lostInserts = [...app.orders, ...app.customers].filter((t) => !tokens.has(t)).length;
    const notes = new Map(
      (await sql(url, 'SELECT id, note FROM s.orders WHERE note IS NOT NULL')).map((r) => [Number(r['id']), r['note']]),
    );
    const lostUpdates = [...app.updates].filter(([id, note]) => notes.get(id) !== note).length;
    const errors = app.outcomes.filter((o) => !o.ok);
    const duplicates = errors.filter((e) => /duplicate key/.test(e.message ?? '')).length;
    const readErrors = app.reads.filter((o) => !o.ok);

    // The guard's and the drain's rows, one switchover (begin..end) at a time, in order.
    const detailOf = (i: number) => {
      const ends = records.filter((r) => r.step === 'end');
      const end = ends[i];
      if (!end) return '';
      const upTo = records.indexOf(end);
      const before = records.slice(0, upTo).filter((r) => r.phase === end.phase);
      const guard = before.filter((r) => r.step === 'guard').at(-1)?.detail ?? {};
      const drain = before.filter((r) => r.step === 'drain').at(-1);
      const n = (x: unknown) => (typeof x === 'number' ? x.toLocaleString('en-US') : '?');
      const rate =
        typeof guard['applyBytesPerSecond'] === 'number'
          ? `${n(guard['applyBytesPerSecond'])} B/s applied`
          : 'under 16 kB: no wait';
      return `lag at the guard ${n(guard['lagBytes'])} B, paused at ${n(guard['readyLagBytes'])} B (${rate}, waited ${fmtMs(Number(guard['waitedMs'] ?? 0))}); drain ${drain?.duration_ms != null ? fmtMs(drain.duration_ms) : '?'}; writes paused ${fmtMs(Number(end.duration_ms ?? 0))} (${end.status})`;
    };
    let done = 0;
    for (const s of switched) {
      const line =
        s.code === 0
          ? `longest write gap ${fmtMs(s.gap)} (goal <= 1 s: ${s.gap <= GOAL_MS ? 'met' : 'NOT met'}); ${detailOf(done++)}`
          : s.code === 1
            ? `refused before pausing (exit 1), longest write gap ${fmtMs(s.gap)}: ${s.said}`
            : `exit ${s.code}, longest write gap ${fmtMs(s.gap)} (goal <= 1 s: ${s.gap <= GOAL_MS ? 'met' : 'NOT met'}): ${s.said}`;
      console.log(`${s.phase}: ${line}`);
    }
    console.log(`finish: ${finished}; ${serving === 'app' ? 'blue' : 'green'} serves`);
    console.log(
      `writes: ${app.outcomes.length - errors.length} succeeded, ${errors.length} failed${errors[0] ? ` (first: ${errors[0].message})` : ''}; reads: ${app.reads.length - readErrors.length} succeeded, ${readErrors.length} failed`,
    );
    console.log(
      `rows lost ${lostInserts} (goal 0), updates lost ${lostUpdates} (goal 0), duplicate keys ${duplicates} (goal 0)`,
    );
    if (CASE === 'direct')
      console.log(
        `direct client on blue after the switch: ${directWrites.ok} writes succeeded, ${directWrites.failed} failed${directWrites.message ? ` (${directWrites.message})` : ''}`,
      );
    console.log(`load average at the end: ${load()}`);
  } finally {
    await direct?.end().catch(() => {});
    await bouncer?.stop();
    await cluster.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
