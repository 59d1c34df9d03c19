import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runBteq } from '../../packages/teradata/testing';
import { exportScripts, teradataWorkspace, type TeradataWorkspace } from './helpers';

// Issue #92, deliverable 1: the runner's cut-point walk and the BTEQ cut-point walk are one test, parameterised by
// transport. One release (the example's CUSTOMERS met as a table made by hand with a row: built aside and swapped, rows
// copied; ORDERS new; a view), one target per cut point: the run is killed before its k-th request, then run again.
// Every transport keeps the row (at its name, or in the backup the release made), leaves no lock row, and reaches what
// one uninterrupted run reaches: the re-run exits 0 with the same objects, the row at its name, and the same ledger
// (each object's checksum, the backup kept). Verified on the Teradata test double only (TERA mode).
//
// `dbee deploy` journals every Teradata step (a `started` row before it: each of its statements commits on its own), and
// the next run settles a step left `started` from what stands in DBC.TablesV (catalog/teradata-recover.ts): its own
// `_NEW_` table dropped, a swap stopped between its two renames finished, a table it created with no rows dropped and made
// again. Before, its re-run failed on its own `_NEW_` table (3803), renamed its own ORDERS aside as a conflict, and
// after a kill between the renames made CUSTOMERS again empty with the row in the backup.

// A kill: every request from the k-th on fails, and so does every later request of the run (its failure rows, its
// lock release): the client is gone, and the database rolls back the transaction it had open (the double aborts it on
// the failed request). For `dbee deploy` the lock row it leaves expires (the double's clock moves past its ttl), as a
// dead holder's does; BTEQ's re-run takes its own lock row over (its token is the release's).

interface Transport {
  name: string;
  /** The re-run after a kill reaches what one uninterrupted run reaches (see the file comment). */
  completes: boolean;
  /**
   * Ready the release for `w`'s target (BTEQ: its scripts, exported once, as a DBA runs one script again after a
   * kill), then a function that runs it; `kill`: killed before its k-th request. Each run resolves with every request
   * it sent and its exit code.
   */
  prepare(w: TeradataWorkspace): Promise<(kill?: number) => Promise<{ requests: string[]; code: number }>>;
}

const opened: TeradataWorkspace[] = [];
afterEach(() => {
  for (const w of opened.splice(0)) w.dispose();
});

/** A fresh target: the example workspace cut to the small release, CUSTOMERS made by hand with one row, a clock. */
async function target(): Promise<TeradataWorkspace & { advance(ms: number): void }> {
  let now = Date.UTC(2026, 10, 21, 10, 30, 0);
  const w = teradataWorkspace({ clock: () => new Date(now) });
  opened.push(w);
  for (const f of ['tables/stage_orders.sql', 'macros', 'procedures', 'join_indexes'])
    rmSync(join(w.root, 'schema/edw', f), { recursive: true, force: true });
  const dba = w.session.newSession();
  await dba.run(
    'CREATE SET TABLE DEV_EDW.customers (customer_id INTEGER NOT NULL, customer_name VARCHAR(200) CHARACTER SET UNICODE NOT NULL, ' +
      "segment CHAR(1) NOT NULL DEFAULT 'R', created_at TIMESTAMP(0) NOT NULL) UNIQUE PRIMARY INDEX (customer_id)",
  );
  await dba.run('INSERT INTO DEV_EDW.customers VALUES (?, ?, ?, ?)', [7, 'Ada', 'R', '2026-01-01 00:00:00']);
  return Object.assign(w, { advance: (ms: number) => void (now += ms) });
}

/**
 * Run `fn` with every request from the `kill`-th on failing (counted from now), as a client killed there would leave
 * them unsent; resolves with `fn`'s result and every request sent meanwhile.
 */
async function killedAt<T>(
  w: TeradataWorkspace,
  kill: number | undefined,
  fn: () => Promise<T>,
): Promise<[T, string[]]> {
  const mark = w.session.log.length;
  let count = 0;
  let running = kill !== undefined;
  w.session.on(() => running && ++count >= kill!, { error: { code: 9999, text: 'the client was killed here (test)' } });
  try {
    return [await fn(), w.requestsSince(mark)];
  } finally {
    running = false;
  }
}

const BTEQ: Transport = {
  name: 'BTEQ (deploy.btq)',
  completes: true,
  async prepare(w) {
    const { deploy } = await exportScripts(w);
    return async (kill) => {
      const r = await runBteq(deploy, w.session.newSession(), kill === undefined ? {} : { kill });
      return { requests: r.requests, code: r.exitCode };
    };
  },
};

const RUNNER: Transport = {
  name: 'the runner (dbee deploy)',
  completes: true,
  async prepare(w) {
    return async (kill) => {
      const [r, requests] = await killedAt(w, kill, () => w.dbee('deploy', { assumeYes: true }));
      return { requests, code: r.code };
    };
  },
};

