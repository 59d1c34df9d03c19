/**
 * How long an embedded database takes to start, as dbee starts it against PGlite's defaults:
 * `node tools/run.js tools/bench-pglite-start.ts [--runs 15]`.
 *
 * Baseline: `new PGlite({ dataDir, loadDataDir })` with PGlite's own start parameters (128 MB of shared buffers) and
 * a dump of a fresh PGlite (`dumpDataDir`: its three databases) as a Node Blob. dbee: `PgliteConnection.open`, which
 * starts PGlite with 16 MB of shared buffers and is handed dbee's template (pglite-template.ts: the `postgres`
 * database only) as bytes. Three figures, each baseline and dbee alternating in the same
 * run, printed as medians and the median of the paired ratios, with the load average (this machine is shared):
 * an in-memory database from the template (a shadow), a new data folder from the template, and reopening a folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PgliteConnection } from '../packages/postgres/src/connection/pglite-connection';
import { pgliteTemplate } from '../packages/postgres/src/connection/pglite-template';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 15);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

async function timed(f: () => Promise<{ close(): Promise<void> }>): Promise<number> {
  const t0 = performance.now();
  const db = await f();
  const ms = performance.now() - t0;
  await db.close();
  return ms;
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'dbee-bench-pglite-'));
  try {
    const dbeeTemplate = await pgliteTemplate(root);
    const fresh = new PGlite();
    await fresh.waitReady;
    const nodeBlob = new Blob([await (await fresh.dumpDataDir('none')).arrayBuffer()]);
    await fresh.close();
    const baseline = (dataDir?: string, template?: Blob) => async () => {
      const db = new PGlite({ dataDir, loadDataDir: template });
      await db.waitReady;
      return db;
    };
    const dbee = (dataDir: string | null, template?: Blob) => () => PgliteConnection.open(dataDir, 'bench', template);
    console.log(`PGlite start, ${runs} paired runs; load average at start ${load()}`);
    let n = 0;
    const folder = () => join(root, `db${n++}`);
    const figures: [string, () => Promise<number>, () => Promise<number>][] = [
      [
        'in memory, from the template',
        () => timed(baseline(undefined, nodeBlob)),
        () => timed(dbee(null, dbeeTemplate)),
      ],
      [
        'new data folder, from the template',
        () => timed(baseline(folder(), nodeBlob)),
        () => timed(dbee(folder(), dbeeTemplate)),
      ],
    ];
    const existing = folder();
    await timed(dbee(existing, dbeeTemplate));
    figures.push(['reopen a data folder', () => timed(baseline(existing)), () => timed(dbee(existing))]);
    for (const [name, base, ours] of figures) {
      await base();
      await ours(); // warm-up: module compilation, first reads
      const b: number[] = [];
      const d: number[] = [];
      for (let i = 0; i < runs; i++) {
        b.push(await base());
        d.push(await ours());
      }
      const ratio = median(d.map((x, i) => x / b[i]!));
      console.log(
        `  ${name.padEnd(36)} PGlite defaults ${median(b).toFixed(0)} ms   dbee ${median(d).toFixed(0)} ms   dbee/defaults ${ratio.toFixed(2)} (median of paired ratios)`,
      );
    }
    console.log(`load average at end ${load()}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

void main();
