import type { Hazard, PolicyException } from '../plan/plan';
import type { SmokeCheck } from '../model/smoke-check';

/** One ledger statement with the dialect's parameter markers, and its parameters. */
export interface LedgerWrite {
  sql: string;
  params: unknown[];
  /** The ledger table it writes (`steps`, `objects`...), for `Ledger.inlineAll`. */
  table: string;
}

/** Who and what a deployment is, recorded when it starts. */
export interface DeploymentInfo {
  project: string;
  environment: string;
  /**
   * `deploy`: sources or a package applied. `rollback`: steps undone from their recorded reverses (or a diff to the
   * sources at a git ref). `disable` / `enable`: a routine made uncallable, and made callable again. `cleanup`:
   * backups past their retention dropped. `clone`: the project's schemas made equal to another environment's.
   * `adopt`: live objects recorded as deployed (a baseline), nothing applied. `expand`, `complete`, `abort`: the
   * phases of an expand-contract release (their steps are the strategy's statements and backfills). `audit`: the
   * audit trail's event triggers installed or removed (`dbee audit --enable`, `--disable`). `switch`, `fallback`,
   * `finish`: the phases of a blue/green deployment after its `deploy` (docs/blue-green.md).
   */
  kind:
    | 'deploy'
    | 'rollback'
    | 'disable'
    | 'enable'
    | 'cleanup'
    | 'clone'
    | 'adopt'
    | 'expand'
    | 'complete'
    | 'abort'
    | 'audit'
    | 'switch'
    | 'fallback'
    | 'finish';
  planChecksum: string;
  package: string | null;
  gitCommit: string | null;
  toolVersion: string;
  osUser: string;
  ciJob: string | null;
  host: string;
  stepsTotal: number;
  /** For a rollback or an enable: the deployment it undoes (null for a rollback to a git ref). */
  reverts?: number | null;
  /**
   * The project's ledger state now (`state(project)`), when the caller has just read it: not read again. Null when it
   * cannot be known as the row is written (a BTEQ script's row, written before the script runs): recorded as null, as
   * on rows older than that column, never as the empty state a read would make up; nothing is read.
   */
  before?: LedgerState | null;
  /** The change ticket it runs under (`--ticket`), recorded in `deployments.ticket` (ledger version 3); none by default. */
  ticket?: string | null;
}

/**
 * `applied`: committed. `failed`: the step that failed. `rolled-back`: ran, then vanished with the transaction of a
 * step that failed after it (transaction scope `project` or `plan`). `skipped`: not run (its dependencies failed,
 * or its transaction was rolled back before it started). `undone`: applied, then reversed (by the automatic rollback,
 * a `rollback` or an `enable`); a step of a rollback that is itself undone makes the step it undid `applied` again.
 * `started`: a step that runs outside a transaction (`CREATE INDEX CONCURRENTLY`) is recorded before it runs, with
 * its statements; the row becomes `applied` or `failed` when it ends. One left `started` belongs to a process that
 * died: the next deployment reconciles it against the catalog (see `runner/reconcile.ts`).
 */
export type StepStatus = 'applied' | 'failed' | 'rolled-back' | 'skipped' | 'undone' | 'started';

/**
 * Final status of a deployment row. `running` while it runs; `interrupted` when its process died before it
 * finished (set by the next deployment, under the lock); `rolled-back` when it failed and its applied steps were
 * undone automatically; `aborted` when it stopped itself because its deployment lock was lost (`aborted: lock lost`).
 */
export type DeploymentStatus = 'running' | 'succeeded' | 'failed' | 'rolled-back' | 'interrupted' | 'aborted';

/** A backup kept by the conflict strategy `rename`. */
export interface BackupRow {
  id: number;
  deployment_id: number;
  object_key: string;
  backup_name: string;
  created_at: Date | string;
  retain_until: Date | string | null;
  dropped_at: Date | string | null;
}

