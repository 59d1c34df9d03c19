import { createHash } from 'node:crypto';
import type { BlueGreenSide } from '../engine/blue-green-role';

/**
 * The names of what a blue/green deployment makes for replication. A direction is named by the side it feeds:
 * `toGreen` is the slot on blue and the subscription on green that carry blue's writes to green; `toBlue` the slot on
 * green and the subscription on blue that carry green's writes back after a switchover. Slots are named per cluster,
 * so both directions differ even when blue and green share one.
 */
export interface ReplicationNames {
  /** The publication on blue: the project's tables, every column. */
  bluePublication: string;
  /** The publication on green: the same tables, only the columns blue has (what blue can take back). */
  greenPublication: string;
  /** Slot on blue, subscription on green. */
  toGreen: string;
  /** Slot on green, subscription on blue. */
  toBlue: string;
}

/** Longest name of a slot or publication (PostgreSQL's identifiers: 63 bytes). */
const MAX = 63;

/**
 * The names for `project` deployed blue/green from environment `blue`, e.g. `dbee_bg_sales_3f2a91_to_green`: lower-case
 * letters, digits and `_` only (what a replication slot's name may hold), the project's name cut to fit, and a hash of
 * the environment, the project and the two databases (`databases`: blue's and green's, as `host:port/name` or the
 * database's name), so that two blue/green deployments on one cluster never share a slot, even from two workspaces
 * with the same environment and project names (a slot is named per cluster, a publication per database). Without
 * `databases`: the names dbee gave before it hashed the databases (`legacyReplicationNames`).
 */
export function replicationNames(
  project: string,
  blue: string,
  databases?: { blue: string; green: string },
): ReplicationNames {
  const key = databases ? `${blue}\0${project}\0${databases.blue}\0${databases.green}` : `${blue}\0${project}`;
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 6);
  const safe = project
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  const base = `dbee_bg_${safe.slice(0, MAX - 'dbee_bg__000000_pub_green'.length)}_${hash}`.replace(/__+/g, '_');
  return {
    bluePublication: `${base}_pub_blue`,
    greenPublication: `${base}_pub_green`,
    toGreen: `${base}_to_green`,
    toBlue: `${base}_to_blue`,
  };
}

/** Whether `x` is a `ReplicationNames` (as a ledger row's detail keeps it). */
export function isReplicationNames(x: unknown): x is ReplicationNames {
  if (!x || typeof x !== 'object') return false;
  const o = x as Record<string, unknown>;
  return ['bluePublication', 'greenPublication', 'toGreen', 'toBlue'].every(
    (k) => typeof o[k] === 'string' && /^[a-z0-9_]{1,63}$/.test(o[k] as string),
  );
}

/** The other side. */
export function otherSide(side: BlueGreenSide): BlueGreenSide {
  return side === 'blue' ? 'green' : 'blue';
}

/** The slot (on `from`) and subscription (on the other side) that carry `from`'s writes to the other side. */
export function directionFrom(names: ReplicationNames, from: BlueGreenSide): string {
  return from === 'blue' ? names.toGreen : names.toBlue;
}

/** The publication on `side`. */
export function publicationOf(names: ReplicationNames, side: BlueGreenSide): string {
  return side === 'blue' ? names.bluePublication : names.greenPublication;
}

/**
 * The names a deployment recorded with its deploy phase's `begin` (`detail.names`), or, for one begun before dbee
 * recorded them, the names of that time; null when `begin` is missing.
 */
export function recordedNames(
  begin: { detail: Record<string, unknown> | null } | undefined,
  project: string,
  blue: string,
): ReplicationNames | null {
  if (!begin) return null;
  const names = begin.detail?.['names'];
  return isReplicationNames(names) ? names : replicationNames(project, blue);
}
