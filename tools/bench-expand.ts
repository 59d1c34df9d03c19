/**
 * What a zero-downtime release costs on a PostgreSQL server (docs/zero-downtime.md), in one run:
 *
 *   1. Backfill rows/s (`runBackfill`, default options: keyset batches adapting toward 250 ms) at 10k, 100k and 1M
 *      rows, on a table carrying a sync trigger of the shape the expand installs (a type change: `a` int → bigint in
 *      the shadow column `_dbee_new_a`), beside the same UPDATE as one statement on the same table (the floor: no
 *      batches) and pgroll's published backfill figures (53.3k rows/s at 10k, 20.8k at 100k, 9.4k at 300k; PG 14.8,
 *      its dev/benchmark-results). Each size runs `--runs` times (1M once), each run on a fresh copy of the table; the
 *      ratio is the median of the paired ratios (one statement / backfill, per run).
 *   2. The sync trigger's write amplification: a full-table `UPDATE t SET c = c + 1` of 100k rows with the trigger
 *      against the same UPDATE without it, alternating, `--pairs` pairs on fresh copies; the median of the paired
 *      ratios (pgroll: 349k rows/s without, 78k with: 4.5x).
 *   3. An application stand-in's latency (one session: read a random row by key, update it, every 2 ms) before the
 *      release (no trigger), during its backfill (trigger installed, backfill of 300k rows running) and after (trigger
 *      dropped, as after complete): p50 and p99 of each read+update pair.
 *
 * Goals, printed met / NOT MET: backfill >= 50k rows/s at 1M rows; amplification <= 3x; p99 during <= 2x p99 before.
 * The load average is printed at the start and the end: the machine is shared.
 *
 *   node tools/run.js tools/bench-expand.ts                     # 10k, 100k, 1M; 3 runs; 5 pairs
 *   node tools/run.js tools/bench-expand.ts --sizes 10000,100000 --runs 1 --pairs 3
 */
import { Ledger, runBackfill, type BackfillOptions } from '@dbee/core';
import { PgConnection, postgresLedger } from '@dbee/postgres';
import { createDb, dbUrl, fmtMs, fmtRatio, load, machine, median, runMain, table } from './bench/lib';

const PGROLL: Record<number, string> = { 10000: '53.3k', 100000: '20.8k', 300000: '9.4k' };

/** The sync trigger of an expand that changes `a` from int to bigint (shape of the expand's generated function). */
const SYNC_FUNCTION = `CREATE OR REPLACE FUNCTION public.sync_t() RETURNS trigger LANGUAGE plpgsql AS $dbee$
#variable_conflict use_column
DECLARE
  _dbee_version text := coalesce(current_setting('dbee.version', true), '');
  _dbee_is_new boolean;
BEGIN
  IF _dbee_version <> '' THEN
    _dbee_is_new := _dbee_version = 'r2';
  ELSE
    _dbee_is_new := 'public_r2' = ANY (string_to_array(replace(replace(current_setting('search_path'), '"', ''), ' ', ''), ','));
  END IF;
  IF _dbee_is_new THEN
    DECLARE
      id bigint := NEW.id; a bigint := NEW._dbee_new_a; b text := NEW.b; c integer := NEW.c;
    BEGIN
      NEW.a := (a::integer);
    END;
  ELSE
    DECLARE
      id bigint := NEW.id; a integer := NEW.a; b text := NEW.b; c integer := NEW.c;
    BEGIN
      NEW._dbee_new_a := (a::bigint);
    END;
  END IF;
  RETURN NEW;
END
$dbee$`;