export interface StepRecord {
  order: number;
  objectKey: string;
  action: string;
  checksum: string;
  statements: string[];
  reverse: string[] | null;
  previousDefinition: string | null;
  transactional: boolean;
  startedAt: Date;
  durationMs: number;
  status: StepStatus;
  error: string | null;
  /**
   * The ledger state of the step's object before the step: its checksum in `objects` (a migration: its checksum in
   * `migrations`), null when it had none. Undoing the step restores it. Default: read from `objects` as the row is
   * written (the runner records a step before it updates the object's state).
   */
  previousChecksum?: string | null;
  /** For a step of a rollback or an enable: the step (order) of the reverted deployment it undid. */
  revertsStep?: number | null;
  /** Hazards the step carried (from the plan); used to tell a step whose undo cannot bring data back. */
  hazards?: Hazard[];
  /** The step was recorded `started` before it ran: this record replaces that row (written idempotently). */
  replacesStarted?: boolean;
}

/** A step as the ledger holds it (`Ledger.steps`). */
export interface LedgerStep {
  deploymentId: number;
  order: number;
  objectKey: string;
  action: string;
  checksum: string;
  statements: string[];
  reverse: string[] | null;
  previousDefinition: string | null;
  previousChecksum: string | null;
  transactional: boolean;
  status: StepStatus;
  revertsStep: number | null;
  hazards: Hazard[];
}

export interface DeploymentRow {
  id: number;
  project: string;
  environment: string;
  kind: string;
  status: string;
  started_at: Date | string;
  finished_at: Date | string | null;
  steps_total: number;
  steps_applied: number;
  db_user: string;
  os_user: string | null;
  host: string | null;
  git_commit: string | null;
  package: string | null;
  plan_checksum: string;
  error: string | null;
  reverts: number | null;
  /** JSON text (see `DeploymentSummary`), or null for deployments that never finished. */
  summary: string | Record<string, unknown> | null;
  /** The change ticket it ran under (`--ticket`); null when none was given or the ledger predates tickets. */
  ticket?: string | null;
  /** The CI job that ran it (`GITHUB_RUN_ID`, `CI_JOB_ID`...), or null. */
  ci_job?: string | null;
}

