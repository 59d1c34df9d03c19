import { afterEach, describe, expect, it } from 'vitest';
import { logRequests } from '../support/request-log';
import { run } from '../support/run';
import { dbYaml, ENGINES, snapshot, workspaceWith, type Target, type TestWorkspace } from './helpers';

/**
 * A deployment that replaces many views and routines reads the definitions they replace (each step's reverse, recorded in
 * the ledger) in one catalog query, not two per step, and on the server sends those steps in requests of many instead of
 * one request and a COMMIT each. What it reads must be what a read right before each step would give: rolling the
 * deployment back puts every definition back as it was, a view over another replaced view included.
 */
const N = 6;

const files = (version: 1 | 2) => {
  const f: Record<string, string> = {
    'app/db.yaml': dbYaml('app'),
    'app/schema.sql': 'CREATE SCHEMA app;\n',
    'app/items.sql': 'CREATE TABLE app.items (id bigint PRIMARY KEY, qty integer NOT NULL);\n',
    // A view over the first view: its definition names it, and is read before the first view is replaced.
    'app/top.sql': `CREATE OR REPLACE VIEW app.top AS SELECT id, qty FROM app.v1 WHERE qty > ${version};\n`,
  };
  for (let i = 1; i <= N; i++) {
    f[`app/v${i}.sql`] =
      `CREATE OR REPLACE VIEW app.v${i} AS SELECT id, qty FROM app.items WHERE qty > ${i * version};\n`;
    f[`app/f${i}.sql`] =
      `CREATE OR REPLACE FUNCTION app.f${i}(x integer) RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT x + ${i * version} $$;\n`;
  }
  return f;
};

/** The texts of the requests sent on every connection of this process while `f` runs. */
async function requestsOf(f: () => Promise<void>): Promise<string[]> {
  const log = logRequests({ pglite: true });
  try {
    await f();
  } finally {
    log.restore();
  }
  return log.events.filter((e) => e.kind === 'sent').map((e) => e.text);
}

const catalog = async (t: Target) => (await snapshot(t, { withLedger: false })).catalog;

let workspaces: TestWorkspace[] = [];
afterEach(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

describe.each(ENGINES)('the definitions a deployment replaces, read together [%s]', (engine) => {
  it('reads them in one query, and a rollback puts each one back', async () => {
    const w = await workspaceWith(engine, files(1));
    workspaces.push(w);
    const first = await run(w.root, 'deploy', { project: 'app' }, w.target.vars);
    expect(first.code, first.stderr).toBe(0);
    const before = await catalog(w.target);

    for (const [path, text] of Object.entries(files(2))) w.write(path, text);
    let second: Awaited<ReturnType<typeof run>> | undefined;
    const sent = await requestsOf(async () => {
      second = await run(w.root, 'deploy', { project: 'app' }, w.target.vars);
    });
    expect(second!.code, second!.stderr).toBe(0);
    const steps = await w.target.query<{ object_key: string; action: string; prev: string | null }>(
      `SELECT object_key, action, previous_definition AS prev FROM dbee.steps
        WHERE deployment_id = (SELECT max(id) FROM dbee.deployments) ORDER BY step_order`,
    );
    expect(steps).toHaveLength(2 * N + 1);
    expect(steps.every((s) => s.action === 'replace' && s.prev !== null)).toBe(true);
    // One read of every definition (it was a read of the relation or routine and one of its definition, per step); the
    // fingerprint the deployment records reads definitions too, in a query of its own (`with ns as ...`).
    const reads = sent.filter((s) => /^\s*SELECT\b[\s\S]*(pg_get_viewdef|pg_get_functiondef)/.test(s));
    expect(reads).toHaveLength(1);
    if (engine === 'postgres') {
      // The steps go in one request that opens their transaction: a step alone in its request was sent with its COMMIT
      // after it, apart. (Not counted: the build of the sources' model in a shadow, one request without BEGIN, which
      // the whole suite once saw twice in a command.)
      const stepRequests = sent.filter((s) => /CREATE OR REPLACE (VIEW|FUNCTION)/.test(s) && /^BEGIN\b/.test(s));
      const shown = stepRequests.map((s) => `${s.length} chars: ${s.slice(0, 160).replace(/\s+/g, ' ')}`).join('\n');
      expect(stepRequests.length, shown).toBe(1);
      expect(sent.filter((s) => /^SELECT \(1 \/ \(NOT pg_try_advisory/.test(s))).toEqual([]);
    }

    let back: Awaited<ReturnType<typeof run>> | undefined;
    const undone = await requestsOf(async () => {
      back = await run(w.root, 'rollback', { project: 'app' }, w.target.vars);
    });
    expect(back!.code, back!.stderr).toBe(0);
    expect(await catalog(w.target)).toEqual(before);
    if (engine === 'postgres') {
      // Each undone step is one request: its statements, then its ledger rows evaluating the lock's guard (they were a
      // lock check on the lock's session, the statements, and the rows, three round trips).
      const stepRequests = undone.filter((s) => /CREATE OR REPLACE (VIEW|FUNCTION)/.test(s));
      expect(stepRequests).toHaveLength(2 * N + 1);
      for (const s of stepRequests) expect(s).toMatch(/INSERT INTO dbee\.steps[\s\S]*pg_try_advisory_xact_lock_shared/);
      expect(undone.filter((s) => /^SELECT 1$/.test(s.trim())).length).toBeLessThanOrEqual(1);
    }
  });
});

describe('the ledger states a deployment planned by a diff syncs [postgres]', () => {
  it('are written in one request, and leave nothing pending', async () => {
    const table = (extra: string) => `CREATE TABLE app.items (id bigint PRIMARY KEY, qty integer NOT NULL${extra});\n`;
    const w = await workspaceWith('postgres', { ...files(1), 'app/items.sql': table('') });
    workspaces.push(w);
    const first = await run(w.root, 'deploy', { project: 'app' }, w.target.vars);
    expect(first.code, first.stderr).toBe(0);
    // A column added: the project is planned by a diff of the live schema, and its objects' states synced after.
    for (const [path, text] of Object.entries(files(2))) w.write(path, text);
    w.write('app/items.sql', table(', note text'));
    let second: Awaited<ReturnType<typeof run>> | undefined;
    const sent = await requestsOf(async () => {
      second = await run(w.root, 'deploy', { project: 'app' }, w.target.vars);
    });
    expect(second!.code, second!.stderr).toBe(0);
    expect(second!.stdout + second!.stderr).toMatch(/planning this project by a diff/);
    // 14 objects changed (the table, N views, N functions and the view over the first): their states were 14 requests
    // of one upsert each (the deployment's fold of its steps' rows, `INSERT ... SELECT`, is another request).
    const upserts = sent.filter((s) => /^INSERT INTO dbee\.objects \([^)]*\) VALUES/.test(s));
    expect(upserts).toHaveLength(1);
    expect(upserts[0]!.match(/INSERT INTO dbee\.objects/g)).toHaveLength(2 * N + 2);
    const status = await run(w.root, 'status', { project: 'app', format: 'json' }, w.target.vars);
    expect(status.code, status.stderr).toBe(0);
    const reported = JSON.parse(status.stdout);
    expect(reported.pendingSteps).toEqual([]);
    expect(reported.pendingDrops).toEqual([]);
  });
});
