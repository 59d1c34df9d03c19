import type { BackfillKeyColumn, BackfillRole, BackfillStatements } from '../engine/backfill-role';
import type { Connection, LedgerDialect } from '../engine/engine';
import { DbeeError, ExitCode } from '../errors';
import { openLedger } from '../ledger/open-ledger';
import { type LockRetryOptions, sleep, withLockRetry } from './lock-retry';
import { formatDuration } from '../model/duration';

/**
 * A data change run in keyset batches (its SQL is the engine's `BackfillRole`): `UPDATE table SET <set>` over every row
 * of `table` that exists when it starts (and matches `where`), in batches of consecutive keys, one transaction each.
 * Its cursor (the last key done), the key bound taken at start and its done/total live in the ledger table
 * `<ledger schema>.backfills`, each batch's row written in the batch's own transaction: a kill loses at most the
 * batch that was running, and a rerun with the same `id` resumes after the last committed batch, so no row is
 * updated twice.
 */
export interface BackfillSpec {
  /** Unique name of this backfill in the ledger; a rerun with the same id resumes it. E.g. `sales:R2:orders.total`. */
  id: string;
  /** The table to update. */
  table: { schema: string; name: string };
  /**
   * Key columns, in order, that the batches walk: the table's primary key or a unique key whose columns are all NOT
   * NULL. Default: the primary key, else the narrowest such unique key; a table without one is refused (exit 1).
   * The key of a row must not change while the backfill runs.
   */
  key?: string[];
  /** The `SET` list of the UPDATE, e.g. `total_cents = round(total * 100)`; must not change the key columns. */
  set: string;
  /** Optional condition on the rows to update, e.g. `total_cents IS NULL`. */
  where?: string;
  /** The project it belongs to, recorded in the ledger for `dbee status`. Optional. */
  project?: string;
}

export interface BackfillOptions {
  /** Rows in the first batch (a resumed backfill starts at the size it had reached). Default 1,000. */
  batchSize?: number;
  /**
   * The time a batch holds its rows' locks (from its UPDATE to its commit) that the batch size adapts toward, in
   * milliseconds. Default 250. 0 keeps the size fixed.
   */
  targetBatchMs?: number;
  /** Pause between two batches, in milliseconds (lets replicas and autovacuum keep up). Default 0. */
  pauseMs?: number;
  /**
   * The most WAL per second the batches may write, in bytes: after each batch the backfill pauses (at least
   * `pauseMs`) as long as the WAL that batch wrote (the server's, from the batch's first statement to its UPDATE's
   * end) takes at this rate (see `walPace`). Every commit of the application waits for the WAL written before it to
   * reach the disk, the backfill's included: the bound keeps the backfill's share of the disk's flushes. Default 0:
   * no bound.
   */
  walBytesPerSecond?: number;
  /**
   * The most WAL one batch may write, in bytes: the batch size adapts toward it too (the smaller of the sizes this and
   * `targetBatchMs` ask for; a `targetBatchMs` of 0 keeps the size fixed). A commit of the application that comes
   * after a batch waits for that batch's WAL to reach the disk: this bounds that wait. Default 0: no bound.
   */
  walBytesPerBatch?: number;
  /**
   * Whether a batch compresses the full-page images it writes to the WAL (`SET LOCAL wal_compression`, with the best
   * method the server has: zstd, lz4, else pglz) when the role may set it (a superuser, or `GRANT SET ON PARAMETER
   * wal_compression` on PostgreSQL 15+) and the server does not already. Otherwise the batches run without it.
   * Default true.
   */
  walCompression?: boolean;
  /**
   * Whether the backfill gives way to the application: each batch reads, before it commits, how many sessions wait on
   * the locks it holds and how long the longest has waited (the application's transactions it delays). While some do,
   * each batch halves the next one's size (unless `targetBatchMs` is 0: a fixed size) and pauses, twice as long as the
   * pause before (at least the longest wait, at most `YIELD_MAX_PAUSE_MS`); while none do, the pause halves away and
   * the size grows again toward `targetBatchMs`. The other bounds (`pauseMs`, the WAL's, the sizes') hold as well.
   * Default true.
   */
  yieldToApplication?: boolean;
  /** Largest batch, in rows. Default 50,000. */
  maxBatchSize?: number;
  /** Smallest batch the size adapts down to, in rows. Default 10. */
  minBatchSize?: number;
  /** Called after every committed batch (the CLI prints it). */
  onProgress?: (progress: BackfillProgress) => void;
  /**
   * Stops the backfill between batches: the batch running commits, then the abort reason is thrown; the ledger
   * keeps the cursor and a rerun resumes.
   */
  signal?: AbortSignal;
  /**
   * Lock handling of each batch: it runs under `lock_timeout` (500 ms by default) and is retried on a lock timeout
   * (see `withLockRetry`); `onAttempt` sees every attempt.
   */
  lock?: Omit<LockRetryOptions, 'transaction' | 'signal'>;
  /** Schema of the ledger tables. Default `dbee` (or the schema of `ledger`). */
  ledgerSchema?: string;
  /**
   * The ledger's dialect: a new backfill creates the ledger's `backfills` table when it has none yet (a new ledger
   * creates its feature tables as they are first needed: `LedgerDialect.lazyTables`), in the transaction of its row.
   * Without it the table must exist.
   */
  ledger?: LedgerDialect;
  /**
   * Settings made in each batch's transaction (`set_config(name, value, true)`), e.g. the one that tells an expand's
   * sync trigger to skip the rows of its own backfill.
   */
  settings?: Record<string, string>;
}

