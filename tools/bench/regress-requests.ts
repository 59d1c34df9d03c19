/**
 * Issue #90 (the suite's regression): the requests and the CPU of one team-workspace scenario in this process: a
 * `deploy --dry-run`, a `deploy`, a no-op `deploy` and a `status` of project `sales` on `dev` (the server), the
 * connection's `query`/`queryPrepared`/`queryMany`/`execute`/`executeBatch` wrapped to count round trips and their
 * time by the statement's first words. Run it in two trees to compare them (the file imports nothing that changed).
 *
 *   DBEE_TEST_PG_URL=postgres://... node tools/run.js tools/bench/regress-requests.ts [--runs 2] [--sql]
 */
import { PgConnection } from '../../packages/postgres/src/connection/postgres-connection';
import { PgliteConnection } from '../../packages/postgres/src/connection/pglite-connection';
import { run } from '../../test/support/run';
import { TeamWorkspace } from '../../test/support/team-workspace';

const argv = process.argv.slice(2);
const RUNS = argv.includes('--runs') ? Number(argv[argv.indexOf('--runs') + 1]) : 1;
const SHOW_SQL = argv.includes('--sql');

type Tally = { n: number; ms: number };
let tally = new Map<string, Tally>();
const texts = new Map<string, number>();
function kind(sql: string): string {
  const s = sql
    .trim()
    .replace(/^--[^\n]*\n/gm, '')
    .trim();
  if (/pg_catalog|information_schema|pg_class|pg_namespace|pg_proc|pg_attribute/i.test(s) && /^(SELECT|WITH)/i.test(s))
    return 'catalog read';
  if (/dbee_ledger|deployments|_dbee/i.test(s)) return 'ledger';
  return s.split(/\s+/).slice(0, 2).join(' ').toUpperCase().slice(0, 30);
}
function wrap(proto: Record<string, unknown>, name: string): void {
  wrapAs(proto, name, name);
}
function wrapAs(proto: Record<string, unknown>, name: string, label: string): void {
  const original = proto[name] as (...a: unknown[]) => Promise<unknown>;
  proto[name] = async function (this: unknown, ...args: unknown[]) {
    const sqls = Array.isArray(args[0]) ? (args[0] as unknown[]) : [args[0]];
    const start = performance.now();
    try {
      return await original.apply(this, args);
    } finally {
      const ms = performance.now() - start;
      for (const q of sqls) {
        const sql =
          typeof q === 'string'
            ? q
            : String((q as { sql?: string; text?: string })?.sql ?? (q as { text?: string })?.text ?? q);
        const k = `${label}: ${kind(sql)}`;
        const t = tally.get(k) ?? { n: 0, ms: 0 };
        t.n++;
        t.ms += ms / sqls.length;
        tally.set(k, t);
        if (process.env.SEQ && label.startsWith('pglite'))
          console.log(`      ${label} ${ms.toFixed(0)} ms ${sql.slice(0, 90).replace(/\s+/g, ' ')}`);
        if (process.env.STACK && sql.includes(process.env.STACK)) console.log(new Error().stack);
        if (SHOW_SQL && label.startsWith('pglite') && kind(sql) === 'catalog read')
          texts.set(
            sql.slice(0, 300).replace(/\s+/g, ' '),
            (texts.get(sql.slice(0, 300).replace(/\s+/g, ' ')) ?? 0) + 1,
          );
      }
    }
  };
}
for (const m of ['query', 'queryPrepared', 'queryMany', 'execute', 'executeBatch']) {
  if (typeof (PgConnection.prototype as unknown as Record<string, unknown>)[m] === 'function')
    wrap(PgConnection.prototype as unknown as Record<string, unknown>, m);
  if (typeof (PgliteConnection.prototype as unknown as Record<string, unknown>)[m] === 'function')
    wrapAs(PgliteConnection.prototype as unknown as Record<string, unknown>, m, `pglite ${m}`);
}

async function step(label: string, f: () => Promise<{ code: number; stderr: string }>): Promise<void> {
  tally = new Map();
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const r = await f();
  const wall = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  const total = [...tally.values()].reduce((a, t) => ({ n: a.n + t.n, ms: a.ms + t.ms }), { n: 0, ms: 0 });
  console.log(
    `${label.padEnd(16)} code ${r.code} wall ${wall.toFixed(0)} ms cpu ${((used.user + used.system) / 1000).toFixed(0)} ms requests ${total.n} (${total.ms.toFixed(0)} ms)`,
  );
  if (r.code !== 0) console.log(r.stderr.slice(0, 2000));
  for (const [k, t] of [...tally].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12))
    console.log(`    ${String(t.n).padStart(5)} ${t.ms.toFixed(0).padStart(6)} ms  ${k}`);
}

async function main(): Promise<void> {
  console.log(
    `load average ${(await import('node:os'))
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  if (argv.includes('--keep')) {
    // A workspace with core deployed on dev, left for CLI runs (`/usr/bin/time node packages/cli/bin/dbee.js ...`).
    const team = await TeamWorkspace.create();
    await step('deploy core', () => run(team.root, 'deploy', { project: 'core', env: 'dev' }, team.environment));
    console.log(`ROOT=${team.root}`);
    for (const [k, v] of Object.entries(team.environment)) console.log(`${k}=${v}`);
    return;
  }
  for (let i = 0; i < RUNS; i++) {
    const team = await TeamWorkspace.create();
    try {
      const env = team.environment;
      await step('deploy core', () => run(team.root, 'deploy', { project: 'core', env: 'dev' }, env));
      await step('dry-run sales', () => run(team.root, 'deploy', { project: 'sales', env: 'dev', dryRun: true }, env));
      await step('deploy sales', () => run(team.root, 'deploy', { project: 'sales', env: 'dev' }, env));
      await step('no-op sales', () => run(team.root, 'deploy', { project: 'sales', env: 'dev' }, env));
      await step('status sales', () => run(team.root, 'status', { project: 'sales', env: 'dev' }, env));
    } finally {
      await team.dispose();
    }
  }
  if (SHOW_SQL) for (const [s, n] of [...texts].sort((a, b) => b[1] - a[1]).slice(0, 60)) console.log(n, s);
}
main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
