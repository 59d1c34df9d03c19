import type { BlueGreenSide, OpenTransaction, PublishedTable } from '../engine/blue-green-role';
import { DbeeError } from '../errors';
import { otherSide, publicationOf } from './names';
import type { BlueGreenPhase, StepInput } from './record';
import {
  conninfoOf,
  dropSlot,
  failed,
  feeding,
  send,
  sideOf,
  sleep,
  type Replication,
  type ReplicationSide,
} from './replication';
import { caughtUp, list, longTransactionMs, openTransactionsEnded, type Ready, type ReadyBounds } from './readiness';
import type { Router } from './router';

/** The guard rails of a switchover: before the pause (`ReadyBounds`: what it waits for), and during it. */
export interface SwitchBounds extends ReadyBounds {
  /** Refused while the side switched to is behind by more than this many bytes of WAL. Default 16 MiB. */
  maxLagBytes: number;
  /**
   * The longest the application's writes stay paused: past it (or at any failure) the switchover is undone and the
   * writes resume on the side that served before. Default 10 s.
   */
  timeoutMs: number;
}

export const SWITCH_DEFAULTS: SwitchBounds = {
  maxLagBytes: 16 * 1024 * 1024,
  timeoutMs: 10_000,
  pauseBudgetMs: 1_000,
  catchUpWaitMs: 30_000,
  transactionWaitMs: 10_000,
  endTransactions: false,
};

/** What a switchover is given. */
export interface SwitchInput {
  rep: Replication;
  router: Router;
  /** The side serving now: the application moves to the other. */
  from: BlueGreenSide;
  /** The owned schemas, whose sequences are set on the side switched to. */
  schemas: readonly string[];
  bounds: SwitchBounds;
  /**
   * Run once the guard passed, before anything changes: the refusals that need more than replication's state (green's
   * tables read against blue's; reading a catalog can wait behind the lock that makes a subscriber lag). Resolves to
   * blue's tables with blue's columns: what green's publication carries back to blue (made on the first switch).
   */
  inspect(): Promise<readonly PublishedTable[]>;
  /** Write one step of the phase to the ledger (`BlueGreenLedger.record`, phase and ticket filled in). */
  record: (step: Omit<StepInput, 'phase'>) => Promise<void>;
}

/** What a switchover did: how long the writes were paused, and each step's milliseconds. */
export interface SwitchResult {
  to: BlueGreenSide;
  pausedMs: number;
  steps: { step: string; ms: number }[];
  /** Bytes behind when the guard read them. */
  lagBytes: number;
  /** What the switchover waited for before pausing: the lag it paused at, the apply rate, the waits (not when settled). */
  ready?: Ready;
}

/** One step inside the pause, with what undoes it. */
interface PausedStep {
  step: string;
  /** Resolves to what the ledger row's detail says about it, if anything (an object). */
  run(): Promise<unknown>;
  undo?(): Promise<void>;
}

/** The phase a switchover from `from` is recorded as: to green a `switch`, back to blue a `fallback`. */
export function switchPhase(from: BlueGreenSide): BlueGreenPhase {
  return from === 'blue' ? 'switch' : 'fallback';
}

/**
 * Move the application from `from` to the other side with its writes paused for as short a time as the data allows:
 * 1. guard: refused (nothing changed) while the subscription feeding the other side has failed, or lags beyond
 *    `maxLagBytes`, or the router already points elsewhere;
 * 2. prepare (writes still flowing): the publication carrying blue's columns back, made on green when missing; what an
 *    earlier attempt left of the way back, dropped;
 * 3. paused: the router holds writes; the other side confirms every change of `from` up to the position read after
 *    the pause; its sequences are set past `from`'s; the subscription feeding it stops; the way back starts (a slot on
 *    it, made now, so it carries exactly the writes after the switch; a subscription on `from` without copying); the
 *    router points at it; writes resume;
 * 4. after: the stopped subscription and its slot are dropped.
 * The phase's rows: `begin` once the guard passed (a refusal writes nothing), a row per step as it ends, `end`. A failure in 3, or 3 lasting beyond `timeoutMs`, undoes the steps
 * done in reverse (the router back at `from`, the way back dropped, the subscription restarted) and resumes the writes
 * on `from`: `SWITCHOVER_FAILED` (exit 2). A dry run reads the guard and prints the rest.
 */
