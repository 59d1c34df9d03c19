import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Work an operation need not wait for before going on: dropping a server shadow database after its model was read
 * (about 0.1-0.2 s of unlinking files for a 1,000-object schema), writing a cache file (creating a file costs about a
 * millisecond on a journaling disk: 0.4 s for the 400 cache files of a 200-project Nx batch, now overlapped with its
 * database round trips). `runOperation` waits for all of it before it returns, so a command never exits, and a test
 * never ends, with a scratch database still being dropped or a cache file half written. Failures are swallowed: the
 * work itself reports what it must (a shadow that cannot be dropped is named by its own code).
 */
const pending = new Set<Promise<void>>();

export function inBackground(work: Promise<unknown>): void {
  const p: Promise<void> = work.then(
    () => undefined,
    () => undefined,
  );
  pending.add(p);
  void p.finally(() => pending.delete(p));
}

/** Wait for everything `inBackground` started, including work started while waiting. */
export async function settleBackground(): Promise<void> {
  while (pending.size > 0) await Promise.all([...pending]);
}

let written = 0;

/**
 * Write a cache file in the background: to a temporary name first, then renamed, so that a reader (another process,
 * or this one once the operation settled) sees the old file or the whole new one. Failures (a read-only workspace)
 * only lose the cache entry. Resolves once the file is there (or could not be written); never rejects.
 */
export function writeCacheFile(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${++written}.tmp`;
  const write = (async () => {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(tmp, text);
    await rename(tmp, file);
  })();
  inBackground(write);
  return write.catch(() => {});
}

/** A promise's outcome as a value: a reading started ahead, or one of two run at once, leaves no rejection unhandled. */
export type Settled<T> = { value: T } | { error: unknown };

export function settled<T>(p: Promise<T>): Promise<Settled<T>> {
  return p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

/** The value of a settled promise, or its error thrown. */
export function unsettled<T>(s: Settled<T>): T {
  if ('error' in s) throw s.error;
  return s.value;
}
