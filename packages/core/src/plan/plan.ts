import type { Hazard } from '../model/hazard';
import type { ObjectKey } from '../model/object-key';
import type { SchemaScope } from '../schema/managed-scope';

export type { Hazard } from '../model/hazard';

/** Current plan format. Bump it, and add an upgrade, when the shape of `Plan` changes. */
export const PLAN_FORMAT_VERSION = 1;

/** What a step does to its object. */
export type StepAction =
  | 'create'
  | 'replace'
  | 'alter'
  | 'drop'
  | 'migrate'
  | 'add-constraint'
  | 'rename-aside'
  | 'restore';

/** One unit of work: usually one object. */
export interface PlanStep {
  /** 1-based position in the plan. */
  order: number;
  /** Project the object belongs to. */
  project: string;
  /** `formatKey(objectKey)`: stable identity used in the ledger. */
  key: string;
  objectKey: ObjectKey;
  action: StepAction;
  /**
   * Statements to run, in order. They may contain `{{name}}` placeholders, expanded with the target
   * environment's variables when the step runs, so one package serves several environments.
   */
  statements: string[];
  /** Statements that undo this step, when known at planning time; null when only the live database can tell. */
  reverse: string[] | null;
  /** False when the statements must run outside a transaction. */
  transactional: boolean;
  /**
   * The object whose re-creation this step is part of (`formatKey`): a table re-created for its new partitioning, a
   * type made again, a view or index dropped and created around a change of what it uses, the change itself. The
   * steps of re-creations, and the steps between them, run in one transaction whatever the transaction scope (see
   * `transactionGroups`), so that a failure partway (rows the new table refuses) leaves the database as it was instead
   * of tables renamed aside and dependents dropped. Absent: not part of one.
   */
  recreates?: string;
  hazards: Hazard[];
  /**
   * What planning did to this step's SQL, or could not do, and why, e.g. `safe: SET NOT NULL through a validated
   * CHECK (steps 4-6)`; printed under the step. Absent: nothing to say.
   */
  notes?: string[];
  /** Where the object is defined, workspace-relative; null for steps that come from a diff of two live models. */
  source: { file: string; line: number } | null;
  /** Checksum of the object's normalised source (see `checksum.ts`), recorded in the ledger's object state. */
  checksum: string;
  /**
   * A batched migration (`-- dbee:batched` in its file): each statement, an `UPDATE`, runs in keyset batches of one
   * transaction each through `runBackfill`, resumable after a kill; the step is not `transactional`. Absent otherwise.
   */
  batched?: BatchedMigration;
  /**
   * A migration folded into its project's baseline (`migrations/baseline.yaml`, `dbee baseline`): a target whose ledger
   * has nothing of the project records it as applied without running it (`planner/baseline.ts`). `file`: the baseline
   * file; `removed`: the migration's file was deleted (no statements: a target that has deployed the project without
   * running it refuses it); `recorded`: this step only records it (its statements were left out). Absent otherwise.
   */
  baseline?: { file: string; removed?: true; recorded?: true };
  /**
   * A backup the step keeps of what it drops, `schema.name` (a dropped column's values with the table's primary key,
   * `deploy.keepDroppedColumns`): recorded in the ledger's backups, restored from by the step's reverse. Absent: none.
   */
  backup?: string;
}

/** The options of a batched migration (see `expand/batched-migration.ts`); absent ones take `runBackfill`'s defaults. */
export interface BatchedMigration {
  /** Rows in the first batch. */
  batchSize?: number;
  /** Largest batch, in rows. */
  maxBatchSize?: number;
  /** Pause between batches, in milliseconds. */
  pauseMs?: number;
  /** Batch duration the size adapts toward, in milliseconds; 0 keeps it fixed. */
  targetBatchMs?: number;
}

/** An ordered, serialisable list of steps: the only thing the runner applies. */
export interface Plan {
  formatVersion: typeof PLAN_FORMAT_VERSION;
  /** Engine the statements are written for. */
  engine: string;
  /** Projects covered, in deployment order. */
  projects: string[];
  /**
   * Search path of each project (may contain `{{placeholders}}`): the runner sets it on the session before the
   * project's steps, so unqualified names resolve on the database as they did when planning.
   */
  searchPaths?: Record<string, string[]>;
  /** Commit of the sources the plan was made from, when known (`git rev-parse HEAD`, plus `-dirty`). */
  sourceCommit: string | null;
  /**
   * Fingerprint of the live database the plan was computed against, or null when the plan does not depend on
   * it. The runner refuses a plan whose base no longer matches (a stale plan).
   */
  baseFingerprint: string | null;
  /**
   * The part of the database `baseFingerprint` covers (schemas and managed scope), recorded with it so that the
   * freshness check reads the same part. Absent in older plans: the project's scope at deploy time.
   */
  baseScope?: SchemaScope;
  steps: PlanStep[];
  /**
   * What a comparison of two environments found different but did not compare (grants to a role one side lacks,
   * owners or comments its `manage:` leaves out...), one line each; printed with the diff. Absent: nothing left out.
   */
  uncompared?: string[];
  /**
   * For projects planned by a diff: the ledger's object state to record when the project's deployment succeeds
   * (object key → checksum of its source; keys the ledger has that are missing here are forgotten).
   */
  objectStates?: Record<string, Record<string, string>>;
  /**
   * For a clone into a new database (a preview): the migrations its source's ledger records as run, per project
   * (version → checksum and description), recorded as run when the project's deployment succeeds, so that the next
   * deploy of the sources runs only the migrations the source has not run. Absent: a clone records no migration.
   */
  migrationStates?: Record<string, Record<string, { checksum: string; description: string }>>;
  /**
   * The schema review policies' exceptions each project's change was judged with when the plan was made
   * (docs/policies.md): a deployment of the package records them in its ledger row. Absent: none used.
   */
  policyExceptions?: Record<string, PolicyException[]>;
}

/** One `-- dbee:allow <rule> <reason>` a change was judged with: where it is written and how many findings it excused. */
export interface PolicyException {
  rule: string;
  reason: string;
  file: string;
  line: number;
  excused: number;
}

/**
 * A plan of one project's steps made on the spot against the live database (a rollback, a cleanup, a kill switch):
 * no sources commit, no base fingerprint.
 */
export function liveProjectPlan(engine: string, project: string, steps: PlanStep[]): Plan {
  return {
    formatVersion: PLAN_FORMAT_VERSION,
    engine,
    projects: [project],
    sourceCommit: null,
    baseFingerprint: null,
    steps,
  };
}
