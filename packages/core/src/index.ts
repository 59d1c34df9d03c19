// Public API of @dbee/core: a flat list of explicit exports.
export { DbeeError, DbeeAggregateError, ExitCode, formatLocation, isDbeeError } from './errors';
export type { ErrorLocation, DbeeErrorOptions, ExitCodeValue } from './errors';

export { formatKey, parseKey, compareKeys } from './model/object-key';
export type { ObjectKey, ObjectKind } from './model/object-key';
export type {
  SourceLocation,
  Reference,
  ReferenceKind,
  StatementAction,
  ParsedStatement,
  DeferrableConstraint,
  ParseOptions,
} from './model/source';

export type {
  Engine,
  EngineCapabilities,
  Connection,
  QueryResult,
  LockHandle,
  LockOptions,
  LockOwner,
  SourceParser,
  LedgerDialect,
} from './engine/engine';

export { PLAN_FORMAT_VERSION } from './plan/plan';
export type { Plan, PlanStep, StepAction, Hazard } from './plan/plan';

export { YamlFile } from './config/yaml-file';
export { interpolateEnv, envRefs } from './config/interpolate';
export * as schemas from './config/schema';
export { durationMs } from './config/schema';
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
export type { ResolvedEnvironment } from './config/resolve';
export { Workspace, loadProject, WORKSPACE_FILE, PROJECT_FILE, ALWAYS_IGNORED } from './config/workspace';
export type { DbProject } from './config/workspace';
