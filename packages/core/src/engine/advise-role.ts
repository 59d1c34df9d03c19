import type { Connection } from './connection';

/**
 * What `dbee advise` asks an engine (PostgreSQL: `packages/postgres/src/advise/`): its catalog's tables, indexes,
 * foreign keys and statistics, the planner's cost of a query, hypothetical indexes (HypoPG), and the SQL of the advice.
 * Core keeps the method (candidates, thresholds, verdicts: `advise/`); the engine keeps every catalog name.
 */
export interface AdviseRole {
  /** The tables of `schemas`, with their size and how fresh their optimizer statistics are. */
  tables(conn: Connection, schemas: string[]): Promise<AdviseTable[]>;
  /** The indexes of the tables of `schemas`, with their use since the statistics were reset. */
  indexes(conn: Connection, schemas: string[]): Promise<AdviseIndex[]>;
  /**
   * Every relation name of `schemas` (tables, partitions, indexes, views, sequences...): the names an advised index
   * must not take, as `schema` → names.
   */
  relationNames(conn: Connection, schemas: string[]): Promise<Map<string, Set<string>>>;
  /** The foreign keys of the tables of `schemas` (referencing side). */
  foreignKeys(conn: Connection, schemas: string[]): Promise<ColumnSet[]>;
  /** Extended statistics objects on the tables of `schemas`. */
  extendedStatistics(conn: Connection, schemas: string[]): Promise<ColumnSet[]>;
  /** When the usage counters were last reset (ISO time), or null when never or unknown. */
  statsSince(conn: Connection): Promise<string | null>;
  /**
   * The columns one query filters, joins, groups and sorts on, each resolved to its table (null when the statement
   * cannot be read: the query is then left out of the advice with the reason).
   */
  queryColumns(conn: Connection, sql: string, searchPath: string[]): Promise<QueryColumn[] | null>;
  /**
   * The planner's estimated total cost of the query's generic plan (parameters unknown, as a prepared statement of the
   * application is planned), and the indexes that plan uses (hypothetical ones by the name `hypothetical.create` gave).
   */
  cost(conn: Connection, sql: string, searchPath: string[]): Promise<PlannedCost>;
  /** Indexes the planner sees but no one else does, for the what-if (HypoPG). */
  hypothetical: {
    /** Whether hypothetical indexes can be made in this session, or why not (the package or extension to install). */
    available(conn: Connection): Promise<{ ok: true; hide: boolean } | { ok: false; reason: string }>;
    /** Make one for this session; returns the name its plans show. */
    create(conn: Connection, index: IndexShape): Promise<string>;
    /** Make the planner ignore a real index in this session (a drop's what-if); false when it cannot. */
    hide(conn: Connection, index: { schema: string; name: string }): Promise<boolean>;
    /** Forget every hypothetical index and hidden index of this session. */
    reset(conn: Connection): Promise<void>;
  };
  /**
   * Pairs of columns of one table where one mostly determines the other, from a bounded sample: the planner multiplies
   * their selectivities as if independent, and extended statistics (dependencies) correct that.
   */
  dependentPairs(conn: Connection, table: TableName, pairs: [string, string][]): Promise<[string, string][]>;
  /** What a release's statements do to indexes, foreign keys, tables and data (read from the statements). */
  releaseFacts(steps: { key: string; action: string; statements: string[] }[]): ReleaseFacts;
  /** The SQL of a piece of advice, as it goes into a source file. */
  render: {
    /**
     * `CREATE INDEX` (`CONCURRENTLY` when asked). With `partitions` (an index on a partitioned table that must not
     * block writes): the statements that make it `ON ONLY` the parent, build each partition's and attach it, joined
     * with `;` and a new line.
     */
    createIndex(index: IndexShape, concurrently: boolean, partitions?: PartitionIndex[]): string;
    createStatistics(stats: ColumnSet): string;
    dropStatistics(stats: ColumnSet): string;
    analyze(table: TableName): string;
  };
}

/** A table by schema and name. */
export interface TableName {
  schema: string;
  name: string;
}

/** Columns of one table, in order, with the name of what holds them (a constraint, a statistics object). */
export interface ColumnSet extends TableName {
  /** The table's name. */
  table: string;
  columns: string[];
}

/** A partition of a partitioned table (at any level). */
export interface TablePartition extends TableName {
  /** The partitioned table it is a partition of. */
  parent: TableName;
  /** A table with rows of its own, rather than a partitioned one. */
  leaf: boolean;
}

