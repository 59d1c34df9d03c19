import type { ResolvedEnvironment } from '../config/resolve';
import type { BlueGreenRole, BlueGreenSide, PublishedTable } from '../engine/blue-green-role';
import type { Connection } from '../engine/engine';
import { DbeeError } from '../errors';
import type { Reporter } from '../runner/reporter';
import { directionFrom, type ReplicationNames } from './names';

/** One side of a blue/green deployment: its environment and an open session on its database (never through the router). */
export interface ReplicationSide {
  side: BlueGreenSide;
  environment: ResolvedEnvironment;
  conn: Connection;
}

/** Both sides, the engine's role and the names of what replication is made of: what every phase works with. */
export interface Replication {
  role: BlueGreenRole;
  names: ReplicationNames;
  blue: ReplicationSide;
  green: ReplicationSide;
  workspaceRoot: string;
  reporter: Reporter;
  /** Print every statement instead of sending it (a dry run: nothing changes). */
  dryRun: boolean;
}

/** The side called `side`. */
export function sideOf(rep: Replication, side: BlueGreenSide): ReplicationSide {
  return side === 'blue' ? rep.blue : rep.green;
}

/**
 * Run `statements` on `side` in order, each on its own (replication's statements refuse a transaction block), or in a
 * dry run print them (`blue: CREATE PUBLICATION ...`): one path, two outputs.
 */
export async function send(rep: Replication, side: ReplicationSide, statements: readonly string[]): Promise<void> {
  for (const sql of statements) {
    if (rep.dryRun) rep.reporter.info(`  ${side.side} (${side.environment.name}): ${sql}`);
    else await side.conn.execute(sql);
  }
}

/** How a subscriber reaches `side`'s database; redacted in a dry run, which prints it. */
export function conninfoOf(rep: Replication, side: ReplicationSide): string {
  return rep.role.conninfo(side.environment, { workspaceRoot: rep.workspaceRoot }, rep.dryRun);
}

/** Wait `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Start carrying blue's writes to green: blue's publication of `tables` (every column), its slot made on its own (a
 * green in blue's cluster would otherwise wait for its own transaction), and green's subscription copying the tables'
 * rows first, then streaming changes from the slot's position.
 */
export async function startSync(rep: Replication, tables: readonly PublishedTable[]): Promise<void> {
  const { role, names, blue, green } = rep;
  await send(rep, blue, role.publish(names.bluePublication, tables));
  await send(rep, blue, [role.createSlot(names.toGreen)]);
  const subscribe = role.subscribe({
    name: names.toGreen,
    slot: names.toGreen,
    publication: names.bluePublication,
    conninfo: conninfoOf(rep, blue),
    copyData: true,
  });
  await send(rep, green, subscribe);
}

/**
 * Wait until green's subscription has copied every table and streams; refused (`REPLICATION_FAILED`) when it fails
 * meanwhile, and after `timeoutMs` without the copy done. `onProgress` hears how many tables are left, when it changes.
 */
export async function waitCopied(
  rep: Replication,
  options: { timeoutMs: number; pollMs?: number; onProgress?: (left: number, tables: number) => void },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let left = -1;
  for (;;) {
    const health = await rep.role.health(rep.green.conn, rep.names.toGreen);
    if (health.failed) throw failed(rep, 'green', health.failed, 'copying the tables');
    if (health.exists && health.running && health.tables > 0 && health.copying === 0) return;
    if (health.copying !== left) options.onProgress?.((left = health.copying), health.tables);
    if (Date.now() > deadline) {
      throw new DbeeError(
        `green's initial copy did not finish within ${Math.round(options.timeoutMs / 1000)} s (${health.copying} of ${health.tables} tables left)`,
        {
          code: 'REPLICATION_LAGGING',
          hint: 'run the deploy phase again to wait longer (the copy goes on meanwhile), or give it a longer bound',
        },
      );
    }
    await sleep(options.pollMs ?? 100);
  }
}

/** The failure of the subscription that feeds `side`, as a refusal. */
export function failed(rep: Replication, side: BlueGreenSide, why: string, doing: string): DbeeError {
  const env = sideOf(rep, side).environment.name;
  return new DbeeError(`the subscription that keeps ${side} (${env}) in sync has failed while ${doing}: ${why}`, {
    code: 'REPLICATION_FAILED',
    hint: `read the server log of ${env} for the error; repair it (or finish the blue/green deployment to drop green and start again), then retry`,
  });
}

/**
 * Drop slot `slot` on `side`, retried for up to `waitMs` while a subscriber's sender still holds it (it ends a moment
 * after its subscription stops).
 */
export async function dropSlot(rep: Replication, side: ReplicationSide, slot: string, waitMs = 10_000): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      await send(rep, side, [rep.role.dropSlot(slot)]);
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(50);
    }
  }
}

/**
 * Drop everything replication is made of, on the sides given (a side whose database is about to be dropped needs
 * nothing dropped): both subscriptions, both slots, both publications. Each statement drops only what exists.
 */
export async function dropReplication(rep: Replication, sides: { blue: boolean; green: boolean }): Promise<void> {
  const { role, names } = rep;
  if (sides.green) await send(rep, rep.green, role.unsubscribe(names.toGreen));
  if (sides.blue) await send(rep, rep.blue, role.unsubscribe(names.toBlue));
  if (sides.blue) await dropSlot(rep, rep.blue, names.toGreen);
  if (sides.green) await dropSlot(rep, rep.green, names.toBlue);
  if (sides.blue) await send(rep, rep.blue, role.unpublish(names.bluePublication));
  if (sides.green) await send(rep, rep.green, role.unpublish(names.greenPublication));
}

/** The slot on `from` and the subscription on the other side that carry `from`'s writes. */
export function feeding(rep: Replication, from: BlueGreenSide): string {
  return directionFrom(rep.names, from);
}
