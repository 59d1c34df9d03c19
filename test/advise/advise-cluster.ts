import { Client } from 'pg';
import { OwnCluster } from '../support/own-cluster';
import { QUERIES, seedData } from './seed';

/**
 * A server of the caller's own with what `dbee advise` needs and the shared server must not be changed for:
 * `pg_stat_statements` preloaded, autovacuum off (so that a table stays stale), and HypoPG. The machine must have
 * HypoPG's package: nothing is installed here, and without it this fails (never skips), naming the package.
 */
export async function adviseCluster(): Promise<OwnCluster> {
  const cluster = await OwnCluster.start({ shared_preload_libraries: 'pg_stat_statements', autovacuum: 'off' });
  const admin = new Client({ connectionString: cluster.url() });
  await admin.connect();
  try {
    const hypopg = await admin.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'hypopg'`);
    if (!hypopg.rows.length) {
      const major = (await admin.query<{ v: number }>(`SELECT current_setting('server_version_num')::int / 10000 AS v`))
        .rows[0]!.v;
      await cluster.stop();
      throw new Error(
        `HypoPG is not installed on this machine: apt-get install postgresql-${major}-hypopg (see CONTRIBUTING.md, "Suites worth knowing")`,
      );
    }
    await admin.query('CREATE DATABASE shop');
  } finally {
    await admin.end();
  }
  return cluster;
}

/**
 * Loads the seeded rows into the deployed schema, creates HypoPG and `pg_stat_statements` in the database, and runs
 * the application's queries `times` times each, so that `pg_stat_statements` holds them (normalised, with calls).
 */
export async function seedShop(url: string, customers: number, times = 2): Promise<void> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    for (const s of seedData(customers)) await c.query(s);
    await c.query('CREATE EXTENSION IF NOT EXISTS hypopg');
    await c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await c.query('SELECT pg_stat_statements_reset()');
    for (let i = 0; i < times; i++) for (const q of QUERIES) await c.query(q.sql);
  } finally {
    await c.end();
  }
}
