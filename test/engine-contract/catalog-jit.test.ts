import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OwnCluster } from '../support/own-cluster';
import { TeamWorkspace } from '../support/team-workspace';

/**
 * dbee's reads of the catalog never make the server compile them with LLVM. PostgreSQL JIT-compiles any query whose
 * estimated cost passes `jit_above_cost` (on by default where the server is built with LLVM, as Debian's is); on a
 * large schema some catalog queries pass it and the compile costs more than the query (the view dependencies of the
 * smoke baseline at 5,000 objects: 97 of 169 ms; the tables and types of the introspection: 33 and 37 ms). A cluster
 * of the test's own with `jit_above_cost = 0` compiles every plannable query, and `pg_stat_statements` (preloaded)
 * counts what each one compiled: after a deploy, a diff and a status of the team's projects, none of dbee's queries of
 * the catalogs that grow with a schema (columns, dependencies, rules, constraints, indexes, routines, types, comments,
 * triggers) has. (The ledger's own small statements compile at this threshold too; at the server's default one they
 * never reach it.)
 */
const GROWING = /\bpg_(attribute|depend|rewrite|constraint|index|proc|type|description|trigger)\b/;
describe('catalog queries and JIT [postgres]', () => {
  let cluster: OwnCluster;
  let team: TeamWorkspace;
  let env: Record<string, string>;
  let admin: Client;
  beforeAll(async () => {
    cluster = await OwnCluster.start({ shared_preload_libraries: 'pg_stat_statements', jit_above_cost: '0' });
    admin = new Client({ connectionString: cluster.url() });
    await admin.connect();
    await admin.query('CREATE DATABASE app');
    await admin.query('CREATE EXTENSION pg_stat_statements');
    env = { DBEE_DEV_URL: cluster.url('app') };
    team = await TeamWorkspace.create();
  }, 120_000);
  afterAll(async () => {
    await admin?.end();
    await team?.dispose();
    await cluster?.stop();
  });

  /** The statements run in database `app` that JIT compiled, with how many functions. */
  const compiled = async () =>
    (
      await admin.query<{ query: string; jit_functions: string }>(
        `SELECT query, jit_functions FROM pg_stat_statements
          WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'app') AND jit_functions > 0`,
      )
    ).rows;

  it('the cluster compiles a plain query of the application (the count below can see JIT)', async () => {
    const app = new Client({ connectionString: cluster.url('app') });
    await app.connect();
    try {
      await app.query('SELECT sum(x) FROM generate_series(1, 10) AS x');
    } finally {
      await app.end();
    }
    expect((await compiled()).map((r) => r.query)).toEqual([expect.stringMatching(/generate_series/)]);
    await admin.query('SELECT pg_stat_statements_reset()');
  });

  it('deploy, diff and status read the catalog without compiling a query', async () => {
    for (const args of [
      ['deploy', 'reporting', '--env', 'dev'],
      ['diff', 'reporting', '--env', 'dev'],
      ['status', 'reporting', '--env', 'dev'],
    ]) {
      const r = await team.dbee(args, env);
      expect(r.code, `dbee ${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
    const all = await admin.query<{ query: string }>(
      `SELECT query FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'app')`,
    );
    // The introspection's queries, the fingerprint, the smoke baseline's existence check and view dependencies...
    expect(all.rows.filter((r) => GROWING.test(r.query)).length, 'dbee read the catalogs here').toBeGreaterThan(15);
    const catalog = (await compiled()).filter((r) => GROWING.test(r.query));
    expect(catalog.map((r) => r.query.replace(/\s+/g, ' ').slice(0, 160))).toEqual([]);
  });
});
