import { z } from 'zod';

import { CONFLICT_STRATEGIES, HAZARD_KINDS, STRATEGIES } from './kinds';
import { ENGINE_NAMES } from './units';

// The values of the configuration that modules read without validating it: in units.ts, which does not load zod.
export { ENGINE_NAMES, bytesOf, durationMs, type EngineName } from './units';
// For the engines' own settings schemas (`EngineRouter.settings`), built with core's zod and its units (`duration`).
export { z };

/**
 * Schemas of `dbee.yaml` (workspace) and `db.yaml` (project), format `version: 1`. The README's configuration
 * reference documents every key; keep the two in step.
 */

const identifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_$-]*$/, 'expected a name of letters, digits, "_", "-" or "$"');
/** A variable is used as `{{name}}` in SQL: the placeholder grammar of sources/placeholders.ts. */
const variableName = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]*$/,
    'expected a variable name of letters, digits and "_" (it is written {{name}} in SQL)',
  );

/** `500ms`, `5s`, `2m`, `1h`, `30d`, or a number of milliseconds. */
export const duration = z.union([
  z.number().int().nonnegative(),
  z.string().regex(/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/, 'expected a duration such as "500ms", "5s", "2m", "1h" or "30d"'),
]);

/** An amount of bytes: `64kB`, `24MB`, `1GB` (units of 1,024, as PostgreSQL writes them), `512B`, or a number of bytes. */
export const byteSize = z.union([
  z.number().int().nonnegative(),
  z.string().regex(/^\d+(\.\d+)?\s*(B|kB|MB|GB)$/, 'expected an amount of bytes such as "64kB", "24MB" or "1GB"'),
]);

/**
 * What deploy does with an object to create that exists but that the ledger does not know: `raise` refuses, `rename`
 * keeps it as a backup, `drop` drops it, `skip` leaves it as it is and does not run the step (nothing recorded),
 * `ignore` runs the step as written over it (no check).
 */
export const conflictStrategy = z.enum(CONFLICT_STRATEGIES);
export const hazardKind = z.enum(HAZARD_KINDS);
const scalar = z.union([z.string(), z.number(), z.boolean()]);