export async function switchover(input: SwitchInput): Promise<SwitchResult> {
  const { rep, from, bounds } = input;
  const to = otherSide(from);
  const phase = switchPhase(from);
  const lagBytes = await guard(input);
  const blueTables = await input.inspect();
  // Before anything changes, writes flowing (the dry run alike: the same refusals): no transaction left open that the
  // router's pause would wait for, and a lag that drains within the pause budget.
  const transactions = await openTransactionsEnded(rep, from, bounds, phase);
  const first = await caughtUp(rep, from, bounds, phase);
  if (rep.dryRun) {
    printPlan(input, first);
    return { to, pausedMs: 0, steps: [], lagBytes };
  }
  await input.record({ step: 'begin', status: 'started', live: from });
  await input.record({
    step: 'guard',
    status: 'done',
    live: from,
    detail: {
      lagBytes,
      readyLagBytes: first.lagBytes,
      applyBytesPerSecond: first.applyBytesPerSecond,
      drainMs: first.drainMs,
      waitedMs: first.waitedMs,
      transactionsWaitedMs: transactions.waitedMs,
      ended: transactions.ended,
    },
  });
  await prepare(input, blueTables);
  // Once more, just before pausing (preparing took its time): a refusal here has paused nothing either.
  let ready: Ready;
  try {
    const last = await caughtUp(rep, from, bounds, phase, Math.min(bounds.catchUpWaitMs, 5_000));
    ready = {
      ...last,
      waitedMs: first.waitedMs + last.waitedMs,
      transactionsWaitedMs: transactions.waitedMs,
      ended: transactions.ended,
    };
  } catch (e) {
    await input.record({ step: 'end', status: 'undone', live: from, detail: { refused: message(e) } });
    throw e;
  }
  const done: PausedStep[] = [];
  const timings: { step: string; ms: number }[] = [];
  const started = Date.now();
  const deadline = started + input.bounds.timeoutMs;
  try {
    for (const step of pausedSteps(input)) {
      const t0 = Date.now();
      const out = await beforeDeadline(step.run(), deadline, step.step, input.bounds.timeoutMs);
      const detail = out && typeof out === 'object' ? (out as Record<string, unknown>) : undefined;
      done.push(step);
      timings.push({ step: step.step, ms: Date.now() - t0 });
      await input.record({
        step: step.step,
        status: 'done',
        live: step.step === 'resume' ? to : from,
        durationMs: Date.now() - t0,
        ...(detail ? { detail } : {}),
      });
    }
  } catch (e) {
    await undo(input, done, e);
  }
  const pausedMs = Date.now() - started;
  await cleanUp(input);
  await input.record({
    step: 'end',
    status: 'done',
    live: to,
    durationMs: pausedMs,
    detail: { pausedMs, steps: timings, lagBytes: ready.lagBytes, applyBytesPerSecond: ready.applyBytesPerSecond },
  });
  return { to, pausedMs, steps: timings, lagBytes, ready };
}

/** Refusals before anything changes; returns the lag read. */
async function guard({ rep, router, from, bounds }: SwitchInput): Promise<number> {
  const to = otherSide(from);
  const direction = feeding(rep, from);
  const health = await streaming(rep, to, direction);
  if (!health.exists || !health.enabled) {
    const why = health.exists ? 'it is stopped' : 'it does not exist';
    throw failed(rep, to, health.failed ?? why, `waiting for the ${switchPhase(from)}`);
  }
  if (health.failed) throw failed(rep, to, health.failed, `waiting for the ${switchPhase(from)}`);
  if (!health.running)
    throw failed(
      rep,
      to,
      `its apply worker did not start within ${START_WAIT_MS / 1000} s`,
      `waiting for the ${switchPhase(from)}`,
    );
  const lag = await rep.role.lag(sideOf(rep, from).conn, direction);
  if (!lag.exists || lag.lost)
    throw failed(rep, to, lag.lost ?? `the slot ${direction} is missing on ${from}`, 'streaming');
  if ((lag.bytes ?? 0) > bounds.maxLagBytes) {
    throw new DbeeError(
      `${to} is ${lag.bytes} bytes of WAL behind ${from}, more than the bound of ${bounds.maxLagBytes}: the ${switchPhase(from)} would pause writes until it catches up`,
      {
        code: 'REPLICATION_LAGGING',
        hint: `wait for ${to} to catch up (dbee status shows the lag), or raise the bound; nothing was changed`,
        details: { lagBytes: lag.bytes, maxLagBytes: bounds.maxLagBytes },
      },
    );
  }
  const serving = await router.serving();
  if (serving !== null && serving !== from) {
    throw new DbeeError(`${router.description} points at ${serving} already, not at ${from}`, {
      code: 'BLUE_GREEN_STATE',
      hint: `the router was moved by hand: point it back at ${from} first, or record the state by running the phase that moved it; nothing was changed`,
    });
  }
  return lag.bytes ?? 0;
}

