import { afterAll, describe, expect, it } from 'vitest';
import { PgConnection } from '@dbee/postgres';
import { logRequests } from '../support/request-log';
import { run } from '../support/run';
import type { TestWorkspace } from './helpers';
import { deployOk, shopAtV1, V2, writeAll } from '../rollback/fixture';

/**
 * The drift stage reads its verdict on the lock's own session (catalog version, then the last deployment's row, then,
 * when the catalog changed since, the fingerprint) while the working session plans; the plan waits for that verdict
 * before anything is applied. The plan's live read shares the lock's session only once the drift reading is done with
 * it: a share sent there earlier went between the drift reading's requests (a session answers one at a time) and put
 * the verdict, and every step, behind it (issue 90).
 */
const FINGERPRINT = /^\s*with ns as \(/;
const CATALOG_VERSION = /^\s*select md5\(concat_ws\('\|',/;
const DEPLOYMENT_ROWS = /^\s*SELECT id, project, environment, kind/;
const LIVE_READ = /^\s*select current_setting\('server_version_num'\) as version/;

describe('the drift reading keeps the lock session until its verdict [postgres]', () => {
  let w: TestWorkspace;
  const log = logRequests();
  // The drift reading's catalog version is answered only once the plan has sent its live read (at most 5 s later): on
  // a small schema the reading is otherwise over before the plan reads anything, whatever the order the code keeps.
  const proto = PgConnection.prototype as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const [queryPrepared, queryMany] = [proto.queryPrepared!, proto.queryMany!];
  let liveReadSent: () => void = () => {};
  let gate: Promise<void> | null = null;
  proto.queryMany = function (this: unknown, ...a: unknown[]) {
    const first = (a[0] as { sql: string }[])[0]?.sql ?? '';
    if (LIVE_READ.test(first)) liveReadSent();
    return queryMany.apply(this, a);
  };
  proto.queryPrepared = async function (this: unknown, ...a: unknown[]) {
    const answer = await queryPrepared.apply(this, a);
    if (gate && CATALOG_VERSION.test(String(a[0]))) {
      await gate;
      gate = null;
    }
    return answer;
  };
  afterAll(async () => {
    Object.assign(proto, { queryPrepared, queryMany });
    log.restore();
    await w?.remove();
  });

  it('a deployment planned by a diff sends no live-read share on the lock session before the drift fingerprint', async () => {
    w = await shopAtV1('postgres');
    // DDL outside the project's schemas: the catalog version moves, the project's fingerprint does not (no drift), so
    // the drift stage reads the fingerprint.
    await w.target.query('CREATE SCHEMA elsewhere; CREATE TABLE elsewhere.t (i int)');
    writeAll(w, V2);
    gate = new Promise<void>((resolve) => {
      liveReadSent = resolve;
      setTimeout(resolve, 5000).unref();
    });
    const from = log.events.length;
    const out = await deployOk(w);
    const ev = log.events.slice(from);
    const lock = ev.find((e) => /pg_try_advisory_lock/.test(e.text))!.session;
    const onLock = ev.filter((e) => e.kind === 'sent' && e.session === lock).map((e) => e.text);
    const version = onLock.findIndex((t) => CATALOG_VERSION.test(t));
    expect(version).toBeGreaterThanOrEqual(0);
    // The drift reading's three requests, one after the other on the lock's session, nothing between them.
    expect(onLock[version + 1], 'after the catalog version').toMatch(DEPLOYMENT_ROWS);
    expect(onLock[version + 2], 'after the last deployment').toMatch(FINGERPRINT);
    // V2 adds a column: the project is planned by a diff, whose live read was sent while the reading waited.
    expect(ev.some((e) => e.kind === 'sent' && /^\s*select con\.oid/m.test(e.text))).toBe(true);
    expect(out).not.toMatch(/changed outside dbee/);
    const status = await run(w.root, 'status', { project: 'shop' }, w.target.vars);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('drift: no');
  });
});
