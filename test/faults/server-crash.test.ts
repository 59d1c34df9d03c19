import { join } from 'node:path';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateProject } from '../../tools/bench/generate';
import { OwnCluster } from '../support/own-cluster';
import { run } from '../support/run';
import { tempWorkspace } from '../support/workspace';
import { connectedTarget, spawnDbee, workspaceYaml, type Target } from '../runner/helpers';
import { assertLedgerInvariants } from './invariants';
import { openPostgres } from '@dbee/postgres';

// A server crash (`pg_ctl stop -m immediate`) at random points of a large deployment, on a cluster of the test's own.
// A deployment's step transactions commit without waiting for the disk (`synchronous_commit = off`, see
// docs/deploying.md) and only its closing row commits durably, so a crash may lose the newest steps: each with its
// ledger rows, in order. After each restart the ledger must agree with the catalog before anything repairs it, and
// the next run must finish the deployment and converge.
//
// What a crash loses is the WAL still in the server's memory (the operating system keeps what was handed to it, as the
// machine does not crash): the WAL writer of this cluster waits 10 s between rounds (`wal_writer_delay`) to keep it
// there longer, but PostgreSQL also writes WAL out whenever an asynchronous commit fills a page, so a crash here loses
// from none to a few of the newest steps. The test does not count on a loss: it holds the ledger to the catalog whatever
// was lost.

const OBJECTS = 200;
const SEED = Number(process.env.DBEE_CRASH_SEED ?? Date.now() % 100_000);

let cluster: OwnCluster;
let root: string;
let removeWorkspace: () => void;
let target: Target;
/** The project's objects: one step each in its first deployment. */
let total: number;

beforeAll(async () => {
  cluster = await OwnCluster.start({ wal_writer_delay: '10s' });
  const admin = new Client({ connectionString: cluster.url() });
  await admin.connect();
  await admin.query('CREATE DATABASE crash');
  await admin.end();
  // The desired side on a scratch database of this cluster, which costs less here than starting the embedded one.
  const w = tempWorkspace({ 'dbee.yaml': workspaceYaml('postgres', { top: 'shadow: server' }) });
  root = w.root;
  removeWorkspace = w.remove;
  total = generateProject(join(root, 'big'), { name: 'big', objects: OBJECTS }).objects;
  target = serverTarget(cluster.url('crash'));
}, 120_000);

afterAll(async () => {
  removeWorkspace?.();
  await cluster?.stop();
});

function serverTarget(url: string): Target {
  const connect = () => openPostgres({ kind: 'server', config: { connectionString: url }, description: 'crash' });
  return connectedTarget('postgres', { DBEE_RUNNER_URL: url }, connect, async () => {});
}

/** A small deterministic generator (mulberry32): the kill points of a run are reproducible from its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The project's objects in the catalog, as object keys (`kind:schema.name(args)@parent`). */
const CATALOG_KEYS = `
SELECT 'schema:' || nspname AS key FROM pg_namespace WHERE nspname LIKE 'big\\_s%'
UNION ALL
SELECT CASE c.relkind WHEN 'v' THEN 'view:' ELSE 'table:' END || n.nspname || '.' || c.relname
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v') AND n.nspname LIKE 'big\\_s%'
UNION ALL
SELECT 'index:' || n.nspname || '.' || ic.relname || '@' || n.nspname || '.' || tc.relname
  FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class tc ON tc.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = ic.relnamespace
 WHERE n.nspname LIKE 'big\\_s%' AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
UNION ALL
SELECT CASE p.prokind WHEN 'p' THEN 'procedure:' ELSE 'function:' END || n.nspname || '.' || p.proname
       || '(' || replace(oidvectortypes(p.proargtypes), ', ', ',') || ')'
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname LIKE 'big\\_s%'
UNION ALL
SELECT 'trigger:' || n.nspname || '.' || t.tgname || '@' || n.nspname || '.' || c.relname
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE NOT t.tgisinternal AND n.nspname LIKE 'big\\_s%'
ORDER BY 1`;

/**
 * Right after a restart, before any dbee run repairs anything: every object the ledger says was applied exists, and
 * every object of the project that exists is one the ledger knows. Returns how many objects exist.
 */
async function ledgerAgreesWithCatalog(): Promise<number> {
  const catalog = (await target.query<{ key: string }>(CATALOG_KEYS)).map((r) => r.key);
  const ledger = (await hasLedger())
    ? (
        await target.query<{ key: string }>(
          `SELECT DISTINCT s.object_key AS key FROM dbee.steps s JOIN dbee.deployments d ON d.id = s.deployment_id
            WHERE d.project = 'big' AND s.status = 'applied' ORDER BY 1`,
        )
      ).map((r) => r.key)
    : [];
  expect(catalog, `the objects that exist are those the ledger records as applied (seed ${SEED})`).toEqual(ledger);
  return catalog.length;
}

/** Whether the ledger's tables exist: a crash soon after the first run made them may have lost them with the rest. */
async function hasLedger(): Promise<boolean> {
  return (await target.query<{ t: string | null }>(`SELECT to_regclass('dbee.steps')::text AS t`))[0]!.t !== null;
}

describe('fault: a server crash (pg_ctl stop -m immediate) during a large deployment [postgres, own cluster]', () => {
  it('at random points: the ledger agrees with the catalog after each restart, and the next run converges', async () => {
    const pick = random(SEED);
    let before = 0;
    // Three crashes, each in a run that resumes the one before: in the first, the middle and the last third of the
    // steps left. The crash comes when a side session sees that many steps committed (asynchronous commits are
    // visible at once, durable or not).
    for (let index = 0; index < 3; index++) {
      const remaining = total - before;
      const at = before + Math.min(remaining - 1, Math.max(1, Math.floor(((index + pick()) * remaining) / 3)));
      const a = await spawnDbee(root, ['deploy', 'big'], target.vars);
      const watch = new Client({ connectionString: cluster.url('crash') });
      await watch.connect();
      watch.on('error', () => {});
      for (let seen = 0; seen < at; ) {
        seen = await watch
          .query<{ n: number }>(`SELECT count(*)::int AS n FROM dbee.steps WHERE status = 'applied'`)
          .then((r) => r.rows[0]!.n)
          .catch(() => 0);
        if (a.child.exitCode !== null) throw new Error(`dbee ended before the crash:\n${a.output().stdout}`);
      }
      await cluster.crashAndRestart();
      await watch.end().catch(() => {});
      const code = await a.exit;
      const out = a.output();
      expect(code, `crash ${index + 1} (seed ${SEED}): ${out.stderr}`).toBe(2);
      const exists = await ledgerAgreesWithCatalog();
      const applied = !(await hasLedger())
        ? 0
        : (
            await target.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM dbee.steps s JOIN dbee.deployments d ON d.id = s.deployment_id
            WHERE d.project = 'big' AND s.status = 'applied'`,
            )
          )[0]!.n;
      // The run never finished: some of the project is still to be made.
      expect(exists).toBeLessThan(total);
      before = applied;
    }

    const r = await run(root, 'deploy', { project: 'big' }, target.vars);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/marked interrupted/);
    await assertLedgerInvariants(target);
    await ledgerAgreesWithCatalog();
    // Converged: nothing left to do, and nothing differs between the sources and the catalog.
    const again = await run(root, 'deploy', { project: 'big' }, target.vars);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('nothing to deploy');
    const diff = await run(root, 'diff', { project: 'big' }, target.vars);
    expect(diff.code, diff.stderr).toBe(0);
    expect(diff.stdout).toContain('no differences');
  }, 240_000);
});
