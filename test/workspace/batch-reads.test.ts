import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { SessionPool, type Connection } from '@dbee/core';
import { runDbeeCommand } from '@dbee/cli';
import { createPostgresEngine } from '@dbee/postgres';
import { registerEngine } from '../../packages/cli/src/engines';
import { dbYaml, ENGINES, workspaceWith, type TestWorkspace } from '../runner/helpers';

/**
 * An Nx batch (`nx run-many -t deploy`: one process, one SessionPool) reads what a deployment needs from the ledger
 * before it plans (releases in flight, the last deployment of each project) once for all its tasks: a no-op task sends
 * no request of its own. The guarantees stay: a project with an expand-contract release in flight is refused, also
 * when a task of the same batch started that release.
 */
let unregister = () => {};
afterEach(() => unregister());

/** A workspace on `engine` with `files`, removed when the test ends. */
async function workspace(engine: (typeof ENGINES)[number], files: Record<string, string>): Promise<TestWorkspace> {
  const w = await workspaceWith(engine, files);
  onTestFinished(() => w.remove());
  return w;
}

const project = (name: string, extra = '') => ({
  [`${name}/db.yaml`]: dbYaml(name, extra),
  [`${name}/schema.sql`]: `CREATE SCHEMA ${name};\n`,
  [`${name}/t.sql`]: `CREATE TABLE ${name}.t (id int PRIMARY KEY, label text);\n`,
});

/** The postgres engine, counting the requests its connections send (the lock's own session is not counted). */
function countRequests(): { sent: () => number } {
  let sent = 0;
  const counted = new Set(['query', 'queryPrepared', 'execute', 'executeBatch', 'describe', 'transaction']);
  unregister = registerEngine('postgres', () => {
    const engine = createPostgresEngine();
    return {
      ...engine,
      connect: async (env, ctx) => {
        const conn = await engine.connect(env, ctx);
        return new Proxy(conn, {
          get(target, prop, receiver) {
            const v = Reflect.get(target, prop, receiver) as unknown;
            if (typeof v !== 'function') return v;
            return (...args: unknown[]) => {
              if (counted.has(String(prop))) sent++;
              return (v as (...a: unknown[]) => unknown).apply(target, args);
            };
          },
        }) as Connection;
      },
    };
  });
  return { sent: () => sent };
}

/** Runs `deploy` for each task through one pool, as the Nx batch executor does; each task's exit code and output. */
async function batch(w: TestWorkspace, tasks: Record<string, unknown>[], each?: () => void) {
  const pool = new SessionPool();
  const results: { code: number; out: string }[] = [];
  try {
    for (const options of tasks) {
      const chunks: string[] = [];
      const io = new Writable({ write: (c, _e, cb) => (chunks.push(String(c)), cb()) });
      const env = { ...process.env, ...w.target.vars };
      const context = { workspaceRoot: w.root, stdout: io, stderr: io, env, interactive: false, fromNx: true };
      const code = await runDbeeCommand('deploy', options as { project: string }, { ...context, sessions: pool });
      results.push({ code, out: chunks.join('') });
      each?.();
    }
  } finally {
    await pool.close();
  }
  return results;
}

describe.each(ENGINES)('an Nx batch reads the ledger once for all its deployments [%s]', (engine) => {
  it('a no-op deployment in a batch sends no request of its own', async () => {
    const w = await workspace(engine, { ...project('a'), ...project('b', 'dependsOn: [a]\n'), ...project('c') });
    const tasks = ['a', 'b', 'c'].map((p) => ({ project: p }));
    for (const r of await batch(w, tasks)) expect(r.code, r.out).toBe(0);
    const counter = countRequests();
    const perTask: number[] = [];
    let before = 0;
    const results = await batch(w, tasks, () => {
      perTask.push(counter.sent() - before);
      before = counter.sent();
    });
    for (const r of results) {
      expect(r.code, r.out).toBe(0);
      expect(r.out).toContain('nothing to deploy');
    }
    // The first task reads for the batch (ledger state, releases in flight, last deployments); the others read nothing.
    expect(perTask.slice(1)).toEqual([0, 0]);
  });

  it('a release in flight refuses the direct deployment of its project, also when the same batch started it', async () => {
    const w = await workspace(engine, { ...project('c'), ...project('s') });
    for (const r of await batch(w, [{ project: 'c' }, { project: 's' }])) expect(r.code, r.out).toBe(0);
    w.write('s/t.sql', 'CREATE TABLE s.t (id int PRIMARY KEY, label text, note text);\n');
    const [c, expand, direct] = await batch(w, [
      { project: 'c' },
      { project: 's', strategy: 'expand-contract' },
      { project: 's' },
    ]);
    expect(c!.code, c!.out).toBe(0);
    expect(expand!.code, expand!.out).toBe(0);
    expect(direct!.code, direct!.out).toBe(1);
    expect(direct!.out).toContain('in flight');
    // In a later batch, the release found at its start refuses it too.
    const [again] = await batch(w, [{ project: 's' }]);
    expect(again!.code, again!.out).toBe(1);
    expect(again!.out).toContain('in flight');
  });
});