/** How long the guard waits, writes flowing, for the apply worker of the subscription feeding the other side. */
const START_WAIT_MS = 30_000;

/**
 * The subscription feeding `to` as its subscriber sees it, once its apply worker runs (waited for up to
 * `START_WAIT_MS`, nothing paused): the server starts the worker of a new subscription only every
 * `wal_retrieve_retry_interval` (5 s by default), so a fallback soon after a switch found the way back not yet
 * streaming, and its drain waited for the worker with the writes paused (about 3 s in the benchmark).
 */
async function streaming(rep: Replication, to: BlueGreenSide, direction: string) {
  const deadline = Date.now() + START_WAIT_MS;
  for (;;) {
    const health = await rep.role.health(sideOf(rep, to).conn, direction);
    if (health.running || !health.exists || !health.enabled || health.failed || Date.now() > deadline) return health;
    await sleep(50);
  }
}

/** What can be done with the writes still flowing: green's publication, leftovers of the way back cleared. */
async function prepare({ rep, from, record }: SwitchInput, blueTables: readonly PublishedTable[]): Promise<void> {
  const to = otherSide(from);
  const back = feeding(rep, to);
  const t0 = Date.now();
  if (to === 'green') await send(rep, rep.green, rep.role.publish(rep.names.greenPublication, blueTables));
  await send(rep, sideOf(rep, from), rep.role.unsubscribe(back));
  await dropSlot(rep, sideOf(rep, to), back);
  await record({ step: 'prepare', status: 'done', live: from, durationMs: Date.now() - t0 });
}

/** The steps inside the pause, in order, each with its undo. */
function pausedSteps(input: SwitchInput): PausedStep[] {
  const { rep, router, from } = input;
  const to = otherSide(from);
  const source = sideOf(rep, from);
  const target = sideOf(rep, to);
  const ahead = feeding(rep, from);
  const back = feeding(rep, to);
  return [
    { step: 'pause', run: () => pauseWrites(input), undo: () => router.resume() },
    { step: 'drain', run: () => drain(rep, source, target, ahead) },
    { step: 'sequences', run: () => copySequences(rep, source, target, input.schemas) },
    {
      step: 'stop',
      run: () => send(rep, target, rep.role.enable(ahead, false)),
      undo: () => send(rep, target, rep.role.enable(ahead, true)),
    },
    {
      step: 'slot',
      run: async () => {
        const r = await target.conn.query<Record<string, unknown>>(rep.role.createSlot(back));
        return { position: Object.values(r.rows[0] ?? {})[0] ?? null };
      },
      undo: () => dropSlot(rep, target, back),
    },
    {
      step: 'subscribe',
      run: () =>
        send(
          rep,
          source,
          rep.role.subscribe({
            name: back,
            slot: back,
            publication: publicationOf(rep.names, to),
            conninfo: conninfoOf(rep, target),
            copyData: false,
          }),
        ),
      undo: () => send(rep, source, rep.role.unsubscribe(back)),
    },
    // Blue was made read-only for the application when the switch retired it: writable again before it serves.
    ...(to === 'blue'
      ? [
          {
            step: 'writable',
            run: () => send(rep, target, rep.role.retire(false)),
            undo: () => send(rep, target, rep.role.retire(true)),
          },
        ]
      : []),
    { step: 'route', run: () => router.route(to), undo: () => router.route(from) },
    { step: 'resume', run: () => router.resume() },
  ];
}

/**
 * The router's pause; with `endTransactions`, the sessions holding it ended. A router's pause waits for the
 * transactions running through it, and the wait before pausing (`openTransactionsEnded`) sees only those open longer
 * than half the pause budget when it reads: one younger then, or begun since (until the router paused), that stays
 * open would hold every write until the switchover's bound undid it. So once the pause has lasted half the pause
 * budget without ending, the transactions open on the side serving for longer than that are ended, as the wait before
 * pausing ends them (read again every `HOLD_POLL_MS` until the pause ends). Without `endTransactions` the pause is only
 * waited for. The row's detail names whom it ended.
 */
