import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createPostgresEngine, loadPostgresParser } from '@dbee/postgres';
import { queryUrl, scratchDatabase } from '../../../../test/support/pg';
import deployBatch from './deploy/deploy.batch';
import type { BatchTaskResult } from './run-batch';
import { oneTableProject, tempWorkspace, URL_TEST_WORKSPACE_YAML } from '../../../../test/support/workspace';

const REPO = join(__dirname, '..', '..', '..', '..');
const BATCH = join(REPO, 'plugins', 'nx', 'dist', 'executors', 'deploy', 'deploy.batch.js');

/**
 * An Nx batch worker of `deploy` (the compiled batch implementation, called as Nx's batch runner calls it) deploying
 * every project of `projects`, one task each, in the workspace at `root`: each task's result and the requests the
 * process sent to the server (node-postgres `Client.query`, one round trip each, counted in the worker itself).
 */
function batchRun(root: string, projects: string[], url: string): { output: string; requests: number } {
  const ids = projects.map((p) => `db-${p}:deploy`);
  const graph = {
    roots: ids,
    tasks: Object.fromEntries(
      ids.map((id, i) => [id, { id, target: { project: `db-${projects[i]}`, target: 'deploy' } }]),
    ),
    dependencies: Object.fromEntries(ids.map((id) => [id, []])),
  };
  const inputs = Object.fromEntries(projects.map((p) => [`db-${p}:deploy`, { project: p }]));
  const probe = `const pg = require(${JSON.stringify(require.resolve('pg', { paths: [join(REPO, 'packages', 'postgres')] }))});
let requests = 0;
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (...args) { requests++; return query.apply(this, args); };
(async () => {
  const batch = require(${JSON.stringify(BATCH)}).default;
  const graph = ${JSON.stringify(graph)};
  for await (const r of await batch(graph, ${JSON.stringify(inputs)}, {}, { root: ${JSON.stringify(root)}, taskGraph: graph }))
    process.stdout.write(r.task + ' ' + r.result.success + '\\n' + r.result.terminalOutput);
  process.stdout.write('\\nREQUESTS ' + requests + '\\n');
})();`;
  const r = spawnSync(process.execPath, ['-e', probe], {
    encoding: 'utf8',
    cwd: root,
    env: { ...process.env, DBEE_USE_DIST: '1', URL_TEST: url },
  });
  const requests = /\nREQUESTS (\d+)\n/.exec(r.stdout)?.[1];
  if (!requests) throw new Error(`no request count from the batch:\n${r.stdout}${r.stderr}`);
  return { output: r.stdout, requests: Number(requests) };
}

/**
 * The deploying batch a no-op batch starts from, in the worker (the batch implementation's source, as Nx's batch
 * runner calls it): setup, not what is counted, so it needs no process of its own. Its output, as `batchRun`'s.
 */
async function deployInProcess(root: string, projects: string[], url: string): Promise<string> {
  const ids = projects.map((p) => `db-${p}:deploy`);
  const graph = {
    roots: ids,
    tasks: Object.fromEntries(
      ids.map((id, i) => [id, { id, target: { project: `db-${projects[i]}`, target: 'deploy' }, overrides: {} }]),
    ),
    dependencies: Object.fromEntries(ids.map((id) => [id, []])),
  } as unknown as TaskGraph;
  const inputs = Object.fromEntries(projects.map((p) => [`db-${p}:deploy`, { project: p }]));
  vi.stubEnv('URL_TEST', url);
  let output = '';
  try {
    const context = { root, cwd: root, isVerbose: false, taskGraph: graph } as ExecutorContext;
    for await (const r of (await deployBatch(
      graph,
      inputs as never,
      {} as never,
      context,
    )) as AsyncIterable<BatchTaskResult>)
      output += `${r.task} ${r.result.success}\n${r.result.terminalOutput}`;
  } finally {
    vi.unstubAllEnvs();
  }
  return output;
}

