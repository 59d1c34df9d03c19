import type { ObjectKey } from '../../model/object-key';
import type { ChangeKind, ChangeOf } from '../../schema/change';
import type { Column, SchemaModel, Table } from '../../schema/model';
import type {
  AddedConstraint,
  DroppedColumn,
  ExpandColumn,
  ExpandKindSql,
  ExpandStatement,
  ExpandTable,
} from '../../engine/engine';
import type { Classification } from './classification';

/** The change kinds the expand-contract strategy carries: one rule each (`EXPAND_RULES`), one SQL entry each. */
export type ExpandKind = Extract<keyof ExpandKindSql, ChangeKind>;

/** Every key of `ExpandKindSql` is a change kind (this fails to compile otherwise). */
export const KINDS_ARE_CHANGES: [keyof ExpandKindSql] extends [ExpandKind] ? true : never = true;

/**
 * The part of a release's table (`ExpandTable`) that one change kind owns: a column it adds, shadows, renames or drops,
 * a constraint it adds or renames, the table it creates or renames. `partsOf` finds them in a stored plan.
 */
export interface PartFields {
  'create-table': object;
  'add-column': { column: ExpandColumn };
  'alter-column-type': { column: ExpandColumn };
  'alter-column-nullability': { column: ExpandColumn };
  /** A changed default travels with the column that carries it: no part of its own. */
  'alter-column-default': never;
  'rename-column': { column: ExpandColumn };
  'drop-column': { column: DroppedColumn };
  'add-constraint': { constraint: AddedConstraint };
  'drop-constraint': { rename: { from: string; to: string } };
  'rename-table': object;
}

/** A part of kind `K` of table `table`. */
export type PartOf<K extends ExpandKind> = { kind: K; table: ExpandTable } & PartFields[K];

/** Any part. */
export type ExpandPart = { [K in ExpandKind]: PartOf<K> }[ExpandKind];

/**
 * Where a part's statements go in the expand phase. The phase runs, in order: every `create`, every `references`,
 * then table by table its `columns` (one statement with the table's sync trigger: no row is written in between),
 * `checks` (after the trigger: from then on every write fills the new columns), `constraints`.
 */
export interface ExpandSlots {
  create: ExpandStatement[];
  references: ExpandStatement[];
  columns: string[];
  checks: ExpandStatement[];
  constraints: ExpandStatement[];
}

/**
 * Where a part's statements go at complete, table by table in this order. The swap is one statement: the sync
 * trigger's drop, then `dropColumns`, `swapShadows`, `renameColumns`, `setNotNull` (a rename may take a dropped column's
 * name; SET NOT NULL names the swapped column).
 */
export interface CompleteSlots {
  validateConstraints: ExpandStatement[];
  validateNotNull: ExpandStatement[];
  dropColumns: string[];
  swapShadows: string[];
  renameColumns: string[];
  setNotNull: string[];
  uniqueFromIndex: ExpandStatement[];
  renameTable: ExpandStatement[];
  renameConstraints: ExpandStatement[];
}

/**
 * Where a part's statements go at abort: table by table `dropChecks` (the old version writes no value they ask for),
 * `dropConstraints`, then `dropColumns` in one statement with the sync trigger's drop; last, every table in
 * `dropTables` in one statement (the constraints of other tables that referenced them are gone by then).
 */
export interface AbortSlots {
  dropChecks: ExpandStatement[];
  dropConstraints: ExpandStatement[];
  dropColumns: string[];
  dropTables: ExpandTable[];
}

/** A table of an in-flight release, with the table as it is live and the live model (`releaseMakes`). */
export type InFlightTable = { t: ExpandTable; live: Table; model: SchemaModel } | undefined;

/** The release's table for a change's table, by its name in the new shape. */
export type InFlightLookup = (table: ObjectKey) => InFlightTable;

/**
 * How the expand-contract strategy carries one kind of change, whole (pgroll's `Operation`: Validate, Start, Complete,
 * Rollback). The rule decides what each phase does with its part; the engine's SQL for it is `sql`
 * (`ExpandRole.kinds[kind]`). One module per kind in this folder, one line in `EXPAND_RULES`.
 */
export interface ExpandRule<K extends ExpandKind> {
  /** Refuses (`s.refuse`) what of this change the strategy cannot carry; `plan` runs only when it refused nothing. */
  validate(change: ChangeOf<K>, s: Classification): void;
  /** What the change tells the planning of the release's tables (a rename, a retyped column...), and its summary line. */
  plan(change: ChangeOf<K>, s: Classification): void;
  /** Its part's statements in the expand phase. */
  expand(part: PartOf<K>, sql: ExpandKindSql[K]): Partial<ExpandSlots>;
  /** Its part's statements at complete: what the expand phase left becomes the new shape. */
  complete(part: PartOf<K>, sql: ExpandKindSql[K]): Partial<CompleteSlots>;
  /** Its part's statements at abort: what the expand phase added is gone, the old shape is as it was. */
  abort(part: PartOf<K>, sql: ExpandKindSql[K]): Partial<AbortSlots>;
  /**
   * Whether a diff's change of this kind, from a database with the release in flight to the sources, is one that
   * `complete` makes exactly as the release records it (so a diff does not list it), while what carries it is there.
   */
  completes(change: ChangeOf<K>, of: InFlightLookup): boolean;
}

/** The release's column `name` of one of `kinds`, while its physical column is there: with the live column. */
export function carrier(f: InFlightTable, name: string, kinds: string[]): { x: ExpandColumn; live: Column } | null {
  const x = f?.t.columns.find((x) => x.name === name && kinds.includes(x.kind));
  const live = x && f!.live.columns.find((c) => c.name === x.physical);
  return x && live ? { x, live } : null;
}

/** A phase that the kind takes no part in. */
export const nothing = () => ({});
/** A kind that `complete` does not make (it is made at expand). */
export const madeAtExpand = () => false;