/** Deployment behaviour; set per environment in dbee.yaml, overridable per project in db.yaml. */
export const deploySettings = z.strictObject({
  /** Transaction scope for transactional steps. */
  transaction: z.enum(['object', 'project', 'plan']).optional(),
  lockTimeout: duration.optional(),
  statementTimeout: duration.optional(),
  /** How long to wait for another deployment's lock before failing. */
  waitForLock: duration.optional(),
  ifExists: conflictStrategy.optional(),
  /** Copy rows of surviving columns from a renamed-aside table into the new one. */
  copyData: z.boolean().optional(),
  autoRollback: z.boolean().optional(),
  smokeAfterDeploy: z.boolean().optional(),
  /**
   * Drop what the ledger records as deployed by the project but its sources no longer define (as `--prune`), each
   * step with its hazards. Default false: such objects stay, and deploy lists them in a warning.
   */
  prune: z.boolean().optional(),
  smokeTimeout: duration.optional(),
  /** Build indexes CONCURRENTLY outside transactions. */
  online: z.boolean().optional(),
  /**
   * Apply the safe rewrites (docs/lint-rules.md) to what a diff plans on existing tables: indexes built CONCURRENTLY,
   * constraints added NOT VALID and validated in a later step, SET NOT NULL through a validated CHECK, and
   * `lock_timeout` (`lockTimeout`, default 5s) at the start of every step. `--safe` turns it on for one run.
   */
  safeRewrites: z.boolean().optional(),
  /**
   * Keep a dropped column's values (PostgreSQL): the step copies them, with the table's primary key, into a table of the
   * backup schema before it drops the column (recorded in the ledger's backups, dropped by `dbee cleanup` after
   * `backupRetention`), and its reverse adds the column back and fills it from there, so `dbee rollback` brings the
   * data back and `gates.requireBackup` accepts the step. Not for a table without a primary key, nor a generated or
   * identity column. Default false.
   */
  keepDroppedColumns: z.boolean().optional(),
  allowHazards: z.array(hazardKind).optional(),
  /**
   * How `deploy` brings the plan to the database: `direct` (its steps, the default), `expand-contract` (additive
   * changes, a backfill and a version schema of views per release; then `dbee complete` or `dbee abort`) or
   * `blue-green` (the release deployed to a green copy kept in sync; then `dbee switch`, `dbee fallback`, `dbee finish`:
   * docs/blue-green.md).
   */
  strategy: z.enum(STRATEGIES).optional(),
  /**
   * The expand/contract strategy's backfill (docs/zero-downtime.md): rows of the first batch (`batchSize`, default
   * 1,000), the largest batch (`maxBatchSize`, 50,000), the time a batch holds its rows that the size adapts toward
   * (`targetBatch`, default 10ms; 0 keeps the size fixed), the WAL one batch may write that it adapts toward too
   * (`walPerBatch`, default 64kB; 0: no bound), the server's WAL per second the pace keeps to (`walPerSecond`, default
   * 16MB; 0: no bound) and a pause between batches (`pause`, default none). A more specific level (project, project
   * per environment) replaces the whole object.
   */
  backfill: z
    .strictObject({
      batchSize: z.number().int().positive().optional(),
      maxBatchSize: z.number().int().positive().optional(),
      pause: duration.optional(),
      targetBatch: duration.optional(),
      walPerBatch: byteSize.optional(),
      walPerSecond: byteSize.optional(),
    })
    .refine((b) => b.batchSize === undefined || b.maxBatchSize === undefined || b.batchSize <= b.maxBatchSize, {
      message: 'batchSize is above maxBatchSize: the largest batch would be smaller than the first',
      path: ['batchSize'],
    })
    .optional(),
});