/** Where a running backfill stands, after each batch. */
export interface BackfillProgress {
  id: string;
  /** Rows updated so far, over every run of this backfill. */
  done: number;
  /** Rows to update, counted when the backfill started (at least `done`). */
  total: number;
  /** Rows per second in this run. */
  rowsPerSecond: number;
  /** Estimated milliseconds to the end, at this run's rate; absent before the rate is known. */
  etaMs?: number;
  /** Rows the next batch will take. */
  batchSize: number;
  /** Milliseconds the last batch took (its transaction, lock retries included). */
  lastBatchMs: number;
  /**
   * Bytes of WAL the server wrote from the last batch's first statement to its UPDATE's end (read only when a WAL
   * bound is set: `walBytesPerBatch`, `walBytesPerSecond`).
   */
  lastBatchWalBytes?: number;
  /**
   * Milliseconds of pause before the next batch (`pauseMs`, or longer to keep to `walBytesPerSecond` or to give way to
   * the application); 0 after the last.
   */
  pauseMs: number;
  /** Sessions that waited on the last batch's locks when it finished its update (read with `yieldToApplication`). */
  waiting?: number;
  /** The longest those sessions' statements had run then, in milliseconds (0 when none waited). */
  waitedMs?: number;
  /** Batches committed so far, over every run. */
  batches: number;
}

/** What `runBackfill` did. */
export interface BackfillResult {
  id: string;
  /** Rows updated over every run of this backfill. */
  done: number;
  /** Rows counted when it started. */
  total: number;
  /** Rows updated by this run. */
  updatedThisRun: number;
  /** Batches committed by this run. */
  batchesThisRun: number;
  /** True when this run continued one that an earlier run had started. */
  resumed: boolean;
  /** True when the ledger already said done: nothing ran. */
  alreadyDone: boolean;
  /** Milliseconds this run took. */
  elapsedMs: number;
  /** Rows per second in this run (0 when it updated nothing). */
  rowsPerSecond: number;
  /** The key columns walked. */
  key: string[];
}

/** A backfill as the ledger holds it (`dbee status`). */
export interface BackfillState {
  id: string;
  project: string | null;
  table: { schema: string; name: string };
  key: string[];
  set: string;
  where: string | null;
  status: 'running' | 'done';
  done: number;
  total: number;
  batches: number;
  batchSize: number;
  /** The last key done (each column as text), or null before the first batch. */
  cursor: string[] | null;
  /** The largest key that existed when it started (as text), or null when no row did. */
  bound: string[] | null;
  startedAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
  /** Rows per second of the latest run, from the ledger's times; absent before its first batch. */
  rowsPerSecond?: number;
  /** Estimated milliseconds to the end at that rate, while running. */
  etaMs?: number;
}

/** The backfill's options when none are given (the expand's own defaults are set by its caller). */
export const BACKFILL_DEFAULTS = {
  batchSize: 1000,
  targetBatchMs: 250,
  pauseMs: 0,
  walBytesPerSecond: 0,
  walBytesPerBatch: 0,
  maxBatchSize: 50_000,
  minBatchSize: 10,
};

