import pg from 'pg';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionPool } from '@dbee/core';
import { runDbeeCommand } from '@dbee/cli';
import { dbYaml, rows, workspaceWith, type TestWorkspace } from './helpers';
import { KEEPALIVE_SQL } from '../../packages/postgres/src/lock/postgres-lock';

/**
 * What each deployment of an Nx batch (`nx run-many -t deploy`: one process, one SessionPool, one session per database)
 * sends on the first deploy of a monorepo, request by request (tools/bench-monorepo.ts: 200 projects of a schema, a
 * table, a view and a function each, chained by `dependsOn`). Every request on the wire is counted (node-postgres's
 * `Client.query`, one round trip each), on the lock session and the working session.
 */
const NAMES = ['p1', 'p2', 'p3', 'p4', 'p5'];

const project = (name: string, deps: string[]) => ({
  [`${name}/db.yaml`]: dbYaml(name, deps.length ? `dependsOn: [${deps.join(', ')}]\n` : ''),
  [`${name}/schema.sql`]: `CREATE SCHEMA ${name};\n`,
  [`${name}/items.sql`]: `CREATE TABLE ${name}.items (id bigint PRIMARY KEY, label text NOT NULL);\n`,
  [`${name}/labels.sql`]: `CREATE VIEW ${name}.labels AS SELECT id, label FROM ${name}.items;\n`,
  [`${name}/count_items.sql`]: `CREATE FUNCTION ${name}.count_items() RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT count(*) FROM ${name}.items $$;\n`,
});

describe('the first deploy of a batch of projects, request by request [postgres]', () => {
  let w: TestWorkspace;
  /** The requests of each task, in order, then those of the batch's end (`SessionPool.close`). */
  const sent: string[][] = [[]];

  beforeAll(async () => {
    w = await workspaceWith(
      'postgres',
      Object.assign({}, ...NAMES.map((n, i) => project(n, i ? [NAMES[i - 1]!] : []))),
    );
    const proto = pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
    const query = proto.query;
    proto.query = function (...a) {
      const q = a[0] as string | { text?: string } | undefined;
      // The lock session's keepalive goes every 5 s, as often as the machine's load stretches the batch: not counted.
      if (q !== KEEPALIVE_SQL) sent.at(-1)!.push(typeof q === 'string' ? q : (q?.text ?? '(describe)'));
      return query.apply(this, a);
    };
    const pool = new SessionPool();
    try {
      for (const p of NAMES) {
        const chunks: string[] = [];
        const io = new Writable({ write: (c, _e, cb) => (chunks.push(String(c)), cb()) });
        const env = { ...process.env, ...w.target.vars };
        const context = { workspaceRoot: w.root, stdout: io, stderr: io, env, interactive: false, fromNx: true };
        const code = await runDbeeCommand('deploy', { project: p }, { ...context, sessions: pool });
        expect(code, chunks.join('')).toBe(0);
        sent.push([]);
      }
      await pool.close();
    } finally {
      proto.query = query;
    }
  }, 120_000);
  afterAll(() => w?.remove());

  it('sends 14 requests per deployment after the first, and 3 at the end of the batch whatever its size', () => {
    // The first task creates the ledger, the second reads once for the batch whether an expand release is in flight;
    // the others are what each of the monorepo's 200 deployments costs.
    const each = sent.slice(2, NAMES.length);
    expect(each).toHaveLength(3);
    // 18 before the deployment's id was taken by its opening row (no `MAX(id) + 1` read, the commit mode set by the same
    // statement), its smoke results and recorded smoke checks went with its closing row, and its smoke baseline took
    // the objects it checks from the deployment instead of reading the ledger again.
    for (const requests of each) expect(requests.length).toBeLessThanOrEqual(14);
    for (const requests of each) {
      expect(requests.filter((s) => /MAX\(id\)/.test(s) && !/INSERT/.test(s))).toEqual([]);
      expect(requests.filter((s) => /^SELECT summary|^SET synchronous_commit/.test(s))).toEqual([]);
      expect(requests.filter((s) => /^SELECT project, object_key/.test(s))).toHaveLength(1);
      expect(requests.filter((s) => /summary/.test(s) && !/INSERT INTO dbee\.deployments/.test(s))).toEqual([
        expect.stringMatching(/INSERT INTO dbee\.smoke_results[\s\S]*UPDATE dbee\.deployments SET status/),
      ]);
    }
    // The fingerprints read at the batch's end (the catalog version recorded with them read first, once), written in
    // one request (2N + 3 before: each summary read, then written), and the lock given back.
    expect(sent.at(-1)).toEqual([
      expect.stringMatching(/^select md5\(concat_ws/),
      expect.stringMatching(/with ns as/),
      expect.stringMatching(/^UPDATE dbee\.deployments SET summary = coalesce/),
      expect.stringMatching(/^SELECT pg_advisory_unlock/),
    ]);
  });

  it('records every deployment as before: its id, smoke results, smoke checks and fingerprint', async () => {
    const deployments = await rows(
      w.target,
      `SELECT id::int AS id, project, status, steps_applied, summary ? 'smokeChecks' AS checks, summary->>'smoke' AS smoke,
              summary->>'fingerprint' IS NOT NULL AS fingerprint,
              (SELECT count(*)::int FROM dbee.smoke_results r WHERE r.deployment_id = d.id AND r.status = 'passed') AS results
         FROM dbee.deployments d ORDER BY id`,
    );
    expect(deployments).toEqual(
      NAMES.map((p, i) => ({
        id: i + 1,
        project: p,
        status: 'succeeded',
        steps_applied: 4,
        checks: true,
        smoke: '2/2 passed',
        fingerprint: true,
        results: 2,
      })),
    );
  });
});