/** Thousands of rows per second. */
const fmtRate = (rows: number, ms: number) => `${(rows / ms).toFixed(1)}k`;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (name: string, fallback: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1]! : fallback;
  };
  const sizes = arg('--sizes', '10000,100000,1000000').split(',').map(Number);
  const runs = Number(arg('--runs', '3'));
  const pairs = Number(arg('--pairs', '5'));
  console.log(`dbee expand/backfill benchmark: ${machine()}`);
  console.log(`load average at start: ${load()}`);
  const db = await createDb('expand');
  const conn = await PgConnection.open({ connectionString: dbUrl(db) }, db);
  try {
    await new Ledger(conn, postgresLedger).ensure();
    await conn.execute(SYNC_FUNCTION);
    // One source table per size; every run copies it (fresh, vacuumed: no run inherits another's dead rows).
    const fresh = async (name: string, rows: number, trigger: boolean) => {
      await conn.execute(`DROP TABLE IF EXISTS public.${name};
        CREATE TABLE public.${name} (id bigint PRIMARY KEY, a integer NOT NULL, b text NOT NULL, c integer, _dbee_new_a bigint);
        INSERT INTO public.${name} (id, a, b, c) SELECT g, g % 100000, md5(g::text), g % 7 FROM generate_series(1, ${rows}) g`);
      await conn.execute(`VACUUM (ANALYZE) public.${name}`);
      if (trigger)
        await conn.execute(
          `CREATE TRIGGER sync BEFORE INSERT OR UPDATE ON public.${name} FOR EACH ROW EXECUTE FUNCTION public.sync_t()`,
        );
    };
    const timed = async (f: () => Promise<unknown>) => {
      const t0 = performance.now();
      await f();
      return performance.now() - t0;
    };

    // 1. Backfill rows/s.
    const rows1: string[][] = [];
    let rateAt1M: number | null = null;
    let n = 0;
    for (const size of sizes) {
      const backfillMs: number[] = [];
      const statementMs: number[] = [];
      const sizeRuns = size >= 1_000_000 ? 1 : runs;
      for (let r = 0; r < sizeRuns; r++) {
        await fresh('bf', size, true);
        const id = `bench-${n++}`;
        backfillMs.push(
          await timed(() =>
            runBackfill(conn, { id, table: { schema: 'public', name: 'bf' }, set: '_dbee_new_a = (a::bigint)' }),
          ),
        );
        await fresh('bf', size, true);
        statementMs.push(await timed(() => conn.execute('UPDATE public.bf SET _dbee_new_a = (a::bigint)')));
      }
      const bf = median(backfillMs);
      const st = median(statementMs);
      if (size === 1_000_000) rateAt1M = (size / bf) * 1000;
      rows1.push([
        size.toLocaleString('en-US'),
        `${fmtRate(size, bf)} rows/s (${fmtMs(bf)})`,
        `${fmtRate(size, st)} rows/s (${fmtMs(st)})`,
        fmtRatio(median(backfillMs.map((b, i) => statementMs[i]! / b))),
        PGROLL[size] ? `${PGROLL[size]} rows/s` : '-',
        String(sizeRuns),
      ]);
    }
    console.log('\n1. backfill (sync trigger installed), default options');
    console.log(
      table(['rows', 'backfill', 'one UPDATE statement', 'backfill / statement', 'pgroll backfill', 'runs'], rows1),
    );
    console.log('   pgroll at 300k rows: 9.4k rows/s (its published figures: 10k, 100k, 300k)');

    // 2. Write amplification of the sync trigger.
    const ampRows = 100_000;
    const withMs: number[] = [];
    const withoutMs: number[] = [];
    for (let p = 0; p < pairs; p++) {
      await fresh('amp', ampRows, false);
      withoutMs.push(await timed(() => conn.execute('UPDATE public.amp SET c = c + 1')));
      await fresh('amp', ampRows, true);
      withMs.push(await timed(() => conn.execute('UPDATE public.amp SET c = c + 1')));
    }
    const amplification = median(withMs.map((w, i) => w / withoutMs[i]!));
    console.log(
      `\n2. write amplification: full-table UPDATE of ${ampRows.toLocaleString('en-US')} rows, ${pairs} pairs`,
    );
    console.log(
      table(
        ['', 'without trigger', 'with sync trigger', 'with / without (median of paired ratios)', 'pgroll'],
        [
          [
            'UPDATE t SET c = c + 1',
            `${fmtRate(ampRows, median(withoutMs))} rows/s`,
            `${fmtRate(ampRows, median(withMs))} rows/s`,
            fmtRatio(amplification),
            '349k vs 78k rows/s: 4.47x',
          ],
        ],
      ),
    );

    // 3. Application latency before, during and after the backfill.
    const appRows = 300_000;
    await fresh('app', appRows, false);
    const app = await PgConnection.open({ connectionString: dbUrl(db) }, 'app');
    const loop = (until: () => boolean) =>
      (async () => {
        const lat: number[] = [];
        while (!until()) {
          const id = 1 + Math.floor(Math.random() * appRows);
          const t0 = performance.now();
          await app.query('SELECT id, a, b, c FROM public.app WHERE id = $1', [id]);
          await app.query('UPDATE public.app SET c = c + 1 WHERE id = $1', [id]);
          lat.push(performance.now() - t0);
          await new Promise((r) => setTimeout(r, 2));
        }
        return lat;
      })();
    const forMs = (ms: number) => {
      const end = performance.now() + ms;
      return () => performance.now() >= end;
    };
    let before: number[];
    let during: number[];
    let after: number[];
    let backfillOptions: BackfillOptions = {};
    try {
      before = await loop(forMs(3000));
      await conn.execute(
        'CREATE TRIGGER sync BEFORE INSERT OR UPDATE ON public.app FOR EACH ROW EXECUTE FUNCTION public.sync_t()',
      );
      let finished = false;
      const running = loop(() => finished);
      backfillOptions = {};
      await runBackfill(
        conn,
        { id: 'bench-app', table: { schema: 'public', name: 'app' }, set: '_dbee_new_a = (a::bigint)' },
        backfillOptions,
      ).finally(() => (finished = true));
      during = await running;
      await conn.execute('DROP TRIGGER sync ON public.app');
      after = await loop(forMs(3000));
    } finally {
      await app.close();
    }
    const pct = (xs: number[], p: number) => {
      const s = [...xs].sort((x, y) => x - y);
      return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
    };
    const f = (ms: number) => `${ms.toFixed(2)} ms`;
    console.log(
      `\n3. application stand-in (read + update of a random row every 2 ms) on ${appRows.toLocaleString('en-US')} rows`,
    );
    console.log(
      table(
        ['phase', 'operations', 'p50', 'p99', 'p99 / p99 before'],
        [
          ['before (no trigger)', String(before.length), f(pct(before, 50)), f(pct(before, 99)), '1.00x'],
          [
            'during (trigger + backfill)',
            String(during.length),
            f(pct(during, 50)),
            f(pct(during, 99)),
            fmtRatio(pct(during, 99) / pct(before, 99)),
          ],
          [
            'after (trigger dropped)',
            String(after.length),
            f(pct(after, 50)),
            f(pct(after, 99)),
            fmtRatio(pct(after, 99) / pct(before, 99)),
          ],
        ],
      ),
    );

    const goal = (ok: boolean) => (ok ? 'met' : 'NOT MET');
    console.log('\ngoals');
    console.log(
      `  backfill >= 50k rows/s at 1M rows: ${rateAt1M === null ? 'not measured (1M not among --sizes)' : `${(rateAt1M / 1000).toFixed(1)}k rows/s, ${goal(rateAt1M >= 50_000)}`}`,
    );
    console.log(`  write amplification <= 3x: ${fmtRatio(amplification)}, ${goal(amplification <= 3)}`);
    const p99ratio = pct(during, 99) / pct(before, 99);
    console.log(`  p99 during <= 2x p99 before: ${fmtRatio(p99ratio)}, ${goal(p99ratio <= 2)}`);
    console.log(`load average at end: ${load()}`);
  } finally {
    await conn.close();
  }
}

runMain(main);