type KeyColumn = BackfillKeyColumn;

/**
 * Run (or resume) the backfill `spec` to its end. The ledger must be at the version that has the `backfills` table
 * (`Ledger.ensure`). Rows of the table are updated in ascending key order, in batches, each batch and the ledger
 * row's new cursor and done count committed together, so that after a kill the next run starts right after the last
 * committed batch. Only rows whose key is at most the largest key present at the start are updated: rows inserted
 * later above it are left to the sync trigger (an expand's triggers fill them as they are written), which is also
 * what makes the backfill end under a steady stream of inserts.
 */
export async function runBackfill(
  role: BackfillRole,
  connection: Connection,
  spec: BackfillSpec,
  options: BackfillOptions = {},
): Promise<BackfillResult> {
  const started = Date.now();
  const key = await keyColumns(role, connection, spec);
  const { min, max, target, pauseMs, ...walBounds } = paceOf(options);
  const { walBytesPerBatch, walBytesPerSecond } = await walReadable(role, connection, walBounds);
  const batchOptions = { ...options, settings: await batchSettings(role, connection, options) };
  const sql = role.statements({
    ledgerSchema: ledgerSchemaOf(options),
    table: spec.table,
    key,
    set: spec.set,
    where: spec.where,
    settings: Object.keys(batchOptions.settings),
    readWal: walBytesPerSecond > 0 || walBytesPerBatch > 0,
    readWaiters: options.yieldToApplication !== false,
  });

  let state = await backfillState(role, connection, spec.id, options);
  const resumed = state !== undefined;
  if (state) {
    assertSameSpec(state, spec, key);
    if (state.status === 'done') {
      const nothing = { updatedThisRun: 0, batchesThisRun: 0, elapsedMs: Date.now() - started, rowsPerSecond: 0 };
      return {
        id: spec.id,
        done: state.done,
        total: state.total,
        ...nothing,
        resumed,
        alreadyDone: true,
        key: state.key,
      };
    }
  } else state = await startBackfill(role, connection, spec, key, sql, options);

  const runDoneAtStart = state.done;
  await connection.query(sql.runStart, [spec.id]);

  let size = clamp(options.batchSize ?? (resumed ? state.batchSize : BACKFILL_DEFAULTS.batchSize), min, max);
  let { cursor, done, batches } = state;
  const { total, bound } = state;
  let batchesThisRun = 0;
  const pace = walBytesPerSecond > 0 ? walPace(walBytesPerSecond, pauseMs) : undefined;
  const giveWay = yieldPace();

  while (bound) {
    options.signal?.throwIfAborted();
    const r = await runBatch(role, connection, spec, sql, { cursor, bound, size }, batchOptions);
    cursor = r.upper;
    done += r.updated;
    batches++;
    batchesThisRun++;
    const yielded = giveWay(size, r, min);
    // A fixed size (`targetBatchMs` 0) stays fixed: giving way is then the pause alone.
    if (!r.last)
      size = Math.min(nextSize(size, r, { target, walBytesPerBatch, min, max }), target > 0 ? yielded.size : size);
    // The batch that reached the bound was the last.
    const pause = r.last ? 0 : Math.max(pace ? pace(r.walBytes) : pauseMs, yielded.pauseMs);
    options.onProgress?.({
      id: spec.id,
      ...progressOf({ done, total, runDone: done - runDoneAtStart, started }),
      batchSize: size,
      batches,
      lastBatchMs: r.ms,
      lastBatchWalBytes: r.walBytes,
      pauseMs: pause,
      ...(r.waiting === undefined ? {} : { waiting: r.waiting, waitedMs: r.waitedMs }),
    });
    if (r.last) break;
    if (pause > 0) await sleep(pause, options.signal);
  }

  await connection.query(sql.finish, [spec.id]);
  const run = { updatedThisRun: done - runDoneAtStart, batchesThisRun, elapsedMs: Date.now() - started };
  return {
    id: spec.id,
    done,
    total: Math.max(total, done),
    ...run,
    resumed,
    alreadyDone: false,
    ...rateOf(run),
    key: key.map((k) => k.name),
  };
}

