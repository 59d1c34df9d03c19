import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import { runDbeeCommand } from '@dbee/cli';
import { runBatch, type BatchTaskResult } from '../../plugins/nx/src/executors/run-batch';
import { dbYaml, ENGINES, workspaceWith, workspaceYaml, type TestWorkspace } from '../runner/helpers';

/**
 * `nx run-many -t build` runs the build batch executor: every desired model in one process and one shadow database,
 * each project's objects applied once for all its dependents (issue #19 point 3). The models must be the ones a
 * project built on its own gets.
 */

let workspaces: TestWorkspace[] = [];
afterEach(() => vi.unstubAllEnvs());
afterAll(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

// c0 <- b1 <- a2 (a chain: a2 depends on b1, b1 on c0), and d3 on its own, granting to a role nothing else names.
const files = (engine: (typeof ENGINES)[number], shadow: string, role: string) => ({
  'dbee.yaml': workspaceYaml(engine, { top: `shadow: ${shadow}` }),
  'c0/db.yaml': dbYaml('c0'),
  'c0/t.sql': 'CREATE TABLE c0.items (id int PRIMARY KEY, label text NOT NULL);\n',
  'b1/db.yaml': dbYaml('b1', 'dependsOn: [c0]\n'),
  'b1/v.sql': 'CREATE VIEW b1.labels AS SELECT id, label FROM c0.items;\n',
  'a2/db.yaml': dbYaml('a2', 'dependsOn: [b1]\n'),
  'a2/f.sql': 'CREATE FUNCTION a2.n() RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT count(*) FROM b1.labels $$;\n',
  'd3/db.yaml': dbYaml('d3'),
  'd3/t.sql': `CREATE TABLE d3.t (id int);\nGRANT SELECT ON d3.t TO ${role};\n`,
});

const PROJECTS = ['c0', 'b1', 'a2', 'd3'];

/** The build tasks of `projects` as Nx gives them to the batch executor; `edges`: each build after its dependencies'. */
function buildTasks(projects: string[], edges: boolean): { graph: TaskGraph; inputs: Record<string, object> } {
  const deps: Record<string, string[]> = { c0: [], b1: ['c0'], a2: ['b1'], d3: [] };
  const id = (p: string) => `db-${p}:build`;
  const tasks = Object.fromEntries(
    projects.map((p) => [
      id(p),
      { id: id(p), target: { project: `db-${p}`, target: 'build' }, overrides: {}, outputs: [] },
    ]),
  );
  const dependencies = Object.fromEntries(
    projects.map((p) => [id(p), edges ? deps[p]!.filter((d) => projects.includes(d)).map(id) : []]),
  );
  const inputs = Object.fromEntries(projects.map((p) => [id(p), { project: p, outputPath: `dist/batch/${p}` }]));
  return { graph: { roots: [], tasks, dependencies } as unknown as TaskGraph, inputs };
}

async function batch(
  root: string,
  projects: string[],
  edges: boolean,
): Promise<Map<string, BatchTaskResult['result']>> {
  const { graph, inputs } = buildTasks(projects, edges);
  const out = new Map<string, BatchTaskResult['result']>();
  for await (const r of runBatch('build', graph, inputs, { root, cwd: root, isVerbose: false } as ExecutorContext))
    out.set(r.task.split(':')[0]!.slice(3), r.result);
  return out;
}

/**
 * The models built alone, by engine and project: both cases' workspaces hold the same sources of c0, b1 and a2 (only
 * d3 names a role of its own), whose models are a function of the sources, so the second case compares its batch with
 * the models the first built alone instead of building them alone again.
 */
const builtAlone = new Map<string, string>();

/** The model a project gets built on its own: no batch, no cached model. */
async function alone(root: string, project: string, engine: string): Promise<string> {
  const key = `${engine} ${project}`;
  const known = builtAlone.get(key);
  if (known !== undefined && project !== 'd3') return known;
  rmSync(join(root, '.dbee', 'cache'), { recursive: true, force: true });
  let text = '';
  const sink = new Writable({ write: (c, _e, cb) => ((text += String(c)), cb()) });
  const code = await runDbeeCommand(
    'build',
    { project, outputPath: `dist/alone/${project}` },
    { workspaceRoot: root, stdout: sink, stderr: sink, fromNx: true },
  );
  expect(code, text).toBe(0);
  const model = readFileSync(join(root, 'dist', 'alone', project, 'model.json'), 'utf8');
  builtAlone.set(key, model);
  return model;
}

describe.each(ENGINES)('the build batch applies each dependency once, in one shadow [%s]', (engine) => {
  // On the server, the shadow is a scratch database of the server; on PGlite, an embedded one.
  const shadow = engine === 'postgres' ? 'server' : 'embedded';

  it('c0, b1, a2 in dependency order: each build applies only its own project; the models equal those built alone', async () => {
    const role = `dbee_t_batch_${randomBytes(4).toString('hex')}`;
    const w = await workspaceWith(engine, files(engine, shadow, role));
    workspaces.push(w);
    for (const [k, v] of Object.entries(w.target.vars)) vi.stubEnv(k, v);

    const results = await batch(w.root, PROJECTS, true);
    for (const p of PROJECTS) expect(results.get(p)?.success, `${p}: ${results.get(p)?.terminalOutput}`).toBe(true);
    // Order: c0, d3 (ready first, by name), then b1, a2. d3 names a role the shadow lacked: it was opened again
    // with that role (which is why b1 applies c0 again), and the batch went on.
    expect(results.get('c0')!.terminalOutput).toMatch(/c0: desired model \w+ \(\d+ objects\) built in \d+ ms\n/);
    expect(results.get('b1')!.terminalOutput).toMatch(/b1: desired model .* built in \d+ ms, 2 of 2 projects applied/);
    expect(results.get('a2')!.terminalOutput).toMatch(/a2: desired model .* built in \d+ ms, 1 of 3 projects applied/);

    for (const p of PROJECTS) {
      const batched = readFileSync(join(w.root, 'dist', 'batch', p, 'model.json'), 'utf8');
      expect(batched, p).toBe(await alone(w.root, p, engine));
    }
  });

  it('dependents before their dependencies (no task edges, as in a diff batch): the shadow starts again, and the models are still right', async () => {
    const role = `dbee_t_batch_${randomBytes(4).toString('hex')}`;
    const w = await workspaceWith(engine, files(engine, shadow, role));
    workspaces.push(w);
    for (const [k, v] of Object.entries(w.target.vars)) vi.stubEnv(k, v);

    // By name: a2 (applies c0, b1, a2), b1 (a2 depends on it: wiped, applies c0, b1), c0 (likewise: wiped).
    const results = await batch(w.root, ['a2', 'b1', 'c0'], false);
    expect(results.get('a2')!.terminalOutput).toMatch(/3 of 3 projects applied/);
    expect(results.get('b1')!.terminalOutput).toMatch(/2 of 2 projects applied/);
    for (const p of ['a2', 'b1', 'c0']) {
      expect(results.get(p)?.success, `${p}: ${results.get(p)?.terminalOutput}`).toBe(true);
      expect(readFileSync(join(w.root, 'dist', 'batch', p, 'model.json'), 'utf8'), p).toBe(
        await alone(w.root, p, engine),
      );
    }
  });
});
