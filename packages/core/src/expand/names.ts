import type { ExpandColumn, ExpandTable } from '../engine/engine';

/**
 * What an engine renders an expand plan with (`@dbee/core/expand-names`): the version schemas' names, the expressions
 * a backfill computes, whether a table needs a sync trigger. Apart from the planner (expand-plan.ts) and its rules,
 * which an engine made for a direct deployment does not load.
 */

/** True when the table's physical columns change during the expand phase (it needs a sync trigger). */
export function needsSync(t: ExpandTable): boolean {
  return (
    t.columns.some((c) => c.kind === 'shadow' || (c.kind === 'added' && c.up !== null)) ||
    t.dropped.some((d) => d.down !== null)
  );
}

/** True when rows that exist when the expand phase starts must be filled (a backfill). */
export function needsBackfill(t: ExpandTable): boolean {
  return t.columns.some((c) => c.kind === 'shadow' || (c.kind === 'added' && (c.up !== null || c.default !== null)));
}

/** The expression the backfill (and the old version's writes) compute an added column from: `up`, else the default. */
export function upOf(c: ExpandColumn): string | null {
  return c.up ?? (c.kind === 'added' ? c.default : null);
}

/** A version schema's name: `<schema>_v<release>`, the release lower-cased with anything but [a-z0-9_] as `_`. */
export function versionSchema(schema: string, release: string): string {
  return `${schema}_v${releaseSlug(release)}`;
}

export function releaseSlug(release: string): string {
  return release.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}
