/**
 * The language server's benchmark (issue 76): `dbee lsp` as users run it (the compiled dist/: run `npm run build`
 * first), a process spoken to over stdio by a real client (test/lsp/lsp-client.ts), on the generated 1,005-object
 * project of tools/bench/generate.ts in a workspace of its own.
 *
 *   node tools/run.js tools/bench-lsp.ts [--runs 5] [--edits 15] [--write-docs]
 *
 * Per run, a new server process:
 *   start-up   from starting the process until the first diagnostics are published (every file walked, parsed and
 *              checked);
 *   edit       per edit of an open view file (its body changed), from sending the change until the diagnostics that
 *              cover it are published (the server's `dbee/updated` for that version), paired with the parse alone:
 *              the engine's parser on the same text in this process, right before; a run's sample is the median of
 *              its edits;
 *   memory     the server's peak resident set (VmHWM) at the end of the run.
 * Goals: edit <= 150 ms, start-up <= 2 s, peak memory <= 300 MB.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createPostgresEngine } from '@dbee/postgres/engine';
import { LspClient } from '../test/lsp/lsp-client';
import { generateProject } from './bench/generate';
import { type Goal, goalsTable, median, ms, printGoals, writeDocs, loadNow } from './bench/goals';

const argv = process.argv.slice(2);
const flag = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1]! : dflt;
};
const runs = Number(flag('runs', '5'));
const edits = Number(flag('edits', '15'));
const OBJECTS = 1000;

const mb = (x: number) => (Number.isFinite(x) ? `${x.toFixed(0)} MB` : '-');

/** The server's resident set now and at its peak, in MB (Linux: /proc/<pid>/status). */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

async function main(): Promise<void> {
  const loadAtStart = loadNow();
  const root = mkdtempSync(join(tmpdir(), 'dbee-bench-lsp-'));
  const parser = createPostgresEngine().parser;
  const startups: number[] = [];
  const editSamples: number[] = [];
  const parseSamples: number[] = [];
  const peaks: number[] = [];
  try {
    mkdirSync(root, { recursive: true });
    writeFileSync(
      join(root, 'dbee.yaml'),
      'version: 1\ndefaultEnvironment: local\nenvironments:\n  local:\n    engine: postgres\n    connection:\n      embedded: .dbee/local\n',
    );
    const project = generateProject(join(root, 'bench'), { name: 'bench', objects: OBJECTS });
    const file = `bench/schema/${project.schemas[1]}/views/unit_5.sql`;
    const original = readFileSync(join(root, file), 'utf8');
    const searchPath = [...project.schemas, 'public'];
    console.log(`# dbee lsp: ${project.objects} objects in ${project.files} files, ${runs} runs of ${edits} edits\n`);
    for (let run = 0; run < runs; run++) {
      const started = performance.now();
      const client = await LspClient.start(root, { env: { DBEE_USE_DIST: '1' } });
      const startup = performance.now() - started;
      await client.open(file, original);
      const latencies: number[] = [];
      const parses: number[] = [];
      for (let e = 0; e < edits; e++) {
        // A view body edited: the filter of vv_5 moves, as a developer's typing would.
        const text = original.replace('WHERE v.lines > 0', `WHERE v.lines > ${e + 1}`);
        const p0 = performance.now();
        await parser.parse(text, file, { searchPath });
        parses.push(performance.now() - p0);
        const t0 = performance.now();
        await client.change(file, text);
        latencies.push(performance.now() - t0);
      }
      const { peak, rss } = memory(client.child.pid!);
      const diagnostics = client.seen().length;
      expectClean(client, diagnostics);
      await client.stop();
      startups.push(startup);
      editSamples.push(median(latencies));
      parseSamples.push(median(parses));
      peaks.push(peak);
      console.log(
        `run ${run + 1}: start-up ${ms(startup)}, edit median ${ms(median(latencies))} (parse alone ${ms(median(parses))}), memory ${mb(rss)} (peak ${mb(peak)}), ${diagnostics} diagnostics`,
      );
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const goals: Goal[] = [
    {
      label: `diagnostics for an edited file, ${OBJECTS.toLocaleString('en')} objects: <= 150 ms`,
      samples: editSamples,
      bound: 'max',
      limit: 150,
      format: ms,
      detail: `the parse alone ${ms(median(parseSamples))} (range ${ms(Math.min(...parseSamples))} - ${ms(Math.max(...parseSamples))}); ${edits} edits a run`,
    },
    {
      label: 'start-up to the first diagnostics: <= 2 s',
      samples: startups,
      bound: 'max',
      limit: 2000,
      format: ms,
    },
    {
      label: 'memory, peak resident set: <= 300 MB',
      samples: peaks,
      bound: 'max',
      limit: 300,
      format: mb,
      judge: 'worst',
    },
  ];
  const judged = printGoals(goals, loadAtStart);
  writeDocs(
    'lsp',
    `\`node tools/run.js tools/bench-lsp.ts --runs ${runs} --edits ${edits}\`: the generated project of ${OBJECTS.toLocaleString('en')} objects, \`dbee lsp\` of the compiled dist/ as a process, a new one each run.\n\n${goalsTable(judged)}`,
  );
}

/** The generated project's only diagnostics are the layout's (its files are named `unit_<n>.sql`): no error. */
function expectClean(client: LspClient, count: number): void {
  const errors = client.seen().filter((d) => d.severity === 1);
  if (errors.length)
    throw new Error(`the benchmark's workspace has ${errors.length} errors of ${count}: ${JSON.stringify(errors[0])}`);
}

void main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