async function pauseWrites({ rep, router, from, bounds }: SwitchInput): Promise<Record<string, unknown> | undefined> {
  const asked = Date.now();
  let settled = false;
  const paused = router.pause().finally(() => {
    settled = true;
  });
  if (!bounds.endTransactions) return paused.then(() => undefined);
  const conn = sideOf(rep, from).conn;
  const ended: OpenTransaction[] = [];
  const holdMs = longTransactionMs(bounds);
  // Stops at the step's bound: past it the switchover is undone and nothing here is waited for.
  while (!settled && Date.now() - asked < bounds.timeoutMs) {
    await Promise.race([paused.catch(() => {}), sleep(HOLD_POLL_MS)]);
    if (settled || Date.now() - asked < holdMs) continue;
    const holding = await rep.role.openTransactions(conn, holdMs);
    if (!holding.length) continue;
    await rep.role.endSessions(
      conn,
      holding.map((t) => t.pid),
    );
    ended.push(...holding);
    rep.reporter.warn(
      `ended ${holding.length} session(s) on ${from} whose transaction held the router's pause: ${list(holding)}`,
    );
  }
  await paused;
  return ended.length ? { ended } : undefined;
}

/** How often the pause reads the transactions that hold it. */
const HOLD_POLL_MS = 100;

/** Wait until `target` has confirmed every change of `source` up to now; the lag read meanwhile is in the detail. */
async function drain(
  rep: Replication,
  source: ReplicationSide,
  target: ReplicationSide,
  direction: string,
): Promise<Record<string, unknown>> {
  const position = await rep.role.position(source.conn);
  let polls = 0;
  while (!(await rep.role.reached(source.conn, direction, position))) {
    if (++polls % 20 === 0) {
      const health = await rep.role.health(target.conn, direction);
      if (health.failed) throw failed(rep, target.side, health.failed, 'draining');
    }
    await sleep(5);
  }
  return { position, polls };
}

/** `target`'s sequences set past `source`'s values (logical replication carries no sequence). */
async function copySequences(
  rep: Replication,
  source: ReplicationSide,
  target: ReplicationSide,
  schemas: readonly string[],
): Promise<Record<string, unknown>> {
  const values = await rep.role.sequences(source.conn, schemas);
  const statements = rep.role.setSequences(values);
  if (statements.length) await target.conn.execute(statements.join(';\n'));
  // The values the side that stops serving had: any key it gives after this was written there directly (`finish`).
  return {
    sequences: values.length,
    values: Object.fromEntries(values.map((v) => [`${v.schema}.${v.name}`, v.value])),
  };
}

/** `work`, or a rejection once `deadline` passes (the work may go on: what undoes it runs after it either way). */
async function beforeDeadline<T>(work: Promise<T>, deadline: number, step: string, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`step ${step} did not end within the ${timeoutMs} ms the writes may stay paused`)),
      Math.max(0, deadline - Date.now()),
    );
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Put back what the steps in `done` did, last first, resume the writes where they were, and throw
 * `SWITCHOVER_FAILED` with `cause`. An undo that fails is recorded and the rest still run; a resume that fails is said
 * in the error, which then tells how to resume by hand.
 */
async function undo(input: SwitchInput, done: PausedStep[], cause: unknown): Promise<never> {
  const { router, from, record } = input;
  const failedStep = pausedSteps(input)[done.length]?.step ?? 'resume';
  await record({ step: failedStep, status: 'failed', live: from, detail: { error: message(cause) } }).catch(() => {});
  const problems: string[] = [];
  for (const step of [...done].reverse()) {
    if (!step.undo || step.step === 'pause') continue;
    try {
      await step.undo();
      await record({ step: step.step, status: 'undone', live: from });
    } catch (e) {
      problems.push(`undoing ${step.step}: ${message(e)}`);
    }
  }
  let resumed = true;
  try {
    await router.resume();
  } catch (e) {
    resumed = false;
    problems.push(`resuming: ${message(e)}`);
  }
  await record({
    step: 'end',
    status: 'undone',
    live: from,
    detail: { failedAt: failedStep, error: message(cause), ...(problems.length ? { problems } : {}) },
  }).catch(() => {});
  const to = otherSide(from);
  throw new DbeeError(
    `the ${switchPhase(from)} to ${to} failed at step ${failedStep} (${message(cause)}); ${resumed ? `writes resumed on ${from}` : `WRITES ARE STILL PAUSED on ${router.description}`}${problems.length ? `; ${problems.join('; ')}` : ''}`,
    {
      code: 'SWITCHOVER_FAILED',
      hint: resumed
        ? `${from} serves as before and ${to} is kept in sync again; fix the cause and run the ${switchPhase(from)} again`
        : `resume the writes by hand on ${router.description} (${router.describe(from).at(-1)}), then run the ${switchPhase(from)} again`,
      cause,
    },
  );
}

/**
 * After the writes resumed: the subscription that fed the side switched to, and its slot, dropped; blue, when the
 * switch leaves it, made read-only for the application (`BlueGreenRole.retire`: a client that bypasses the router then
 * fails instead of writing rows no one reads; a fallback makes it writable again). A server that refuses it (dbee's
 * role may not alter the database) is said, not a failure: the switch is done.
 */
