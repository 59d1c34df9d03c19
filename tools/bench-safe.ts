/**
 * What the safe rewrites (`deploy --safe`, docs/lint-rules.md) do to the locks a running application waits on: an
 * index build and a SET NOT NULL on a table of 1,000,000 rows, each deployed by a real `dbee deploy` process to a
 * PostgreSQL server database, without and with `--safe`. While each deployment runs, this process
 *
 * - samples `pg_locks` every few milliseconds for the strong locks on the table (ACCESS EXCLUSIVE, SHARE) and keeps
 *   the longest stretch each was held, and
 * - runs an application's write (`UPDATE ... WHERE id = $1`) and read (`SELECT ... WHERE id = $1`) in a loop, each on
 *   its own session, and keeps the longest each waited.
 *
 * Each run starts from a copy of the same database (CREATE DATABASE ... TEMPLATE). The runs alternate (without, with)
 * and the figures are medians, with the median of the paired ratios of the longest blocked write.
 *
 *   node tools/run.js tools/bench-safe.ts                        # 1,000,000 rows, 3 pairs per case
 *   node tools/run.js tools/bench-safe.ts --rows 200000 --runs 1
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import {
  createDb,
  dbee,
  dbUrl,
  dropAll,
  dropDb,
  envVar,
  fmtMs,
  fmtRatio,
  load,
  machine,
  median,
  REPO,
  runMain,
  sql,
  table,
  timeProcess,
  writeWorkspace,
} from './bench/lib';

const V1 = 'CREATE TABLE big.t (id bigint PRIMARY KEY, qty int, note text);';
const CASES = {
  'index build': { file: `${V1}\nCREATE INDEX t_qty_idx ON big.t (qty);` },
  'SET NOT NULL': { file: 'CREATE TABLE big.t (id bigint PRIMARY KEY, qty int NOT NULL, note text);' },
} as const;

interface Observed {
  /** Longest stretch the deployment held ACCESS EXCLUSIVE on the table, ms (0: never seen). */
  accessExclusive: number;
  /** Longest stretch it held SHARE on the table, ms. */
  share: number;
  /** Longest an application write waited, ms. */
  write: number;
  /** Longest an application read waited, ms. */
  read: number;
  /** The deployment process, start to exit. */
  deploy: number;
}

