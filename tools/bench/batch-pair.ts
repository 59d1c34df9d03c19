/**
 * Paired A/B of the monorepo's first deploy as Nx's batch worker runs it (issue #40 item 4), without Nx: the first
 * deploy of every project of a generated monorepo (`layers` x `width` projects of a schema, a table, a view and a
 * function, each depending on 1-2 projects of the layer before, as tools/bench-monorepo.ts generates them) in one
 * process with one `SessionPool` (tools/bench/batch-run.js), on a fresh database each time, by the compiled `dist/` of
 * another checkout (`--against`, built there with `npm run build`) and of this one, alternated in each round (the order
 * swapped every round). Per side the medians of wall time, the process's CPU time, the requests sent and the server's
 * CPU time of the working session; per figure the median of the paired ratios this / other; the load average.
 *
 *   node tools/run.js tools/bench/batch-pair.ts --against /tmp/dbee-before [--pairs 7] [--layers 10] [--width 20]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as L from './lib';

const argv = process.argv.slice(2);
const option = (name: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : undefined);
const PAIRS = Number(option('pairs') ?? 7);
const LAYERS = Number(option('layers') ?? 10);
const WIDTH = Number(option('width') ?? 20);
const AGAINST = option('against');
if (!AGAINST)
  throw new Error('usage: batch-pair.ts --against <another checkout, built> [--pairs n] [--layers n] [--width n]');
const SIDES = { before: AGAINST, after: L.REPO } as const;
type Side = keyof typeof SIDES;
interface Run {
  wall: number;
  cpu: number;
  requests: number;
  serverCpuMs: number;
}

/** The generated monorepo in `root`, its projects in dependency order in `order.txt`. */
function writeMonorepo(root: string): void {
  writeFileSync(
    join(root, 'dbee.yaml'),
    'version: 1\ndefaultEnvironment: target\nenvironments:\n  target:\n    engine: postgres\n    connection:\n      url: ${DBEE_BATCH_URL}\n',
  );
  const order: string[] = [];
  for (let l = 0; l < LAYERS; l++)
    for (let i = 0; i < WIDTH; i++) {
      const name = `p${l}_${i}`;
      order.push(name);
      const deps = l ? [...new Set([`p${l - 1}_${i}`, `p${l - 1}_${(i * 7 + 3) % WIDTH}`])] : [];
      const dir = join(root, name);
      mkdirSync(dir, { recursive: true });
      const dependsOn = deps.length ? `dependsOn: [${deps.join(', ')}]\n` : '';
      writeFileSync(
        join(dir, 'db.yaml'),
        `version: 1\nname: ${name}\nengine: postgres\nschemas: [${name}]\n${dependsOn}`,
      );
      writeFileSync(join(dir, 'schema.sql'), `CREATE SCHEMA ${name};\n`);
      writeFileSync(
        join(dir, 'items.sql'),
        `CREATE TABLE ${name}.items (id bigint PRIMARY KEY, label text NOT NULL);\n`,
      );
      writeFileSync(join(dir, 'labels.sql'), `CREATE VIEW ${name}.labels AS SELECT id, label FROM ${name}.items;\n`);
      writeFileSync(
        join(dir, 'count_items.sql'),
        `CREATE FUNCTION ${name}.count_items() RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT count(*) FROM ${name}.items $$;\n`,
      );
    }
  writeFileSync(join(root, 'order.txt'), order.join('\n'));
}

async function once(side: Side, workspace: string): Promise<Run> {
  const db = await L.createDb(`batch_${side}`);
  try {
    await L.sql('postgres', 'CHECKPOINT');
    const r = await L.timeProcess(process.execPath, [
      join(L.REPO, 'tools/bench/batch-run.js'),
      SIDES[side],
      workspace,
      L.dbUrl(db),
    ]);
    if (r.code !== 0) throw new Error(`${side}: batch-run exited ${r.code}: ${r.stderr.slice(-2000)}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as Run;
  } finally {
    await L.dropDb(db);
  }
}

L.runMain(async () => {
  if (!L.buildDist()) throw new Error('npm run build failed: the batch runs the compiled dist/');
  const root = mkdtempSync(join(tmpdir(), 'dbee-batch-pair-'));
  try {
    writeMonorepo(root);
    const runs: Record<Side, Run[]> = { before: [], after: [] };
    console.log(`${LAYERS * WIDTH} projects, ${PAIRS} pairs; load ${L.load()}`);
    for (let i = 0; i < PAIRS; i++) {
      const order: Side[] = i % 2 ? ['after', 'before'] : ['before', 'after'];
      for (const side of order) runs[side].push(await once(side, root));
      const [b, a] = [runs.before[i]!, runs.after[i]!];
      console.log(
        `  pair ${i + 1}: wall ${b.wall.toFixed(2)} / ${a.wall.toFixed(2)} s, cpu ${b.cpu.toFixed(2)} / ${a.cpu.toFixed(2)} s, requests ${b.requests} / ${a.requests}, server cpu ${b.serverCpuMs.toFixed(0)} / ${a.serverCpuMs.toFixed(0)} ms (before / after; load ${L.load()})`,
      );
    }
    for (const [figure, unit] of [
      ['wall', 's'],
      ['cpu', 's'],
      ['requests', ''],
      ['serverCpuMs', 'ms'],
    ] as const) {
      const of = (side: Side) => runs[side].map((r) => r[figure]);
      const ratio = L.median(runs.after.map((r, i) => r[figure] / runs.before[i]![figure]));
      console.log(
        `${figure.padEnd(12)} before ${L.median(of('before')).toFixed(2)}${unit}  after ${L.median(of('after')).toFixed(2)}${unit}  after / before ${ratio.toFixed(3)} (median of ${PAIRS} paired ratios)`,
      );
    }
    console.log(`load ${L.load()}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
