import type { ErrorLocation } from '../errors';
import type { Change } from '../schema/change';
import type { Column, SchemaModel, Table } from '../schema/model';
import type { ExpandDeclarations } from './declarations';
import { Classification, EXPAND_RULES, tk } from './rules';
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

/** Prefix of the shadow columns, sync functions and triggers the expand/contract strategy adds. */
export const SHADOW_PREFIX = '_dbee_new_';

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

/** What the engine can tell about a cast: whether `CAST(x AS from)` converts to `to` with no expression given. */
export type CastCheck = (from: string, to: string) => Promise<boolean>;

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

/** Each change through its rule (`EXPAND_RULES`); a kind without one is refused, naming what the strategy supports. */
function classify(changes: readonly Change[]): Classification {
  const s = new Classification(changes);
  for (const c of changes) {
    const rule = EXPAND_RULES[c.kind] as ((change: Change, s: Classification) => void) | undefined;
    if (rule) rule(c, s);
    else
      s.refuse(
        `${describeChange(c)} is not a change the expand-contract strategy supports (it supports adding, renaming, retyping and dropping columns, adding NOT NULL, CHECK, foreign key and unique constraints, and renaming tables)`,
        'deploy this change with the direct strategy (dbee deploy --strategy direct) in its own release, then the table changes with expand-contract',
      );
  }
  return s;
}

/**
 * The expand/contract plan of a diff: every change classified, or one error that names each change the strategy
 * does not support (and what to do), and each `up`/`down` expression that is missing. Changes nothing.
 */
