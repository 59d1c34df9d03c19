import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgConnection } from '../../packages/postgres/src/connection/postgres-connection';
import { fingerprint, stateOf } from '../../packages/postgres/src/introspect/fingerprint';
import { generateProject } from '../../tools/bench/generate';
import type { ResolvedEnvironment } from '@dbee/core';
import { createPostgresEngine } from '@dbee/postgres';
import { openScratch, SERVER_URL } from './helpers';
import { OwnCluster } from '../support/own-cluster';
import { run } from '../support/run';

/**
 * A shadow build bigger than the server's lock table. PostgreSQL keeps a transaction's locks in a table shared by the
 * whole server (`max_locks_per_transaction` x its sessions); a build of every object in one transaction can outgrow it
 * ("out of shared memory"), as 10,000 objects did on a default server. dbee then sent every statement on its own, a
 * round trip each (10,000 of them: 18.5 s where the build takes 9 s). Now a transaction holds at most a thousand steps,
 * and one the server cannot hold is halved. A cluster of the test's own has a lock table of about 320 entries, far
 * less than 300 objects take in one transaction.
 *
 * Reading is bounded by the same table: printing a view locks it until the transaction ends, so a catalog read or a
 * fingerprint of more views than the table holds failed with "out of shared memory" (CI saw the catalog read of the
 * shadow fail so, the views' locks plus the other queries' in one transaction). They are now read in parts.
 */
const VIEWS = 900;
const WIDE = 'CREATE SCHEMA wide; CREATE TABLE wide.t (a int)';
const wideViews = (b: number) =>
  `DO $$ BEGIN FOR i IN ${b * 100 + 1}..${b * 100 + 100} LOOP EXECUTE format('CREATE VIEW wide.v%s AS SELECT a FROM wide.t', i); END LOOP; END $$`;

