import type { BlueGreenSide, OpenTransaction } from '../engine/blue-green-role';
import { DbeeError } from '../errors';
import { otherSide } from './names';
import { feeding, sideOf, sleep, type Replication } from './replication';

/** What a switchover waits for before it pauses the writes, and how long. */
export interface ReadyBounds {
  /**
   * The pause the switchover is designed to: it pauses only once the other side's lag drains within this at the rate
   * this subscription applies (`blueGreen.pauseBudget`). Default 1 s.
   */
  pauseBudgetMs: number;
  /** The longest it waits, writes flowing, for the lag to fit the budget (`blueGreen.catchUpWait`). Default 30 s. */
  catchUpWaitMs: number;
  /** The longest it waits, writes flowing, for transactions open on the side serving to end. Default 10 s. */
  transactionWaitMs: number;
  /**
   * Past `transactionWaitMs`, end the sessions of the transactions still open (`blueGreen.endTransactions`) instead of
   * refusing. Default false.
   */
  endTransactions: boolean;
}

/** What the switchover found ready: the lag, the apply rate it measured, the drain it expects, the waits. */
export interface Ready {
  lagBytes: number;
  /** Bytes of WAL a second the other side confirmed while measured; null when nothing was to apply. */
  applyBytesPerSecond: number | null;
  /** How long draining `lagBytes` takes at that rate, in milliseconds. */
  drainMs: number;
  /** How long it waited for the lag, and for open transactions. */
  waitedMs: number;
  transactionsWaitedMs: number;
  /** Sessions it ended (`endTransactions`). */
  ended: OpenTransaction[];
}

/** Lag that drains in a moment whatever the rate (a few dozen small transactions): never waited for. */
const SMALL_LAG = 16 * 1024;
/** How long the apply rate is measured over, and how often the lag is read. */
const RATE_WINDOW_MS = 1000;
const POLL_MS = 100;

/**
 * Wait, writes flowing, until the side serving (`from`) has no transaction open longer than half the pause budget: a
 * router's pause waits for the transactions running through it, so one left open would hold every write for as long.
 * Past `transactionWaitMs` the switchover is refused, naming each (pid, application, role, age, state), or with
 * `endTransactions` their sessions are ended. Returns how long it waited and whom it ended.
 */
export async function openTransactionsEnded(
  rep: Replication,
  from: BlueGreenSide,
  bounds: ReadyBounds,
  phase: string,
): Promise<{ waitedMs: number; ended: OpenTransaction[] }> {
  const conn = sideOf(rep, from).conn;
  const olderThan = longTransactionMs(bounds);
  const t0 = Date.now();
  let said = false;
  for (;;) {
    const open = await rep.role.openTransactions(conn, olderThan);
    if (!open.length) return { waitedMs: Date.now() - t0, ended: [] };
    if (Date.now() - t0 >= bounds.transactionWaitMs) {
      if (bounds.endTransactions && rep.dryRun) {
        rep.reporter.info(
          `would end ${open.length} session(s) on ${from} whose transaction stayed open: ${list(open)}`,
        );
        return { waitedMs: Date.now() - t0, ended: [] };
      }
      if (bounds.endTransactions) {
        await rep.role.endSessions(
          conn,
          open.map((t) => t.pid),
        );
        rep.reporter.warn(`ended ${open.length} session(s) on ${from} whose transaction stayed open: ${list(open)}`);
        return { waitedMs: Date.now() - t0, ended: open };
      }
      throw new DbeeError(
        `${open.length} transaction(s) on ${from} stayed open for more than ${seconds(bounds.transactionWaitMs)}: ${list(open)}; the router's pause would hold every write until they end`,
        {
          code: 'TRANSACTIONS_OPEN',
          hint: `end them (or let the application commit), then run the ${phase} again; or set blueGreen.endTransactions: true to end their sessions after blueGreen.transactionWait (now ${seconds(bounds.transactionWaitMs)}); nothing was changed`,
          details: { transactions: open },
        },
      );
    }
    if (!said) {
      rep.reporter.info(
        `waiting up to ${seconds(bounds.transactionWaitMs)} for ${open.length} transaction(s) open on ${from} to end before pausing: ${list(open)}`,
      );
      said = true;
    }
    await sleep(POLL_MS);
  }
}

