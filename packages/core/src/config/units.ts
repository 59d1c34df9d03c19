/**
 * The values of dbee.yaml and db.yaml that modules read once the configuration is validated: the engines' names, and
 * durations and amounts of bytes as numbers. Apart from the schemas (schema.ts, which loads zod): a command whose
 * configuration comes validated from the `ConfigCache` loads neither.
 */

/** The engines dbee ships, by the name `engine:` takes in dbee.yaml and db.yaml: the one list the CLI and the schema read. */
export const ENGINE_NAMES = ['postgres', 'teradata'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];

/** `500ms`, `5s`, `2m`, `1h`, `30d` (as schema.ts's `duration` accepts them), or a number of milliseconds. */
export function durationMs(value: number | string): number {
  if (typeof value === 'number') return value;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(value)!;
  const n = Number(m[1]);
  return Math.round(
    n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'],
  );
}

/** `64kB`, `24MB`, `1GB` (units of 1,024), `512B` (as schema.ts's `byteSize` accepts them), or a number of bytes. */
export function bytesOf(value: number | string): number {
  if (typeof value === 'number') return value;
  const m = /^(\d+(?:\.\d+)?)\s*(B|kB|MB|GB)$/.exec(value)!;
  return Math.round(Number(m[1]) * { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[m[2] as 'B' | 'kB' | 'MB' | 'GB']);
}
