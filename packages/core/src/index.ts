// Public API of @dbee/core: a flat list of explicit exports.
export {
  DbeeError,
  DbeeAggregateError,
  ERROR_CODES,
  ExitCode,
  exitCodeOf,
  formatLocation,
  isDbeeError,
} from './errors';
export type { DatabaseErrorCode, ErrorCode, ErrorLocation, DbeeErrorOptions, ExitCodeValue } from './errors';

export { formatKey, parseKey, compareKeys, migrationKey, migrationVersionOf } from './model/object-key';
export type { ObjectKey, ObjectKind } from './model/object-key';
export type {
  SourceLocation,
  Reference,
  ReferenceKind,
  StatementAction,
  ParsedStatement,
  ColumnDefinition,
  RelationAlias,
  DeferrableConstraint,
  ParseOptions,
} from './model/source';

export type {
  Engine,
  EngineCapabilities,
  Connection,
  QueryResult,
  ResultField,
  StatementDescription,
  LockHandle,
  LockOptions,
  LockOwner,
  LockHolder,
  LockAdmin,
  PreviewRole,
  PreviewRecord,
  PreviewPlace,
  SourceParser,
  LedgerDialect,
  LedgerInlining,
  BatchResult,
  ExtractedObject,
  AuditEvent,
  AuditTrail,
  StepOutcome,
  StartedStep,
  SessionDialect,
  EngineFacts,
  ParsedType,
  DiffRole,
  StateFingerprints,
  MissingRows,
  SampleCopied,
  SamplePurpose,
  ObjectCatalog,
  InPlaceChanges,
  LiveComparison,
  AccessControl,
  ExportRole,
  ExtractRole,
  OutsideUse,
  EngineRole,
  ExpandRole,
  ExpandKindSql,
  NewColumnSql,
  ShadowColumnSql,
  AddedConstraintSql,
  LineageRole,
  LiveQuery,
  QuerySourceRole,
  QueryLineage,
  QueryPosition,
  RelationName,
  ExpandStatement,
  SmokeDialect,
  DependencyStart,
  SetAside,
  BuildAside,
  DisabledRoutine,
  RenderedStep,
} from './engine/engine';
export { requireRole } from './engine/engine';
export type {
  AdviseRole,
  StatisticsAdviceRole,
  RecommendedStatistics,
  CollectedStatistics,
  AdviseIndex,
  AdviseTable,
  ColumnSet,
  IndexShape,
  PartitionIndex,
  PlannedCost,
  QueryColumn,
  ReleaseFacts,
  TableName,
  TablePartition,
} from './engine/advise-role';
export type { BackfillKey, BackfillKeyColumn, BackfillRole, BackfillStatements } from './engine/backfill-role';
export type { LockTimeouts } from './engine/lock-timeouts';
export type {
  BlueGreenRole,
  BlueGreenSide,
  EngineRouter,
  IdentityInput,
  PublishedTable,
  ReplicaIdentity,
  ReplicationLag,
  SequenceValue,
  SubscriptionHealth,
} from './engine/blue-green-role';
export { engineRouter } from './engine/blue-green-role';
export type { HistoryTable, ImportRole, RenderedToolChange, ToolChange } from './engine/import-role';
export { managedScope, restrictModel } from './schema/managed-scope';
export type { ManagedScope, SchemaScope } from './schema/managed-scope';
export type { DefinitionForm, SameDefinition } from './schema/definition-form';

export { PLAN_FORMAT_VERSION } from './plan/plan';
export { renderMode, SAFE_LOCK_TIMEOUT_MS } from './plan/render-mode';
export type { RenderMode } from './plan/render-mode';
export type { Plan, PlanStep, StepAction, Hazard } from './plan/plan';

export { YamlFile } from './config/yaml-file';
export { interpolateEnv, envRefs } from './config/interpolate';
export * as schemas from './config/schema';
export { durationMs, ENGINE_NAMES, type EngineName } from './config/schema';
export type {
  WorkspaceConfig,
  EnvironmentConfig,
  ProjectConfig,
  DeploySettings,
  Gates,
  ConflictStrategy,
  HazardKind,
} from './config/schema';
export { resolveEnvironment, projectSettings } from './config/resolve';
export { chooseEnvironment, ENVIRONMENT_VARIABLE } from './config/environment-name';
export type { EnvironmentChoice } from './config/environment-name';
export type { ResolvedEnvironment } from './config/resolve';
export { Workspace, loadProject, WORKSPACE_FILE, PROJECT_FILE, ALWAYS_IGNORED } from './config/workspace';
export type { DbProject } from './config/workspace';