/** Safety gates of an environment. */
export const gates = z.strictObject({
  /** Ask the user to type the environment's name; non-interactive runs need --assume-yes. */
  protected: z.boolean().optional(),
  /** Seconds of countdown after confirmation (default 3 on protected environments). */
  countdown: z.number().int().nonnegative().optional(),
  /** Deployments are refused outside these windows, e.g. `{ days: [sat, sun], from: "22:00", to: "04:00", timezone: UTC }`. */
  maintenanceWindows: z
    .array(
      z.strictObject({
        days: z.array(z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'])).optional(),
        from: z.string().regex(/^\d{2}:\d{2}$/, 'expected HH:MM'),
        to: z.string().regex(/^\d{2}:\d{2}$/, 'expected HH:MM'),
        timezone: z.string().optional(),
      }),
    )
    .optional(),
  /** Destructive steps only with a backup strategy (`ifExists: rename`). */
  requireBackup: z.boolean().optional(),
  /** How long rename backups are kept before `dbee cleanup` drops them, e.g. `30d`; without it, until dropped by hand. */
  backupRetention: duration.optional(),
  /**
   * Promotion: only a package (`--package`) deploys here, and only one that was deployed, with passing smoke checks,
   * to each of these environments first, e.g. `[qa]`. Read from their ledgers when they can be reached, else from the
   * signed promotion records the earlier deployments wrote into the package folder (see `promotionKey`).
   */
  promotedFrom: z.array(identifier).min(1, 'name at least one environment').optional(),
  /** With `promotedFrom`: how long ago (at least) the package must have passed there, e.g. `24h`. Default: no wait. */
  minSoak: duration.optional(),
  /**
   * The environment variable holding the secret that signs and checks promotion records (HMAC-SHA256). Set it, with
   * the same value, where the earlier environment is deployed and where this one is. Default `DBEE_PROMOTION_KEY`.
   */
  promotionKey: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected the name of an environment variable, e.g. DBEE_PROMOTION_KEY')
    .optional(),
  /**
   * Change control: `deploy`, `rollback`, `cleanup` and `clone` need `--ticket`. `true`: any ticket; a string: a
   * regular expression the ticket must match, e.g. `"^CHG-[0-9]+$"`.
   */
  requireTicket: z
    .union([
      z.boolean(),
      z.string().refine((s) => {
        try {
          new RegExp(s);
          return true;
        } catch {
          return false;
        }
      }, 'expected a regular expression, e.g. "^CHG-[0-9]+$"'),
    ])
    .optional(),
  /**
   * Performance gate: a smoke check slower than this factor times the median of its last successful runs on the
   * environment fails (exit 3, `autoRollback` applies), e.g. `1.2`. The object form sets how many runs make the
   * baseline (`runs`, default 10; fewer than 3 runs: no baseline yet) and the least slowdown that counts (`minMs`,
   * default 100: a check is never failed for being less than that slower than its baseline).
   */
  smokeRegression: z
    .union([
      z.number().gt(1, 'expected a factor above 1, e.g. 1.2'),
      z.strictObject({
        factor: z.number().gt(1, 'expected a factor above 1, e.g. 1.2'),
        runs: z.number().int().min(3).optional(),
        minMs: z.number().int().nonnegative().optional(),
      }),
    ])
    .optional(),
});

/**
 * The compatibility check of an environment: the running application's queries, checked against every plan on
 * `deploy --dry-run` and `dbee check` (see README, "Will this release break the application?").
 */
/**
 * What a dry run proves on the scratch copy for this environment (docs/rollback-readiness.md). `rollback: true`: the
 * release's rollback is tested (as `--test-rollback`), and a package deployed here must carry the proof (`plan --out
 * --test-rollback`). `rollbackWithin`: the longest the rollback may take on the copy (default 5m). `sampleRows`: rows
 * per table the release touches copied from the target into the copy and compared (default 1000; 0 reads no data),
 * with the rows they reference; `sampleTables`: the rows of particular tables.
 */
export const verifySettings = z.strictObject({
  rollback: z.boolean().optional(),
  rollbackWithin: duration.optional(),
  sampleRows: z.number().int().nonnegative().optional(),
  /**
   * Rows sampled from particular tables, by `schema.name`, over `sampleRows`: more or fewer for a big or sensitive
   * table, 0 for one whose rows are never read (the rollback test then refuses a sample whose rows reference it).
   */
  sampleTables: z
    .record(z.string().regex(/^[^.]+\.[^.]+$/, 'a table as schema.name'), z.number().int().nonnegative())
    .optional(),
  /**
   * A rollback proven only on the sample is accepted (default false): where the release writes rows of a table that
   * has more rows than the copy holds, the rollback test says "not proven for rows outside the sample" and refuses
   * (exit 1) unless this is true (then it says so and passes).
   */
  allowSampledRows: z.boolean().optional(),
});

export const compatSettings = z.strictObject({
  /**
   * Where the application's queries come from, one or more of: a `.sql` file or a folder of them (workspace-relative),
   * a PostgreSQL `.csv` log, or a live source of the engine by name (`QuerySourceRole.names`): `<name>` (this
   * environment's) or `<name>:<env>`.
   */
  queries: z.union([z.string(), z.array(z.string()).min(1)]),
  /**
   * The new application version's queries (the same kinds of source), checked after the plan only: each must work
   * on the new schema (with the expand-contract strategy, through the new version schema), e.g. `app/queries` of the
   * branch while `queries` reads the running application's statement statistics.
   */
  newQueries: z.union([z.string(), z.array(z.string()).min(1)]).optional(),
  /** A query that a plan breaks: `fail` refuses (exit 1, the default), `warn` reports it, `off` skips the check. */
  mode: z.enum(['fail', 'warn', 'off']).optional(),
  /**
   * Search path the application's unqualified names resolve with, each name read as SQL reads an identifier (as
   * db.yaml's); default: the project's `searchPath`, else its schemas.
   */
  searchPath: z.array(z.string()).optional(),
});

/** How a drift rule between a dbt project and dbee's schema is judged (`check.dbt.drift`). */
const driftSeverity = z.enum(['error', 'warn', 'off']);

/**
 * The dbt check (`check.dbt` in dbee.yaml or a project's db.yaml, the project's keys winning): the dbt manifest that
 * `dbee check` and `deploy --dry-run` read, and how its verdicts are judged (see docs/dbt.md).
 */
export const dbtCheckSettings = z.strictObject({
  /** The dbt manifest (`target/manifest.json` of the dbt project), workspace-relative, e.g. `analytics/target/manifest.json`. */
  manifest: z.string().min(1).optional(),
  /** A model the check cannot judge (`SELECT *`, no compiled SQL, SQL it cannot read): `warn` (default) or `fail`. */
  unknown: z.enum(['warn', 'fail']).optional(),
  /**
   * Severity of each drift rule between the sources the manifest declares and dbee's schema: `error` refuses (exit 1),
   * `warn` (the default) reports, `off` skips. `missing-column`: a declared column the schema lacks;
   * `type-mismatch`: a declared `data_type` the schema's column does not have; `missing-relation`: a source whose
   * relation is in a project's schema but not among its objects.
   */
  drift: z
    .strictObject({
      'missing-column': driftSeverity.optional(),
      'type-mismatch': driftSeverity.optional(),
      'missing-relation': driftSeverity.optional(),
    })
    .optional(),
});

/** The checks a release goes through besides the plan's own (`check:` in dbee.yaml and db.yaml). */
export const checkSettings = z.strictObject({ dbt: dbtCheckSettings.optional() });

/** Connection settings of an environment or a fleet target; strings may use `${ENV_VAR}`. */
const connectionSettings = z.record(z.string(), scalar);

/** Labels of a fleet target, e.g. `{ region: eu, tier: a }`; `--labels region=eu` selects by them. */
export const targetLabels = z.record(identifier, z.union([z.string(), z.number(), z.boolean()]).transform(String));

/** One database of a fleet: its name (unique in the fleet), its connection (merged over the fleet's) and labels. */
export const fleetTarget = z.strictObject({
  /** Name of the target, unique in the fleet: `--env <fleet>/<name>` addresses it alone. */
  name: identifier,
  /** Connection settings merged over the fleet's `connection`, e.g. `{ database: tenant_acme }`. */
  connection: connectionSettings.default({}),
  labels: targetLabels.default({}),
});

/**
 * Where a fleet's targets come from: a static list (`targets`), the rows of a query against another environment
 * (`discover.query` with `discover.environment`), or the JSON a command prints (`discover.command`). Exactly one.
 */
export const fleetConfig = z
  .strictObject({
    targets: z.array(fleetTarget).optional(),
    discover: z
      .strictObject({
        /**
         * A query whose rows are the targets: a `name` column, an optional `labels` column (a JSON object), and any
         * other column is a connection setting (`database`, `host`, `url`...), `${VAR}` references allowed.
         */
        query: z.string().min(1).optional(),
        /** The environment (a single database, e.g. a catalog) the query runs on. */
        environment: identifier.optional(),
        /** A shell command (run in the workspace root) printing a JSON array of `{ name, connection, labels }`. */
        command: z.string().min(1).optional(),
      })
      .refine((d) => Boolean(d.query) !== Boolean(d.command), 'give either "query" (with "environment") or "command"')
      .refine((d) => !d.query || Boolean(d.environment), {
        message: 'a discovery query needs "environment": the catalog it runs on',
        path: ['environment'],
      })
      .optional(),
    /** How long the shards after the first wait for the canary (`--canary`, `--shard`), e.g. `30m`. Default 1h. */
    canaryTimeout: duration.optional(),
  })
  .refine(
    (f) => Boolean(f.targets) !== Boolean(f.discover),
    'give either "targets" (a list) or "discover" (a query or a command)',
  );

/**
 * Schema review policies (`policies:`, docs/policies.md): a rule's name with a level (`error`, `warning`, `off`) or a
 * mapping of `level` and parameters. Checked against the rule catalogue (names, parameters) by `policies/settings.ts`
 * when policies are judged, with the file and line of a mistake.
 */
export const policiesConfig = z.record(z.string(), z.unknown());

/** A router of the user's own commands (`blueGreen.router.commands`): any router, whatever the engine. */
export const commandsRouter = z.strictObject({
  commands: z.strictObject({
    /** Holds the application's writes; exits 0 once none runs. */
    pause: z.string(),
    /** Points the application at `$DBEE_BLUE_GREEN_SIDE` (`blue` or `green`), database `$DBEE_BLUE_GREEN_DATABASE`. */
    route: z.string(),
    /** Lets the writes go. */
    resume: z.string(),
    /** Prints `blue` or `green`: the side served now. Optional. */
    serving: z.string().optional(),
    /** Bound of each command. Default 10s. */
    timeout: duration.optional(),
  }),
});

/**
 * The router of a blue/green deployment (docs/blue-green.md): what the application connects through, which dbee pauses,
 * points at the other side and resumes at a switchover. Either the user's own commands for any router, or one router
 * the environment's engine drives, under the name the engine gives it (`BlueGreenRole.routers`), its settings checked
 * against the engine's schema for them when a blue/green phase reads them (with their file and line). Core names no
 * router product: the engines do.
 */
export const blueGreenRouter = z.union([
  commandsRouter,
  z
    .record(z.string(), z.record(z.string(), z.unknown()))
    .refine((r) => Object.keys(r).length === 1 && !('commands' in r), {
      message: 'name one router: commands (pause, route, resume), or one the engine drives (docs/blue-green.md)',
    }),
]);

/** `blueGreen:` of an environment (blue's): its green, its router, the switchover's bounds (docs/blue-green.md). */
export const blueGreenSettings = z.strictObject({
  /** The environment of dbee.yaml that is green: its database (absent before) is made by the deploy phase. */
  green: z.string(),
  router: blueGreenRouter,
  /** A switchover is refused while green (or blue, for a fallback) is further behind than this. Default 16MB. */
  maxLag: byteSize.optional(),
  /** The longest the writes stay paused: past it the switchover is undone and blue serves on. Default 10s. */
  pauseTimeout: duration.optional(),
  /**
   * The pause a switchover is designed to: it pauses only once the other side's lag drains within half of it at the
   * apply rate it measures. Default 1s.
   */
  pauseBudget: duration.optional(),
  /** The longest a switchover waits, writes flowing, for the lag to fit `pauseBudget`; then refused. Default 30s. */
  catchUpWait: duration.optional(),
  /** The longest a switchover waits, writes flowing, for transactions open on the side serving to end. Default 10s. */
  transactionWait: duration.optional(),
  /** Past `transactionWait`, end the sessions of the transactions still open instead of refusing. Default false. */
  endTransactions: z.boolean().optional(),
  /** The longest the deploy phase waits for green's initial copy. Default 1h. */
  copyTimeout: duration.optional(),
});

export const environmentConfig = z
  .strictObject({
    /** `postgres` or `teradata`. */
    engine: z.enum(ENGINE_NAMES),
    /**
     * Engine-specific connection settings; strings may use `${ENV_VAR}`. PostgreSQL: `url`, or `embedded: <dir>`
     * for PGlite, or `host`/`port`/`user`/`password`/`database`. Teradata: `host`, `user`, `password`, `logmech`,
     * `tmode`, `database`. Required, except in a fleet, where it holds what every target shares.
     */
    connection: connectionSettings.optional(),
    /**
     * How long one attempt to open a session may wait for the server, e.g. `30s` (a server across regions, a busy CI
     * runner). Default 10s.
     */
    connectTimeout: duration.optional(),
    /**
     * How many times a session that could not be opened (no answer in `connectTimeout`, refused, reset, the server
     * starting up or out of connections) is tried again, after 0.5 s, 1 s, 2 s, ... Only the connect is retried.
     * Default 2.
     */
    connectRetries: z.number().int().min(0).max(10).optional(),
    /** Values for `{{name}}` placeholders in sources. */
    variables: z.record(variableName, scalar).optional(),
    gates: gates.optional(),
    deploy: deploySettings.optional(),
    compat: compatSettings.optional(),
    verify: verifySettings.optional(),
    description: z.string().optional(),
    /** Makes this environment a fleet: many databases deployed in waves (see docs/fleets.md). */
    fleet: fleetConfig.optional(),
    /** Schema review policies for this environment, over the workspace's (docs/policies.md). */
    policies: policiesConfig.optional(),
    /** This environment deployed blue/green: its green, its router, the switchover's bounds (docs/blue-green.md). */
    blueGreen: blueGreenSettings.optional(),
  })
  .refine((e) => e.connection !== undefined || e.fleet !== undefined, {
    message: 'required, expected record',
    path: ['connection'],
  });
/** What a webhook can be told (`notify[].events`). */
export const notifyEvent = z.enum([
  'deploy-started',
  'deploy-succeeded',
  'deploy-failed',
  'rolled-back',
  'smoke-failed',
  'drift-found',
]);

/** A webhook told about deployments (`notify:` in dbee.yaml). */
export const webhookConfig = z.strictObject({
  /** Where to POST, written with `${VAR}` (webhook URLs carry a token: keep them out of the file). Never printed. */
  url: z
    .string()
    .min(1)
    .refine(
      (u) => /^https?$/i.test(/^([A-Za-z][A-Za-z0-9+.-]*):/.exec(u)?.[1] ?? 'http'),
      'expected an http:// or https:// URL (or a ${VAR} that holds one): a webhook is sent by HTTP POST',
    ),
  /** Events to send; default all of them. */
  events: z.array(notifyEvent).min(1).optional(),
  /** Body: `json` (dbee's own, documented in docs/gates.md), `slack` (incoming webhook) or `teams` (MessageCard). Default json. */
  format: z.enum(['json', 'slack', 'teams']).optional(),
  /** The longest a notification may take, retries included (default 5s): it never delays a deployment longer. */
  timeout: duration.optional(),
  /** Further attempts after a failure (error, timeout or a non-2xx answer) within the timeout; default 2. */
  retries: z.number().int().min(0).max(10).optional(),
  /** Only for these environments; default every environment. */
  environments: z.array(identifier).optional(),
});

/** `dbee preview`: where previews are made, how they are named and how many are kept (see docs/preview.md). */
export const previewSettings = z.strictObject({
  /**
   * What every preview's name starts with (its database or folder name): only databases and folders with it are
   * listed or dropped by `dbee preview`. Lower-case letters, digits and `_`. Default `dbee_preview_`.
   */
  prefix: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,29}$/, 'expected lower-case letters, digits and "_", starting with a letter (at most 30)')
    .optional(),
  /** The folder embedded (PGlite) previews are made in, one folder each, relative to the workspace root. Default `.dbee/previews`. */
  directory: z.string().min(1).optional(),
  /** `dbee preview cleanup` drops previews older than this, e.g. `7d`. Default: no age limit. */
  maxAge: duration.optional(),
  /**
   * The most previews at once: `create` refuses one more, and `cleanup` drops the oldest beyond it. Default: no limit.
   */
  maxCount: z.number().int().positive().optional(),
  /**
   * SQL files (relative to the workspace root, run in order) that fill a new preview with data after its structure is
   * cloned and before the branch is deployed, e.g. `[seed/regions.sql]`. Default: no data (the structure only).
   */
  seed: z.array(z.string().min(1)).optional(),
  /**
   * The most rows a new preview takes from one table of a project's `referenceData`: a table with more is refused
   * (reference data is lookup data; a bigger table is seeded or left out). Default 10000.
   */
  referenceRows: z.number().int().positive().optional(),
});

