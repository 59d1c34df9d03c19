/**
 * Batch benchmark (issue #7): a workspace of 200 generated database projects, deployed, then `diff` run for every
 * project two ways, against the same embedded database:
 *   - batch: one process, sessions shared per environment (what the Nx batch executor does: SessionPool);
 *   - one process per task: `node packages/cli/bin/dbee.js diff <project>` per project (what a forked Nx task
 *     costs, without Nx's own scheduling), measured on a sample (a full run would take many minutes).
 * Goal: 200 projects' diff in under 10 s in batch mode. It also checks that every diff found no difference
 * (each project was just deployed), so a fast wrong answer does not count.
 *
 *   node tools/run.js tools/bench-batch.ts [projects=200] [sample=10]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { SessionPool } from '@dbee/core';
import { runDbeeCommand, type CommandName } from '@dbee/cli';
import { generateProject } from './bench/generate';

const sink = () => {
  let text = '';
  const stream = new Writable({ write: (c, _e, cb) => ((text += String(c)), cb()) });
  return { stream, text: () => text };
};

async function batch(root: string, command: CommandName, projects: string[], options: Record<string, unknown> = {}) {
  const sessions = new SessionPool();
  const outputs: string[] = [];
  const t = performance.now();
  try {
    for (const p of projects) {
      const out = sink();
      const code = await runDbeeCommand(
        command,
        { project: p, ...options },
        { workspaceRoot: root, stdout: out.stream, stderr: out.stream, fromNx: true, interactive: false, sessions },
      );
      if (code !== 0) throw new Error(`${command} ${p} exited ${code}:\n${out.text()}`);
      outputs.push(out.text());
    }
  } finally {
    await sessions.close();
  }
  return { ms: performance.now() - t, outputs };
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 200);
  const sample = Number(process.argv[3] ?? 10);
  const root = mkdtempSync(join(tmpdir(), 'dbee-bench-batch-'));
  try {
    writeFileSync(
      join(root, 'dbee.yaml'),
      'version: 1\ndefaultEnvironment: local\nenvironments:\n  local:\n    engine: postgres\n    connection: { embedded: .dbee/local }\n',
    );
    const names: string[] = [];
    let objects = 0;
    for (let i = 0; i < n; i++) {
      const name = `p${String(i).padStart(3, '0')}`;
      // Every tenth project builds on the one before it: dependency order matters in the batch.
      const dependsOn = i % 10 === 9 ? [names[i - 1]!] : undefined;
      objects += generateProject(join(root, 'db', name), { name, objects: 12, schemas: 1, dependsOn }).objects;
      names.push(name);
    }
    console.log(
      `dbee batch benchmark: ${n} projects, ${objects} objects, embedded database (node ${process.version}, load ${require('node:os').loadavg()[0].toFixed(1)})`,
    );
    const deployed = await batch(root, 'deploy', names, { withDependencies: false });
    console.log(`  deploy, batch (setup)                  ${(deployed.ms / 1000).toFixed(1).padStart(6)} s`);
    const cold = await batch(root, 'diff', names, { format: 'json', noCache: true });
    const warm = await batch(root, 'diff', names, { format: 'json' });
    for (const r of [...cold.outputs, ...warm.outputs]) {
      const changes = JSON.parse(r).changes;
      if (changes !== 0)
        throw new Error(
          `a diff right after deploying found ${changes} changes: the benchmark would measure a wrong answer`,
        );
    }
    const picked = names.slice(0, sample);
    const t = performance.now();
    for (const p of picked) {
      const r = spawnSync(
        process.execPath,
        [join(__dirname, '..', 'packages', 'cli', 'bin', 'dbee.js'), 'diff', p, '--format', 'json', '--cwd', root],
        { encoding: 'utf8' },
      );
      if (r.status !== 0 || JSON.parse(r.stdout).changes !== 0) throw new Error(`dbee diff ${p} failed: ${r.stderr}`);
    }
    const perProcess = (performance.now() - t) / picked.length;
    const row = (label: string, ms: number, extra = '') =>
      console.log(
        `  ${label.padEnd(38)} ${(ms / 1000).toFixed(1).padStart(6)} s  (${(ms / n).toFixed(0)} ms/project)${extra}`,
      );
    row('diff, batch, uncached models', cold.ms, `   goal < 10 s: ${cold.ms < 10_000 ? 'MET' : 'NOT MET'}`);
    row('diff, batch, cached models', warm.ms, `   goal < 10 s: ${warm.ms < 10_000 ? 'MET' : 'NOT MET'}`);
    console.log(
      `  diff, one process per task (sample)    ${(perProcess / 1000).toFixed(2).padStart(6)} s per task, measured on ${picked.length}: ~${((perProcess * n) / 1000).toFixed(0)} s for ${n}`,
    );
    console.log(`  batch (cached) vs one process per task: ${((perProcess * n) / warm.ms).toFixed(1)}x faster`);
    console.log(`  correctness: all ${n * 2 + picked.length} diffs found the just-deployed schema unchanged`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