/** Rows per second of a run (0 when it updated nothing). */
function rateOf(run: { updatedThisRun: number; elapsedMs: number }): { rowsPerSecond: number } {
  const { updatedThisRun: n, elapsedMs } = run;
  return { rowsPerSecond: n > 0 ? Math.round((n * 1000) / Math.max(1, elapsedMs)) : 0 };
}

/** Done, total, rows/s and ETA of a running backfill, its rate from this run's rows and time. */
function progressOf(p: {
  done: number;
  total: number;
  runDone: number;
  started: number;
}): Pick<BackfillProgress, 'done' | 'total' | 'rowsPerSecond' | 'etaMs'> {
  const rate = (p.runDone * 1000) / Math.max(1, Date.now() - p.started);
  const total = Math.max(p.total, p.done);
  const etaMs = rate > 0 ? Math.round(((total - p.done) * 1000) / rate) : undefined;
  return { done: p.done, total, rowsPerSecond: Math.round(rate), etaMs };
}

/** The batch sizes' bounds, the target batch time, the pause and the WAL bounds, from the options and the defaults. */
function paceOf(options: BackfillOptions) {
  const min = Math.max(1, options.minBatchSize ?? BACKFILL_DEFAULTS.minBatchSize);
  return {
    min,
    max: Math.max(min, options.maxBatchSize ?? BACKFILL_DEFAULTS.maxBatchSize),
    target: options.targetBatchMs ?? BACKFILL_DEFAULTS.targetBatchMs,
    pauseMs: options.pauseMs ?? BACKFILL_DEFAULTS.pauseMs,
    walBytesPerBatch: options.walBytesPerBatch ?? BACKFILL_DEFAULTS.walBytesPerBatch,
    walBytesPerSecond: options.walBytesPerSecond ?? BACKFILL_DEFAULTS.walBytesPerSecond,
  };
}

/**
 * The pause after each batch that keeps the backfill's WAL at most `bytesPerSecond` (and the pause at least
 * `pauseMs`): the bytes each batch wrote (the server's WAL from its first statement to its UPDATE's end) move a clock
 * of when the budget allows the next batch. Only the batches' own windows count: the application's WAL between them
 * never lengthens the pauses. A pause that overran (a timer late on a busy machine) is made up by the next batches,
 * for up to `WAL_PACE_SLACK_MS`.
 */
export function walPace(
  bytesPerSecond: number,
  pauseMs: number,
  now: () => number = () => performance.now(),
): (batchWalBytes: number | undefined) => number {
  let next = now();
  return (bytes) => {
    if (bytes === undefined) return pauseMs;
    const at = now();
    next = Math.max(next, at - WAL_PACE_SLACK_MS) + (bytes * 1000) / bytesPerSecond;
    return Math.max(pauseMs, Math.ceil(next - at));
  };
}

/** The longest pause the backfill takes to give way to the application (`yieldToApplication`). */
export const YIELD_MAX_PAUSE_MS = 2000;
/** The shortest such pause: below it a pause that halves away ends. */
const YIELD_MIN_PAUSE_MS = 10;

/**
 * How the backfill gives way to the application (`yieldToApplication`), batch by batch: after a batch that sessions
 * waited on, half its size and a pause twice the last one (at least the longest wait so far, at least
 * `YIELD_MIN_PAUSE_MS`, at most `YIELD_MAX_PAUSE_MS`); after one nobody waited on, the pause halves (ending below
 * `YIELD_MIN_PAUSE_MS`) and the size is left to the other bounds (no limit from here). A batch whose waiters were not
 * read changes nothing.
 */
export function yieldPace(): (
  size: number,
  batch: { waiting?: number; waitedMs?: number },
  min: number,
) => { size: number; pauseMs: number } {
  let pause = 0;
  return (size, batch, min) => {
    if (!batch.waiting) {
      pause = pause / 2 < YIELD_MIN_PAUSE_MS ? 0 : Math.round(pause / 2);
      return { size: Number.POSITIVE_INFINITY, pauseMs: pause };
    }
    const longer = Math.max(pause * 2, batch.waitedMs ?? 0, YIELD_MIN_PAUSE_MS);
    pause = Math.min(YIELD_MAX_PAUSE_MS, Math.round(longer));
    return { size: Math.max(min, Math.floor(size / 2)), pauseMs: pause };
  };
}

