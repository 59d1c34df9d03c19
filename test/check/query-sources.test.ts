import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OwnCluster } from '../support/own-cluster';
import { run } from '../support/run';
import { TeamWorkspace } from '../support/team-workspace';
import { APP_QUERIES, appQueriesFile, customersTable } from './queries';

/**
 * The two sources of queries a running application leaves on its server, read from a real one: `pg_stat_statements`
 * (the library must be preloaded, so a cluster of the test's own, started with `shared_preload_libraries`) and the
 * server's CSV log (`log_destination = csvlog`, `log_statement = all`). The application runs its read queries there
 * (parameters bound through the extended protocol, and one with a literal); then a change renames the column
 * `core.customers.phone`, and `dbee check` must flag exactly the queries that read it.
 */
const CUSTOMERS = 'databases/core/schema/core/tables/customers.sql';
const READS = APP_QUERIES.filter((q) => /^(SELECT|WITH)/.test(q.sql));

interface CheckJson {
  checked: number;
  broken: { query: { text: string; origin: string } }[];
  changed: { query: { text: string; origin: string } }[];
  unchecked: { query: { text: string } }[];
}

describe('query sources of a running server: pg_stat_statements and the CSV log', () => {
  let cluster: OwnCluster;
  let team: TeamWorkspace;
  let env: Record<string, string>;
  beforeAll(async () => {
    cluster = await OwnCluster.start({
      shared_preload_libraries: 'pg_stat_statements',
      logging_collector: 'on',
      log_destination: 'csvlog',
      log_statement: 'all',
    });
    const admin = new Client({ connectionString: cluster.url() });
    await admin.connect();
    await admin.query('CREATE DATABASE app');
    await admin.end();
    env = { DBEE_DEV_URL: cluster.url('app') };
    team = await TeamWorkspace.create({
      files: { 'app/queries/app.sql': appQueriesFile(), [CUSTOMERS]: customersTable('phone text') },
    });
    for (const e of ['dev', 'local']) {
      // Setup in-process (the CLI's command runner); the checks under test below are processes of the real CLI.
      const deployed = await run(
        team.root,
        'deploy',
        { project: 'reporting', env: e },
        { ...team.environment, ...env },
      );
      expect(deployed.code, deployed.stderr).toBe(0);
    }
    // The application: the extension in its database, then its reads, each with its parameters bound (NULLs).
    const app = new Client({ connectionString: cluster.url('app') });
    await app.connect();
    try {
      await app.query('CREATE EXTENSION pg_stat_statements');
      for (const q of READS) {
        const params = Math.max(0, ...[...q.sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
        await app.query(q.sql, Array(params).fill(null));
      }
      await app.query('SELECT phone FROM core.customers WHERE id = 42');
    } finally {
      await app.end();
    }
    team.write({ [CUSTOMERS]: customersTable('mobile text') });
  });
  afterAll(async () => {
    await team?.dispose();
    await cluster?.stop();
  });

  /** The flagged queries are exactly the reads of `phone`. */
  function expectPhoneReadsFlagged(report: CheckJson, origin: RegExp): void {
    const flagged = [...report.broken, ...report.changed];
    expect(flagged.length).toBeGreaterThan(0);
    for (const f of flagged) {
      expect(f.query.text, 'only queries that read the renamed column').toMatch(/\bphone\b/);
      expect(f.query.origin).toMatch(origin);
    }
    const reads = READS.filter((q) => /\bphone\b/.test(q.sql)).map((q) => q.sql);
    for (const sql of reads)
      expect(
        report.broken.map((b) => b.query.text),
        `${sql} is flagged`,
      ).toContain(sql);
    // The query sent with a literal is there too, as pg_stat_statements or the log has it.
    expect(
      report.broken.some((b) => /WHERE id = (\$\d+|42)$/.test(b.query.text) && b.query.text.startsWith('SELECT phone')),
    ).toBe(true);
  }

  it('pg_stat_statements of the target: the queries that read a renamed column break', async () => {
    const r = await team.dbee(
      ['check', 'reporting', '--env', 'dev', '--queries', 'pg_stat_statements', '--format', 'json'],
      env,
    );
    const report = JSON.parse(r.stdout) as CheckJson;
    expect(r.code, r.stderr).toBe(1);
    expectPhoneReadsFlagged(report, /^pg_stat_statements$/);
  });

  it.each(['dev', 'local'])('the server CSV log, checked against %s', async (target) => {
    const [log] = cluster.logFiles().filter((f) => f.endsWith('.csv'));
    expect(log, 'the server writes a CSV log').toBeDefined();
    copyFileSync(log!, join(team.root, 'app', 'server-log.csv'));
    const r = await team.dbee(
      ['check', 'reporting', '--env', target, '--queries', 'app/server-log.csv', '--format', 'json'],
      env,
    );
    const report = JSON.parse(r.stdout) as CheckJson;
    expect(r.code, r.stderr).toBe(1);
    expectPhoneReadsFlagged(report, /^app\/server-log\.csv:\d+$/);
  });

  it('pg_stat_statements where the extension is not installed: exit 1, said how to install it', async () => {
    const r = await team.dbee(['check', 'reporting', '--env', 'qa', '--queries', 'pg_stat_statements'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('pg_stat_statements is not installed in the database of environment qa');
    expect(r.stderr).not.toContain('    at ');
  });
});
