import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Connection } from '@dbee/core';
import { isAlive } from '../lock/postgres-lock';
import { ident, literal } from '../render/quote';

/**
 * A server shadow's (`shadow: server`) name records when, by which process and on which host it was made:
 * `dbee_shadow_<seconds since 1970, base 36>_<pid>_<host>_<random>` (`<host>`: 6 hex digits of the host name's hash),
 * and its database comment the host again. A run killed while its scratch database exists (the rollback test's copy,
 * a dry run's), even during its `CREATE DATABASE` before the comment, leaves it behind; the next command that makes a
 * scratch database on that server removes it ({@link removeLeftShadows}).
 */
export function shadowName(now = Date.now()): string {
  return `dbee_shadow_${Math.floor(now / 1000).toString(36)}_${process.pid}_${HOST}_${randomBytes(3).toString('hex')}`;
}

/** This host in a shadow's name: 6 hex digits of its name's hash. */
const HOST = createHash('sha256').update(hostname()).digest('hex').slice(0, 6);

/** The comment that records the shadow's host (its name records the time and the process). */
export function shadowComment(name: string): string {
  return `COMMENT ON DATABASE ${ident(name)} IS ${literal(`dbee scratch database of ${hostname()} pid ${process.pid}`)}`;
}

/** A scratch database older than this with no session on it is removed whoever made it (its maker is gone). */
export const LEFT_AFTER_MS = 10 * 60_000;

/** A shadow's name; the host part is absent from the names of earlier versions (their comment says the host). */
const NAMED = /^dbee_shadow_([0-9a-z]+)_(\d+)_(?:([0-9a-f]{6})_)?[0-9a-f]{6}$/;

/**
 * Drop the scratch databases dbee left on this server: named by {@link shadowName}, with no session on them, and
 * either made on this host by a process that is gone, or older than {@link LEFT_AFTER_MS}. A scratch database in use
 * always has its maker's session on it; `DROP DATABASE` (without FORCE) refuses one that gained a session meanwhile.
 * Returns the names dropped. Never throws: a database it cannot drop is left for the next command.
 */
export async function removeLeftShadows(admin: Connection, now = Date.now()): Promise<string[]> {
  const left = await admin
    .query<{ datname: string; comment: string | null }>(
      `SELECT d.datname, shobj_description(d.oid, 'pg_database') AS comment FROM pg_database d
        WHERE d.datname LIKE 'dbee\\_shadow\\_%'
          AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)`,
    )
    .then(
      (r) => r.rows,
      () => [],
    );
  const dropped: string[] = [];
  for (const { datname, comment } of left) {
    const m = NAMED.exec(datname);
    if (!m) continue;
    const madeAt = Number.parseInt(m[1]!, 36) * 1000;
    const pid = Number(m[2]);
    const here = m[3] === HOST || comment === `dbee scratch database of ${hostname()} pid ${pid}`;
    if (!(here && !isAlive(pid)) && now - madeAt < LEFT_AFTER_MS) continue;
    const ok = await admin.execute(`DROP DATABASE IF EXISTS ${ident(datname)}`).then(
      () => true,
      () => false,
    );
    if (ok) dropped.push(datname);
  }
  return dropped;
}
