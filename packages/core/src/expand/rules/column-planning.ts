import type { ErrorLocation } from '../../errors';
import type { Column, SchemaModel, Table } from '../../schema/model';
import type { ExpandDeclarations, TableDeclaration } from '../declarations';

/** Prefix of the shadow columns, sync functions and triggers the expand/contract strategy adds. */
export const SHADOW_PREFIX = '_dbee_new_';

/** The shadow column of `column`: the new shape's column while the old one is still there. */
export function shadowName(column: string): string {
  return `${SHADOW_PREFIX}${column}`.slice(0, 63);
}

export function quoteName(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** What the engine can tell about a cast: whether `CAST(x AS from)` converts to `to` with no expression given. */
export type CastCheck = (from: string, to: string) => Promise<boolean>;

/**
 * One table of a release as its columns are planned: each column of the new shape by the rule of the change that made
 * it (added, kept or renamed, shadowed), each column of the old shape that is gone by the drop rule.
 */
export interface TablePlanning {
  /** `schema.newName`, for messages. */
  key: string;
  schema: string;
  newName: string;
  /** The table as it is live (the old shape). */
  old: Table;
  /** The live model (indexes on the table). */
  live: SchemaModel;
  /** The table's declarations (up/down expressions) in the project, if any. */
  decl: TableDeclaration | undefined;
  declarations: ExpandDeclarations;
  refuse(what: string, hint: string, location?: ErrorLocation): void;
  castExists: CastCheck;
}

/** Where a column's `up`/`down` is declared, for a message that asks for one. */
export function declarationFile(t: TablePlanning): string {
  return t.decl?.file ?? t.declarations.pathFor(t.schema, t.newName);
}

export type { Column };
