import type { ConflictStrategy, DeploySettings, HazardKind } from '../../../config/schema';
import type { DeployOptions } from '../../../options';
import type { DeployedState } from '../../../planner/planner';
import type { SmokeCheck, SmokeRegression } from '../../../smoke';
import type { Connection, Engine } from '../../../engine/engine';
import type { DbeeError } from '../../../errors';
import type { Ledger } from '../../../ledger/ledger';
import type { LoadedPackage } from '../../../package/package';
import type { ResolvedEnvironment } from '../../../config/resolve';
import type { DbProject } from '../../../config/workspace';
import type { Plan, PolicyException } from '../../../plan/plan';
import type { ProjectModel } from '../../../planner/project-model';
import type { RunOptions, StepConflict, TransactionScope } from '../../../runner/runner';
import type { ConflictDecision } from '../../conflicts';
import type { PipelineInputs } from '../../../pipeline/pipeline';
import type { Selection } from '../../../planner/selection';
import type { InFlightReader } from '../../../diffing/in-flight-work';

/**
 * The checks of the application's queries and of dbt on the scratch copy, loaded by a dry run (a real deployment runs
 * neither), as is the rollback test (`--test-rollback`), which loads the rollback operation.
 */
export const compatChecks = () => import('../../compat');

interface Validated {
  ifExists?: ConflictStrategy;
  allowHazards: HazardKind[];
  countdownFrom?: number;
  waitForLockMs?: number;
}

/** The options come validated and typed (options/deploy.ts); only units change here. */
export function validate(options: DeployOptions): Validated {
  return {
    ifExists: options.ifExists,
    allowHazards: options.allowHazards ?? [],
    countdownFrom: options.countdownFrom,
    waitForLockMs: options.waitForLock === undefined ? undefined : options.waitForLock * 1000,
  };
}

export interface DeployInputs extends PipelineInputs {
  options: DeployOptions;
  valid: Validated;
  environment: ResolvedEnvironment;
  /** The deployment lock's session (the pipeline's `lock` stage). */
  session: PipelineInputs['session'];
  target: DbProject;
  /** The package deployed (`--package`), or null for the sources. */
  pkg: LoadedPackage | null;
  /** The projects this run deploys: the target (with its dependencies outside Nx), or a package's. */
  planned: string[];
  engine: Engine;
  /** The target and its dependencies; the projects not planned from their exports when known (see loadModels). */
  models: ProjectModel[];
  /** Schema → the project that owns it, over the whole workspace. */
  owners: Map<string, string>;
  /** The target's deploy settings in this environment. */
  settings: DeploySettings;
  settingsOf: (project: string) => DeploySettings;
  scope: TransactionScope;
  now: Date;
  /** The sources' git commit, read (two git processes) while the sources are read and the lock is taken. */
  sourceCommitLater: Promise<string | null> | null;
  /** `--objects`/`--objects-from`, checked against the sources; null: the whole plan. */
  selection: Selection | null;
  /** The one reader of every strategy's work in flight: a deployment refuses to plan over one. */
  inFlight: InFlightReader;
}

/** The plan of one run, and what was decided about it under the lock. */
export interface DeployRun {
  plan: Plan;
  /** Recorded in the ledger: the package's plan checksum, or this run's plan's. */
  planChecksum: string;
  commit: string | null;
  variables: Map<string, ProjectModel['variables']>;
  decisions: Map<number, ConflictDecision>;
  conflicts: Map<number, StepConflict>;
  /** What refuses the run (a dry run reports them all). */
  problems: DbeeError[];
  smoke: SmokePlan | null;
  /** Schemas the live state's read found missing: the conflict check asks nothing about their objects. */
  missingSchemas: ReadonlySet<string>;
  /** What the ledger records for each planned project before this run (the dry run's smoke baselines read it). */
  deployed: ReadonlyMap<string, DeployedState>;
  /** The ledger on the working session. */
  ledger?: Ledger;
  /** What a drifted project's deployment starts from (`RunOptions.startedFrom`), read under the lock in a real run. */
  startedFrom?: RunOptions['startedFrom'];
  /** The schema policies' exceptions the change was judged with: recorded in the deployment's row. */
  policyExceptions?: ReadonlyMap<string, PolicyException[]>;
}

/**
 * The options checked against each other, the environment, the ticket, the target and its package, the promotion
 * gate, and the models parsed. Null: a package that does not deploy here (`packageRunsHere` said why).
 */

export interface ApplyInput {
  /** The convergence check after each project's steps (`RunOptions.converge`); absent: not compared (a package). */
  converge?: RunOptions['converge'];
  /**
   * Start building the sources' models the convergence check compares with, while the steps run (`apply` passes it as
   * `RunOptions.onStepsSent`: once the first request of steps is sent; on an embedded database as the run starts):
   * they depend on the sources alone, so the shadow's work overlaps the target's.
   */
  prepareConvergence?: () => void;
  /** Proves the deployment lock is still held; called before every step. */
  assertLock: () => Promise<void>;
  lockGuard: string | null;
  /** The lock's own session (`RunOptions.side`), when reads may overlap there (`sideSession`). */
  side: Connection | undefined;
  /** Recorded in the ledger: the package's plan checksum, or this run's plan's. */
  planChecksum: string;
  plan: Plan;
  conn: Connection;
  engine: Engine;
  environment: string;
  models: ProjectModel[];
  commit: string | null;
  settings: DeploySettings;
  packagePath: string | null;
  /** The change ticket (`--ticket`), recorded with each deployment. */
  ticket: string | null;
  conflicts: Map<number, StepConflict>;
  scope: TransactionScope;
  settingsOf: (project: string) => DeploySettings;
  continueOnError: boolean;
  schemas: Map<string, string[]>;
  /** Every schema of the environment's projects: where an automatic rollback looks for dependents of what it puts back. */
  everySchema: string[];
  /** Smoke checks to run after each project, or null when this environment does not run them after deploying. */
  smoke: SmokePlan | null;
  startedFrom?: RunOptions['startedFrom'];
  /** What each project's deployment records of other projects' objects its steps rewrote (`RunOptions.afterSteps`). */
  afterSteps?: RunOptions['afterSteps'];
}

/** The smoke checks of each project about to be deployed, loaded (and validated) before anything runs. */
export interface SmokePlan {
  checks: Map<string, SmokeCheck[]>;
  timeoutMs: Map<string, number>;
  /** Filled as projects are verified: project → `n/m passed`. */
  outcomes: Map<string, string>;
  /** The environment's performance gate (`gates.smokeRegression`), or null. */
  regression?: SmokeRegression | null;
}
