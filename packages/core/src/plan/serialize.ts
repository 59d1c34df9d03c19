import { createHash } from 'node:crypto';
import type { Plan } from './plan';

/**
 * Canonical JSON: keys sorted at every level, two-space indent, trailing newline. The same plan always
 * serialises to the same bytes, so plans and packages can be compared and checksummed.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value), null, 2) + '\n';
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}

export function serializePlan(plan: Plan): string {
  return canonicalJson(plan);
}

/** Checksum of a plan's canonical form, recorded with each deployment. */
export function planChecksum(plan: Plan): string {
  return checksumOfSerialized(serializePlan(plan));
}

/** `planChecksum` of a plan already serialised (`serializePlan`): a package writes that text and its checksum. */
export function checksumOfSerialized(serialized: string): string {
  return 'sha256:' + createHash('sha256').update(serialized).digest('hex');
}
