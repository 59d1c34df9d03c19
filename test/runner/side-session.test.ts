import { afterAll, describe, expect, it } from 'vitest';
import { logRequests, type RequestEvent } from '../support/request-log';
import { run } from '../support/run';
import type { TestWorkspace } from './helpers';
import { deployOk, shopAtV1, V2, writeAll } from '../rollback/fixture';

/**
 * The fingerprint a deployment or a rollback records (drift detection) and the one a rollback's drift check compares
 * are read on the lock's own session (`LockHandle.session`) while the working session runs the smoke baseline or
 * plans: both sessions only read then, and on a large schema each of them costs hundreds of milliseconds of the
 * server's time (docs/performance.md). Every request of the process is logged with its session and when it was sent and
 * answered.
 */
type Event = RequestEvent;
const FINGERPRINT = /^\s*with ns as \(/;
const EXISTENCE = /^\s*WITH k AS MATERIALIZED/;
const CATALOG_VERSION = /^\s*select md5\(concat_ws\('\|',/;
const LEDGER_VERSION = /^\s*SELECT MAX\(version\) AS v/;

describe('reads that overlap on the lock session [postgres]', () => {
  let w: TestWorkspace;
  const log = logRequests();
  const { events } = log;
  afterAll(async () => {
    log.restore();
    await w?.remove();
  });

  /** The events of `f` only. */
  const during = async (f: () => Promise<unknown>) => {
    const from = events.length;
    await f();
    return events.slice(from);
  };
  const lockSession = (ev: Event[]) => ev.find((e) => /pg_try_advisory_lock/.test(e.text))!.session;
  const first = (ev: Event[], kind: Event['kind'], re: RegExp, session?: number) =>
    ev.find((e) => e.kind === kind && re.test(e.text) && (session === undefined || e.session === session));

  it('a deployment reads the fingerprint it records on the lock session while its smoke baseline runs', async () => {
    w = await shopAtV1('postgres');
    writeAll(w, V2);
    const ev = await during(() => deployOk(w));
    const lock = lockSession(ev);
    const fingerprints = ev.filter((e) => e.kind === 'sent' && FINGERPRINT.test(e.text));
    // One fingerprint (the closing one), on the lock's session; the working session sent the smoke baseline.
    expect(fingerprints.map((e) => e.session)).toEqual([lock]);
    const existence = first(ev, 'done', EXISTENCE)!;
    expect(existence.session).not.toBe(lock);
    // Its reading starts with the catalog version recorded with it (read first, on the same session), sent before the
    // smoke baseline's first catalog read was answered: the two sessions read at the same time.
    // (The pipeline's drift stage reads one first, on the lock's session too, while the working session plans.)
    const versions = ev.filter((e) => e.kind === 'sent' && CATALOG_VERSION.test(e.text));
    expect(versions.map((e) => e.session)).toEqual([lock, lock]);
    const version = versions[1]!;
    expect(version.at).toBeLessThan(existence.at);
    expect(version.at).toBeLessThan(fingerprints[0]!.at);
    // The convergence check reads what the steps touched (its share on the lock's session once the catalog version is
    // read there) before the fingerprint is sent there: read first, the fingerprint put the check's share behind it, on
    // the working session, and the smoke checks after both (issue 90).
    const liveReads = ev.filter((e) => /^\s*select current_setting\('server_version_num'\) as version/.test(e.text));
    const checkReads = liveReads.filter((e) => e.at > version.at);
    expect(checkReads.filter((e) => e.kind === 'sent').length).toBeGreaterThan(0);
    for (const read of checkReads.filter((e) => e.kind === 'done')) expect(read.at).toBeLessThan(fingerprints[0]!.at);
    // V2 adds a column to a table: the project is planned by a diff of the live schema, whose catalog queries the two
    // sessions share (the tables on the working session; the constraints on the lock's once the drift reading there is
    // done, else on the working session after its own share: test/runner/drift-before-live-read.test.ts).
    // (Then the convergence check reads the constraints of what the steps touched, on the working session.)
    const constraintReads = ev.filter((e) => e.kind === 'sent' && /^\s*select con\.oid/m.test(e.text));
    const driftDone = ev.find((e) => e.kind === 'done' && e.session === lock && /FROM dbee\.deployments/.test(e.text))!;
    if (constraintReads[0]!.session === lock) expect(constraintReads[0]!.at).toBeGreaterThan(driftDone.at);
    expect(constraintReads.length).toBe(2);
    expect(
      ev.filter((e) => e.kind === 'sent' && /^\s*select c\.oid, c\.reltype/m.test(e.text)).map((e) => e.session),
    ).not.toContain(lock);
    // What it read is what the database holds: no drift.
    const status = await run(w.root, 'status', { project: 'shop' }, w.target.vars);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('drift: no');
  });

  it("a rollback reads its drift check's catalog version while it plans, and the fingerprint it records while its checks run", async () => {
    const ev = await during(async () => {
      const r = await run(w.root, 'rollback', { project: 'shop', assumeYes: true }, w.target.vars);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    });
    const lock = lockSession(ev);
    // The drift check's: the ledger's version, then the catalog version, equal to the one the deployment recorded
    // before its fingerprint, so the fingerprint is not read again. Its reading starts on the lock's session before the
    // working session's read of the deployments to undo is answered (the drift stage sends its first request before
    // the plan starts); which of the two sessions the server answers first after that is the server's affair (under
    // load the history was answered before the catalog version was sent: CI, stop 83).
    const versions = ev.filter((e) => e.kind === 'sent' && CATALOG_VERSION.test(e.text));
    const history = ev.find((e) => e.kind === 'done' && /FROM dbee\.deployments/.test(e.text) && e.session !== lock)!;
    const driftStarts = ev.find((e) => e.kind === 'sent' && e.session === lock && LEDGER_VERSION.test(e.text))!;
    expect(history.session).not.toBe(lock);
    expect(versions[0]!.session).toBe(lock);
    expect(driftStarts.at).toBeLessThan(history.at);
    expect(driftStarts.at).toBeLessThan(versions[0]!.at);
    // One fingerprint: the recorded one, its reading (the catalog version recorded with it first) sent before the smoke
    // baseline's first catalog read was answered.
    const fingerprints = ev.filter((e) => e.kind === 'sent' && FINGERPRINT.test(e.text));
    expect(fingerprints.map((e) => e.session)).toEqual([lock]);
    expect(versions.map((e) => e.session)).toEqual([lock, lock]);
    const existence = first(ev, 'done', EXISTENCE)!;
    expect(versions[1]!.at).toBeLessThan(existence.at);
    expect(versions[1]!.at).toBeLessThan(fingerprints[0]!.at);
    // Recorded with the smoke result: the rollback's deployment has both, the catalog version read before it too.
    const [row] = await w.target.query<{ summary: { fingerprint?: string; catalogVersion?: string; smoke?: string } }>(
      'SELECT summary FROM dbee.deployments ORDER BY id DESC LIMIT 1',
    );
    expect(row!.summary.smoke).toMatch(/^passed/);
    expect(row!.summary.fingerprint).toMatch(/^pg4:/);
    expect(row!.summary.catalogVersion).toMatch(/^pgv2:/);
    // status finds no drift by the catalog version alone: no fingerprint query.
    const statusEv = await during(async () => {
      const status = await run(w.root, 'status', { project: 'shop' }, w.target.vars);
      expect(status.stdout).toContain('drift: no');
    });
    expect(statusEv.filter((e) => e.kind === 'sent' && FINGERPRINT.test(e.text))).toEqual([]);
    // And the next rollback's drift check agrees with it (a mismatch would refuse it: ROLLBACK_DRIFT).
    const again = await run(w.root, 'rollback', { project: 'shop', assumeYes: true }, w.target.vars);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
  });
});
