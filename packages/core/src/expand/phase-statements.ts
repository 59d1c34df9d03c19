import type { ExpandKindSql, ExpandPlan, ExpandRole, ExpandStatement, ExpandTable } from '../engine/engine';
import { needsSync, releaseSlug, versionSchema } from './expand-plan';
import {
  type AbortSlots,
  type CompleteSlots,
  EXPAND_RULES,
  type ExpandKind,
  type ExpandPart,
  type ExpandRule,
  type ExpandSlots,
  partsOf,
} from './rules';

// The three phases of a release as statements, each of the same shape: what the release as a whole does (its version
// schemas, each table's sync trigger), and between, each part of each table through its kind's rule (`EXPAND_RULES`),
// whose SQL is the engine's (`ExpandRole.kinds`). The slots (rules/rule.ts) fix the order within a phase.

/** The expand phase's statements after the old version schema: new tables, new columns with their triggers, checks. */
export function expandStatements(role: ExpandRole, plan: ExpandPlan): ExpandStatement[] {
  const slots = plan.tables.map((x) => gather(role, x, 'expand', emptyExpand));
  // Tables the release creates come first (a constraint added to another table may reference one), then their
  // foreign keys (to an old table or another new one).
  const out = [...slots.flatMap((s) => s.create), ...slots.flatMap((s) => s.references)];
  plan.tables.forEach((x, i) => {
    const s = slots[i]!;
    const together = [...s.columns, ...(needsSync(x) ? role.syncTrigger(plan, x) : [])];
    if (together.length)
      out.push(role.together(together, `new columns of ${x.schema}.${x.name} and the trigger that syncs them`));
    out.push(...s.checks, ...s.constraints);
  });
  return out;
}

/** The contract phase: the old version schemas dropped, then table by table validations, the swap, renames. */
export function completeStatements(role: ExpandRole, plan: ExpandPlan): ExpandStatement[] {
  const out: ExpandStatement[] = [];
  if (releaseSlug(plan.previous) !== releaseSlug(plan.release))
    for (const schema of plan.schemas) out.push(role.dropVersionSchema(versionSchema(schema, plan.previous), 'old'));
  for (const x of plan.tables) {
    const s = gather(role, x, 'complete', emptyComplete);
    out.push(...s.validateConstraints, ...s.validateNotNull);
    const swap = [
      ...(needsSync(x) ? role.dropSyncTrigger(plan, x) : []),
      ...s.dropColumns,
      ...s.swapShadows,
      ...s.renameColumns,
      ...s.setNotNull,
    ];
    if (swap.length) out.push(role.together(swap, `${x.schema}.${x.name}: the new columns take the old ones' places`));
    out.push(...s.uniqueFromIndex, ...s.renameTable, ...s.renameConstraints);
  }
  return out;
}

/** The abort: the new version schemas dropped, then table by table what the expand added, the new tables last. */
export function abortStatements(role: ExpandRole, plan: ExpandPlan): ExpandStatement[] {
  const out: ExpandStatement[] = [];
  if (releaseSlug(plan.previous) !== releaseSlug(plan.release))
    for (const schema of plan.schemas) out.push(role.dropVersionSchema(versionSchema(schema, plan.release), 'new'));
  const created: ExpandTable[] = [];
  for (const x of plan.tables) {
    const s = gather(role, x, 'abort', emptyAbort);
    out.push(...s.dropChecks, ...s.dropConstraints);
    const together = [...(needsSync(x) ? role.dropSyncTrigger(plan, x) : []), ...s.dropColumns];
    if (together.length)
      out.push(role.together(together, `${x.schema}.${x.name}: drop the sync trigger and the columns it filled`));
    created.push(...s.dropTables);
  }
  // One statement: the new tables' foreign keys to each other go with them in any order.
  if (created.length) out.push(role.kinds['create-table'].drop(created));
  return out;
}

type Phase = 'expand' | 'complete' | 'abort';
type SlotsOf = { expand: ExpandSlots; complete: CompleteSlots; abort: AbortSlots };

const emptyExpand = (): ExpandSlots => ({ create: [], references: [], columns: [], checks: [], constraints: [] });
const emptyComplete = (): CompleteSlots => ({
  validateConstraints: [],
  validateNotNull: [],
  dropColumns: [],
  swapShadows: [],
  renameColumns: [],
  setNotNull: [],
  uniqueFromIndex: [],
  renameTable: [],
  renameConstraints: [],
});
const emptyAbort = (): AbortSlots => ({ dropChecks: [], dropConstraints: [], dropColumns: [], dropTables: [] });

/** What each part of a table does in a phase, through its kind's rule, slot by slot in the parts' order. */
function gather<P extends Phase>(role: ExpandRole, x: ExpandTable, phase: P, empty: () => SlotsOf[P]): SlotsOf[P] {
  const slots = empty() as unknown as Record<string, unknown[]>;
  for (const part of partsOf(x)) {
    const got = lifecycle(part, phase)(part, role.kinds[part.kind]);
    for (const [slot, items] of Object.entries(got)) slots[slot]!.push(...(items as unknown[]));
  }
  return slots as unknown as SlotsOf[P];
}

/** The rule's phase function for a part (the one cast: a part's kind picks its rule and its SQL). */
function lifecycle(part: ExpandPart, phase: Phase) {
  const rule = EXPAND_RULES[part.kind] as unknown as ExpandRule<ExpandKind>;
  return rule[phase] as (part: ExpandPart, sql: ExpandKindSql[ExpandKind]) => Partial<SlotsOf[Phase]>;
}