describe('a shadow build too big for the lock table [postgres]', () => {
  let cluster: OwnCluster;
  let root: string;
  let admin: pg.Client;
  const shadowRequests: string[] = [];
  let result: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    // As in the whole suite: this process keeps a server shadow of the main server already, so the shadows below are
    // new ones, whose census runs while the diff's read of the 900 views holds this cluster's lock table (it failed
    // the diff then: a census short of locks now only means the shadow is not kept).
    const kept = await createPostgresEngine().diff!.openShadow(
      'server',
      { name: 'main', connection: { url: SERVER_URL } } as unknown as ResolvedEnvironment,
      { workspaceRoot: process.cwd(), roles: [] },
    );
    await kept.dispose();
    cluster = await OwnCluster.start({ max_locks_per_transaction: '10', max_connections: '10' });
    admin = new pg.Client({ connectionString: cluster.url() });
    await admin.connect();
    await admin.query('CREATE DATABASE app');
    // A live schema with more views than the lock table holds in one transaction (printing a view locks it: about 650
    // here), made a hundred at a time.
    const app = new pg.Client({ connectionString: cluster.url('app') });
    await app.connect();
    await app.query(WIDE);
    for (let b = 0; b < VIEWS / 100; b++) await app.query(wideViews(b));
    await app.end();
    root = mkdtempSync(join(tmpdir(), 'dbee-shadow-locks-'));
    generateProject(join(root, 'gen'), { name: 'gen', objects: 300 });
    writeFileSync(
      join(root, 'dbee.yaml'),
      'version: 1\ndefaultEnvironment: d\nshadow: server\nenvironments:\n  d:\n    engine: postgres\n    connection:\n      url: ${DBEE_LOCKS_URL}\n',
    );
    const proto = pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
    const query = proto.query;
    proto.query = function (this: { database?: string }, ...a: unknown[]) {
      const q = a[0] as string | { text?: string } | undefined;
      if (this.database?.startsWith('dbee_shadow'))
        shadowRequests.push(typeof q === 'string' ? q : (q?.text ?? '(describe)'));
      return query.apply(this, a);
    };
    try {
      result = await run(
        root,
        'diff',
        { project: 'gen', env: 'd', format: 'json' },
        { DBEE_LOCKS_URL: cluster.url('app') },
      );
    } finally {
      proto.query = query;
    }
  }, 120_000);
  afterAll(async () => {
    await createPostgresEngine().release!();
    await admin?.end();
    await cluster?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('builds the desired model in transactions the server can hold, not a statement per round trip', async () => {
    expect(result.code, result.stderr).toBe(0);
    // The build did outgrow one transaction here: a statement that sent the whole project failed.
    const whole = shadowRequests.filter((t) => t.includes('CREATE TABLE') && t.split('\n;\n').length > 250);
    expect(whole.length, 'the first request held the whole project').toBeGreaterThan(0);
    // Every object, each sent once in a request of many (300 objects one by one were 300 requests and more).
    expect(shadowRequests.length).toBeLessThan(60);
    const plan = JSON.parse(result.stdout) as { steps: { action: string }[] };
    expect(plan.steps.filter((s) => s.action === 'create').length).toBeGreaterThan(250);
  });

  it('reads a live schema whose views are more than the lock table holds in one transaction', async () => {
    const out = join(root, 'wide');
    const x = await run(
      root,
      'extract',
      { project: 'wide', env: 'd', schemas: 'wide', out },
      { DBEE_LOCKS_URL: cluster.url('app') },
    );
    expect(x.code, x.stderr).toBe(0);
    const files = readdirSync(out, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.sql'));
    const text = files.map((f) => readFileSync(join(out, f), 'utf8')).join('\n');
    expect(text.match(/CREATE (OR REPLACE )?VIEW/gi)?.length).toBe(VIEWS);
    // And the schema as extracted is what the database holds: its fingerprint, the shadow build and its read back.
    const d = await run(
      root,
      'diff',
      { project: 'wide', env: 'd', failOnDiff: true },
      { DBEE_LOCKS_URL: cluster.url('app') },
    );
    expect(d.code, d.stderr + d.stdout).toBe(0);
  });

  it('opens a session while another holds the whole lock table, once it lets go', async () => {
    // A session's start takes a lock: CI saw the connect to a new shadow fail "out of shared memory" while this
    // command's read of the views held the table. One session takes every entry it can (an advisory lock at a time,
    // each in a subtransaction, until the server refuses one) and lets go after a moment.
    const holder = new pg.Client({ connectionString: cluster.url('app') });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      // Filled again while a probe still gets in: a session of the earlier cases that ends meanwhile frees entries
      // (the whole suite saw a probe connect). Locks already held take no new entry, so each round adds what was freed.
      let refused: string | null = null;
      for (let round = 0; round < 5 && refused !== '53200'; round++) {
        await holder.query(
          'DO $$ BEGIN FOR i IN 1..1000000 LOOP BEGIN PERFORM pg_advisory_xact_lock(i); EXCEPTION WHEN out_of_memory THEN EXIT; END; END LOOP; END $$',
        );
        const probe = new pg.Client({ connectionString: cluster.url('app') });
        probe.on('error', () => {});
        refused = await probe.connect().then(
          () => probe.end().then(() => null),
          (e: { code?: string }) => e.code ?? null,
        );
      }
      expect(refused, 'the lock table was full').toBe('53200');
      const opening = PgConnection.open({ connectionString: cluster.url('app'), connectRetries: 0 }, 'postgres:after');
      await new Promise((r) => setTimeout(r, 300));
      await holder.query('COMMIT');
      const conn = await opening;
      expect((await conn.query<{ one: number }>('select 1 as one')).rows[0]!.one).toBe(1);
      await conn.close();
    } finally {
      await holder.end();
    }
  });

  it('fingerprints those views as a server that holds them in one statement does', async () => {
    const small = await PgConnection.open({ connectionString: cluster.url('app') }, 'postgres:small');
    const whole = await openScratch('postgres');
    try {
      await whole.conn.execute(WIDE);
      for (let b = 0; b < VIEWS / 100; b++) await whole.conn.execute(wideViews(b));
      const inGroups = stateOf(await fingerprint(small, { schemas: ['wide'] }));
      expect(Number(inGroups!.split(':')[1])).toBeGreaterThan(VIEWS);
      expect(inGroups).toBe(stateOf(await fingerprint(whole.conn, { schemas: ['wide'] })));
    } finally {
      await small.close();
      await whole.dispose();
    }
  });
});