/** The index of one partition of a partitioned table, and the index of its parent it is attached to. */
export interface PartitionIndex {
  index: IndexShape;
  /** The parent's index this one is attached to (`ALTER INDEX parent ATTACH PARTITION index`). */
  attachTo: { schema: string; name: string };
  /** A leaf partition (a table with rows): built `CONCURRENTLY`; a sub-partitioned one is made `ON ONLY` it. */
  leaf: boolean;
  /**
   * An index the partition has already, on the same columns (plain b-tree, not unique, not partial): attached, not
   * built again (as a `CREATE INDEX` on the parent would do itself).
   */
  existing?: boolean;
}

/** A plain index on columns of one table: what the advice proposes. */
export interface IndexShape {
  schema: string;
  table: string;
  columns: string[];
  /** Name the index would get in the sources. */
  name: string;
}

export interface AdviseTable extends TableName {
  /** Estimated live rows (the planner's); of a partitioned table, its partitions' together. */
  rows: number;
  /** Of a partitioned table: its partitions at every level, each after its parent; empty for another table. */
  partitions: TablePartition[];
  /** Rows inserted, updated or deleted since the last analyze. */
  modifiedSinceAnalyze: number;
  /** Last analyze (manual or automatic), ISO time, or null when never. */
  lastAnalyzed: string | null;
}

export interface AdviseIndex extends TableName {
  table: string;
  /** Key columns in order; null for an index on an expression. */
  columns: string[] | null;
  /** Access method (`btree`, `gin`...). */
  method: string;
  unique: boolean;
  primary: boolean;
  /** `WHERE` of a partial index, or null. */
  predicate: string | null;
  /** Backs a constraint (primary key, unique, exclusion): dropping it drops the constraint. */
  constraint: boolean;
  /**
   * A partition's index attached to the partitioned table's index (`schema.name` of that one): plans scan the
   * partitions' indexes, and dropping the partitioned table's index drops them.
   */
  attachedTo?: string | null;
  /** Index scans since the counters were reset. */
  scans: number;
  bytes: number;
  definition: string;
}

/** One use of a column in a query. */
export interface QueryColumn extends TableName {
  column: string;
  use: 'filter' | 'join' | 'sort';
  /** An equality (`=`, `IN`) rather than a range or other comparison. */
  equality: boolean;
}

export interface PlannedCost {
  cost: number;
  /** Names of the indexes the plan scans. */
  indexes: string[];
  /** Those of `indexes` the plan scans index-only (no row of the table fetched). */
  indexOnly: string[];
}

/** What a release does, for the release section of the advice. */
export interface ReleaseFacts {
  createdIndexes: { key: string; index: IndexShape }[];
  droppedIndexes: { key: string; schema: string; name: string }[];
  /**
   * Constraints the release drops (`ALTER TABLE ... DROP CONSTRAINT`): a primary key's, unique or exclusion
   * constraint's index (of the constraint's name) goes with it.
   */
  droppedConstraints: { key: string; schema: string; table: string; name: string }[];
  /** Foreign keys the release adds (on new or existing tables). */
  foreignKeys: (ColumnSet & { key: string })[];
  /** Tables whose rows a migration or backfill writes. */
  dataChanged: (TableName & { key: string })[];
}

/**
 * Statistics advice where the optimizer says itself which statistics a query needs (Teradata: `DIAGNOSTIC HELPSTATS
 * ON FOR SESSION`, then `EXPLAIN`), without hypothetical indexes or costs: `dbee advise` gives only statistics
 * advice on such an engine.
 */
export interface StatisticsAdviceRole {
  /** The statistics the optimizer recommends for one query (nothing runs: the query is explained). */
  recommended(conn: Connection, sql: string, searchPath: string[]): Promise<RecommendedStatistics[]>;
  /** The statistics collected on the tables of `schemas`, with when. */
  collected(conn: Connection, schemas: string[]): Promise<CollectedStatistics[]>;
  /** The statement that collects (or recollects) a statistic, skipping a recollection when little changed. */
  collect(stats: { schema: string; table: string; columns: string[] }): string;
  /** The statement that drops a statistic (the rollback of a collection). */
  drop(stats: { schema: string; table: string; columns: string[] }): string;
}

export interface RecommendedStatistics {
  schema: string;
  table: string;
  /** Upper case as the optimizer writes them. */
  columns: string[];
  /** The optimizer's confidence, as it says it (`High Confidence`). */
  confidence: string;
}

export interface CollectedStatistics {
  schema: string;
  table: string;
  /** Empty for the table-level summary. */
  columns: string[];
  /** Last collection, ISO time, or null when never collected. */
  collectedAt: string | null;
}
