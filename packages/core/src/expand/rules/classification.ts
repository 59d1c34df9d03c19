import { DbeeError, type ErrorLocation } from '../../errors';
import type { Change, ChangeKind } from '../../schema/change';
import type { Table } from '../../schema/model';
import type { AddedConstraint } from '../../engine/engine';

/** A change of one kind. */
export type ChangeOf<K extends ChangeKind> = Extract<Change, { kind: K }>;

/**
 * What the expand rules learn from a diff's changes, one change at a time (`EXPAND_RULES`), before the release's
 * tables are planned from it: renames, retyped and NOT NULL columns, added and renamed constraints, the summary, and
 * the problems (each change the strategy does not support).
 */
export class Classification {
  readonly problems: DbeeError[] = [];
  readonly summary: string[] = [];
  /** `schema.old` → the table's new name. */
  readonly renamedTables = new Map<string, string>();
  /** `schema.newTable` → new column name → old one. */
  readonly renamedColumns = new Map<string, Map<string, string>>();
  /** `schema.newTable` → columns whose type changes. */
  readonly typeChanged = new Map<string, Set<string>>();
  readonly notNullAdded = new Map<string, Set<string>>();
  readonly addedConstraints = new Map<string, AddedConstraint[]>();
  readonly renamedConstraints = new Map<string, { from: string; to: string }[]>();
  /** Tables the release creates, by `schema.name`. */
  readonly created = new Map<string, Table>();
  /** The constraints of a created table that its CREATE TABLE leaves out (foreign keys, `NOT VALID`), by `schema.name`. */
  readonly createdConstraints = new Map<string, AddedConstraint[]>();
  /** Constraints dropped, by `schema.table`. */
  readonly droppedConstraints = new Map<string, { name: string; kind: string; definition: string }[]>();

  constructor(readonly changes: readonly Change[]) {
    for (const c of changes)
      if (c.kind === 'create-table') this.created.set(tk(c.table.key.schema, c.table.key.name), c.table);
    for (const c of changes)
      if (c.kind === 'drop-constraint')
        of(this.droppedConstraints, tk(c.table.schema, c.table.name), () => []).push(c.constraint);
  }

  refuse(what: string, hint: string, location?: ErrorLocation): void {
    this.problems.push(new DbeeError(what, { code: 'EXPAND_UNSUPPORTED', hint, location }));
  }
}

/** The key of a table in the classification's maps. */
export const tk = (schema: string, name: string) => `${schema}.${name}`;

/** `m.get(k)`, made first when missing. */
export function of<V>(m: Map<string, V>, k: string, make: () => V): V {
  if (!m.has(k)) m.set(k, make());
  return m.get(k)!;
}

/**
 * A constraint dropped and added again with the same definition under another name is a rename (PostgreSQL keeps
 * `notes_pkey` when notes becomes memos; the sources say `memos_pkey`).
 */
export const sameButName = (a: { kind: string; definition: string }, b: { kind: string; definition: string }) =>
  a.kind === b.kind && a.definition === b.definition;
