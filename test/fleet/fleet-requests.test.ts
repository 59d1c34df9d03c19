import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { PgConnection } from '@dbee/postgres';
import { EMPTY_STATE, fingerprints, stateFingerprints } from '../../packages/postgres/src/introspect';
import { run } from '../support/run';
import { fleetYaml, PROJECT_A, scratchFleet } from './fleet-workspace';
import { queryUrl, scratchDatabase } from '../support/pg';
import { KEEPALIVE_SQL } from '../../packages/postgres/src/lock/postgres-lock';

/**
 * What one new target of a fleet costs the server, request by request (a fleet deploys to hundreds of new databases:
 * docs/fleets.md, the benchmark tools/bench-fleet.ts). Every request on the wire is counted (node-postgres's
 * `Client.query`, one round trip each), by target database and by session: the lock session and the working session.
 */
const COUNT = 3;
const name = (i: number) => `t${i + 1}`;
const WORKSPACE = fleetYaml(Array.from({ length: COUNT }, (_, i) => ({ name: name(i), variable: `URL_${i + 1}` })));

interface Sent {
  database: string;
  lock: boolean;
  text: string;
}

describe('a new target of a fleet, request by request [postgres]', () => {
  const fleet = scratchFleet('dbee_fleet_requests', COUNT, { 'dbee.yaml': WORKSPACE, ...PROJECT_A });
  const { dbs, env } = fleet;
  const sent: Sent[] = [];

  beforeAll(async () => {
    const proto = pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
    const query = proto.query;
    proto.query = function (this: { database?: string; connectionParameters?: { application_name?: string } }, ...a) {
      const q = a[0] as string | { text?: string } | undefined;
      sent.push({
        database: this.database ?? '',
        lock: this.connectionParameters?.application_name === 'dbee-lock',
        text: typeof q === 'string' ? q : (q?.text ?? '(describe)'),
      });
      return query.apply(this, a);
    };
    try {
      const r = await run(fleet.w.root, 'deploy', { project: 'a', concurrency: 1 }, env);
      expect(r.code, r.stderr).toBe(0);
    } finally {
      proto.query = query;
    }
  }, 120_000);

  /** What target `i` was sent, on its lock session or its working session. */
  const of = (i: number, lock: boolean) =>
    sent.filter((s) => s.database === new URL(dbs[i]!.url).pathname.slice(1) && s.lock === lock).map((s) => s.text);

  // The second and third targets take the plan the first one built: what is left is each target's own work.
  it.each([1, 2])('target %i takes the lock in one request and never reads a ledger that is not there again', (i) => {
    const lock = of(i, true);
    // One request takes it (owner tag, idle timeout, the try, earlier working sessions, the holder's lock), one gives it
    // back; in between only the checks that the lock's session lives (and its keepalive, every 5 s).
    expect(lock.filter((s) => s !== 'SELECT 1' && s !== KEEPALIVE_SQL)).toEqual([
      expect.stringMatching(/application_name[\s\S]*pg_try_advisory_lock[\s\S]*pg_stat_get_activity/),
      expect.stringMatching(/^SELECT pg_advisory_unlock/),
    ]);
    const work = of(i, false);
    // The ledger's version is read once: missing, it stays missing until the deployment creates it.
    expect(work.filter((s) => /ledger_version/.test(s) && !/CREATE/.test(s))).toHaveLength(1);
    // Its live state (for the plan) is told by the names of its schemas; the catalog query runs once, after the steps,
    // for the fingerprint the deployment records: on the working session, whose catalog cache is warm. A fleet's
    // targets do not read on their lock's session while their smoke baseline runs, as a single deployment does
    // (`sideSession`): their CPUs are busy, and the lock's cold session cost the server ~5 ms more per target.
    expect(work.filter((s) => /with ns as/.test(s))).toHaveLength(1);
    expect(work.findIndex((s) => /with ns as/.test(s))).toBeGreaterThan(
      work.findIndex((s) => /CREATE VIEW a\.v/.test(s)),
    );
    // Everything a new target's deployment sends, both sessions together: 42 before the lock was taken in one
    // request, the missing ledger read once and the state of a target without schemas told without the catalog query;
    // 33 before a prepared catalog query (existence checks, fingerprint) took one request instead of three, 27 before a
    // missing ledger skipped the in-flight release check and the ledger ensure created was not read (state, next id), 23
    // before the running deployment's summary was merged without reading it back; 22 since the smoke baseline plans
    // every view the deployment created once (a.v: one compile request, a guarantee, test/smoke/affected-views.test.ts),
    // 19 since the smoke results and the smoke checks recorded in the summary travel with the closing row, and the
    // smoke baseline takes the objects it checks from the deployment (test/runner/batch-requests.test.ts).
    // 18 since the conflict check asks the catalog nothing about objects of schemas the live state's read found
    // missing (on a new target, all of them: test/fleet/fleet-conflicts.test.ts for targets where some exist).
    // 17 once the conflict check asked nothing about missing schemas and the fingerprint was read alone (a fleet target
    // records no catalog version: the recorded fingerprint is read again by a later drift check). 15 since the smoke
    // baseline's existence check is one request with its time bound, no transaction opened and rolled back around it.
    // 14 since the ledger's tables and indexes (the smoke results' table with them) are created in the request of the
    // target's first deployment row (issue 75): a target's ledger costs it no request of its own. 15 since a
    // deployment ends with its convergence check (issue 88): what its steps touched, read back by name in one request.
    expect(lock.length + work.length).toBeLessThanOrEqual(15);
    expect(work.filter((s) => /CREATE TABLE dbee\.deployments/.test(s))).toEqual([
      expect.stringMatching(/CREATE TABLE dbee\.smoke_results[\s\S]*COMMIT[\s\S]*INSERT INTO dbee\.deployments/),
    ]);
    expect(work.filter((s) => /^BEGIN;\nSET LOCAL statement_timeout/.test(s))).toEqual([]);
    expect(work.filter((s) => /md5\(concat_ws/.test(s))).toEqual([]);
    expect(work.filter((s) => /WITH ORDINALITY AS k\(category/.test(s))).toEqual([]);
    expect(work.filter((s) => /^SELECT summary/.test(s))).toEqual([]);
    // Setting up the lock session and the working session reads no pg_settings (the view builds a row for each of the
    // server's settings, ~0.7 ms of server CPU each time): the idle timeout is turned off by the server's version.
    expect([...lock, ...work].filter((s) => /pg_settings/.test(s))).toEqual([]);
    expect(work.filter((s) => /^SELECT to_regclass|FROM dbee\.migrations|^SELECT COALESCE\(MAX\(id\)/.test(s))).toEqual(
      [],
    );
  });

  it("records the fingerprint of the target's own database: status reads no drift, and drift once it changes", async () => {
    const drift = async () => {
      const status = await run(fleet.w.root, 'status', { project: 'a', env: 'fleet', format: 'json' }, env);
      expect(status.code, status.stderr).toBe(0);
      return (JSON.parse(status.stdout) as { targets: { target: string; drift: string }[] }).targets.map(
        (t) => `${t.target}:${t.drift}`,
      );
    };
    expect(await drift()).toEqual(['t1:no', 't2:no', 't3:no']);
    await queryUrl(dbs[2]!.url, 'ALTER TABLE a.t ADD COLUMN extra int');
    expect(await drift()).toEqual(['t1:no', 't2:no', 't3:yes']);
  });
});

describe('the live state of a database without the scope’s schemas [postgres]', () => {
  it('is the state the catalog query gives, told without it; once a schema is there, the catalog query tells it', async () => {
    const db = await scratchDatabase('dbee_fleet_requests');
    const conn = await PgConnection.open({ connectionString: db.url }, 'postgres:state');
    try {
      const scopes = [
        { schemas: ['s1', 's2'] },
        { schemas: ['s3'], manage: { grantees: null, owners: true, comments: true, ignore: ['^table:s3\\.x$'] } },
      ];
      const full = async () => (await fingerprints(conn, scopes)).map((f) => f.replace(/^(pg\d+):[^:]*:/, '$1:'));
      // An extension's objects, and other schemas' objects, are not lines of these scopes.
      await conn.execute('CREATE SCHEMA other; CREATE TABLE other.t (id int); CREATE EXTENSION IF NOT EXISTS plpgsql');
      expect(await full()).toEqual([EMPTY_STATE, EMPTY_STATE]);
      const queries: string[] = [];
      const query = conn.query.bind(conn);
      conn.query = ((sql: string, params?: unknown[]) => {
        queries.push(sql);
        return query(sql, params);
      }) as typeof conn.query;
      expect(await stateFingerprints(conn, scopes)).toEqual({
        states: [EMPTY_STATE, EMPTY_STATE],
        missingSchemas: ['s1', 's2', 's3'],
      });
      expect(queries).toEqual([expect.stringMatching(/pg_namespace/)]);
      await conn.execute('CREATE SCHEMA s3');
      const some = await stateFingerprints(conn, scopes);
      expect(some.states).toEqual(await full());
      expect(some.states[0]).toBe(EMPTY_STATE);
      expect(some.states[1]).not.toBe(EMPTY_STATE);
      // The schemas the same read found missing: a deployment's conflict check asks nothing about their objects.
      expect(some.missingSchemas).toEqual(['s1', 's2']);
    } finally {
      await conn.close();
      await db.drop();
    }
  });
});
