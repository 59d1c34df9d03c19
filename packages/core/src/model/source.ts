import type { ObjectKey, ObjectKind } from './object-key';

/** A position in a source file. `file` is relative to the workspace root, with `/` separators. */
export interface SourceLocation {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
}

/** What kind of thing a reference points at; the planner resolves it against the objects it knows. */
export type ReferenceKind = 'relation' | 'function' | 'type' | 'schema' | 'sequence' | 'object';

/** Kinds of object a reference of each kind can point at (`object`: any kind). */
export const REFERENCE_TARGETS: Record<ReferenceKind, ObjectKind[]> = {
  relation: ['table', 'view', 'materialized-view', 'sequence', 'join-index'],
  function: ['function', 'procedure', 'aggregate', 'macro'],
  type: ['type', 'domain', 'table', 'view', 'materialized-view'],
  sequence: ['sequence'],
  schema: ['schema', 'database'],
  object: [],
};

/**
 * A use of another object by a statement, taken from the syntax tree. `schema` is undefined for unqualified
 * names: the planner resolves those through the project's search path.
 */
export interface Reference {
  kind: ReferenceKind;
  schema?: string;
  name: string;
  /** Argument types when the engine knows them (a function call usually does not). */
  args?: string[];
  /** Why it is needed, for messages: `view`, `default`, `foreign key`, `trigger`, `column type`, `body`... */
  via?: string;
  /** True for foreign-key references: the planner may break cycles of these by deferring the constraint. */
  foreignKey?: boolean;
  location?: SourceLocation;
}

/** What a statement does to its object. */
export type StatementAction = 'create' | 'create-or-replace' | 'alter' | 'comment' | 'grant' | 'drop' | 'other';

/** One statement of a source file, classified by the engine's parser. */
export interface ParsedStatement {
  /** The statement text exactly as written in the source (placeholders already expanded), without the `;`. */
  sql: string;
  location: SourceLocation;
  /** The object the statement defines or acts on; null for statements that define nothing (e.g. `SET`). */
  key: ObjectKey | null;
  action: StatementAction;
  references: Reference[];
  /** False for statements that cannot run inside a transaction (`CREATE INDEX CONCURRENTLY`, `VACUUM`...). */
  transactional: boolean;
  /**
   * For a foreign key declared inside CREATE TABLE or by ALTER TABLE: the engine's statement that adds it
   * separately, so the planner can move it after both tables when foreign keys form a cycle.
   */
  deferrable?: DeferrableConstraint[];
  /**
   * True for a statement that configures the session of a restore rather than an object, which the parser knows
   * (PostgreSQL: the `SET statement_timeout = 0;`... lines `pg_dump` prints). Left out of object files, so that a
   * dump is a valid starting point; kept in migrations. Absent: false.
   */
  restoreSetting?: boolean;
  /**
   * Names of the indexes the statement makes for the constraints it adds to its table (PostgreSQL: a named `PRIMARY
   * KEY`, `UNIQUE` or `EXCLUDE` constraint's index has the constraint's name), which later statements may name
   * (`ALTER INDEX pk ATTACH PARTITION ...`, as `pg_dump` prints for a partitioned table's primary key). Absent: none.
   */
  constraintIndexes?: string[];
  /**
   * Names of the sequences the statement's serial columns make (PostgreSQL: `id serial` makes `<table>_id_seq`),
   * which later statements may name (`ALTER SEQUENCE t_id_seq CACHE 20`, `COMMENT ON SEQUENCE`, a grant on it): they
   * are the table's, not a sequence the sources never create. Absent: none.
   */
  serialSequences?: string[];
  /**
   * The columns the statement gives its table or view, in order, as the parser reads them: CREATE TABLE's column
   * definitions, the columns ALTER TABLE adds, a view's output columns. For the editor (completion, navigation of
   * columns); the planner does not use them. Absent: none known.
   */
  columns?: ColumnDefinition[];
  /**
   * The aliases the statement gives the relations it names (`FROM sales.orders o`), for the editor. Absent: none.
   */
  aliases?: RelationAlias[];
}

/** A column of a table or view, as its defining statement writes it. */
export interface ColumnDefinition {
  name: string;
  /** The type, as the engine prints it (`numeric(12,2)`, `core.customer_status`); absent for a view's column. */
  type?: string;
  /** Declared NOT NULL (or part of the primary key). Absent: false. */
  notNull?: boolean;
  /** The default, when it is simple enough to show (a constant, a call without arguments, an identity). */
  default?: string;
  /** Where the column is written: its name (a table's column), or its expression (a view's). */
  location: SourceLocation;
}

/** A relation a statement names with an alias: `o` for `sales.orders` in `FROM sales.orders o`. */
export interface RelationAlias {
  alias: string;
  /** As written; undefined when unqualified. */
  schema?: string;
  name: string;
}

/** A foreign-key constraint that can be split out of its CREATE TABLE and added later. */
export interface DeferrableConstraint {
  /** The referenced table. */
  target: Reference;
  /** The statement that adds the constraint afterwards (`ALTER TABLE ... ADD CONSTRAINT ...`). */
  addStatement: string;
  /** The CREATE TABLE statement without this constraint. */
  statementWithout: string;
  /**
   * The constraint is a statement of its own (`ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY`, equal to
   * `addStatement`): split out, it leaves the object's other statements as they are (`statementWithout` unused).
   */
  standalone?: boolean;
}

/** Options that shape how a parser resolves and classifies statements. */
export interface ParseOptions {
  /** Schemas searched for unqualified names, first match wins; the first one receives unqualified creates. */
  searchPath: string[];
}