/** How far behind its WAL budget a backfill may fall (a late timer) and still catch up by running sooner. */
const WAL_PACE_SLACK_MS = 20;

/**
 * The WAL bounds when set and the server gives its WAL position to this role (some PostgreSQL-compatible services do
 * not, a database may revoke it); else none: the backfill runs without them rather than fail.
 */
async function walReadable<T extends { walBytesPerBatch: number; walBytesPerSecond: number }>(
  role: BackfillRole,
  connection: Connection,
  bounds: T,
): Promise<T> {
  if (bounds.walBytesPerBatch <= 0 && bounds.walBytesPerSecond <= 0) return bounds;
  return (await role.walReadable(connection)) ? bounds : { ...bounds, walBytesPerBatch: 0, walBytesPerSecond: 0 };
}

/**
 * The settings each batch makes: the caller's, and the engine's WAL compression when the caller leaves it on (the
 * default), the server does not compress already, and the role may set it (else nothing: a batch never fails for it).
 */
async function batchSettings(
  role: BackfillRole,
  connection: Connection,
  options: BackfillOptions,
): Promise<Record<string, string>> {
  const settings = { ...options.settings };
  if (options.walCompression === false) return settings;
  return { ...settings, ...(await role.walCompression(connection, settings)) };
}

/** The schema of the ledger's `backfills` table. */
function ledgerSchemaOf(options: Pick<BackfillOptions, 'ledgerSchema' | 'ledger'>): string {
  return options.ledgerSchema ?? options.ledger?.schema ?? 'dbee';
}

/** The ledger row of a new backfill: the bound and the count read one snapshot (the rows that exist now, no others). */
async function startBackfill(
  role: BackfillRole,
  connection: Connection,
  spec: BackfillSpec,
  key: KeyColumn[],
  sql: BackfillStatements,
  options: BackfillOptions,
): Promise<BackfillState> {
  return connection.transaction(async (tx) => {
    await tx.execute(sql.snapshot);
    if (options.ledger) await openLedger(tx, options.ledger).tables.ensureTable('backfills', tx);
    const top = await tx.query<Record<string, string>>(sql.bound);
    const bound = top.rows[0] ? key.map((_, i) => top.rows[0]![`k${i}`]!) : null;
    const count = bound ? await tx.query<{ n: string }>(sql.count, bound) : null;
    await tx.query(sql.insert, [
      spec.id,
      spec.project ?? null,
      spec.table.schema,
      spec.table.name,
      JSON.stringify(key.map((k) => k.name)),
      spec.set,
      spec.where ?? null,
      bound ? JSON.stringify(bound) : null,
      Number(count?.rows[0]?.n ?? 0),
      options.batchSize ?? BACKFILL_DEFAULTS.batchSize,
    ]);
    return (await backfillState(role, tx, spec.id, options))!;
  });
}

/** What one batch did (see `runBatch`). */
interface BatchRun {
  updated: number;
  upper: string[];
  last: boolean;
  ms: number;
  heldMs: number;
  walBytes?: number;
  /** Sessions waiting on the batch's locks at its update's end, and the longest one's time so far (`readWaiters`). */
  waiting?: number;
  waitedMs?: number;
}

/**
 * One batch in its transaction (under the lock handling of `options.lock`): the rows updated, the range's end, whether
 * it reached the bound, its milliseconds (lock retries included) and those from its UPDATE to its commit (the time
 * it held its rows' locks), and the server's WAL bytes from its first statement to its UPDATE's end when read.
 */