const PERIOD_MS = 5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sample the table's strong locks and probe it with a write and a read until `done` resolves. */
async function observe(db: string, rows: number, done: Promise<unknown>): Promise<Omit<Observed, 'deploy'>> {
  const open = async () => {
    const c = new Client({ connectionString: dbUrl(db, 'bench-safe-probe') });
    await c.connect();
    return c;
  };
  const [locks, writer, reader] = await Promise.all([open(), open(), open()]);
  let finished = false;
  void done.finally(() => (finished = true));
  const oid = Number((await locks.query("SELECT 'big.t'::regclass::oid AS oid")).rows[0].oid);
  const held: Record<'AccessExclusiveLock' | 'ShareLock', { since: number | null; longest: number }> = {
    AccessExclusiveLock: { since: null, longest: 0 },
    ShareLock: { since: null, longest: 0 },
  };
  const sampling = (async () => {
    while (!finished) {
      const now = performance.now();
      const r = await locks.query<{ mode: string }>(
        'SELECT DISTINCT mode FROM pg_locks WHERE relation = $1 AND granted AND pid <> pg_backend_pid()',
        [oid],
      );
      const modes = new Set(r.rows.map((x) => x.mode));
      for (const [mode, h] of Object.entries(held)) {
        if (modes.has(mode)) h.since ??= now;
        else if (h.since !== null) {
          h.longest = Math.max(h.longest, now - h.since);
          h.since = null;
        }
      }
      await sleep(PERIOD_MS);
    }
    for (const h of Object.values(held))
      if (h.since !== null) h.longest = Math.max(h.longest, performance.now() - h.since);
  })();
  const probe = async (c: Client, text: string) => {
    let longest = 0;
    while (!finished) {
      const t = performance.now();
      await c.query(text, [1 + Math.floor(Math.random() * rows)]);
      longest = Math.max(longest, performance.now() - t);
      await sleep(PERIOD_MS);
    }
    return longest;
  };
  const [write, read] = await Promise.all([
    probe(writer, "UPDATE big.t SET note = 'probe' WHERE id = $1"),
    probe(reader, 'SELECT qty FROM big.t WHERE id = $1'),
    sampling,
  ]);
  await Promise.all([locks.end(), writer.end(), reader.end()]);
  return { accessExclusive: held.AccessExclusiveLock.longest, share: held.ShareLock.longest, write, read };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (name: string, fallback: number) => {
    const at = args.indexOf(name);
    return at >= 0 ? Number(args[at + 1]) : fallback;
  };
  const rows = arg('--rows', 1_000_000);
  const runs = arg('--runs', 3);
  const root = mkdtempSync(join(tmpdir(), 'dbee-bench-safe-'));
  try {
    console.log(`dbee safe rewrites benchmark: ${machine()}`);
    console.log(`load average at start: ${load()}`);
    writeWorkspace(root, ['bench']);
    mkdirSync(join(root, 'big'));
    writeFileSync(join(root, 'big', 'db.yaml'), 'version: 1\nname: big\nengine: postgres\nschemas: [big]\n');
    writeFileSync(join(root, 'big', 'schema.sql'), 'CREATE SCHEMA big;\n');
    writeFileSync(join(root, 'big', 't.sql'), `${V1}\n`);
    const base = await createDb('safe_base');
    await dbee(root, 'deploy', { project: 'big', env: 'bench' }, { [envVar('bench')]: dbUrl(base) });
    await sql(base, `INSERT INTO big.t SELECT g, g % 1000, NULL FROM generate_series(1, ${rows}) g`);
    await sql(base, 'VACUUM ANALYZE big.t');

    const deploy = async (label: string, file: string, safe: boolean): Promise<Observed> => {
      const db = await createDb(label, base);
      try {
        writeFileSync(join(root, 'big', 't.sql'), `${file}\n`);
        const run = timeProcess(
          process.execPath,
          [
            join(REPO, 'packages/cli/bin/dbee.js'),
            'deploy',
            'big',
            '--env',
            'bench',
            '--allow-hazards',
            'index-build,long-lock',
            ...(safe ? ['--safe'] : []),
          ],
          { cwd: root, env: { ...process.env, [envVar('bench')]: dbUrl(db) } },
        );
        const [seen, done] = await Promise.all([observe(db, rows, run), run]);
        if (done.code !== 0)
          throw new Error(`dbee deploy${safe ? ' --safe' : ''} exited ${done.code}:\n${done.stderr}`);
        return { ...seen, deploy: done.ms };
      } finally {
        writeFileSync(join(root, 'big', 't.sql'), `${V1}\n`);
        await dropDb(db);
      }
    };

    const out: string[][] = [];
    for (const [name, c] of Object.entries(CASES)) {
      const plain: Observed[] = [];
      const safe: Observed[] = [];
      for (let i = 0; i < runs; i++) {
        plain.push(await deploy(`safe_p${i}`, c.file, false));
        safe.push(await deploy(`safe_s${i}`, c.file, true));
      }
      const m = (xs: Observed[], k: keyof Observed) => fmtMs(median(xs.map((x) => x[k])));
      const ratio = median(safe.map((s, i) => s.write / plain[i]!.write));
      for (const [mode, xs] of [
        ['without --safe', plain],
        ['with --safe', safe],
      ] as const) {
        out.push([
          name,
          mode,
          m(xs, 'accessExclusive'),
          m(xs, 'share'),
          m(xs, 'write'),
          m(xs, 'read'),
          m(xs, 'deploy'),
          mode === 'with --safe' ? fmtRatio(ratio) : '1.00x (baseline)',
        ]);
      }
    }
    console.log(`table big.t: ${rows.toLocaleString('en')} rows; ${runs} pair${runs === 1 ? '' : 's'} per case`);
    console.log(
      table(
        [
          'change',
          'run',
          'ACCESS EXCLUSIVE held',
          'SHARE held',
          'longest blocked write',
          'longest blocked read',
          'deploy (process)',
          'blocked write vs without',
        ],
        out,
      ),
    );
    console.log(
      '(locks sampled from pg_locks every ~5 ms; a write and a read probed every ~5 ms on their own sessions; medians)',
    );
    console.log(`load average at end: ${load()}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
    await dropAll();
  }
}

runMain(main);
