/**
 * Clean-up an operation need not wait for before going on (dropping a server shadow database after its model was
 * read: about 0.1-0.2 s of unlinking files for a 1,000-object schema). `runOperation` waits for all of it before it
 * returns, so a command never exits, and a test never ends, with a scratch database still being dropped. Failures are
 * swallowed: the work itself reports what it must (a shadow that cannot be dropped is named by its own code).
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