/**
 * Wait, writes flowing, until the other side's lag drains within the pause budget at the rate it applies now (read on
 * `from`'s slot: the bytes it confirmed over the last second). A lag of a few kilobytes never waits. Past
 * `catchUpWaitMs`, refused (`REPLICATION_LAGGING`) with the lag, the rate and the settings to change: nothing paused.
 */
export async function caughtUp(
  rep: Replication,
  from: BlueGreenSide,
  bounds: ReadyBounds,
  phase: string,
  waitMs = bounds.catchUpWaitMs,
): Promise<Omit<Ready, 'transactionsWaitedMs' | 'ended'>> {
  const to = otherSide(from);
  const conn = sideOf(rep, from).conn;
  const slot = feeding(rep, from);
  const t0 = Date.now();
  const samples: { at: number; confirmed: number }[] = [];
  let said = false;
  for (;;) {
    const read = await rep.role.confirmed(conn, slot);
    if (!read) throw new DbeeError(`the slot ${slot} is missing on ${from}`, { code: 'REPLICATION_FAILED' });
    const now = Date.now();
    samples.push({ at: now, confirmed: read.confirmed });
    while (samples.length > 2 && now - samples[1]!.at >= RATE_WINDOW_MS) samples.shift();
    const lagBytes = Math.max(0, read.current - read.confirmed);
    const first = samples[0]!;
    const span = now - first.at;
    const rate = span >= RATE_WINDOW_MS / 2 ? ((read.confirmed - first.confirmed) * 1000) / span : null;
    const drainMs = lagBytes === 0 ? 0 : rate ? Math.round((lagBytes * 1000) / rate) : Number.POSITIVE_INFINITY;
    // Half the budget for the drain: the rest is the router's pause, route and resume, and the writes of the moment.
    if (lagBytes <= SMALL_LAG || drainMs <= bounds.pauseBudgetMs / 2)
      return { lagBytes, applyBytesPerSecond: rate === null ? null : Math.round(rate), drainMs, waitedMs: now - t0 };
    if (now - t0 >= waitMs) {
      const rateText =
        rate === null
          ? 'an apply rate not yet measured'
          : `${Math.round(rate).toLocaleString('en-US')} bytes/s applied`;
      throw new DbeeError(
        `${to} is ${lagBytes.toLocaleString('en-US')} bytes of WAL behind ${from} at ${rateText}: draining it would pause the writes about ${Number.isFinite(drainMs) ? `${(drainMs / 1000).toFixed(1)} s` : 'until the apply runs again'}, more than the pause budget of ${seconds(bounds.pauseBudgetMs)} allows (half of it for the drain); waited ${seconds(now - t0)} for ${to} to catch up`,
        {
          code: 'REPLICATION_LAGGING',
          hint: `run the ${phase} again when the writes are lighter, or raise blueGreen.pauseBudget (the writes then pause longer) or blueGreen.catchUpWait (now ${seconds(waitMs)}); nothing was changed`,
          details: { lagBytes, applyBytesPerSecond: rate, pauseBudgetMs: bounds.pauseBudgetMs, waitedMs: now - t0 },
        },
      );
    }
    if (!said && now - t0 >= 2 * POLL_MS) {
      rep.reporter.info(
        `waiting up to ${seconds(waitMs)} for ${to} to catch up before pausing (${lagBytes.toLocaleString('en-US')} bytes behind)`,
      );
      said = true;
    }
    await sleep(POLL_MS);
  }
}

/** A transaction open longer than this would hold the router's pause beyond its design: half the pause budget. */
export function longTransactionMs(bounds: Pick<ReadyBounds, 'pauseBudgetMs'>): number {
  return Math.max(50, Math.floor(bounds.pauseBudgetMs / 2));
}

/** Open transactions as the messages name them: pid, application, role, age, state (the first five). */
export function list(open: readonly OpenTransaction[]): string {
  return open
    .slice(0, 5)
    .map(
      (t) =>
        `pid ${t.pid} (${t.application || 'no application name'}, role ${t.user}, open ${seconds(t.ageMs)}, ${t.state})`,
    )
    .concat(open.length > 5 ? [`and ${open.length - 5} more`] : [])
    .join(', ');
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1).replace(/\.0$/, '')} s` : `${Math.round(ms / 1000)} s`;
}
