/** How a fleet is rolled out: the canary wave first, then the rest, at most `concurrency` targets at a time. */
export interface WavePolicy {
  /** Targets (the first of the list) that run first, alone; when one fails nothing else starts. */
  canary: number;
  /** Targets in flight at once. */
  concurrency: number;
  /** After this many failed targets no new target starts; those in flight finish. */
  maxFailures: number;
}

/** What the scheduler did with one target. */
export type Scheduled<R> = { target: string; wave: 1 | 2; result: R } | { target: string; wave: 1 | 2; result: null };

export interface WaveOutcome<R> {
  /** Every target in order: with its result, or `result: null` when it was never started. */
  targets: Scheduled<R>[];
  /** Why scheduling stopped early (`null` when every target was started). */
  stopped: string | null;
  failures: number;
}

/**
 * Run `run` over `targets` in two waves: the first `policy.canary` targets, then the others. At most
 * `policy.concurrency` run at once; a target whose result `failed` says so counts as a failure. A failed canary, or
 * `maxFailures` failures, stops scheduling: targets in flight finish, the rest are reported as not started.
 */
export async function runWaves<T extends { name: string }, R>(
  targets: readonly T[],
  policy: WavePolicy,
  run: (target: T, wave: 1 | 2) => Promise<R>,
  failed: (result: R) => boolean,
): Promise<WaveOutcome<R>> {
  const canaries = targets.slice(0, policy.canary);
  const rest = targets.slice(policy.canary);
  const results = new Map<string, { wave: 1 | 2; result: R }>();
  let failures = 0;
  let stopped: string | null = null;
  const wave = async (list: readonly T[], n: 1 | 2) => {
    let next = 0;
    const worker = async () => {
      while (stopped === null && next < list.length) {
        const target = list[next++]!;
        const result = await run(target, n);
        results.set(target.name, { wave: n, result });
        if (failed(result)) {
          failures++;
          if (n === 1) stopped ??= `canary ${target.name} failed`;
          else if (failures >= policy.maxFailures)
            stopped ??= `${failures} target${failures === 1 ? '' : 's'} failed (--max-failures ${policy.maxFailures})`;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(policy.concurrency, list.length)) }, worker));
  };
  await wave(canaries, 1);
  if (stopped === null) await wave(rest, 2);
  return {
    targets: targets.map((t, i) => {
      const done = results.get(t.name);
      return done ? { target: t.name, ...done } : { target: t.name, wave: i < policy.canary ? 1 : 2, result: null };
    }),
    stopped,
    failures,
  };
}
