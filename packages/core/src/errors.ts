/**
 * Errors with stable codes. A `DbeeError` is a user error: the CLI and executors print its message (no stack)
 * and exit with its `exitCode`. Anything else that escapes is a programming bug and is printed with its stack.
 */

/** Exit codes shared by the CLI and the Nx executors (see ARCHITECTURE.md). */
export const ExitCode = {
  ok: 0,
  /** Validation, configuration, parse, lint or gate failure: nothing was applied. */
  invalid: 1,
  /** A step failed while applying. */
  applyFailed: 2,
  /** Smoke tests failed after applying. */
  smokeFailed: 3,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Where in a file something went wrong. `line` and `column` are 1-based. */
export interface ErrorLocation {
  file: string;
  line?: number;
  column?: number;
}

/**
 * Every error code dbee raises, each with its exit code and what it means: the one list (a code not in it does not
 * compile). `docs/errors.md` is generated from it (`npm run generate:executor-schemas`).
 *
 * `exit: 'phase'` marks the codes the database raises (a statement's error, a lost connection): they exit 1 when
 * nothing was applied yet (planning, reading the catalog, connecting) and 2 while steps are applied.
 */
export const ERROR_CODES = {
  ADOPT_NOT_NEEDED: {
    exit: 1,
    about: '`adopt` on a project that already has deployments on the environment: it is under dbee already.',
  },
  ADVICE_TABLE_UNKNOWN: {
    exit: 1,
    about: '`advise --include-tables`/`--skip-tables` names no table of the project.',
  },
  ADVICE_UNPROVEN: {
    exit: 1,
    about:
      'the index advice is not proven: without HypoPG on the target the candidates could not be costed by the planner.',
  },
  ALREADY_DISABLED: { exit: 1, about: '`disable` on an object that is disabled already.' },
  AUDIT_ENABLE_FAILED: { exit: 1, about: '`audit --enable` could not install the audit trigger on the environment.' },
  AUDIT_NOT_ENABLED: {
    exit: 1,
    about: 'an audit report or `audit --disable` on an environment where auditing is not enabled.',
  },
  BACKFILL_CHANGED: { exit: 1, about: "a backfill's definition changed while an earlier run of it is unfinished." },
  BACKFILL_CONCURRENT: { exit: 2, about: 'another process ran the same backfill at the same time; this one stopped.' },
  BACKFILL_NO_KEY: {
    exit: 1,
    about: "a backfill's key is neither the table's primary key nor a unique key of NOT NULL columns.",
  },
  BACKFILL_NO_TABLE: {
    exit: 2,
    about: 'the table a backfill or batched migration updates does not exist when it runs.',
  },
  BASELINE_BACKWARDS: { exit: 1, about: 'a baseline older than migrations already applied.' },
  BASELINE_INVALID: { exit: 1, about: "a baseline's migration list is wrong (a version twice, an unknown version)." },
  BASELINE_NOTHING: { exit: 1, about: 'a baseline for a project with no migrations.' },
  BLUE_GREEN_STATE: {
    exit: 1,
    about: 'a blue/green phase out of order: no green in flight, green not switched to, a green already made.',
  },
  BTEQ_COMMAND: {
    exit: 1,
    about: 'a BTEQ command (a line starting with a dot) in a source file, which only BTEQ can run.',
  },
  BTEQ_UNSUPPORTED: {
    exit: 1,
    about: 'the plan holds a step a BTEQ script cannot run; the message names it and the alternative.',
  },
  CLEANUP_FAILED: { exit: 2, about: '`cleanup` could not drop a backup past its retention.' },
  CLEANUP_NO_RETENTION: { exit: 1, about: '`cleanup` on an environment with no backup retention set.' },
  CLONE_FAILED: { exit: 2, about: 'a clone failed while applying; the ledger records what ran.' },
  COMMAND_UNKNOWN: { exit: 1, about: 'the CLI was given an unknown command.' },
  COMPAT_BROKEN: { exit: 1, about: 'an application query fails against the new schema (the compatibility check).' },
  COMPAT_NOTHING_CHECKED: { exit: 1, about: "none of the application's queries could be checked." },
  COMPAT_NOT_RUN: { exit: 1, about: 'the compatibility check was asked for and could not run.' },
  COMPAT_NO_QUERIES: { exit: 1, about: 'the compatibility check was asked for and no query source gave queries.' },
  COMPAT_UNSUPPORTED: { exit: 1, about: 'the engine cannot run the compatibility check.' },
  CONFIG_INVALID: {
    exit: 1,
    about: '`dbee.yaml` or a `db.yaml` breaks its schema; the message names the key, file and line.',
  },
  CONFIG_UNREADABLE: { exit: 1, about: 'a configuration file cannot be read.' },
  CONFIG_YAML_SYNTAX: { exit: 1, about: 'a configuration file is not valid YAML.' },
  CONNECTION_FAILED: {
    exit: 'phase',
    about: 'the database did not accept the connection (refused, authentication, unknown host).',
  },
  CONNECTION_TIMEOUT: { exit: 1, about: 'the database did not answer within `connectTimeout` after every retry.' },
  COPY_LOSES_ROWS: { exit: 1, about: 'a table copy (rebuild) would lose rows: refused before it runs.' },
  COPY_NO_ROOM: {
    exit: 1,
    about: 'not enough free space for a table built aside; the message names the bytes needed.',
  },
  DATABASE_ERROR: { exit: 'phase', about: 'the database raised an error dbee has no closer code for (Teradata).' },
  DBT_BROKEN: { exit: 1, about: '`check --dbt`: a dbt model or source no longer builds on the new schema.' },
  DBT_MANIFEST: { exit: 1, about: '`check --dbt`: the dbt manifest cannot be read.' },
  DBT_SOURCES: { exit: 1, about: '`check --dbt`: the dbt sources file cannot be read or written.' },
  DDL_IN_TRANSACTION: {
    exit: 'phase',
    about: 'Teradata refused a DDL statement that is not the last of its transaction.',
  },
  DEADLOCK: { exit: 'phase', about: 'the database detected a deadlock and cancelled the statement.' },
  DEPENDENCY_CYCLE: { exit: 1, about: 'database objects depend on each other in a cycle.' },
  DEPENDENCY_MISSING: { exit: 1, about: 'an object references an object no project defines.' },
  DEPENDENCY_UNDECLARED: {
    exit: 1,
    about: 'an object references an object of a project that `dependsOn` does not name.',
  },
  DEPENDENT_OBJECTS: {
    exit: 'phase',
    about: 'the database refused a drop because other objects depend on the object.',
  },
  DEPENDENT_UNKNOWN: {
    exit: 1,
    about:
      'an object defined on a table (Teradata) whose definition SHOW did not return, so dbee cannot create it again.',
  },
  DEPLOY_FAILED: {
    exit: 2,
    about: 'a deployment failed while applying; the ledger records what ran, a re-run resumes.',
  },
  DISABLE_INCOMPLETE: { exit: 2, about: '`disable` could not finish; the message says what is left.' },
  DOCS_STALE: {
    exit: 1,
    about: 'the committed docs differ from what `dbee docs` writes from the sources: write them again.',
  },
  DOCS_VIEWPOINT_EMPTY: { exit: 1, about: 'a `docs.viewpoints` table pattern of db.yaml matches no table.' },
  DRIFT: {
    exit: 1,
    about: 'the target differs from what its ledger says was deployed (a hand edit); refused before anything runs.',
  },
  DRIVER_LOAD_FAILED: { exit: 1, about: 'the Teradata driver is installed but could not be loaded.' },
  DRIVER_MISSING: { exit: 1, about: 'the Teradata driver is not installed.' },
  DRY_RUN_FAILED: { exit: 1, about: 'the dry run on a scratch copy failed: the deployment would fail.' },
  DRY_RUN_NOT_CONVERGED: {
    exit: 1,
    about:
      'the plan applied on a scratch copy, but the copy then differs from the sources: the deployment would not reach them.',
  },
  DRY_RUN_NOT_VERIFIED: { exit: 1, about: 'the dry run could not verify the plan.' },
  DRY_RUN_VIEW_FAILED: { exit: 1, about: 'the dry run found a view that does not compile after the change.' },
  DUPLICATE_KEY: { exit: 'phase', about: 'a row with the same unique key already exists.' },
  ENGINE_CAPABILITY: { exit: 1, about: 'the engine cannot do what the command asks.' },
  ENGINE_MISMATCH: { exit: 1, about: 'a package, plan or ledger made for another engine.' },
  ENGINE_NOT_INSTALLED: {
    exit: 1,
    about: "the engine's package (`@dbee/postgres`, `@dbee/teradata`) is not installed.",
  },
  ENGINE_UNKNOWN: { exit: 1, about: 'an `engine:` dbee does not know.' },
  ENV_IS_FLEET: { exit: 1, about: 'a command that runs on one database was given a fleet environment.' },
  ENV_UNKNOWN: { exit: 1, about: 'an environment no `dbee.yaml` declares.' },
  ENV_VAR_UNSET: { exit: 1, about: 'an environment variable the configuration uses is not set.' },
  EXPAND_EXPRESSION: { exit: 1, about: 'an expand-contract up or down expression does not compile.' },
  EXPAND_INCOMPLETE: { exit: 2, about: 'an expand-contract statement ended without making what it should.' },
  EXPAND_IN_FLIGHT: { exit: 1, about: 'an expand-contract release is in flight: complete or abort it first.' },
  EXPAND_NONE: { exit: 1, about: '`complete` or `abort` with no expand-contract release in flight.' },
  EXPAND_NOT_READY: { exit: 1, about: "`complete` before the release's backfills are done." },
  EXPAND_RELEASE: { exit: 1, about: 'a `--release` name that cannot follow the release before it.' },
  EXPAND_UNSUPPORTED: { exit: 1, about: 'a change expand-contract cannot carry; the message names the alternative.' },
  EXTRACT_INCOMPLETE: { exit: 1, about: '`extract` could not write every object; the message lists them.' },
  FLEET_CANARY_FAILED: { exit: 1, about: "the fleet's canary targets failed: the rest were not touched." },
  FLEET_CANARY_REFUSED: { exit: 1, about: "the fleet's canary was refused." },
  FLEET_CANARY_TIMEOUT: { exit: 1, about: "the fleet's canary did not finish in time." },
  FLEET_DISCOVERY_FAILED: { exit: 1, about: "the fleet's discovery command failed." },
  FLEET_DISCOVERY_INVALID: { exit: 1, about: "the fleet's discovery command printed targets that break their schema." },
  FLEET_EMPTY: { exit: 1, about: 'the fleet has no targets.' },
  FLEET_LITERAL_SECRET: { exit: 1, about: "a fleet target's connection holds a literal password." },
  FLEET_TARGETS_UNKNOWN: { exit: 1, about: '`--targets` names targets the fleet does not have.' },
  FLEET_TARGET_DUPLICATE: { exit: 1, about: 'two fleet targets share a name.' },
  GATE_BACKUP_REQUIRED: { exit: 1, about: 'the environment requires a backup the plan does not take.' },
  GATE_CONFIRMATION_REFUSED: { exit: 1, about: 'the typed confirmation did not match.' },
  GATE_CONFIRMATION_REQUIRED: {
    exit: 1,
    about: 'a protected environment or fleet, non-interactive, without `--assume-yes`.',
  },
  GATE_HAZARD_REFUSED: { exit: 1, about: 'the plan has a hazard the environment does not allow.' },
  GATE_MAINTENANCE_WINDOW: { exit: 1, about: "outside the environment's maintenance window." },
  GATE_PROMOTION_PACKAGE_REQUIRED: { exit: 1, about: 'a promotion gate needs `--package`.' },
  GATE_PROMOTION_REFUSED: {
    exit: 1,
    about: 'the release was not deployed and checked on the environment it must come from.',
  },
  GATE_ROLLBACK_UNPROVEN: { exit: 1, about: 'the environment requires a tested rollback and the release has none.' },
  GATE_TICKET_MISMATCH: { exit: 1, about: "the ticket does not match the environment's pattern." },
  GATE_TICKET_REQUIRED: { exit: 1, about: 'the environment requires `--ticket`.' },
  GIT_REF: { exit: 1, about: 'a name that is not a commit, branch or tag of the repository.' },
  IMPORT_BEHIND: {
    exit: 1,
    about:
      "`import --env`: the environment lacks migrations the other tool's folder records as run, which dbee cannot run for it (Rails' Ruby migrations).",
  },
  IMPORT_CHECKSUM_MISMATCH: {
    exit: 1,
    about:
      "`import --env`: a migration the other tool applied differs from its file now (the tool's checksum in its history table does not match the file's).",
  },
  IMPORT_CONFLICT: {
    exit: 1,
    about:
      '`import`: the project already holds a different file where the import would write one (same migration version).',
  },
  IMPORT_FAILED_ENTRY: {
    exit: 1,
    about:
      "`import --env`: the other tool's history holds a failed or dirty migration (Flyway `success = false`, golang-migrate `dirty`, Prisma unfinished).",
  },
  IMPORT_INVALID: {
    exit: 1,
    about:
      "`import`: the other tool's folder holds a file the import cannot read or map (named with its file and line).",
  },
  IMPORT_NO_HISTORY: { exit: 1, about: "`import --env`: the other tool's history table is not on the environment." },
  IMPORT_UNKNOWN_MIGRATION: {
    exit: 1,
    about: "`import --env`: the other tool's history names a migration applied there that the folder does not hold.",
  },
  INTERNAL_ERROR: { exit: 2, about: 'a bug in dbee; please report it with the message.' },
  LEDGER_MISSING: { exit: 2, about: 'the ledger database does not exist (Teradata).' },
  LOCK_BUSY: { exit: 1, about: "another deployment holds the target's lock." },
  LOCK_HOLDER_ALIVE: { exit: 1, about: "`unlock` refused: the lock's holder is still running." },
  LOCK_LOST: { exit: 2, about: 'the deployment lost its lock; it stopped before its next step.' },
  LOCK_NOT_CLEARABLE: { exit: 1, about: '`unlock` cannot clear this lock.' },
  LOCK_RETRY_EXHAUSTED: { exit: 2, about: "every attempt to take the statement's locks timed out." },
  LOCK_TIMEOUT: { exit: 'phase', about: 'a statement waited longer than `lock_timeout` for a lock.' },
  MIGRATION_BASELINE_REMOVED: { exit: 1, about: 'a migration the baseline lists was removed.' },
  MIGRATION_BATCHED_OPTION: { exit: 1, about: "a batched migration's header option is wrong." },
  MIGRATION_BATCHED_STATEMENT: { exit: 1, about: 'a batched migration holds a statement other than UPDATE.' },
  MIGRATION_BATCHED_UNSUPPORTED: { exit: 1, about: 'the engine cannot run batched migrations.' },
  MIGRATION_BEFORE_BASELINE: { exit: 1, about: 'a new migration older than the baseline.' },
  MIGRATION_CHANGED: { exit: 1, about: 'a migration was changed after it was applied.' },
  MIGRATION_DUPLICATE: { exit: 1, about: 'two migrations (or rollback scripts) share a version.' },
  MIGRATION_NAME: { exit: 1, about: "a file in `migrations/` whose name is not a migration's." },
  MIGRATION_NO_ROLLBACK: { exit: 1, about: 'a migration without its rollback script where one is required.' },
  MIGRATION_ORPHAN_ROLLBACK: { exit: 1, about: 'a rollback script without its migration.' },
  MULTIPLE_ERRORS: { exit: 1, about: 'several problems found in one pass, listed together.' },
  NOTHING_TO_ROLL_BACK: { exit: 1, about: '`rollback` with no deployment to roll back.' },
  NOT_CONVERGED: {
    exit: 2,
    about:
      'every step applied, but the objects the deployment touched then differ from the sources (recorded as failed, not converged).',
  },
  NOT_DISABLED: { exit: 1, about: '`enable` on an object that is not disabled.' },
  NOT_IN_TRANSACTION: { exit: 'phase', about: 'a statement that must run in a transaction ran outside one.' },
  NX_DIFF_UNCACHEABLE: {
    exit: 1,
    about: 'the Nx `diff` target was given options whose result Nx would cache wrongly.',
  },
  OBJECT_AMBIGUOUS: { exit: 1, about: 'a name matches several objects (overloaded routines); give the arguments.' },
  OBJECT_CONFLICT: {
    exit: 1,
    about: 'an object of the plan already exists on the target and the ledger does not know it.',
  },
  OBJECT_DUPLICATE: { exit: 1, about: 'an object defined twice in the sources.' },
  OBJECT_EXISTS: { exit: 'phase', about: 'the database refused to create an object that exists.' },
  OBJECT_KIND_CONFLICT: { exit: 1, about: 'a name used by objects of two kinds.' },
  OBJECT_MISSING: { exit: 'phase', about: 'the database does not have an object a statement uses.' },
  OBJECT_NEEDS_DIFF: { exit: 1, about: 'an object changed and cannot be replaced in place: plan it from a diff.' },
  OBJECT_NEEDS_MIGRATION: { exit: 1, about: 'a change that needs a migration (a table changed with data in it).' },
  OPTIONS_INVALID: { exit: 1, about: 'a command option is unknown, wrong or conflicts with another.' },
  PACKAGE_DEPENDENCY_MISSING: { exit: 1, about: 'a package depends on a package that is not deployed.' },
  PACKAGE_INVALID: { exit: 1, about: 'a folder that is not a dbee package.' },
  PACKAGE_MISMATCH: { exit: 1, about: 'the package was built for another project or engine.' },
  PACKAGE_NEEDS_BASE: { exit: 1, about: 'an incremental package on a target that does not have its base.' },
  PACKAGE_PRECONDITION: { exit: 1, about: 'the target does not hold what the package was built against.' },
  PACKAGE_TAMPERED: { exit: 1, about: "a package's files do not match its checksums." },
  PACKAGE_TARGET_EXISTS: { exit: 1, about: "the package's output folder exists and is not a package." },
  PACKAGE_VARIABLES: { exit: 1, about: "the package's variables are missing or wrong." },
  PACKAGE_VERSION: { exit: 1, about: 'a package made by a newer format than this dbee reads.' },
  PACKAGE_WRITE_FAILED: { exit: 1, about: 'the package could not be written; nothing of it was kept.' },
  PERMISSION_DENIED: { exit: 'phase', about: 'the database refused the statement for lack of a privilege.' },
  PLACEHOLDER_INVALID: { exit: 1, about: 'a placeholder whose name no variable can have.' },
  PLACEHOLDER_UNKNOWN: { exit: 1, about: 'a placeholder no variable defines.' },
  PLAN_STALE: { exit: 1, about: 'the target changed since the plan was made: make it again.' },
  POLICY_CONFIG_INVALID: { exit: 1, about: 'the `policies:` configuration is wrong.' },
  POLICY_EXCEPTION_INVALID: { exit: 1, about: 'a `dbee:allow` comment that names no rule or gives no reason.' },
  POLICY_VIOLATION: { exit: 1, about: 'the change breaks a schema review policy.' },
  PREVIEW_FAILED: { exit: 1, about: 'a preview database could not be made or dropped.' },
  PREVIEW_LIMIT: { exit: 1, about: 'the base has as many previews as `preview.maxCount` allows.' },
  PREVIEW_NAME_FOLDS: { exit: 1, about: 'two preview names that fold to one database name.' },
  PREVIEW_NOT_OURS: { exit: 1, about: "a database with a preview's name that carries no preview record." },
  PREVIEW_OTHER_BASE: { exit: 1, about: 'the preview was made from another base environment.' },
  PREVIEW_REFERENCE_DATA: { exit: 1, about: "a preview's reference data cannot be copied." },
  PROJECT_CYCLE: { exit: 1, about: 'projects depend on each other in a cycle.' },
  PROJECT_DEPENDENCY_UNKNOWN: { exit: 1, about: '`dependsOn` names no project.' },
  PROJECT_DUPLICATE: { exit: 1, about: 'two projects share a name.' },
  PROJECT_UNKNOWN: { exit: 1, about: 'a project name the workspace does not have.' },
  PROMOTION_NOT_RECORDED: { exit: 1, about: 'the promotion could not be recorded.' },
  QUERY_SOURCE_MISSING: { exit: 1, about: 'a query source file does not exist.' },
  QUERY_SOURCE_UNAVAILABLE: {
    exit: 1,
    about: 'a query source cannot be read (the query statistics extension is not installed in the database).',
  },
  QUERY_SYNTAX: { exit: 1, about: 'an application query the parser cannot read.' },
  RELEASE_IN_FLIGHT: {
    exit: 1,
    about: 'a clone on a target with an expand-contract release in flight: complete or abort it first.',
  },
  RENAME_INVALID: { exit: 1, about: 'a rename declaration is wrong.' },
  RENDER_UNSUPPORTED: { exit: 1, about: 'dbee cannot generate DDL for this object on this engine.' },
  REPLICATION_FAILED: {
    exit: 1,
    about: 'a switchover refused: the subscription that keeps the other side in sync has failed.',
  },
  REPLICATION_LAGGING: {
    exit: 1,
    about:
      'a switchover refused: replication lags more than the bound allows, or cannot drain within the pause budget.',
  },
  REPLICATION_ROWS_LEFT: {
    exit: 1,
    about: 'a blue/green finish refused: the side it would drop holds rows that never reached the side that stays.',
  },
  REPLICATION_UNAVAILABLE: {
    exit: 1,
    about: 'the server cannot run logical replication for blue/green: wal_level, replication privilege, slots.',
  },
  REPLICATION_UNCARRIED: {
    exit: 1,
    about:
      'a change logical replication cannot carry between blue and green (a column blue writes dropped or renamed, a changed key); expand-contract can.',
  },
  ROLLBACK_DATA_LOSS: { exit: 1, about: 'the rollback would lose rows written since the release.' },
  ROLLBACK_DEPENDENTS: { exit: 1, about: 'the rollback would break objects that depend on what it undoes.' },
  ROLLBACK_DRIFT: {
    exit: 1,
    about: "the target changed since the release: the rollback would undo someone else's change.",
  },
  ROLLBACK_FAILED: { exit: 2, about: 'a rollback failed while applying; the ledger records which steps were undone.' },
  ROLLBACK_INCOMPLETE: { exit: 1, about: 'the rollback could not be finished; the message says what is left.' },
  ROLLBACK_IRREVERSIBLE: { exit: 1, about: 'the release holds a step that cannot be undone.' },
  ROLLBACK_NOT_CONVERGED: {
    exit: 2,
    about:
      "every step of a rollback ran, but the schemas then differ from the state it went back to (the fingerprint that state recorded, the columns' positions aside); recorded as failed.",
  },
  ROLLBACK_NOT_LAST: { exit: 1, about: 'only the last deployment can be rolled back.' },
  ROLLBACK_NOT_PROVEN: { exit: 1, about: 'the rollback is proven only on a sample of the rows the release writes.' },
  ROLLBACK_TEST_FAILED: { exit: 1, about: 'the rollback test failed on a scratch copy.' },
  ROLLBACK_TEST_SAMPLE: { exit: 1, about: "the rollback test's sample of rows could not be loaded." },
  ROLLBACK_TEST_SMOKE: { exit: 1, about: 'smoke checks failed after the tested rollback.' },
  ROLLBACK_TOO_SLOW: { exit: 1, about: 'the tested rollback took longer than the environment allows.' },
  ROLLBACK_UNKNOWN: { exit: 1, about: 'the deployment to roll back is not in the ledger.' },
  ROLLBACK_UNTESTED: { exit: 1, about: 'the rollback could not be tested.' },
  SCHEMA_ALWAYS_PRESENT: { exit: 1, about: 'a plain `CREATE SCHEMA public` (a schema every new database has).' },
  SCHEMA_TWO_OWNERS: { exit: 1, about: 'two projects define the same schema.' },
  SELECTION_INCOMPLETE: { exit: 1, about: '`--objects` leaves out a pending object a selected one needs.' },
  SERVER_TOO_OLD: { exit: 1, about: 'the server is older than dbee supports.' },
  SHADOW_BUILD_FAILED: { exit: 1, about: 'the sources do not build on a fresh database.' },
  SMOKE_DUPLICATE_NAME: { exit: 1, about: 'two smoke checks share a name.' },
  SMOKE_FAILED: { exit: 3, about: 'smoke checks failed after the deployment.' },
  SMOKE_INVALID: { exit: 1, about: 'a smoke check is wrong (not one statement, unknown expectation).' },
  SMOKE_UNSUPPORTED: { exit: 1, about: 'the engine cannot run smoke checks.' },
  SOURCES_OUTSIDE: { exit: 1, about: 'a `sources` pattern outside the project.' },
  SOURCE_LITERAL_SECRET: {
    exit: 1,
    about: "a source file writes a secret literally (a Teradata authorization's PASSWORD): write `'${VAR}'`.",
  },
  SPL_COMPILE: { exit: 'phase', about: 'a Teradata stored procedure did not compile.' },
  SQL_SYNTAX: { exit: 'phase', about: "the parser or the database rejected a statement's syntax." },
  STATEMENT_FAILED: { exit: 'phase', about: 'a statement failed while applying.' },
  STATEMENT_ORPHAN: { exit: 1, about: 'a statement in a source file that defines no object and follows none.' },
  STATEMENT_TIMEOUT: { exit: 'phase', about: 'a statement ran longer than `statement_timeout`.' },
  STATUS_FAILED: { exit: 1, about: "a fleet target's status could not be read." },
  STEP_FAILED: { exit: 2, about: 'a plan step failed while applying; steps before it are recorded.' },
  STEP_NOT_APPLIED: { exit: 2, about: 'a step the ledger records as not applied.' },
  SWITCHOVER_FAILED: {
    exit: 2,
    about: 'a step of a blue/green switchover failed or timed out; writes were resumed on the side that served before.',
  },
  TABLE_HAS_DEPENDENTS: { exit: 'phase', about: 'the database refused to drop or rename a table other objects use.' },
  TICKET_INVALID: { exit: 1, about: 'a `--ticket` value with leading or trailing spaces.' },
  TRANSACTIONS_OPEN: {
    exit: 1,
    about: 'a switchover refused before pausing: transactions open on the side serving did not end within the wait.',
  },
  TRANSACTION_ABORTED: { exit: 'phase', about: 'the transaction was aborted by the database.' },
  WORKSPACE_NOT_FOUND: { exit: 1, about: 'no `dbee.yaml` in the folder or any parent.' },
} as const satisfies Record<string, { exit: 1 | 2 | 3 | 'phase'; about: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The exit codes a code may carry: its own, or 1 or 2 for the database's codes. */
type ExitOf<C extends ErrorCode> = (typeof ERROR_CODES)[C]['exit'] extends 'phase'
  ? typeof ExitCode.invalid | typeof ExitCode.applyFailed
  : (typeof ERROR_CODES)[C]['exit'];

/** The codes the database raises, whose exit code depends on the phase (see `ERROR_CODES`). */
export type DatabaseErrorCode = {
  [C in ErrorCode]: (typeof ERROR_CODES)[C]['exit'] extends 'phase' ? C : never;
}[ErrorCode];

interface DbeeErrorFields {
  location?: ErrorLocation;
  /** What the user can do about it; printed on its own line. */
  hint?: string;
  details?: Record<string, unknown>;
  cause?: unknown;
}

/**
 * What a `DbeeError` is made of. `code` is one of `ERROR_CODES`; `exitCode`, when given, must be the one the code
 * carries (or 1 or 2 for a database's code): left out, it is the code's own (1 for a database's code).
 */
export type DbeeErrorOptions =
  | { [C in Exclude<ErrorCode, DatabaseErrorCode>]: DbeeErrorFields & { code: C; exitCode?: ExitOf<C> } }[Exclude<
      ErrorCode,
      DatabaseErrorCode
    >]
  | (DbeeErrorFields & { code: DatabaseErrorCode; exitCode?: ExitOf<DatabaseErrorCode> });

/** The exit code `code` carries when nothing else is said. */
export function exitCodeOf(code: ErrorCode): ExitCodeValue {
  // A code from outside the list (a cast, an older report read back) exits 1, as a refusal.
  const exit = (ERROR_CODES as Record<string, { exit: 1 | 2 | 3 | 'phase' } | undefined>)[code]?.exit ?? 'phase';
  return exit === 'phase' ? ExitCode.invalid : exit;
}

export class DbeeError extends Error {
  readonly code: ErrorCode;
  readonly location?: ErrorLocation;
  readonly hint?: string;
  readonly exitCode: ExitCodeValue;
  readonly details: Record<string, unknown>;

  constructor(message: string, options: DbeeErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DbeeError';
    this.code = options.code;
    this.location = options.location;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? exitCodeOf(options.code);
    this.details = options.details ?? {};
  }

  /**
   * An error said again with more context, keeping a code that comes from another error (or a fallback when there
   * is none): any exit code goes with it, since a failure while applying exits 2 whatever its code (the runner's
   * rule) and a refusal exits 1. Left out, the exit code is 1, as for a refusal.
   */
  static carrying(
    code: ErrorCode,
    message: string,
    options: DbeeErrorFields & { exitCode?: ExitCodeValue } = {},
  ): DbeeError {
    return new DbeeError(message, {
      ...options,
      code,
      exitCode: options.exitCode ?? ExitCode.invalid,
    } as DbeeErrorOptions);
  }

  /** `file:line:column: message` followed by the hint, as printed to users. */
  format(): string {
    const where = this.location ? formatLocation(this.location) + ': ' : '';
    return `${where}${this.message}${this.hint ? `\n  hint: ${this.hint}` : ''}`;
  }
}

/** Several user errors found in one pass (e.g. every cycle, every bad key), reported together. */
export class DbeeAggregateError extends DbeeError {
  readonly errors: DbeeError[];
  constructor(message: string, errors: DbeeError[], code: ErrorCode = errors[0]?.code ?? 'MULTIPLE_ERRORS') {
    // The first error's code and exit code stand for the whole.
    super(message, { code, exitCode: errors[0]?.exitCode ?? ExitCode.invalid } as DbeeErrorOptions);
    this.errors = errors;
  }
  override format(): string {
    return [this.message, ...this.errors.map((e) => '- ' + e.format().replace(/\n/g, '\n  '))].join('\n');
  }
}

export function formatLocation(loc: ErrorLocation): string {
  return loc.file + (loc.line ? `:${loc.line}` + (loc.column ? `:${loc.column}` : '') : '');
}

export function isDbeeError(e: unknown): e is DbeeError {
  return e instanceof DbeeError;
}

/**
 * Whether `error` is the engine's "insufficient resources" (SQL-standard class 53: out of memory, out of shared memory
 * for locks, too many connections): what a statement asked for is beyond what the server can hold right now, not
 * wrong. PostgreSQL raises it for a transaction that takes more locks than its lock table holds
 * (`max_locks_per_transaction`); the same statements in smaller transactions pass.
 */
export function outOfResources(error: unknown): boolean {
  const sqlstate = error instanceof DbeeError ? (error.details as { sqlstate?: unknown }).sqlstate : undefined;
  return typeof sqlstate === 'string' && sqlstate.startsWith('53');
}
