import type { ExpandPlan, ExpandTable } from '../engine/engine';
import type { ObjectKey } from '../model/object-key';
import type { Change, ChangeOf } from '../schema/change';
import type { Column, SchemaModel, Table } from '../schema/model';
import { needsSync, versionSchema } from './expand-plan';
import type { ExpandPhase, ExpandRelease } from './phases';
import { EXPAND_RULES, type ExpandKind, type ExpandRule } from './rules';

/**
 * What a release of the expand-contract strategy holds in a database while it is in flight (expanded, before
 * `complete` or `abort`): one description, read by `status`, `diff` and drift, so that none of them takes dbee's own
 * work for a difference or drift.
 *
 * Two kinds of thing: dbee's scaffolding (the release's version schemas of views, the shadow columns that hold a changed
 * column's new value, the sync triggers that keep both shapes written, the checks that stand for NOT NULL until
 * complete) and what the release added for its new shape before complete (new columns, new tables, constraints
 * `NOT VALID`, unique indexes). `abort` removes both; `complete` turns them into the new shape.
 */
export interface InFlight {
  release: string;
  phase: ExpandPhase;
  /** The new version's schemas of views (`s_v2`), outside the project's schemas. */
  versionSchemas: string[];
  /** `schema.table.column` of each shadow column (`s.orders._dbee_new_amount`). */
  shadowColumns: string[];
  /** `schema.table` of each table with a sync trigger. */
  triggers: string[];
  /** `schema.table.column` of each column the release added under its final name. */
  addedColumns: string[];
  /** `schema.table` of each table the release created. */
  createdTables: string[];
  /** `schema.table.name` of each constraint (or unique index) the release added, validated at complete. */
  constraints: string[];
  /** `schema.table` (the old name) of each table renamed at complete. */
  renamedTables: string[];
}

/**
 * The prefix of every name dbee gives what it adds to a project's tables for a release: shadow columns (`_dbee_new_`),
 * and the engine's sync triggers and NOT NULL checks (PostgreSQL: `_dbee_sync_<release>`, `_dbee_nn_<column>`).
 */
export const OWN_PREFIX = '_dbee_';

/** Whether a release in this phase is in flight (its objects are in the database, `complete` or `abort` pending). */
export function isInFlight(phase: string): boolean {
  return phase !== 'done' && phase !== 'aborted';
}

/** What the release holds while in flight. */
export function inFlightOf(r: Pick<ExpandRelease, 'release' | 'phase' | 'plan'>): InFlight {
  const { plan } = r;
  const tables = plan.tables.filter((t) => !t.created);
  const at = (t: ExpandTable, name: string) => `${t.schema}.${t.name}.${name}`;
  return {
    release: r.release,
    phase: r.phase,
    versionSchemas: plan.schemas.map((s) => versionSchema(s, plan.release)),
    shadowColumns: tables.flatMap((t) => t.columns.filter((c) => c.kind === 'shadow').map((c) => at(t, c.physical))),
    triggers: tables.filter(needsSync).map((t) => `${t.schema}.${t.name}`),
    addedColumns: tables.flatMap((t) => t.columns.filter((c) => c.kind === 'added').map((c) => at(t, c.name))),
    createdTables: plan.tables.filter((t) => t.created).map((t) => `${t.schema}.${t.name}`),
    constraints: tables.flatMap((t) => t.constraints.map((k) => at(t, k.name))),
    renamedTables: tables.filter((t) => t.newName !== t.name).map((t) => `${t.schema}.${t.name}`),
  };
}

/**
 * The ledger's pending drops (deployed objects whose source is gone) less the tables the release renames: their
 * source is there under the new name, and `complete` records it.
 */
export function notRenamedAway(pendingDrops: string[], f: InFlight | null | undefined): string[] {
  const renamed = new Set((f?.renamedTables ?? []).map((t) => `table:${t}`));
  return pendingDrops.filter((k) => !renamed.has(k));
}

/**
 * One line: `release 2 expanded: version schema s_v2, 2 shadow columns, 1 trigger, 1 new column; dbee complete or dbee
 * abort` (`where`: the `--env` the commands take, when the reader needs it).
 */
export function formatInFlight(f: InFlight, where = ''): string {
  const n = (count: number, one: string, many = `${one}s`) => (count ? [`${count} ${count === 1 ? one : many}`] : []);
  const parts = [
    `version schema${f.versionSchemas.length === 1 ? '' : 's'} ${f.versionSchemas.join(', ')}`,
    ...n(f.shadowColumns.length, 'shadow column'),
    ...n(f.triggers.length, 'trigger'),
    ...n(f.addedColumns.length, 'new column'),
    ...n(f.createdTables.length, 'new table'),
    ...n(f.constraints.length, 'constraint').map((s) => `${s} not validated yet`),
  ];
  return `release ${f.release} ${f.phase}: ${parts.join(', ')}; dbee complete${where} or dbee abort${where}`;
}

