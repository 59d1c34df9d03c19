import { createHash } from 'node:crypto';
import { DbeeError } from '../errors';
import type { FleetTarget } from '../config/resolve';

/** One `key=value` of `--labels`; a target is selected when it has every pair given. */
export interface LabelSelector {
  key: string;
  /** Any of these values matches (`region=eu|us`). */
  values: string[];
}

/** Parse `--labels region=eu,tier=a|b`. Refused (exit 1) when a pair is not `key=value`. */
export function parseLabels(text: string | undefined): LabelSelector[] {
  if (text === undefined) return [];
  return text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const m = /^([A-Za-z_][A-Za-z0-9_$-]*)=(.+)$/.exec(part);
      if (!m) {
        throw new DbeeError(`--labels: "${part}" is not key=value`, {
          code: 'OPTIONS_INVALID',
          hint: 'select targets with --labels region=eu,tier=a (every pair must match; region=eu|us matches either)',
        });
      }
      return { key: m[1]!, values: m[2]!.split('|') };
    });
}

/** The targets that carry every selected label, in fleet order. */
export function selectByLabels<T extends Pick<FleetTarget, 'labels'>>(
  targets: readonly T[],
  selectors: readonly LabelSelector[],
): T[] {
  return targets.filter((t) =>
    selectors.every((s) => t.labels[s.key] !== undefined && s.values.includes(t.labels[s.key]!)),
  );
}

/** A slice of a fleet: shard `index` (1-based) of `count`. */
export interface Shard {
  index: number;
  count: number;
}

/**
 * `--shard 2/4`; or, with `--shard auto/4` or `--shard /4`, the index from a Kubernetes Indexed Job's
 * `JOB_COMPLETION_INDEX` (0-based, so index 0 is shard 1). Null without `--shard`.
 */
export function parseShard(text: string | undefined, env: NodeJS.ProcessEnv): Shard | null {
  if (text === undefined) return null;
  const m = /^\s*(\d+|auto)?\s*\/\s*(\d+)\s*$/.exec(text);
  const refuse = (why: string) =>
    new DbeeError(`--shard ${text}: ${why}`, {
      code: 'OPTIONS_INVALID',
      hint: 'give --shard i/n with 1 <= i <= n (e.g. --shard 2/4), or --shard auto/n to read i from JOB_COMPLETION_INDEX (0-based)',
    });
  if (!m) throw refuse('expected i/n');
  const count = Number(m[2]);
  let index: number;
  if (m[1] === undefined || m[1] === 'auto') {
    const raw = env.JOB_COMPLETION_INDEX;
    if (raw === undefined || !/^\d+$/.test(raw))
      throw refuse('JOB_COMPLETION_INDEX is not set to a number (it is set in a Kubernetes Indexed Job)');
    index = Number(raw) + 1;
  } else index = Number(m[1]);
  if (count < 1 || index < 1 || index > count) throw refuse(`the shard must be between 1 and ${Math.max(count, 1)}`);
  return { index, count };
}

/**
 * The shard (1..count) of a target: a hash of its name, so every process computes the same split whatever the order
 * it discovered the targets in, and adding a target moves no other. Canary targets are always in shard 1.
 */
export function shardOf(name: string, count: number): number {
  const h = createHash('sha256').update(name).digest();
  return (h.readUInt32BE(0) % count) + 1;
}

/** The targets of one shard: the canaries in shard 1, every other by `shardOf`. */
export function targetsOfShard<T extends { name: string }>(
  targets: readonly T[],
  canaries: ReadonlySet<string>,
  shard: Shard | null,
): T[] {
  if (!shard) return [...targets];
  return targets.filter((t) =>
    canaries.has(t.name) ? shard.index === 1 : shardOf(t.name, shard.count) === shard.index,
  );
}
