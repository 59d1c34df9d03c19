/**
 * What a blue/green release costs (docs/blue-green.md), measured through dbee's own commands on a cluster of its own
 * (`wal_level = logical`) behind a real PgBouncer (Debian's package), with an application writing at a steady rate
 * through PgBouncer all along (`test/support/writers.ts`: one insert per write, a key from a sequence, a unique token):
 *
 *   1. `dbee deploy --strategy blue-green` on a table of `--rows` rows: the initial copy's rows/s (the `copy` step of
 *      the `blue_green` record: from the subscription made to every table copied);
 *   2. `dbee switch`, then `dbee fallback`: the longest gap between two successful writes from the command's start to
 *      a second after its end (the writes paused, and the catching up after), and the writes paused as the ledger
 *      recorded it;
 *   3. after the fallback, on blue: the writes that succeeded but are missing (rows lost), the keys written twice
 *      (duplicate keys: the sequences set past the other side's at each switch), the errors the application saw.
 *
 * Goals (issue 78): the longest gap <= 1 s at 500 writes/s; 0 rows lost; 0 duplicate keys. The load average is printed
 * at the start and the end: on a loaded machine the gap grows with the time the servers and dbee wait for a CPU.
 *
 *   node tools/run.js tools/bench-blue-green.ts                      # 100,000 rows, 500 writes/s, 8 clients
 *   node tools/run.js tools/bench-blue-green.ts --rows 1000000 --rate 200 --clients 4
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { OwnCluster } from '../test/support/own-cluster';
import { OwnPgBouncer } from '../test/support/pgbouncer';
import { Writers } from '../test/support/writers';
import { dbee, fmtMs, load } from './bench/lib';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const ROWS = arg('rows', 100_000);
const RATE = arg('rate', 500);
const CLIENTS = arg('clients', 8);

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
  green:
    engine: postgres
    connection: { url: "postgres://postgres@127.0.0.1:${port}/app_green" }
    deploy: { allowHazards: [index-build, long-lock] }
`;

const PROJECT = {
  's/db.yaml': 'version: 1\nname: s\nengine: postgres\nschemas: [s]\n',
  's/schema.sql': 'CREATE SCHEMA s;',
  's/orders.sql':
    'CREATE TABLE s.orders (id bigserial PRIMARY KEY, token uuid NOT NULL UNIQUE, note text, created_at timestamptz NOT NULL DEFAULT now());',
};

/** The release: a column with a default and an index (carried by replication). */
const RELEASE =
  "CREATE TABLE s.orders (id bigserial PRIMARY KEY, token uuid NOT NULL UNIQUE, note text, created_at timestamptz NOT NULL DEFAULT now(), channel text NOT NULL DEFAULT 'web');\nCREATE INDEX orders_created ON s.orders (created_at);";

async function main(): Promise<void> {
  console.log(
    `blue/green benchmark: ${ROWS.toLocaleString('en-US')} rows, ${RATE} writes/s through PgBouncer by ${CLIENTS} clients (node ${process.version}, load ${load()})`,
  );
  const cluster = await OwnCluster.start({ wal_level: 'logical', max_replication_slots: '10', max_wal_senders: '10' });
  let bouncer: OwnPgBouncer | undefined;
  let root: string | undefined;
  try {
    await sql(cluster.url(), 'CREATE DATABASE app');
    bouncer = await OwnPgBouncer.start({ app: `host=127.0.0.1 port=${cluster.port} dbname=app` });
    root = workspace({ 'dbee.yaml': yaml(cluster.port, bouncer), ...PROJECT });
    const cli = async (command: Parameters<typeof dbee>[1], options: Record<string, unknown> = {}) => {
      const r = await dbee(root!, command, { project: 's', env: 'blue', assumeYes: true, ...options }, {});
      if (r.code !== 0) throw new Error(`dbee ${command} exited ${r.code}:\n${r.stderr}`);
      return r;
    };
    await cli('deploy');
    await sql(
      cluster.url('app'),
      `INSERT INTO s.orders (token, note) SELECT gen_random_uuid(), 'seed ' || g FROM generate_series(1, ${ROWS}) g`,
    );
    const writers = new Writers(bouncer.url('app'), 's.orders', RATE, CLIENTS);
    writers.start();
    const windows: { phase: string; from: number; to: number }[] = [];
    try {
      writeFileSync(join(root, 's/orders.sql'), RELEASE);
      await cli('deploy', { strategy: 'blue-green' });
      for (const phase of ['switch', 'fallback'] as const) {
        await new Promise((r) => setTimeout(r, 2000));
        const from = Date.now();
        await cli(phase);
        windows.push({ phase, from, to: Date.now() + 1000 });
      }
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      await writers.stop();
    }
    const copy = (await sql(
      cluster.url('app'),
      "SELECT duration_ms FROM dbee.blue_green WHERE phase = 'deploy' AND step = 'copy' ORDER BY id DESC LIMIT 1",
    )) as { duration_ms: number }[];
    const paused = (await sql(
      cluster.url('app'),
      "SELECT phase, duration_ms, detail FROM dbee.blue_green WHERE step = 'end' AND phase IN ('switch', 'fallback') ORDER BY id",
    )) as { phase: string; duration_ms: number; detail: { steps?: { step: string; ms: number }[] } | null }[];
    const rows = (await sql(cluster.url('app'), 'SELECT token::text AS token, id::text AS id FROM s.orders')) as {
      token: string;
      id: string;
    }[];
    const tokens = new Set(rows.map((r) => r.token));
    const lost = writers.written.filter((w) => !tokens.has(w.token)).length;
    const duplicates =
      rows.length -
      new Set(rows.map((r) => r.id)).size +
      writers.errors.filter((e) => /duplicate key/.test(e.message)).length;
    const copyMs = Number(copy[0]?.duration_ms ?? Number.NaN);
    console.log(
      `initial copy: ${ROWS.toLocaleString('en-US')} rows in ${fmtMs(copyMs)}: ${Math.round(ROWS / (copyMs / 1000)).toLocaleString('en-US')} rows/s`,
    );
    for (const w of windows) {
      const gap = writers.longestGap(w.from, w.to);
      const row = paused.find((p) => p.phase === w.phase);
      const steps = (row?.detail?.steps ?? []).map((s) => `${s.step} ${fmtMs(s.ms)}`).join(', ');
      console.log(
        `${w.phase}: longest write gap ${fmtMs(gap)} (goal <= 1 s: ${gap <= 1000 ? 'met' : 'NOT met'}); writes paused ${row ? fmtMs(Number(row.duration_ms)) : '?'} (ledger: ${steps})`,
      );
    }
    console.log(
      `writes: ${writers.written.length.toLocaleString('en-US')} succeeded, ${writers.errors.length} failed; rows lost ${lost} (goal 0); duplicate keys ${duplicates} (goal 0)`,
    );
    console.log(`load average at the end: ${load()}`);
  } finally {
    await bouncer?.stop();
    await cluster.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
