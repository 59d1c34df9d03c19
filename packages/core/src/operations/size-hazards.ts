import type { Connection, Engine } from '../engine/engine';
import type { HazardKind } from '../config/schema';
import type { ObjectKey } from '../model/object-key';
import type { Plan, PlanStep } from '../plan/plan';

/**
 * A table with at most this many rows is small: building an index on it, scanning it under a lock or rewriting it
 * takes no time worth a gate. Counted with a bounded query (`LIMIT SMALL_TABLE_ROWS + 1`), so a large table costs no
 * more than a small one to judge.
 */
export const SMALL_TABLE_ROWS = 10_000;

/** The hazards whose cost is the size of the table they touch. */
const SIZE_HAZARDS: ReadonlySet<HazardKind> = new Set(['index-build', 'long-lock', 'table-rewrite']);

/** The table a step's size hazards are about: the step's own table, or the table an index is built on. */
function tableOf(step: PlanStep): ObjectKey | null {
  const k = step.objectKey;
  if (k.kind === 'table') return k;
  if (k.kind === 'index' && k.parent) {
    const dot = k.parent.indexOf('.');
    return dot > 0
      ? { kind: 'table', schema: k.parent.slice(0, dot), name: k.parent.slice(dot + 1) }
      : { kind: 'table', schema: k.schema, name: k.parent };
  }
  return null;
}

const tableKey = (t: ObjectKey) => `${t.schema}.${t.name}`;

/**
 * Hazards that depend on a table's size, judged against the target at deploy time, whatever the plan came from (a
 * package built against another database, the sources planned from the ledger, a clone, a diff):
 *
 * - a step on a table that exists on the target with at most {@link SMALL_TABLE_ROWS} rows loses its `index-build`,
 *   `long-lock` and `table-rewrite` hazards (an index on a 4-row table, or on the empty table a killed clone left,
 *   needs no `--allow-hazards`);
 * - a step that builds an index (without `CONCURRENTLY`) on a table that exists on the target with more rows gets
 *   them when its plan did not say so (the sources planned from the ledger know nothing of the target's rows).
 *
 * Tables the plan itself creates (or drops and creates again) before the step are empty: their steps are left as
 * planned. Engines whose catalog cannot count rows (`ObjectCatalog.rowsUpTo` absent) keep the plan's hazards.
 * Reads only (a dry run judges the same way); returns one line per changed step, for the output.
 */
export async function judgeSizeHazards(engine: Engine, conn: Connection, plan: Plan): Promise<string[]> {
  const count = engine.catalog?.rowsUpTo;
  if (!count) return [];
  const made = new Set<string>();
  const rows = new Map<string, number | null>();
  const notes: string[] = [];
  for (const step of [...plan.steps].sort((a, b) => a.order - b.order)) {
    const table = tableOf(step);
    if (!table) continue;
    if (step.objectKey.kind === 'table' && (step.action === 'create' || step.action === 'drop')) {
      made.add(tableKey(table));
      continue;
    }
    if (made.has(tableKey(table))) continue;
    const sized = step.hazards.some((h) => SIZE_HAZARDS.has(h.kind));
    const buildsIndex = step.objectKey.kind === 'index' && step.action === 'create';
    if (!sized && !buildsIndex) continue;
    if (!rows.has(tableKey(table))) rows.set(tableKey(table), await count(conn, table, SMALL_TABLE_ROWS + 1));
    const n = rows.get(tableKey(table));
    if (n === null || n === undefined) continue;
    const name = tableKey(table);
    if (n <= SMALL_TABLE_ROWS) {
      if (!sized) continue;
      const dropped = [...new Set(step.hazards.filter((h) => SIZE_HAZARDS.has(h.kind)).map((h) => h.kind))];
      step.hazards = step.hazards.filter((h) => !SIZE_HAZARDS.has(h.kind));
      notes.push(
        `step ${step.order} (${step.action} ${step.key}): ${dropped.join(', ')} not a hazard here, ${name} has ${n} row${n === 1 ? '' : 's'}`,
      );
    } else if (sized) {
      // Large: say how large, so the hazard says how long its lock is held on this target.
      const estimate = (await engine.catalog?.rowsEstimate?.(conn, table)) ?? null;
      const size =
        estimate !== null && estimate > SMALL_TABLE_ROWS
          ? `about ${estimate.toLocaleString('en')} rows`
          : `more than ${SMALL_TABLE_ROWS.toLocaleString('en')} rows`;
      step.hazards = step.hazards.map((h) =>
        SIZE_HAZARDS.has(h.kind) ? { ...h, message: `${h.message} (${name}: ${size})` } : h,
      );
    } else if (buildsIndex) {
      const online = step.statements.some((s) => /\bCONCURRENTLY\b/i.test(s));
      const index = `${step.objectKey.schema}.${step.objectKey.name}`;
      step.hazards = [
        ...step.hazards,
        {
          kind: 'index-build',
          rule: 'index-build',
          message: `builds index ${index} on ${name}, which has more than ${SMALL_TABLE_ROWS} rows`,
        },
        ...(online
          ? []
          : [
              {
                kind: 'long-lock' as const,
                rule: 'require-concurrent-index-creation',
                message: `builds index ${index} while blocking writes to ${name} (--safe builds it CONCURRENTLY; on a partitioned table, per partition)`,
              },
            ]),
      ];
      notes.push(
        `step ${step.order} (${step.action} ${step.key}): ${name} has more than ${SMALL_TABLE_ROWS} rows, building the index is a hazard`,
      );
    }
  }
  return notes;
}
