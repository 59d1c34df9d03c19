import type { Connection } from '../engine/engine';
import type { AdviseIndex, AdviseRole, ColumnSet, IndexShape, ReleaseFacts, TableName } from '../engine/advise-role';
import type { PlanStep } from '../plan/plan';
import { asIndex, type CostChange, type CostedQuery } from './missing-indexes';
import { queryLabel } from './query-label';

/** A plan that costs more than this share over today's is a regression (planner's noise stays under it). */
const REGRESSION_SHARE = 1.1;

export interface ReleaseAdvice {
  /** Steps the release plan has (0: nothing to deploy; the sections below are then about the target as it is). */
  steps: number;
  /** Queries whose plan costs more with the release's indexes (created ones hypothetical, dropped ones hidden). */
  regressions: CostChange[];
  /** What could not be costed: a dropped index some plan uses, when the engine cannot hide an index. */
  unproven: string[];
  /** Foreign keys whose columns lead no index (deletes and updates of the referenced rows scan the table). */
  foreignKeysWithoutIndex: (ColumnSet & { release: boolean })[];
  /** An `ANALYZE` to run after each step that writes rows (a migration, a backfill). */
  analyzeAfter: { step: string; table: TableName; statement: string }[];
}

/** The release's facts, read from its plan's steps by the engine. */
export function factsOf(role: AdviseRole, steps: PlanStep[]): ReleaseFacts {
  return role.releaseFacts(steps.map((s) => ({ key: s.key, action: s.action, statements: s.statements })));
}

/** An index the release drops, with the indexes a plan may scan for it (itself, its partitions' attached to it). */
export interface DroppedIndex {
  schema: string;
  name: string;
  scanned: { schema: string; name: string }[];
  /** Those of `scanned` that are built (no index attached to them): the ones hidden from the planner. */
  built: { schema: string; name: string }[];
}

/**
 * The indexes the release drops: those it drops by name, and those of the primary key, unique or exclusion
 * constraints it drops (an index of the constraint's name on its table, backing a constraint); each with the
 * partitions' indexes attached to it, at every level (a plan of a partitioned table scans those).
 */
export function droppedIndexes(facts: ReleaseFacts, indexes: readonly AdviseIndex[]): DroppedIndex[] {
  const named = [
    ...facts.droppedIndexes.map((d) => ({ schema: d.schema, name: d.name })),
    ...facts.droppedConstraints.flatMap((c) =>
      indexes.some((i) => i.schema === c.schema && i.table === c.table && i.name === c.name && i.constraint)
        ? [{ schema: c.schema, name: c.name }]
        : [],
    ),
  ].filter((d, n, all) => all.findIndex((o) => o.schema === d.schema && o.name === d.name) === n);
  return named.map((d) => {
    const scanned = [d];
    for (let i = 0; i < scanned.length; i++) {
      const parent = `${scanned[i]!.schema}.${scanned[i]!.name}`;
      for (const x of indexes) if (x.attachedTo === parent) scanned.push({ schema: x.schema, name: x.name });
    }
    const built = scanned.filter((x) => !indexes.some((i) => i.attachedTo === `${x.schema}.${x.name}`));
    return { ...d, scanned, built };
  });
}

/**
 * What the release changes for the workload: each query of the workload (the cheap ones too: a query an index serves
 * today is cheap, and the release may drop that index) re-planned with the release's new indexes as hypothetical
 * ones and its dropped indexes hidden (where the engine can hide one; where it cannot, a dropped index that a query's
 * plan uses is reported as unproven), foreign keys without an index, and an `ANALYZE` after each step that writes rows.
 */
export async function releaseAdvice(
  role: AdviseRole,
  conn: Connection,
  input: {
    searchPath: string[];
    steps: number;
    facts: ReleaseFacts;
    workload: CostedQuery[];
    indexes: AdviseIndex[];
    /** The indexes of every schema the release plans (the project's and its dependencies'), for what it drops. */
    releaseIndexes: AdviseIndex[];
    foreignKeys: ColumnSet[];
    advised: IndexShape[];
    canHide: boolean;
    hypothetical: boolean;
  },
): Promise<ReleaseAdvice> {
  const { facts, workload } = input;
  const regressions: CostChange[] = [];
  const unproven: string[] = [];
  const dropped = droppedIndexes(facts, input.releaseIndexes);
  if (input.hypothetical && (facts.createdIndexes.length || dropped.length)) {
    await role.hypothetical.reset(conn);
    for (const c of facts.createdIndexes) await role.hypothetical.create(conn, c.index);
    let hidden = true;
    for (const d of dropped)
      for (const b of d.built) hidden = input.canHide && (await role.hypothetical.hide(conn, b)) && hidden;
    for (const q of workload) {
      if (q.cost === null) continue;
      const uses = dropped.filter((d) => d.scanned.some((s) => q.indexes.includes(s.name)));
      if (uses.length && !hidden) {
        const through = (d: DroppedIndex) => {
          const partitions = d.scanned.slice(1).filter((s) => q.indexes.includes(s.name));
          return partitions.length
            ? ` (its partitions' ${partitions.map((s) => `${s.schema}.${s.name}`).join(', ')})`
            : '';
        };
        unproven.push(
          `${queryLabel(q.query)}: its plan uses ${uses.map((d) => `${d.schema}.${d.name}${through(d)}`).join(', ')}, which the release drops (hiding an index needs HypoPG 1.4 or later)`,
        );
        continue;
      }
      const after = await role.cost(conn, q.query.text, input.searchPath);
      if (after.cost > q.cost * REGRESSION_SHARE)
        regressions.push({ origin: q.query.origin, text: q.query.text, before: q.cost, after: after.cost });
    }
    await role.hypothetical.reset(conn);
  } else if (!input.hypothetical && (facts.createdIndexes.length || dropped.length)) {
    unproven.push(
      'the release adds or drops indexes; without hypothetical indexes their effect on the plans is not costed',
    );
  }
  const droppedNames = new Set(dropped.flatMap((d) => d.scanned.map((x) => `${x.schema}.${x.name}`)));
  const indexes = [
    ...input.indexes.filter((i) => !droppedNames.has(`${i.schema}.${i.name}`)),
    ...facts.createdIndexes.map((c) => asIndex(c.index)),
    ...input.advised.map(asIndex),
  ];
  const fks = [
    ...input.foreignKeys.map((fk) => ({ ...fk, release: false })),
    ...facts.foreignKeys.map(({ key: _key, ...fk }) => ({ ...fk, release: true })),
  ];
  const foreignKeysWithoutIndex = fks.filter(
    (fk, n) =>
      fks.findIndex((o) => o.schema === fk.schema && o.table === fk.table && o.name === fk.name) === n &&
      !indexes.some(
        (i) =>
          i.schema === fk.schema &&
          i.table === fk.table &&
          i.columns !== null &&
          !i.predicate &&
          fk.columns.every((c) => i.columns!.slice(0, fk.columns.length).includes(c)),
      ),
  );
  const analyzeAfter = facts.dataChanged.map((d) => ({
    step: d.key,
    table: { schema: d.schema, name: d.name },
    statement: role.render.analyze(d),
  }));
  return { steps: input.steps, regressions, unproven, foreignKeysWithoutIndex, analyzeAfter };
}