export { checksumText, checksumStatements, normaliseSource, sha256, CHECKSUM_ALGORITHM } from './sources/checksum';
export { expandPlaceholders, expandText, placeholderNames } from './sources/placeholders';
export type { ExpandedSource } from './sources/placeholders';
export { discoverSources, compareVersions, LITTER } from './sources/discover';
export type { SourceFile, MigrationFile, ProjectSources } from './sources/discover';
export { LAYOUT_FOLDERS, layoutFolder, layoutName } from './sources/layout';

export { groupObjects } from './planner/objects';
export type { SourceObject, ObjectStatement, SourceStatement } from './planner/objects';
export { buildGraph } from './planner/graph';
export type { GraphProject, ObjectGraph } from './planner/graph';
export { loadProjectModel, graphProject } from './planner/project-model';
/** Wait for the cache files and clean-up dbee left running (`runDbeeCommand` does; callers of `loadProjectModel` and the like should). */
export { settleBackground } from './background';
export { BoundedMemo } from './bounded-memo';
export type { ProjectModel, ParsedMigration } from './planner/project-model';
export {
  planFromSources,
  planExplained,
  planSources,
  planSourcesExplained,
  refuseNeedsDiff,
  EMPTY_STATE,
} from './planner/planner';
export type { DeployedState, PlanInput, SourcePlan, ObjectNeedingDiff } from './planner/planner';
export { canonicalJson, serializePlan, planChecksum } from './plan/serialize';
export { backupStamp } from './plan/backup-stamp';
export { partitionIndexes } from './advise/partition-indexes';
export type { TakenNames } from './advise/partition-indexes';

export type { Ledger } from './ledger/ledger';
export type { BackupStore } from './ledger/backup-store';
export type { DeploymentStore } from './ledger/deployment-store';
export type { LedgerWriter } from './ledger/ledger-writer';
export type { ObjectStore } from './ledger/object-store';
export type { ReleaseStore } from './ledger/release-store';
export type { StepStore } from './ledger/step-store';
export type { BackupRow, DeploymentInfo, DeploymentRow, LedgerStep, StepRecord, StepStatus } from './ledger/ledger';
export { runPlan } from './runner/runner';
export { STEP_STAGES, sendStep } from './runner/step-stages';
export { StepJournal } from './runner/journal';
export { Deployment } from './runner/deployment';
export type { AppliedRecord } from './runner/journal';
export { inverseAction } from './runner/undo';
export { reverseHazards } from './operations/rollback/undo-plan';
export type { CompensatingStep } from './runner/undo-steps';
export type { StepStage, StepTransport } from './runner/step-stages';
export type { RunOptions, RunResult, ProjectRunResult } from './runner/runner';
export type { Reporter } from './runner/reporter';
export { streamReporter } from './runner/reporter';

export { loadOperation, runOperation } from './operations';
export { effectiveConfiguration, maskSecret } from './operations/config';
export type { Operations } from './operations';
export {
  COMMAND_DEFINITIONS,
  COMMANDS,
  isCommandName,
  checkCommandOptions,
  parseCommandOptions,
  optionEntries,
  executorSchema,
  executorSchemaText,
} from './options';
export type {
  CommandName,
  CommandOptions,
  CommandInput,
  CommandDefinition,
  OptionEntry,
  OptionStyle,
  OptionsCheck,
  BuildOptions,
  DiffOptions as DiffCommandOptions,
  DeployOptions,
  SmokeTestOptions,
  RollbackOptions,
  PlanOptions,
  StatusOptions,
  LogOptions,
  DisableOptions,
  EnableOptions,
} from './options';
export { makeReporter } from './context/operation-context';
export { gitCommit } from './context/origin';
export { lockOwner } from './runner/session';
export type { OperationContext } from './context/operation-context';
export { inWindow } from './pipeline/gates';
export { diffPlan, assertFreshBase } from './diffing/diff-plan';
export { planChanges, type PlanChangesSettings } from './planner/plan-changes';
export type { DiffSelectors, DiffResult } from './diffing/diff-plan';
export { desiredModel, desiredModelKey } from './diffing/desired';
export { materializeRef } from './diffing/git-ref';
export * as schemaModel from './schema';
export { writePackage, readPackage, PACKAGE_FORMAT_VERSION, MANIFEST } from './package/package';
export type { PackageManifest, LoadedPackage } from './package/package';

