import type { BackupStore } from './backup-store';
import type { DeploymentStore } from './deployment-store';
import type { LedgerWriter } from './ledger-writer';
import type { ObjectStore } from './object-store';
import type { ReleaseStore } from './release-store';
import type { StepStore } from './step-store';

/** The ledger's tables, as `Ledger.tables` offers them (the writer's storage half, see ledger-base.ts). */
export type LedgerTables = Pick<
  LedgerWriter,
  'ensure' | 'exists' | 'version' | 'knownMissing' | 'ensureTable' | 'hasTable'
>;

/** Sending prepared rows, as `Ledger.batch` offers it (the writer's request batching, see ledger-writer.ts). */
export type LedgerBatch = Pick<
  LedgerWriter,
  'run' | 'runTogether' | 'inline' | 'inlines' | 'inlineAll' | 'inlineNamed' | 'forgetNamed'
>;

/**
 * The ledger inside a target database, as a record of small stores, one per kind of row, that share one writer by
 * reference (Atlas's narrow `RevisionReadWriter`, pgroll's `State`): no store extends another, and `openLedger` is the
 * one place that builds them. A caller takes the stores it needs (`status` the deployments, the runner the steps and
 * the deployments). Written through the engine's dialect (its DDL, parameter markers, quoting, booleans and version
 * table), engine-neutral: the same code serves PostgreSQL, PGlite and Teradata. It never relies on sequences: ids are
 * `MAX(id) + 1` under the deployment lock that every writer holds, computed by the INSERT where the dialect returns
 * keys (`LedgerDialect.returning`), else read first.
 */
export interface Ledger {
  /** The ledger's tables: its version and upgrades (`ensure`, `exists`), its feature tables (`hasTable`, `ensureTable`). */
  readonly tables: LedgerTables;
  /**
   * Sending the rows the stores prepare (`LedgerWrite`s): one by one, chained in one request, or inlined as SQL text
   * with a step's statements. The writer behind both stays inside ledger/: a caller never holds it.
   */
  readonly batch: LedgerBatch;
  /** `deployments`: opening and closing one, its summary, the history `status` and `log` read. */
  readonly deployments: DeploymentStore;
  /** `steps`: each step's outcome, the started steps recovery resolves. */
  readonly steps: StepStore;
  /** `objects` and `migrations`: what each project has deployed. */
  readonly objects: ObjectStore;
  /** `backups`: what the conflict strategy `rename` kept. */
  readonly backups: BackupStore;
  /** `expand_releases`: the expand-contract strategy's releases and their phases. */
  readonly releases: ReleaseStore;
}

/**
 * The stores a deployment's runner writes (its row, its steps, what each project has, the backups it kept): every
 * store but the expand-contract strategy's releases.
 */
export type RunnerLedger = Pick<Ledger, 'tables' | 'batch' | 'deployments' | 'steps' | 'objects' | 'backups'>;

export * from './types';
