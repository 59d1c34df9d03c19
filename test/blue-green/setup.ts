import { Writable } from 'node:stream';
import pg from 'pg';
import { engineByName } from '@dbee/cli';
import { makeReporter, Workspace, type OperationContext } from '@dbee/core';
import { pgbouncerEntry, pgbouncerRouter } from '@dbee/postgres';
import { OwnCluster } from '../support/own-cluster';
import { OwnPgBouncer } from '../support/pgbouncer';
import { run } from '../support/run';
import { tempWorkspace } from '../support/workspace';
import { STRATEGIES } from '../../packages/core/src/operations/strategies';
import { inFlightReader } from '../../packages/core/src/operations/strategies/in-flight';

/** The one reader of every strategy's work in flight, which `makeGreen`'s clone is given (as the deploy phase gives it). */
export const IN_FLIGHT = inFlightReader(STRATEGIES);

/** Project `s`: one table the application writes (a key from a sequence, a unique token per write) and one it reads. */
export const V1 = {
  's/db.yaml': 'version: 1\nname: s\nengine: postgres\nschemas: [s]\n',
  's/schema.sql': 'CREATE SCHEMA s;',
  's/orders.sql':
    'CREATE TABLE s.orders (id bigserial PRIMARY KEY, token uuid NOT NULL UNIQUE, note text, created_at timestamptz NOT NULL DEFAULT now());',
  's/customers.sql': 'CREATE TABLE s.customers (id int PRIMARY KEY, name text NOT NULL);',
};

/** The release deployed to green: a column with a default, an index, a new table (all carried by replication). */
export const V2 = {
  's/orders.sql':
    "CREATE TABLE s.orders (id bigserial PRIMARY KEY, token uuid NOT NULL UNIQUE, note text, created_at timestamptz NOT NULL DEFAULT now(), channel text NOT NULL DEFAULT 'web');\nCREATE INDEX orders_created ON s.orders (created_at);",
  's/tags.sql': 'CREATE TABLE s.tags (id int PRIMARY KEY, tag text);',
};

/** dbee.yaml: blue (`app`) and green (`app_green`) on one cluster. */
export function workspaceYaml(port: number): string {
  return `version: 1
defaultEnvironment: blue
environments:
  blue:
    engine: postgres
    connection: { url: "postgres://postgres@127.0.0.1:${port}/app" }
  green:
    engine: postgres
    connection: { url: "postgres://postgres@127.0.0.1:${port}/app_green" }
`;
}

/**
 * dbee.yaml with blue deployed blue/green: green and the PgBouncer at `bouncer` (its admin console, its ini, database
 * `app`), and `maxLag` when given; blue asks for a change ticket. `more`: blue's other gates (YAML of a flow mapping's
 * entries, e.g. `requireBackup: true`), another router (YAML of `router:`'s value) instead of the PgBouncer, and more
 * lines of `blueGreen:` (`settings`, e.g. `transactionWait: 1s`).
 */
export function blueGreenYaml(
  port: number,
  bouncer: { port: number; ini: string },
  maxLag?: string,
  more: { gates?: string; router?: string; settings?: string[] } = {},
): string {
  const router =
    more.router ??
    `\n        pgbouncer: { admin: "postgres://postgres@127.0.0.1:${bouncer.port}/pgbouncer", config: "${bouncer.ini}", database: app }`;
  return `version: 1
defaultEnvironment: blue
environments:
  blue:
    engine: postgres
    connection: { url: "postgres://postgres@127.0.0.1:${port}/app" }
    gates: { requireTicket: true${more.gates ? `, ${more.gates}` : ''} }
    blueGreen:
      green: green
      router: ${router}
${maxLag ? `      maxLag: ${maxLag}\n` : ''}${(more.settings ?? []).map((l) => `      ${l}\n`).join('')}  green:
    engine: postgres
    connection: { url: "postgres://postgres@127.0.0.1:${port}/app_green" }
`;
}

/** A weekday that is not today (UTC): a maintenance window on it is closed now. */
export const CLOSED_WINDOW = `maintenanceWindows: [{ days: [${['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'][(new Date().getUTCDay() + 3) % 7]}], from: "00:00", to: "23:59" }]`;

/** An in-process context on `root`, its output kept (what `runDbeeCommand` makes). */
export function context(root: string): OperationContext & { output: () => string } {
  let out = '';
  const sink = new Writable({
    write(chunk, _e, done) {
      out += String(chunk);
      done();
    },
  });
  return {
    workspace: Workspace.load(root),
    stdout: sink,
    stderr: sink,
    env: process.env,
    interactive: false,
    fromNx: false,
    engine: engineByName,
    reporter: makeReporter(sink, sink),
    toolVersion: '0.0.0-test',
    output: () => out,
  };
}

/** Statements on a database of the cluster, on a session of their own; the last one's rows. */
export async function sql(url: string, ...statements: string[]): Promise<Record<string, unknown>[]> {
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

/**
 * A blue/green stage: an own cluster with `wal_level = logical` (the shared server's is `replica`, and changing it
 * needs a restart), blue's database `app` with project `s` deployed and `rows` orders in it, and a PgBouncer routing
 * database `app` to blue.
 */
export async function blueGreenStage(rows = 1000) {
  const cluster = await OwnCluster.start({ wal_level: 'logical', max_replication_slots: '10', max_wal_senders: '10' });
  await sql(cluster.url(), 'CREATE DATABASE app');
  const w = tempWorkspace({ 'dbee.yaml': workspaceYaml(cluster.port), ...V1 });
  const deployed = await run(w.root, 'deploy', { project: 's', env: 'blue' });
  if (deployed.code !== 0) throw new Error(`deploying v1 to blue failed:\n${deployed.stderr}`);
  await sql(
    cluster.url('app'),
    `INSERT INTO s.orders (token, note) SELECT gen_random_uuid(), 'seed ' || g FROM generate_series(1, ${rows}) g`,
    "INSERT INTO s.customers SELECT g, 'c' || g FROM generate_series(1, 100) g",
  );
  const ctx = context(w.root);
  const blue = ctx.workspace.environment('blue');
  const green = ctx.workspace.environment('green');
  const bouncer = await OwnPgBouncer.start({ app: pgbouncerEntry(blue, w.root) });
  const router = pgbouncerRouter({
    admin: { host: '127.0.0.1', port: bouncer.port, user: 'postgres' },
    ini: bouncer.ini,
    database: 'app',
    entries: { blue: pgbouncerEntry(blue, w.root), green: pgbouncerEntry(green, w.root) },
  });
  return {
    cluster,
    bouncer,
    router,
    w,
    ctx,
    blueUrl: cluster.url('app'),
    greenUrl: cluster.url('app_green'),
    appUrl: bouncer.url('app'),
    async stop() {
      await bouncer.stop();
      await cluster.stop();
      w.remove();
    },
  };
}

/**
 * A router of commands that keeps the side it routes to in a file (`router.sh` in the workspace; pausing and resuming
 * are the application's business): `files` to add to the workspace, `yaml` the value of `blueGreen.router`.
 */
export const FILE_ROUTER = {
  files: {
    'router.sh': [
      'case "$1" in',
      '  route) echo "$DBEE_BLUE_GREEN_SIDE" > router.side ;;',
      '  serving) cat router.side 2>/dev/null || echo blue ;;',
      'esac',
      '',
    ].join('\n'),
  },
  yaml: `{ commands: { ${['pause', 'route', 'resume', 'serving'].map((c) => `${c}: "sh router.sh ${c}"`).join(', ')} } }`,
};