const tableKey = (k: { schema: string; name: string }) => `${k.schema}.${k.name}`;
const onTable = (k: ObjectKey) => (k.kind === 'table' ? tableKey(k) : (k.parent ?? null));

/**
 * `model` without the release's objects, for a comparison. Always without dbee's scaffolding (shadow columns, sync
 * triggers, the checks that stand for NOT NULL) and the constraints and unique indexes the release added (they are
 * `NOT VALID` or not attached yet). With `additions` (a comparison with another environment), also without the columns
 * and tables the release added and what is on them: the model is then the release's old shape, as the old version
 * sees it, exactly what `abort` leaves. Without it (a comparison with the sources), those stay and are compared as they
 * are (`releaseMakes` tells the changes that `complete` makes to them).
 */
export function withoutInFlight(model: SchemaModel, plan: ExpandPlan, additions: boolean): SchemaModel {
  const created = new Set(additions ? plan.tables.filter((t) => t.created).map((t) => tableKey(t)) : []);
  const byTable = new Map(plan.tables.filter((t) => !t.created).map((t) => [tableKey(t), t]));
  const keep = (k: ObjectKey) => !created.has(onTable(k) ?? '');
  const own = (x: { column?: string; constraint?: string }, k: ObjectKey) => {
    const t = byTable.get(onTable(k) ?? '');
    return !!t && (x.column ? addedColumns(t, additions).has(x.column) : ownConstraint(x.constraint, t));
  };
  const ownIndex = (name: string, t: ExpandTable | undefined) =>
    t?.constraints.some((k) => k.kind === 'unique' && k.name === name) ?? false;
  return {
    ...model,
    tables: model.tables.filter((t) => keep(t.key)).map((t) => oldShape(t, byTable.get(tableKey(t.key)), additions)),
    triggers: model.triggers.filter((g) => {
      const t = byTable.get(tableKey(g.table));
      return keep(g.table) && !(t && needsSync(t) && g.key.name.startsWith(OWN_PREFIX));
    }),
    indexes: model.indexes.filter((i) => keep(i.table) && !ownIndex(i.key.name, byTable.get(tableKey(i.table)))),
    sequences: model.sequences.filter((s) => !s.ownedBy || keep(s.ownedBy.table)),
    comments: model.comments.filter((c) => keep(c.target) && !own(c, c.target)),
    privileges: model.privileges.filter((p) => keep(p.target) && !own(p, p.target)),
    owners: model.owners.filter((o) => keep(o.target)),
  };
}

/** The physical columns the release added to a table it did not create: shadow columns, and new ones with `additions`. */
function addedColumns(t: ExpandTable, additions: boolean): Set<string> {
  const ours = t.columns.filter((c) => c.kind === 'shadow' || (additions && c.kind === 'added'));
  return new Set(ours.map((c) => c.physical));
}

function ownConstraint(name: string | undefined, t: ExpandTable): boolean {
  return name !== undefined && (name.startsWith(OWN_PREFIX) || t.constraints.some((k) => k.name === name));
}

function oldShape(table: Table, t: ExpandTable | undefined, additions: boolean): Table {
  if (!t) return table;
  const added = addedColumns(t, additions);
  return {
    ...table,
    columns: table.columns.filter((c) => !added.has(c.name)),
    constraints: table.constraints.filter((k) => !ownConstraint(k.name, t)),
  };
}

/**
 * A test of the changes from an environment with the release in flight (`withoutInFlight`, without `additions`) to the
 * sources: true for a change that `complete` makes (a rename, a new type, NOT NULL, a column dropped, a constraint
 * added or renamed) exactly as the release's plan records it, and only while the objects that carry it are in `live`
 * (the model with the release's objects): a diff does not list it. A change that differs from the release (another
 * type than the release's, say) or whose carrier is gone is kept.
 */
export function releaseMakes(plan: ExpandPlan, live: SchemaModel): (c: Change) => boolean {
  const liveTables = new Map(live.tables.map((t) => [tableKey(t.key), t]));
  const tables = plan.tables.flatMap((t) => {
    const table = liveTables.get(tableKey(t));
    return table ? [{ t, live: table, model: live }] : [];
  });
  /** The release's table (with its live table) for a change's table, by its name in the new shape. */
  const of = (k: ObjectKey) => tables.find((x) => x.t.schema === k.schema && x.t.newName === k.name);
  return (c) => {
    const rule = (EXPAND_RULES as { [K in Change['kind']]?: ExpandRule<ExpandKind> })[c.kind];
    return rule ? rule.completes(c as ChangeOf<ExpandKind>, of) : false;
  };
}