async function runBatch(
  role: BackfillRole,
  connection: Connection,
  spec: BackfillSpec,
  sql: BackfillStatements,
  at: { cursor: string[] | null; bound: string[]; size: number },
  options: BackfillOptions,
): Promise<BatchRun> {
  const started = Date.now();
  const first = at.cursor === null;
  let updateStarted = 0;
  const { value } = await withLockRetry(
    connection,
    role.lockTimeouts,
    async (tx) => {
      const row = await tx.query<{ cursor_key: unknown; status: string; wal?: string }>(sql.lock, [
        spec.id,
        ...Object.entries(options.settings ?? {}).flat(),
      ]);
      const now = parseJson<string[]>(row.rows[0]?.cursor_key);
      if (row.rows[0]?.status !== 'running' || JSON.stringify(now) !== JSON.stringify(at.cursor)) {
        throw new DbeeError(`backfill ${spec.id} was advanced by another session while this one ran`, {
          code: 'BACKFILL_CONCURRENT',
          exitCode: ExitCode.applyFailed,
          hint: 'another dbee runs the same backfill: let it finish (`dbee status` shows its progress)',
        });
      }
      const lower = first ? [] : at.cursor!;
      const top = await tx.query<Record<string, string>>(sql.upper(first), [...lower, ...at.bound, at.size - 1]);
      const upper = top.rows[0] ? at.bound.map((_, i) => top.rows[0]![`k${i}`]!) : at.bound;
      updateStarted = Date.now();
      const q = await tx.query<{ updated: number; wal?: string; waiting?: number; waited_ms?: number }>(
        sql.update(first),
        [...lower, ...upper, JSON.stringify(upper), spec.id, at.size],
      );
      const wal = q.rows[0]?.wal;
      const from = row.rows[0]?.wal;
      const walBytes = wal && from ? role.walBytes(from, wal) : undefined;
      const waiting = q.rows[0]?.waiting;
      const waiters = waiting === undefined ? {} : { waiting, waitedMs: Math.round(Number(q.rows[0]?.waited_ms ?? 0)) };
      return { updated: Number(q.rows[0]?.updated ?? 0), upper, last: !top.rows[0], walBytes, ...waiters };
    },
    options.lock,
  );
  return { ...value, ms: Date.now() - started, heldMs: Date.now() - updateStarted };
}

/** The backfill `id` as the ledger holds it, or undefined when it never started (or the ledger has no such table). */
export async function backfillState(
  role: BackfillRole,
  connection: Connection,
  id: string,
  options: Pick<BackfillOptions, 'ledgerSchema' | 'ledger'> = {},
): Promise<BackfillState | undefined> {
  return (await readStates(role, connection, { id }, options))[0];
}

/** Every backfill of `project` in the ledger (all of them when `project` is undefined), newest first. */
export async function backfillStates(
  role: BackfillRole,
  connection: Connection,
  project?: string,
  options: Pick<BackfillOptions, 'ledgerSchema' | 'ledger'> = {},
): Promise<BackfillState[]> {
  return readStates(role, connection, project === undefined ? {} : { project }, options);
}

/** One line for a terminal: `orders.total: 41,000/100,000 rows (41%), 52,300 rows/s, about 1 s left`. */
export function formatBackfillProgress(
  p: Pick<BackfillProgress, 'done' | 'total' | 'rowsPerSecond' | 'etaMs'>,
): string {
  const pct = p.total > 0 ? Math.floor((p.done * 100) / p.total) : 100;
  const eta = p.etaMs === undefined ? '' : `, about ${formatDuration(p.etaMs)} left`;
  return `${p.done.toLocaleString('en-US')}/${p.total.toLocaleString('en-US')} rows (${pct}%), ${p.rowsPerSecond.toLocaleString('en-US')} rows/s${eta}`;
}

async function readStates(
  role: BackfillRole,
  connection: Connection,
  filter: { id?: string; project?: string },
  options: Pick<BackfillOptions, 'ledgerSchema' | 'ledger'>,
): Promise<BackfillState[]> {
  const rows = await role.rows(connection, ledgerSchemaOf(options), filter);
  return rows.map((row) => {
    const done = Number(row.done);
    const total = Math.max(Number(row.total), done);
    const runMs = row.run_ms === null || row.run_ms === undefined ? 0 : Number(row.run_ms);
    const runDone = done - Number(row.run_start_done ?? done);
    const rate = runMs > 0 && runDone > 0 ? (runDone * 1000) / runMs : undefined;
    const status = row.status === 'done' ? 'done' : 'running';
    return {
      id: String(row.id),
      project: (row.project as string | null) ?? null,
      table: { schema: String(row.table_schema), name: String(row.table_name) },
      key: parseJson<string[]>(row.key_columns) ?? [],
      set: String(row.set_clause),
      where: (row.where_clause as string | null) ?? null,
      status,
      done,
      total,
      batches: Number(row.batches),
      batchSize: Number(row.batch_size),
      cursor: parseJson<string[]>(row.cursor_key),
      bound: parseJson<string[]>(row.bound_key),
      startedAt: new Date(row.started_at as string),
      updatedAt: new Date(row.updated_at as string),
      finishedAt: row.finished_at ? new Date(row.finished_at as string) : null,
      rowsPerSecond: rate === undefined ? undefined : Math.round(rate),
      etaMs: rate === undefined || status === 'done' ? undefined : Math.round(((total - done) * 1000) / rate),
    } satisfies BackfillState;
  });
}