async function cleanUp({ rep, from, record }: Pick<SwitchInput, 'rep' | 'from' | 'record'>): Promise<void> {
  const to = otherSide(from);
  const ahead = feeding(rep, from);
  const t0 = Date.now();
  await send(rep, sideOf(rep, to), rep.role.unsubscribe(ahead));
  await dropSlot(rep, sideOf(rep, from), ahead);
  let retired: boolean | string = false;
  if (from === 'blue') {
    try {
      await send(rep, rep.blue, rep.role.retire(true));
      retired = true;
    } catch (e) {
      retired = message(e);
      rep.reporter.warn(
        `blue (${rep.blue.environment.name}) could not be made read-only for the application (${retired}): a client that writes to it directly, bypassing the router, writes rows green never gets (finish refuses over them)`,
      );
    }
  }
  await record({ step: 'cleanup', status: 'done', live: to, durationMs: Date.now() - t0, detail: { retired } });
}

/** What settling a switchover that did not end is given: its side `from`, and the step it recorded last. */
export type InterruptedInput = Pick<SwitchInput, 'rep' | 'router' | 'from' | 'record'> & { lastStep: string };

/**
 * A switchover whose process died (its `begin` has no `end`), put right before anything else runs; the writes may
 * still be paused on the router. When it had moved the router (the router says it points at the other side, or, for a
 * router that cannot tell, the last step recorded is `route` or `resume`), it is finished: writes resumed, the
 * subscription that fed the other side and its slot dropped, `end` done. Otherwise it is undone like a failed one: the
 * router pointed back at `from`, the way back dropped, the subscription feeding the other side started again, writes
 * resumed, `end` undone. Every statement is one that does nothing when there is nothing to do. Returns the side that
 * serves.
 */
export async function settleInterrupted(input: InterruptedInput): Promise<BlueGreenSide> {
  const { rep, router, from, record, lastStep } = input;
  const to = otherSide(from);
  const serving = await router.serving();
  const routed = serving === null ? lastStep === 'route' || lastStep === 'resume' : serving === to;
  if (routed) {
    await router.resume();
    await cleanUp(input);
    await record({ step: 'end', status: 'done', live: to, detail: { settled: 'finished after its process ended' } });
    rep.reporter.warn(`the ${switchPhase(from)} to ${to} had moved the router when its process ended: finished it`);
    return to;
  }
  const back = feeding(rep, to);
  const ahead = feeding(rep, from);
  await router.route(from);
  // An undone fallback: blue, made writable inside its pause, is read-only again while green serves.
  if (to === 'blue') await send(rep, rep.blue, rep.role.retire(true));
  await send(rep, sideOf(rep, from), rep.role.unsubscribe(back));
  await dropSlot(rep, sideOf(rep, to), back);
  await send(rep, sideOf(rep, to), rep.role.enable(ahead, true));
  await router.resume();
  await record({ step: 'end', status: 'undone', live: from, detail: { settled: 'undone after its process ended' } });
  rep.reporter.warn(
    `the ${switchPhase(from)} to ${to} did not finish (its process ended at step ${lastStep}): undone, ${from} serves`,
  );
  return from;
}

/** A dry run's account of the steps: the router's lines and the statements, as the real run sends them. */
function printPlan(input: SwitchInput, ready: Omit<Ready, 'transactionsWaitedMs' | 'ended'>): void {
  const { rep, router, from } = input;
  const to = otherSide(from);
  const say = (line: string) => rep.reporter.info(line);
  say(
    `${switchPhase(from)} from ${from} to ${to}: ${to} is ${ready.lagBytes} bytes behind${ready.applyBytesPerSecond ? ` at ${ready.applyBytesPerSecond} bytes/s applied` : ''}, within the pause budget of ${input.bounds.pauseBudgetMs} ms; the writes pause for at most ${input.bounds.timeoutMs} ms`,
  );
  const lines = router.describe(to);
  say(`  router: ${lines[0]}`);
  say(
    `  wait until ${to} has every change of ${from}; set ${to}'s sequences past ${from}'s; stop ${feeding(rep, from)}`,
  );
  say(`  ${to}: ${rep.role.createSlot(feeding(rep, to))}`);
  for (const sql of rep.role.subscribe({
    name: feeding(rep, to),
    slot: feeding(rep, to),
    publication: publicationOf(rep.names, to),
    conninfo: conninfoOf(rep, sideOf(rep, to)),
    copyData: false,
  }))
    say(`  ${from}: ${sql}`);
  for (const line of lines.slice(1)) say(`  router: ${line}`);
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
