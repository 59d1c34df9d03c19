import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ParsedStatement } from '@dbee/core';
import type { ParseAnswer, ParseJob, ParseRequest } from './parse-worker';

/**
 * Below this much source text (UTF-16 code units, placeholders expanded) a project is parsed on the calling thread
 * alone: a thread's start (Node's worker and its own libpg-query, about 60-100 ms of one core) costs more than the
 * share of the parse it takes. Not a measured crossover: on the 2-core machine shared with other work (load 6) the
 * worker did not pay at any size (docs/performance.md, Decision 7).
 */
export const THREADS_FROM_BYTES = 1_000_000;
/** At most this many threads besides the calling one. */
const MAX_THREADS = 3;
/** Files per request: small enough that no thread waits long for the last ones, large enough to be few messages. */
const BATCH = 64;

/** How many threads besides the calling one should parse these files: 0 for a small project or a single core. */
export function parseThreadCount(jobs: readonly ParseJob[]): number {
  let size = 0;
  for (const job of jobs) size += job.text.length;
  if (size < THREADS_FROM_BYTES) return 0;
  return Math.max(0, Math.min(MAX_THREADS, availableParallelism() - 1));
}

/** A file's outcome: its statements, or what parsing it threw. */
export type ParseOutcome = { statements: ParsedStatement[] } | { error: unknown };

/**
 * Parses `jobs` on `threads` worker threads (each with its own libpg-query, parse-worker.ts) and on the calling thread
 * at once, once the workers have started, taking batches of files from one queue in order: between its batches the
 * calling thread hands the workers theirs. Each outcome is the same as the calling thread's own (`here`): a
 * worker's statements come back as the parse cache keeps them and are made whole by `revive`, and a file that did not
 * parse in a worker is parsed again by `here`, for its error and its cause. A worker that fails (it cannot start,
 * load its parser, or it ends) fails the whole: an internal error, not the sources'. The workers are ended before
 * this settles.
 */
export async function parseOnThreads(
  jobs: readonly ParseJob[],
  searchPath: string[],
  threads: number,
  here: (job: ParseJob) => ParseOutcome,
  revive: (statements: ParsedStatement[]) => ParsedStatement[],
): Promise<ParseOutcome[]> {
  const out: ParseOutcome[] = new Array(jobs.length);
  let next = 0;
  const take = (): [number, number] | undefined =>
    next < jobs.length ? [next, (next = Math.min(jobs.length, next + BATCH))] : undefined;
  const parseHere = ([from, to]: [number, number]) => {
    for (let i = from; i < to; i++) out[i] = here(jobs[i]!);
  };
  const workers = Array.from({ length: threads }, () => new ParseThread());
  // Two requests in flight per worker: it has its next batch while this thread is busy with its own.
  const feed = async (worker: ParseThread): Promise<void> => {
    await worker.started();
    for (let range = take(); range; range = take()) {
      const [from, to] = range;
      const results = await worker.parse(jobs.slice(from, to), searchPath);
      for (let i = from; i < to; i++) {
        const json = results[i - from];
        out[i] = json == null ? here(jobs[i]!) : { statements: revive(JSON.parse(json) as ParsedStatement[]) };
      }
    }
  };
  let failure: { error: unknown } | undefined;
  try {
    const fed = workers.flatMap((w) => [feed(w), feed(w)].map((p) => p.catch((error) => void (failure ??= { error }))));
    // This thread parses nothing before the workers have started: V8 blocks a call into WebAssembly (libpg-query) while
    // another thread's isolate starts, and the start itself took about five times as long (0.5 s against 0.1 s).
    await Promise.all(workers.map((w) => w.started().catch(() => undefined)));
    for (let range = take(); range; range = take()) {
      parseHere(range);
      // Let the workers' answers in, and send them their next batches.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await Promise.all(fed);
    if (failure) throw failure.error;
  } finally {
    await Promise.all(workers.map((w) => w.end()));
  }
  return out;
}

/** One worker thread of parse-worker.ts and its requests awaiting an answer. */
class ParseThread {
  private readonly worker = startWorker();
  private readonly pending = new Map<
    number,
    { resolve: (r: (string | null)[]) => void; reject: (e: unknown) => void }
  >();
  private lastId = 0;
  private failure: unknown;

  /** Resolves once the worker's parser is loaded, or it failed. */
  private readonly ready: Promise<void>;

  constructor() {
    let ready: () => void = () => undefined;
    this.ready = new Promise((resolve) => (ready = resolve));
    this.worker.on('message', (answer: ParseAnswer | 'ready') => {
      if (answer === 'ready') return ready();
      this.pending.get(answer.id)?.resolve(answer.results);
      this.pending.delete(answer.id);
    });
    const fail = (e: unknown) => {
      this.failure = e ?? new Error('the parse thread ended');
      for (const p of this.pending.values()) p.reject(this.failure);
      this.pending.clear();
      ready();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', () => fail(undefined));
  }

  /** Resolves to true once the worker's parser is loaded (its batches stay in the queue until then); rejects if it failed. */
  async started(): Promise<true> {
    await this.ready;
    if (this.failure) throw this.failure;
    return true;
  }

  parse(jobs: ParseJob[], searchPath: string[]): Promise<(string | null)[]> {
    if (this.failure) return Promise.reject(this.failure);
    const id = ++this.lastId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, jobs, searchPath } satisfies ParseRequest);
    });
  }

  async end(): Promise<void> {
    await this.worker.terminate();
  }
}

/**
 * The worker of parse-worker.ts: the bundle's own file beside this module's (tools/bundle.js), or in the repository's
 * sources (tests, tools/run.js), its TypeScript through the repository's loader, which a new thread does not inherit.
 */
function startWorker(): Worker {
  const built = join(__dirname, 'parse-worker.js');
  if (existsSync(built)) return new Worker(built);
  const register = join(__dirname, '..', '..', '..', '..', 'tools', 'dev-register.js');
  const source = join(__dirname, 'parse-worker.ts');
  return new Worker(`require(${JSON.stringify(register)}); require(${JSON.stringify(source)});`, { eval: true });
}