describe('a no-op deploy batch', () => {
  let cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const f of cleanup.reverse()) await f();
    cleanup = [];
  });

  /**
   * The requests of a no-op batch of `n` projects, after a first batch deployed them. With `blueGreenTable`, the ledger
   * holds the blue/green table, as a database that ever had a blue/green deployment does: made `before` the first
   * batch, or `after` it (a later blue/green deployment: DDL in the database since the projects' fingerprints were
   * recorded, so the catalog version no longer vouches for them).
   */
  async function noopRequests(n: number, blueGreenTable?: 'before' | 'after'): Promise<number> {
    const db = await scratchDatabase();
    cleanup.push(() => db.drop());
    const projects = Array.from({ length: n }, (_, i) => `p${i}`);
    const w = tempWorkspace({
      'dbee.yaml': URL_TEST_WORKSPACE_YAML,
      ...Object.assign({}, ...projects.map((p) => oneTableProject(p))),
    });
    cleanup.push(w.remove);
    const makeBlueGreenTable = async () => {
      await loadPostgresParser(); // the engine's DDL quotes names with the parser's keyword list
      await queryUrl(db.url, 'CREATE SCHEMA IF NOT EXISTS dbee');
      for (const ddl of createPostgresEngine().blueGreen!.ledgerTable('dbee')) await queryUrl(db.url, ddl);
    };
    if (blueGreenTable === 'before') await makeBlueGreenTable();
    // The first batch deploys them in the worker; the no-op batch whose requests are counted runs as Nx runs it.
    const first = await deployInProcess(w.root, projects, db.url);
    for (const p of projects) expect(first).toMatch(new RegExp(`db-${p}:deploy true\\n[\\s\\S]*${p}: deployed`));
    if (blueGreenTable === 'after') await makeBlueGreenTable();
    const again = batchRun(w.root, projects, db.url);
    for (const p of projects)
      expect(again.output).toMatch(new RegExp(`db-${p}:deploy true\\n[\\s\\S]*${p}: nothing to deploy`));
    return again.requests;
  }

  it('sends no request per project: each task decides from what the batch read once for all of them', async () => {
    const two = await noopRequests(2);
    const eight = await noopRequests(8);
    expect(eight).toBe(two);
  });

  it('sends no request per project either when the ledger holds the blue/green table', async () => {
    const two = await noopRequests(2, 'before');
    const eight = await noopRequests(8, 'before');
    expect(eight).toBe(two);
  });

  it('sends no request per project either when the blue/green table was made after the projects were deployed', async () => {
    // The catalog version moved since their fingerprints were recorded: the batch reads every project's live
    // fingerprint in one request, not one per project (15 requests for two projects and 21 for eight before).
    const two = await noopRequests(2, 'after');
    const eight = await noopRequests(8, 'after');
    expect(eight).toBe(two);
  });

  it('still finds a hand edit when it reads the fingerprints of its projects at once', async () => {
    const db = await scratchDatabase();
    cleanup.push(() => db.drop());
    const projects = ['p0', 'p1', 'p2'];
    const w = tempWorkspace({
      'dbee.yaml': URL_TEST_WORKSPACE_YAML,
      ...Object.assign({}, ...projects.map((p) => oneTableProject(p))),
    });
    cleanup.push(w.remove);
    await deployInProcess(w.root, projects, db.url);
    // After the deployment: DDL that moves the catalog version, and a hand edit of p1.
    await queryUrl(db.url, 'CREATE TABLE dbee.made_later (id int)');
    await queryUrl(db.url, 'ALTER TABLE p1.t ADD COLUMN note text');
    const again = batchRun(w.root, projects, db.url);
    expect(again.output).toMatch(/db-p0:deploy true\n[\s\S]*p0: nothing to deploy/);
    expect(again.output).toMatch(/db-p2:deploy true\n[\s\S]*p2: nothing to deploy/);
    expect(again.output).toMatch(
      /db-p1:deploy false\n[\s\S]*p1: changed outside dbee since deployment #\d+: table:p1.t \(alter\)/,
    );
  });
});
