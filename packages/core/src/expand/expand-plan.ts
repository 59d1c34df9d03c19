import type { ErrorLocation } from '../errors';
import type { Change, ChangeOf } from '../schema/change';
import type { Column, SchemaModel, Table } from '../schema/model';
import type { ExpandDeclarations } from './declarations';
import { needsBackfill } from './names';
import { Classification, EXPAND_RULES, type ExpandKind, type ExpandRule, tk } from './rules';
import { plannedAddedColumn } from './rules/add-column';
import { notNullExpressions } from './rules/alter-column-nullability';
import { typeExpressions } from './rules/alter-column-type';
import type { CastCheck, TablePlanning } from './rules/column-planning';
import { plannedDroppedColumn } from './rules/drop-column';
import { plannedShadowColumn } from './rules/new-column';
import { plannedKeptColumn } from './rules/rename-column';
import {
  EXPAND_PLAN_FORMAT,
  type DroppedColumn,
  type ExpandColumn,
  type ExpandPlan,
  type ExpandTable,
} from '../engine/engine';

// The plan's types are part of the engine contract (`ExpandRole` renders them): they live in engine/engine.ts.
export {
  EXPAND_PLAN_FORMAT,
  type AddedConstraint,
  type DroppedColumn,
  type ExpandColumn,
  type ExpandPlan,
  type ExpandTable,
} from '../engine/engine';

export { SHADOW_PREFIX, shadowName, type CastCheck } from './rules/column-planning';

// What an engine renders a plan with (names, expressions), apart from the planning and its rules: names.ts.
export { needsBackfill, needsSync, releaseSlug, upOf, versionSchema } from './names';
interface PlanInput {
  project: string;
  release: string;
  previous: string;
  schemas: string[];
  live: SchemaModel;
  desired: SchemaModel;
  changes: Change[];
  declarations: ExpandDeclarations;
  /** Where the project's renames are declared (db.yaml), for messages. */
  projectFile: string;
  castExists: CastCheck;
}

/** Each change through its rule (`EXPAND_RULES`: validated, then planned); a kind without one is refused, naming what the strategy supports. */
function classify(changes: readonly Change[]): Classification {
  const s = new Classification(changes);
  for (const c of changes) {
    const rule = (EXPAND_RULES as { [K in Change['kind']]?: ExpandRule<ExpandKind> })[c.kind];
    if (rule) {
      const before = s.problems.length;
      rule.validate(c as ChangeOf<ExpandKind>, s);
      if (s.problems.length === before) rule.plan(c as ChangeOf<ExpandKind>, s);
    } else
      s.refuse(
        `${describeChange(c)} is not a change the expand-contract strategy supports (it supports adding, renaming, retyping and dropping columns, adding NOT NULL, CHECK, foreign key and unique constraints, and renaming tables)`,
        'deploy this change with the direct strategy (dbee deploy --strategy direct) in its own release, then the table changes with expand-contract',
      );
  }
  return s;
}

/**
 * The columns of one table of the release, each by the rule of the change that made it (`add-column`,
 * `rename-column` or none, `alter-column-type`, `alter-column-nullability`, `drop-column`), then what the table's
 * changes together cannot carry: a constraint added on a column that changes, a declaration of no column.
 */
async function planColumns(
  t: TablePlanning,
  want: Table,
  s: Classification,
): Promise<{ columns: ExpandColumn[]; dropped: DroppedColumn[] }> {
  const { key, old, decl } = t;
  const renames = s.renamedColumns.get(key) ?? new Map<string, string>();
  const oldByName = new Map(old.columns.map((c) => [c.name, c]));
  const columns: ExpandColumn[] = [];
  for (const col of want.columns) {
    const from = renames.get(col.name) ?? (oldByName.has(col.name) ? col.name : undefined);
    if (from === undefined) {
      columns.push(plannedAddedColumn(t, col));
      continue;
    }
    const before = oldByName.get(from)!;
    const given = { up: decl?.columns[col.name]?.up ?? null, down: decl?.columns[col.name]?.down ?? null };
    if (s.typeChanged.get(key)?.has(col.name))
      columns.push(await plannedShadowColumn(t, col, from, () => typeExpressions(t, col, from, before, given)));
    else if (s.notNullAdded.get(key)?.has(col.name))
      columns.push(await plannedShadowColumn(t, col, from, () => notNullExpressions(t, col, from, given)));
    else columns.push(plannedKeptColumn(t, col, from, before));
  }
  const kept = new Set(columns.flatMap((c) => (c.from ? [c.from] : [])));
  const dropped = old.columns.filter((c) => !kept.has(c.name)).map((c) => plannedDroppedColumn(t, c));
  for (const k of s.addedConstraints.get(key) ?? [])
    if (k.kind !== 'foreign-key' && columns.some((c) => c.kind === 'shadow' && k.definition.includes(c.name)))
      t.refuse(
        `${key}: constraint ${k.name} is on a column whose type or nullability changes in the same release`,
        'split this into two releases',
      );
  // Every name an expression may use is declared: the rest is left to the engine's check (`checkExpressions`).
  if (decl)
    for (const [name, d] of Object.entries(decl.columns)) {
      if (!columns.some((c) => c.name === name) && !dropped.some((c) => c.name === name))
        t.refuse(
          `${decl.file}: column ${name} is neither in the new shape of ${key} nor one it drops`,
          'name a column of the table file (up: for new and changed columns, down: for dropped and changed ones)',
          d.location,
        );
    }
  return { columns, dropped };
}