export const workspaceConfig = z.strictObject({
  version: z.literal(1),
  defaultEnvironment: identifier,
  environments: z
    .record(identifier, environmentConfig)
    .refine((e) => Object.keys(e).length > 0, 'declare at least one environment'),
  /** Defaults applied to every environment; an environment's own `deploy` keys win. */
  deploy: deploySettings.optional(),
  /** Where the desired model is built for diffs: embedded PGlite (default) or a scratch database on the target server. */
  shadow: z.enum(['embedded', 'server']).optional(),
  /** Globs (relative to the workspace root) that are never searched for db.yaml. */
  ignore: z.array(z.string()).optional(),
  /** Webhooks told about deployments, rollbacks, failed smoke checks and drift. */
  notify: z.array(webhookConfig).optional(),
  /** Checks of every release of every project (a project's db.yaml `check` keys win): the dbt check. */
  check: checkSettings.optional(),
  /** Preview databases, one per pull request (`dbee preview`): names and limits. */
  preview: previewSettings.optional(),
  /** Schema review policies of every project (docs/policies.md); a project's and an environment's keys win. */
  policies: policiesConfig.optional(),
});

export const projectConfig = z.strictObject({
  version: z.literal(1),
  /** Project name; the Nx project is `db-<name>`. */
  name: identifier,
  engine: z.enum(ENGINE_NAMES),
  /** Schemas (PostgreSQL) or databases (Teradata) this project owns; may use `{{var}}`. */
  schemas: z.array(z.string().min(1)).min(1, 'a project owns at least one schema'),
  /** Names of the projects whose objects this one uses. */
  dependsOn: z.array(identifier).default([]),
  /** Schemas searched for unqualified names; default: the owned schemas, then the dependencies', then `public`. */
  searchPath: z.array(z.string().min(1)).optional(),
  /** Globs of object files, relative to the project; default every `*.sql` outside migrations/ and smoke/. */
  sources: z.array(z.string()).optional(),
  variables: z.record(variableName, scalar).optional(),
  deploy: deploySettings.optional(),
  /** Checks of this project's releases (over dbee.yaml's `check`): the dbt check (`check.dbt.manifest`). */
  check: checkSettings.optional(),
  /** Conflict strategy per file or path glob (relative to the project); the most specific match wins. */
  conflicts: z
    .array(z.strictObject({ match: z.string(), ifExists: conflictStrategy, copyData: z.boolean().optional() }))
    .optional(),
  /**
   * Renames the differ must apply instead of a drop and a create (renames are never guessed). Keep an entry
   * until every environment has it; a rename already done is a no-op.
   */
  renames: z
    .array(
      z.discriminatedUnion('kind', [
        z.strictObject({ kind: z.literal('table'), schema: z.string(), from: z.string(), to: z.string() }),
        z.strictObject({
          kind: z.literal('column'),
          schema: z.string(),
          table: z.string(),
          from: z.string(),
          to: z.string(),
        }),
        /** A view or materialized view renamed in its schema (ALTER VIEW / MATERIALIZED VIEW ... RENAME TO). */
        z.strictObject({ kind: z.literal('view'), schema: z.string(), from: z.string(), to: z.string() }),
        /**
         * A function or procedure renamed in its schema. `args`: its argument types as PostgreSQL prints them
         * (`[integer, text]`), needed only when the old name has several overloads.
         */
        z.strictObject({
          kind: z.literal('function'),
          schema: z.string(),
          from: z.string(),
          to: z.string(),
          args: z.array(z.string()).optional(),
        }),
      ]),
    )
    .optional(),
  /**
   * What dbee manages in the owned schemas; what it does not is never diffed, revoked or dropped, and drift ignores
   * it. `grants`: true (default: grants to the roles the sources name in GRANT/REVOKE; other grantees are left
   * alone), `all` (every grantee, revoking what the sources do not grant) or false. `owners` (default false),
   * `comments` (default true). `ignore`: objects left alone, `kind:schema.name` globs, e.g. `table:audit.*_bak_*`,
   * `function:ext_*`.
   */
  manage: z
    .strictObject({
      grants: z.union([z.boolean(), z.literal('all')]).optional(),
      owners: z.boolean().optional(),
      comments: z.boolean().optional(),
      ignore: z
        .array(
          z
            .string()
            .regex(
              /^(?:[a-z-]+:)?(?:[^.:\s]+\.)?[^.:\s]+$/,
              'expected a pattern such as "table:audit.*_bak_*", "function:ext_*" or "audit.tmp_*"',
            ),
        )
        .optional(),
    })
    .optional(),
  /** Schema review policies of this project, over dbee.yaml's (docs/policies.md). */
  policies: policiesConfig.optional(),
  /**
   * Reference tables (lookup rows written by migrations or by hand: currencies, statuses, regions), by `schema.name`
   * (may use `{{var}}`): a new preview (`dbee preview create`) takes their rows from its base, with the rows they
   * reference, up to `preview.referenceRows` per table (docs/preview.md).
   */
  referenceData: z.array(z.string().regex(/^[^.\s]+\.[^.\s]+$/, 'a table as schema.name')).optional(),
  /**
   * `dbee docs` (docs/docs-site.md): `viewpoints`, named sets of tables, each with a description and an ER diagram of
   * its own (a business area of a schema too big to draw whole). Tables as `schema.name` patterns, `*` for any run of
   * characters (`sales.order*`); each must match a table of the documented projects.
   */
  docs: z
    .strictObject({
      viewpoints: z
        .array(
          z.strictObject({
            name: identifier,
            description: z.string().optional(),
            tables: z
              .array(
                z
                  .string()
                  .regex(/^[^.\s]+\.[^.\s]+$/, 'a table as schema.name, `*` for any characters: "sales.order*"'),
              )
              .min(1, 'a viewpoint names at least one table'),
          }),
        )
        .optional(),
    })
    .optional(),
  /** Per-environment overrides. */
  environments: z
    .record(
      identifier,
      z.strictObject({
        variables: z.record(variableName, scalar).optional(),
        deploy: deploySettings.optional(),
        policies: policiesConfig.optional(),
      }),
    )
    .optional(),
});

export type WorkspaceConfig = z.infer<typeof workspaceConfig>;
export type EnvironmentConfig = z.infer<typeof environmentConfig>;
export type ProjectConfig = z.infer<typeof projectConfig>;
export type DeploySettings = z.infer<typeof deploySettings>;
export type DeployStrategy = NonNullable<DeploySettings['strategy']>;
export type Gates = z.infer<typeof gates>;
export type BlueGreenSettings = z.infer<typeof blueGreenSettings>;
export type PreviewSettings = z.infer<typeof previewSettings>;
export type FleetConfig = z.infer<typeof fleetConfig>;
export type FleetTargetConfig = z.infer<typeof fleetTarget>;
export type CompatSettings = z.infer<typeof compatSettings>;
export type VerifySettings = z.infer<typeof verifySettings>;
export type DbtCheckSettings = z.infer<typeof dbtCheckSettings>;
export type ConflictStrategy = z.infer<typeof conflictStrategy>;
export type HazardKind = z.infer<typeof hazardKind>;
export type NotifyEvent = z.infer<typeof notifyEvent>;
export type WebhookConfig = z.infer<typeof webhookConfig>;