/** What the ledger keeps in `deployments.summary` (JSON), beyond the columns. */
export interface DeploymentSummary {
  /**
   * The schema review policies' exceptions this deployment's change was judged with (`-- dbee:allow <rule> <reason>`
   * in a source file, docs/policies.md): each rule, its reason, where it is written, and how many findings it excused.
   */
  policyExceptions?: PolicyException[];
  /** Transaction scope used: `object`, `project` or `plan`. */
  transaction?: string;
  /** When the first step failed (ISO time). */
  failedAt?: string;
  /** When the automatic rollback finished undoing the deployment's steps (ISO time). */
  rolledBackAt?: string;
  /** Why the automatic rollback stopped before undoing everything. */
  rollbackIncomplete?: string;
  /** The engine's fingerprint of the project's schemas when the deployment ended: `status` compares it (drift). */
  fingerprint?: string | null;
  /**
   * The same state without the columns' positions (`DiffRole.recordableFingerprints`), read by the same query: a
   * rollback compares it with the one the deployment before the undone one recorded (equal: converged; different: the
   * rollback fails, not converged). Absent or null: not recorded (an older dbee, an engine without it).
   */
  positionFreeFingerprint?: string | null;
  /**
   * The engine's catalog version read right before that fingerprint (`DiffRole.catalogVersion`): while the database's
   * is still equal, the fingerprint is still the live one, and drift checks do not read it again.
   */
  catalogVersion?: string | null;
  /** Which scope that fingerprint covers (`scopeKey`: its schemas and what it manages), with the catalog version. */
  fingerprintScope?: string | null;
  /**
   * The state the deployment started from, when it was not the one its project's newest earlier deployment recorded:
   * changes made outside dbee since then, which its steps put back (a conflict strategy, a gap package), so the state
   * its reverses return to holds them. Read under the lock before its steps, by the same query and in the same formats
   * as `fingerprint`, `positionFreeFingerprint` and `fingerprintScope`. A rollback of it compares with this state
   * (operations/rollback/rolled-back-to.ts). Absent: it started from the state the earlier deployment recorded.
   */
  startedFrom?: Pick<DeploymentSummary, 'fingerprint' | 'positionFreeFingerprint' | 'fingerprintScope'>;
  /**
   * Objects of other projects (those that depend on this one) that its steps changed in place: PostgreSQL rewrites a
   * view over a column renamed or retyped (`SELECT *` keeps the old name as an alias). Found by comparing their
   * definitions before and after the steps (diffing/rewritten-elsewhere.ts); `dbee status` and `dbee log` name them.
   * Absent: none (or none looked for: no in-place change, no dependent project).
   */
  rewrote?: RewrittenObject[];
  /**
   * The state of each dependent project (by name) as this deployment left it, recorded when that project was as its
   * own newest recorded state right before the steps (no hand edit): what its steps changed there is dbee's work, not
   * drift. The dependent's drift check takes a live fingerprint equal to it as no drift (diffing/drift.ts
   * `carriedDrift`); its next deployment then makes the rewritten objects again from its sources. Same fields and
   * formats as `fingerprint`, `positionFreeFingerprint` and `fingerprintScope`.
   */
  carried?: Record<string, CarriedState>;
  /** Objects that existed without the ledger knowing them, and what was done about them. */
  conflicts?: { object: string; strategy: string; rule: string; backup: string | null }[];
  /**
   * Every step applied, but these objects then differed from the sources (the convergence check,
   * diffing/converge.ts): the deployment is `failed`, not converged. Absent when it converged or was not compared. A
   * rollback whose schemas then differ from the state it went back to (operations/rollback/rolled-back-to.ts) records
   * the objects its steps undid: its fingerprints do not say which of them differs.
   */
  notConverged?: string[];
  /** Smoke checks after the deployment; `not run` until they exist. */
  smoke?: string;
  /**
   * The smoke checks that verify the state the deployment left (as they ran, placeholders expanded): recorded by
   * `recordSmokeChecks` while it runs; a rollback to that state runs them.
   */
  smokeChecks?: SmokeCheck[];
  /** A rollback run with `--emergency` (no smoke checks, no countdown), and the gates it bypassed. */
  emergency?: boolean;
  gatesBypassed?: string[];
  /** A rollback run with `--force`: what it accepted (steps left applied, data not brought back, drift). */
  forced?: string[];
  /** A rollback of selected objects only (`rollback --objects`): the globs as given. */
  selection?: string[];
  /** A rollback to the sources at a git ref: the ref as given and its commit. */
  toRef?: { ref: string; commit: string };
  /** Notifications (`notify:` webhooks) that did not arrive: webhook (position and host), event and why. */
  notifications?: { webhook: string; event: string; error: string }[];
  /** A `disable`: the routine, how it was disabled, and exactly which grants were revoked or what it was renamed to. */
  disabled?: { object: string; how: 'revoke' | 'rename'; revoked?: string[]; renamedTo?: string };
}

/** A dependent project's state carried forward by a deployment of a project it depends on (`DeploymentSummary.carried`). */
export type CarriedState = Pick<DeploymentSummary, 'fingerprint' | 'positionFreeFingerprint' | 'fingerprintScope'>;

/** An object of another project that a deployment's steps changed in place (`DeploymentSummary.rewrote`). */
export interface RewrittenObject {
  /** The project that owns it (by its schema). */
  project: string;
  /** Its ledger key, e.g. `view:sales.v`. */
  object: string;
  /** Where that project's sources define it, workspace-relative; null when they do not. */
  file: string | null;
  line: number | null;
  /** Whether the deployment carried that project's state forward (`carried`): false when it had drifted before. */
  carried: boolean;
}

/**
 * The summary of a deployment row (`deployments.summary`: jsonb on PostgreSQL, text elsewhere), parsed: the one place
 * that reads it. Empty when the row has none (a deployment that never finished) or it is not JSON.
 */
export function deploymentSummary(row: Pick<DeploymentRow, 'summary'>): DeploymentSummary {
  if (!row.summary) return {};
  if (typeof row.summary === 'string') {
    try {
      return JSON.parse(row.summary) as DeploymentSummary;
    } catch {
      return {};
    }
  }
  return row.summary as DeploymentSummary;
}

/** The ledger's view of what a project has deployed: object checksums, and migrations with their descriptions. */
export interface LedgerState {
  objects: Record<string, string>;
  migrations: Record<string, { checksum: string; description: string }>;
}