/**
 * The expand/contract plan of a diff: every change classified, or one error that names each change the strategy
 * does not support (and what to do), and each `up`/`down` expression that is missing. Changes nothing.
 */
export async function planExpand(input: PlanInput): Promise<ExpandPlan> {
  const { live, desired, declarations } = input;
  const s = classify(input.changes);
  const { problems, summary, renamedTables, addedConstraints } = s;
  const { created, createdConstraints, renamedConstraints } = s;
  const refuse = (what: string, hint: string, location?: ErrorLocation) => s.refuse(what, hint, location);
  const owned = new Set(input.schemas);

  const tables: ExpandTable[] = [];
  const desiredTables = new Map(desired.tables.map((t) => [tk(t.key.schema, t.key.name), t]));
  for (const old of live.tables.filter((t) => owned.has(t.key.schema))) {
    const schema = old.key.schema;
    const newName = renamedTables.get(tk(schema, old.key.name)) ?? old.key.name;
    const want = desiredTables.get(tk(schema, newName));
    if (!want) continue; // a dropped table was refused above
    const key = tk(schema, newName);
    const t: TablePlanning = {
      key,
      schema,
      newName,
      old,
      live,
      decl: declarations.table(schema, newName),
      declarations,
      refuse,
      castExists: input.castExists,
    };
    const { columns, dropped } = await planColumns(t, want, s);
    tables.push({
      schema,
      name: old.key.name,
      newName,
      oldColumns: old.columns.map((c) => ({ name: c.name, type: c.type, notNull: c.notNull })),
      columns,
      dropped,
      constraints: addedConstraints.get(key) ?? [],
      key: old.constraints.find((k) => k.kind === 'primary-key')?.columns ?? [],
      ...(renamedConstraints.get(key)?.length ? { renamedConstraints: renamedConstraints.get(key) } : {}),
    });
  }
  for (const t of created.values()) {
    if (!owned.has(t.key.schema)) continue;
    tables.push({
      schema: t.key.schema,
      name: t.key.name,
      newName: t.key.name,
      oldColumns: [],
      columns: t.columns.map((c) => ({
        name: c.name,
        kind: 'same',
        physical: c.name,
        from: c.name,
        type: c.type,
        notNull: c.notNull,
        default: c.default,
        up: null,
        down: null,
      })),
      dropped: [],
      constraints: createdConstraints.get(tk(t.key.schema, t.key.name)) ?? [],
      key: t.constraints.find((k) => k.kind === 'primary-key')?.columns ?? [],
      created: { definition: t },
    });
  }
  for (const t of tables)
    if (needsBackfill(t) && t.key.length === 0)
      refuse(
        `${t.schema}.${t.name} has no primary key: the expand-contract backfill walks a table by its primary key`,
        'add a primary key first (direct strategy), or deploy this change with the direct strategy',
      );
  if (problems.length === 1) throw problems[0]!;
  if (problems.length > 1) {
    const { DbeeAggregateError } = await import('../errors');
    throw new DbeeAggregateError(
      `${input.project}: ${problems.length} changes cannot be deployed with the expand-contract strategy`,
      problems,
    );
  }
  return {
    formatVersion: EXPAND_PLAN_FORMAT,
    project: input.project,
    release: input.release,
    previous: input.previous,
    schemas: input.schemas,
    tables,
    summary,
  };
}

function describeChange(c: Change): string {
  const parts = Object.values(c).filter((v): v is { key: { schema: string; name: string } } => {
    return typeof v === 'object' && v !== null && 'key' in v;
  });
  const key = parts[0]?.key;
  return `${c.kind}${key ? ` ${key.schema}.${key.name}` : 'table' in c && c.table ? ` ${(c.table as { schema: string; name: string }).schema}.${(c.table as { name: string }).name}` : ''}`;
}

export type { Column, Table };