/**
 * The key columns the batches walk, with their types: the given ones, checked to be the primary key or a unique key
 * of NOT NULL columns (in any order of the index's columns), or else the primary key, else the narrowest such key.
 */
async function keyColumns(role: BackfillRole, connection: Connection, spec: BackfillSpec): Promise<KeyColumn[]> {
  const where = `${spec.table.schema}.${spec.table.name}`;
  const found = await role.keys(connection, spec.table);
  if (!found) {
    throw new DbeeError(`backfill ${spec.id}: table ${where} does not exist`, {
      code: 'BACKFILL_NO_TABLE',
      hint: 'check the table named by the backfill (schema and name)',
    });
  }
  const keys = found.filter((k) => k.notNull);
  const pick = spec.key?.length
    ? keys.find((k) => k.columns.length === spec.key!.length && spec.key!.every((c) => k.columns.includes(c)))
    : keys[0];
  if (!pick) {
    throw new DbeeError(
      spec.key?.length
        ? `backfill ${spec.id}: (${spec.key.join(', ')}) is neither the primary key of ${where} nor a unique key of NOT NULL columns`
        : `backfill ${spec.id}: table ${where} has no primary key and no unique key of NOT NULL columns to walk in batches`,
      {
        code: 'BACKFILL_NO_KEY',
        hint: 'add a primary key (or a unique index on NOT NULL columns) to the table, or name such a key for the backfill',
      },
    );
  }
  const order = spec.key?.length ? spec.key : pick.columns;
  return order.map((name) => ({ name, type: pick.types[pick.columns.indexOf(name)]! }));
}

function assertSameSpec(state: BackfillState, spec: BackfillSpec, key: KeyColumn[]): void {
  const differs: string[] = [];
  if (state.table.schema !== spec.table.schema || state.table.name !== spec.table.name) differs.push('table');
  if (JSON.stringify(state.key) !== JSON.stringify(key.map((k) => k.name))) differs.push('key');
  if (state.set !== spec.set) differs.push('set');
  if ((state.where ?? '') !== (spec.where ?? '')) differs.push('where');
  if (differs.length) {
    throw new DbeeError(
      `backfill ${spec.id} was started with a different ${differs.join(', ')} than it has now; it cannot resume`,
      {
        code: 'BACKFILL_CHANGED',
        hint: 'give the changed backfill a new id, or run the one that was started to its end first',
        details: { id: spec.id, differs },
      },
    );
  }
}

/**
 * The size of the next batch: the smaller of the sizes that the last batch's time and WAL ask for toward their
 * targets. The time is the time it held its rows (its UPDATE and commit), not the round trips before it. A time
 * target of 0 keeps the size fixed; a WAL target of 0 asks for nothing.
 */
function nextSize(
  size: number,
  last: { heldMs: number; walBytes?: number },
  o: { target: number; walBytesPerBatch: number; min: number; max: number },
): number {
  if (o.target <= 0) return size;
  const byTime = adapt(size, last.heldMs, o.target, o.min, o.max);
  return o.walBytesPerBatch > 0 && last.walBytes !== undefined
    ? Math.min(byTime, adapt(size, last.walBytes, o.walBytesPerBatch, o.min, o.max))
    : byTime;
}

/** The next batch size: scaled toward `target` by the last batch's time, at most halved or doubled per batch. */
export function adapt(size: number, ms: number, target: number, min: number, max: number): number {
  const ratio = target / Math.max(1, ms);
  const next = Math.round(size * Math.min(2, Math.max(0.5, ratio)));
  return clamp(next, min, max);
}

function clamp(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.floor(n)));
}

function parseJson<T>(value: unknown): T | null {
  if (value === null || value === undefined) return null;
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}