export { loadSmokeChecks, runSmokeChecks, formatSmokeResult, smokeTimeoutMs, recordSmokeChecks } from './smoke';
export type { AppliedChange, DependencyNode, SmokeRunOptions } from './smoke';
export { SessionPool } from './engine/session-pool';
export { withSession, sessionSettings, assertLock, lockLost, DEFAULT_WAIT_FOR_LOCK_MS } from './runner/session';
export type { DeploymentSession, SessionRequest, SessionSettings } from './runner/session';
export { runBackfill, backfillState, backfillStates, formatBackfillProgress } from './expand/backfill';
export { openLedger } from './ledger/open-ledger';
export type {
  BackfillSpec,
  BackfillOptions,
  BackfillProgress,
  BackfillResult,
  BackfillState,
} from './expand/backfill';
export {
  withLockRetry,
  isLockTimeout,
  backoffMs,
  DEFAULT_LOCK_TIMEOUT_MS,
  DEFAULT_LOCK_ATTEMPTS,
  DEFAULT_LOCK_BASE_DELAY_MS,
  DEFAULT_LOCK_MAX_DELAY_MS,
} from './expand/lock-retry';
export type { LockAttempt, LockRetryOptions, LockRetryResult } from './expand/lock-retry';
export { runExpandStatement } from './expand/run-statement';

export {
  needsSync,
  needsBackfill,
  upOf,
  versionSchema,
  releaseSlug,
  shadowName,
  planExpand,
  SHADOW_PREFIX,
  EXPAND_PLAN_FORMAT,
} from './expand/expand-plan';
export type { ExpandPlan, ExpandTable, ExpandColumn, DroppedColumn, AddedConstraint } from './expand/expand-plan';
export { ExpandDeclarations, declarationPath } from './expand/declarations';
export { abortStatements, completeStatements, expandStatements } from './expand/phase-statements';
export { EXPAND_RULES } from './expand/rules';
export type { ExpandKind, ExpandPart, ExpandRule, PartOf } from './expand/rules';
export type { ExpandPhase, ExpandRelease } from './expand/phases';
export { batchedHeader, parseBatchedUpdate, BATCHED_HEADER } from './expand/batched-migration';
export type { BatchedUpdate, BatchedRunReporter } from './expand/batched-migration';
export type { BatchedMigration } from './plan/plan';
export { hookRouter } from './blue-green/router';
export type { HookCommands, Router } from './blue-green/router';
export { replicationNames } from './blue-green/names';
export type { ReplicationNames } from './blue-green/names';
export { BlueGreenLedger, formatState, stateOf } from './blue-green/record';
export type { BlueGreenPhase, BlueGreenState, BlueGreenStatus, BlueGreenStep } from './blue-green/record';
export { identityOf, refuseServer, refuseUncarried, uncarriedChanges } from './blue-green/refusals';
export type { Uncarried } from './blue-green/refusals';
export { SWITCH_DEFAULTS, settleInterrupted, switchover, switchPhase } from './blue-green/switchover';
export type { SwitchBounds, SwitchInput, SwitchResult } from './blue-green/switchover';
export type { Replication, ReplicationSide } from './blue-green/replication';
export { blueGreenState, blueGreenTarget, uncarriedRelease } from './operations/strategies/blue-green/sides';
export { makeGreen } from './operations/strategies/blue-green/green';
export { blueGreenFinish, blueGreenSwitch } from './operations/strategies/blue-green/side-phases';
export type { BlueGreenOptions, BlueGreenTarget } from './operations/strategies/blue-green/sides';
export type { GreenMade } from './operations/strategies/blue-green/green';