export async function planExpand(input: PlanInput): Promise<ExpandPlan> {
  const { live, desired, declarations } = input;
  const s = classify(input.changes);
  const { problems, summary, renamedTables, renamedColumns, typeChanged, notNullAdded, addedConstraints } = s;
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
    const decl = declarations.table(schema, newName);
    const renames = renamedColumns.get(key) ?? new Map<string, string>();
    const oldByName = new Map(old.columns.map((c) => [c.name, c]));
    const columns: ExpandColumn[] = [];
    for (const col of want.columns) {
      const from = renames.get(col.name) ?? (oldByName.has(col.name) ? col.name : undefined);
      const given = decl?.columns[col.name];
      const where = given?.location ?? decl?.location;
      if (from === undefined) {
        if (col.identity || col.generated)
          refuse(
            `${key}.${col.name}: adding an identity or generated column is not supported by the expand-contract strategy`,
            'deploy it with the direct strategy first',
          );
        const up = given?.up ?? null;
        if (col.notNull && up === null && col.default === null)
          refuse(
            `${key}.${col.name} is added NOT NULL without a default: the old version's rows need a value`,
            `give it a default in its table file, or an up expression computed from the old columns in ${decl?.file ?? declarations.pathFor(schema, newName)}:\n  columns:\n    ${col.name}:\n      up: <expression over the old columns>`,
            where,
          );
        columns.push({
          name: col.name,
          kind: 'added',
          physical: col.name,
          type: col.type,
          notNull: col.notNull,
          default: col.default,
          up,
          down: null,
        });
        continue;
      }
      const before = oldByName.get(from)!;
      const retyped = typeChanged.get(key)?.has(col.name) ?? false;
      const mustNotNull = notNullAdded.get(key)?.has(col.name) ?? false;
      if (!retyped && !mustNotNull) {
        if ((before.default ?? null) !== (col.default ?? null) && from === col.name)
          refuse(
            `${key}.${col.name}: changing a column's default is not supported by the expand-contract strategy`,
            'deploy this change with the direct strategy first',
          );
        columns.push({
          name: col.name,
          kind: from === col.name ? 'same' : 'renamed',
          physical: from,
          from,
          type: col.type,
          notNull: col.notNull,
          default: col.default,
          up: null,
          down: null,
        });
        continue;
      }
      if (old.constraints.some((k) => k.kind === 'primary-key' && k.columns.includes(from)))
        refuse(
          `${key}.${col.name} is part of the primary key: changing its type or nullability is not supported by the expand-contract strategy`,
          'deploy this change with the direct strategy',
        );
      // The old column goes at complete, and with it every index and constraint on it: refused rather than lost.
      const mentions = (text: string | null) =>
        text !== null && new RegExp(`\\b${from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`).test(text);
      const onIt = [
        ...old.constraints
          .filter((k) => k.kind !== 'primary-key' && (k.columns.includes(from) || mentions(k.expression)))
          .map((k) => `constraint ${k.name}`),
        ...live.indexes
          .filter(
            (i) =>
              i.table.schema === schema &&
              i.table.name === old.key.name &&
              (i.columns.includes(from) || mentions(i.predicate) || (i.expression && mentions(i.definition))),
          )
          .map((i) => `index ${i.key.name}`),
      ];
      if (onIt.length)
        refuse(
          `${key}.${col.name}: changing its type or nullability would drop ${onIt.join(', ')} with the old column at complete; the expand-contract strategy does not move them to the new column yet`,
          'deploy this change with the direct strategy, or drop them first and create them again after the release',
        );
      let up = given?.up ?? null;
      let down = given?.down ?? null;
      if (retyped) {
        const castable = await input.castExists(before.type, col.type);
        const backCastable = await input.castExists(col.type, before.type);
        if (up === null && castable) up = `CAST(${quoteName(from)} AS ${col.type})`;
        if (down === null && backCastable) down = `CAST(${quoteName(col.name)} AS ${before.type})`;
        if (up === null || down === null)
          refuse(
            `${key}.${col.name}: PostgreSQL has no cast from ${castable ? col.type : before.type} to ${castable ? before.type : col.type}, so dbee cannot derive the ${up === null ? 'up' : 'down'} expression of the type change`,
            `declare it in ${decl?.file ?? declarations.pathFor(schema, newName)}:\n  columns:\n    ${col.name}:\n      up: <old ${from} as ${col.type}>\n      down: <new ${col.name} as ${before.type}>`,
            where,
          );
      } else {
        // NOT NULL added: the old version may still write NULL; `up` says what the new column holds then.
        if (up === null)
          refuse(
            `${key}.${col.name}: adding NOT NULL needs an up expression: the value the new version sees where the old version writes NULL`,
            `declare it in ${decl?.file ?? declarations.pathFor(schema, newName)}:\n  columns:\n    ${col.name}:\n      up: COALESCE(${from}, <value>)`,
            where,
          );
        down ??= quoteName(col.name);
      }
      columns.push({
        name: col.name,
        kind: 'shadow',
        physical: shadowName(col.name),
        from,
        type: col.type,
        notNull: col.notNull,
        default: col.default,
        up,
        down,
      });
    }
    const kept = new Set(columns.flatMap((c) => (c.from ? [c.from] : [])));
    const dropped: DroppedColumn[] = [];
    for (const c of old.columns.filter((c) => !kept.has(c.name))) {
      const given = decl?.columns[c.name];
      const down = given?.down ?? null;
      if (c.notNull && c.default === null && down === null && !c.identity && !c.generated)
        refuse(
          `${key}.${c.name} is dropped but NOT NULL without a default: rows the new version inserts need a value for the old version`,
          `declare a down expression (over the new columns) in ${decl?.file ?? declarations.pathFor(schema, newName)}:\n  columns:\n    ${c.name}:\n      down: <expression>`,
          given?.location ?? decl?.location,
        );
      dropped.push({ name: c.name, type: c.type, down });
    }
    for (const k of addedConstraints.get(key) ?? [])
      if (k.kind !== 'foreign-key' && columns.some((c) => c.kind === 'shadow' && k.definition.includes(c.name)))
        refuse(
          `${key}: constraint ${k.name} is on a column whose type or nullability changes in the same release`,
          'split this into two releases',
        );
    // Every name an expression may use is declared: the rest is left to the engine's check (`checkExpressions`).
    if (decl)
      for (const [name, d] of Object.entries(decl.columns)) {
        if (!columns.some((c) => c.name === name) && !dropped.some((c) => c.name === name))
          refuse(
            `${decl.file}: column ${name} is neither in the new shape of ${key} nor one it drops`,
            'name a column of the table file (up: for new and changed columns, down: for dropped and changed ones)',
            d.location,
          );
      }
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

export function shadowName(column: string): string {
  return `${SHADOW_PREFIX}${column}`.slice(0, 63);
}

function quoteName(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

function describeChange(c: Change): string {
  const parts = Object.values(c).filter((v): v is { key: { schema: string; name: string } } => {
    return typeof v === 'object' && v !== null && 'key' in v;
  });
  const key = parts[0]?.key;
  return `${c.kind}${key ? ` ${key.schema}.${key.name}` : 'table' in c && c.table ? ` ${(c.table as { schema: string; name: string }).schema}.${(c.table as { name: string }).name}` : ''}`;
}

export type { Column, Table };