/** User objects on the target (not the ledger's), sorted; the backup's name without its time (each export has its own). */
function objects(w: TeradataWorkspace): string[] {
  return [...w.session.catalog.keys()]
    .filter((k) => k.startsWith('DEV_EDW.'))
    .map((k) => k.replace(/_(BAK|BKP)_\d{8}T\d{6}$/i, '_$1_<time>'))
    .sort();
}

/**
 * The cut points of a run: before each request that changes something (a kill before a read leaves the state of a kill
 * before the next change). `DBEE_CUT_POINTS=all` walks every one; by default a fixed sample of them, spread over the run,
 * and the two renames of the swap (a kill between them is the one that can leave the table's name empty) (CONTRIBUTING.md,
 * "Cut-point walks").
 */
function cutPoints(requests: string[]): number[] {
  const all = requests.flatMap((r, i) => (/^\s*(SELECT|HELP|SHOW|SEL)\b/i.test(r) ? [] : [i + 1]));
  if (process.env.DBEE_CUT_POINTS === 'all') return all;
  if (process.env.DBEE_CUT_POINTS) return process.env.DBEE_CUT_POINTS.split(',').map(Number);
  const sample = 8;
  const swap = all.filter((k) => /^\s*RENAME TABLE\b/i.test(requests[k - 1]!));
  const spread = Array.from({ length: sample }, (_, j) => all[Math.floor((j * all.length) / sample)]!);
  return [...new Set([...spread, ...swap])].sort((a, b) => a - b);
}

/** What the ledger says is deployed: each object's checksum, and the backups kept (by object, open or dropped). */
function ledgerState(w: TeradataWorkspace): { objects: string[]; backups: string[] } {
  return {
    objects: w
      .ledger('objects')
      .map((r) => `${r.OBJECT_KEY} ${r.CHECKSUM}`)
      .sort(),
    backups: w
      .ledger('backups')
      .map((r) => `${r.OBJECT_KEY}${r.DROPPED_AT ? ' dropped' : ''}`)
      .sort(),
  };
}

/** The rows of the table whose masked name is `masked` (`objects`). */
function rowsOf(w: TeradataWorkspace, masked: string): Record<string, unknown>[] {
  const name = [...w.session.catalog.keys()].find(
    (k) => k.replace(/_(BAK|BKP)_\d{8}T\d{6}$/i, '_$1_<time>') === masked,
  );
  return (name && w.session.rows(name)) || [];
}

describe.each([BTEQ, RUNNER])('one release killed at its cut points: $name', (transport) => {
  it('the row is kept, the lock released and the re-run reaches what one uninterrupted run reaches, at every cut point', async () => {
    const reference = await target();
    const full = await (await transport.prepare(reference))();
    expect(full.code).toBe(0);
    for (const k of cutPoints(full.requests)) {
      const w = await target();
      const run = await transport.prepare(w);
      const killed = await run(k);
      expect(killed.code, `killed before request ${k}`).not.toBe(0);
      w.advance(11 * 60_000);
      const again = await run();
      const at = `a kill before request ${k} (${full.requests[k - 1]?.replace(/\s+/g, ' ').slice(0, 100)})`;
      // The row is never lost: at its name, or in the backup this release made (a `_BKP_` or `_bak_` table).
      const held = objects(w)
        .filter((o) => /^DEV_EDW\.CUSTOMERS(_(BAK|BKP)_<time>)?$/.test(o))
        .flatMap((o) => rowsOf(w, o).map((r) => r.CUSTOMER_ID));
      expect(held, `the row after ${at}`).toContain(7);
      expect(w.ledger('lock'), `the lock after ${at}`).toEqual([]);
      if (!transport.completes) continue;
      expect(again.code, `re-run after ${at}`).toBe(0);
      expect(objects(w), `after ${at}`).toEqual(objects(reference));
      expect(
        w.session.rows('DEV_EDW.CUSTOMERS')?.map((r) => r.CUSTOMER_ID),
        `rows after ${at}`,
      ).toEqual([7]);
      expect(ledgerState(w), `the ledger after ${at}`).toEqual(ledgerState(reference));
    }
  });
});

describe('dbee deploy killed while it creates the ledger', () => {
  it('the next run finishes the ledger (each DDL statement commits on its own on Teradata) and deploys the release', async () => {
    const w = await target();
    const run = await RUNNER.prepare(w);
    const full = await run();
    expect(full.code).toBe(0);
    // Between the ledger's first table and the rest: the version table is there, `deployments` is not.
    const k = full.requests.findIndex((r) => /^CREATE MULTISET TABLE DBEE_LEDGER\."deployments"/.test(r)) + 1;
    expect(k).toBeGreaterThan(1);
    const again = await target();
    const runAgain = await RUNNER.prepare(again);
    expect((await runAgain(k)).code).not.toBe(0);
    expect(again.session.catalog.has('DBEE_LEDGER.SCHEMA_VERSION')).toBe(true);
    again.advance(11 * 60_000);
    // Before: 3803 "Table 'DBEE_LEDGER.SCHEMA_VERSION' already exists", exit 2, on every run after.
    expect((await runAgain()).code).toBe(0);
    expect(objects(again)).toEqual(objects(w));
  });
});
