import { formatKey, type ObjectKey } from '../model/object-key';
import { requireRole, type Connection, type Engine } from '../engine/engine';
import type { PlanStep } from '../plan/plan';
import type { ManagedScope } from '../schema/managed-scope';
import type { SchemaModel, Table } from '../schema/model';
import { planChanges } from '../planner/plan-changes';

/**
 * `live` without the objects `keys` names (ledger keys: `table:s.t`, `view:s.v`, `index:s.i@s.t`,
 * `policy:s.p@s.t`, `constraint:s.c@s.t`, `function:s.f(integer)`...), and without what stands on them: a table's or
 * view's indexes and triggers, and the comments, grants and owners of every object removed. Diffing `live` against it
 * plans exactly the drops of those objects, in the order and with the hazards the diff gives any drop.
 */
export function withoutObjects(live: SchemaModel, keys: ReadonlySet<string>): SchemaModel {
  const relations = new Set<string>();
  for (const o of [...live.tables, ...live.views])
    if (keys.has(formatKey(o.key))) relations.add(`${o.key.schema}.${o.key.name}`);
  const gone = (key: ObjectKey) => keys.has(formatKey(key)) || (key.parent !== undefined && relations.has(key.parent));
  const keep = <T extends { key: ObjectKey }>(items: T[]) => items.filter((o) => !gone(o.key));
  const child = (t: Table, kind: ObjectKey['kind'], name: string) =>
    keys.has(formatKey({ kind, schema: t.key.schema, name, parent: `${t.key.schema}.${t.key.name}` }));
  const tables = keep(live.tables).map((t) => {
    const constraints = t.constraints.filter((c) => !child(t, 'constraint', c.name));
    const policies = Array.isArray(t.attrs['policies']) ? (t.attrs['policies'] as { name: string }[]) : undefined;
    const keptPolicies = policies?.filter((p) => !child(t, 'policy', p.name));
    if (constraints.length === t.constraints.length && keptPolicies?.length === policies?.length) return t;
    return { ...t, constraints, attrs: policies ? { ...t.attrs, policies: keptPolicies } : t.attrs };
  });
  const droppedConstraints = new Set(
    live.tables.flatMap((t) =>
      t.constraints.filter((c) => child(t, 'constraint', c.name)).map((c) => `${t.key.schema}.${t.key.name}.${c.name}`),
    ),
  );
  const on = <T extends { target: ObjectKey }>(items: T[]) => items.filter((o) => !gone(o.target));
  return {
    ...live,
    tables,
    views: keep(live.views),
    routines: keep(live.routines),
    triggers: keep(live.triggers),
    sequences: keep(live.sequences),
    types: keep(live.types),
    indexes: keep(live.indexes),
    extensions: keep(live.extensions),
    ...(live.collations ? { collations: keep(live.collations) } : {}),
    ...(live.textSearchDictionaries ? { textSearchDictionaries: keep(live.textSearchDictionaries) } : {}),
    ...(live.textSearchConfigurations ? { textSearchConfigurations: keep(live.textSearchConfigurations) } : {}),
    comments: on(live.comments).filter(
      (c) => !(c.constraint && droppedConstraints.has(`${c.target.schema}.${c.target.name}.${c.constraint}`)),
    ),
    privileges: on(live.privileges),
    owners: on(live.owners),
  };
}

/** What {@link pruneSteps} needs of one project. */
export interface PruneInput {
  engine: Engine;
  conn: Connection;
  project: string;
  /** The project's schemas and `manage:` (as introspected for its diffs). */
  scope: { schemas: string[]; manage?: ManagedScope };
  /** Ledger keys of the objects to drop: deployed, no longer in the sources, not dropped by the plan already. */
  removed: string[];
  online: boolean;
  owners?: boolean;
}

/**
 * The steps that drop `removed` from the live database (`deploy --prune`): a diff of the live schema against the same
 * schema without those objects. Objects already gone from the database plan nothing. Each step carries the hazards any
 * diff gives its drop (`data-loss` for a table), so the environment's gates and `--allow-hazards` apply.
 */
export async function pruneSteps(input: PruneInput): Promise<PlanStep[]> {
  const diff = requireRole(input.engine, 'diff', 'plan the drops of --prune');
  const live = await diff.introspect(input.conn, input.scope);
  const pruned = withoutObjects(live, new Set(input.removed));
  return planChanges(input.engine, live, pruned, {
    project: input.project,
    online: input.online,
    owners: input.owners,
  }).steps;
}
