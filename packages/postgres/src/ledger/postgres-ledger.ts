import type { LedgerDialect } from '@dbee/core';

/**
 * A deployment's row can never be deleted (version 6): its steps' and objects' rows name it without a foreign key.
 * Statement-level, so a row written costs nothing for it.
 */
const DEPLOYMENTS_KEPT = [
  `CREATE OR REPLACE FUNCTION dbee.deployments_kept() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     RAISE EXCEPTION 'dbee.deployments keeps every deployment: its steps and objects rows refer to it'
       USING HINT = 'the ledger is append-only; a deployment is undone with dbee rollback, not deleted';
   END $$`,
  `CREATE TRIGGER deployments_kept BEFORE DELETE OR TRUNCATE ON dbee.deployments
     FOR EACH STATEMENT EXECUTE FUNCTION dbee.deployments_kept()`,
];

/**
 * `migrations[i]` of the ledger below upgrades it from version i to i + 1; never edit a released entry, append a new
 * one (and keep `fresh` equal to running them all, once `LAZY`'s tables are created).
 *
 * A new ledger has no feature tables (`LAZY`: `backups`, `backfills`, `expand_releases`) until a deployment needs one:
 * an upgrade written later must cope with each of them missing (`ALTER TABLE IF EXISTS`, or a `DO` block that checks),
 * and the same change must go into that table's `LAZY` statements, which create it as the upgrades leave it.
 */
const MIGRATIONS: string[][] = [
  [
    `CREATE SCHEMA IF NOT EXISTS dbee`,
    `CREATE TABLE IF NOT EXISTS dbee.ledger_version (
         version integer PRIMARY KEY,
         applied_at timestamptz NOT NULL DEFAULT now())`,
    `CREATE TABLE dbee.deployments (
         id bigserial PRIMARY KEY,
         project text NOT NULL,
         environment text NOT NULL,
         kind text NOT NULL DEFAULT 'deploy',
         plan_checksum text NOT NULL,
         package text,
         git_commit text,
         tool_version text NOT NULL,
         db_user text NOT NULL DEFAULT current_user,
         os_user text,
         ci_job text,
         host text,
         started_at timestamptz NOT NULL DEFAULT now(),
         finished_at timestamptz,
         status text NOT NULL,
         steps_total integer NOT NULL,
         steps_applied integer NOT NULL DEFAULT 0,
         error text,
         failed_statement text,
         reverts bigint REFERENCES dbee.deployments(id),
         summary jsonb)`,
    `CREATE INDEX deployments_project_idx ON dbee.deployments (project, environment, id)`,
    `CREATE TABLE dbee.steps (
         deployment_id bigint NOT NULL REFERENCES dbee.deployments(id),
         step_order integer NOT NULL,
         object_key text NOT NULL,
         action text NOT NULL,
         checksum text NOT NULL,
         statements jsonb NOT NULL,
         reverse_statements jsonb,
         previous_definition text,
         transactional boolean NOT NULL,
         started_at timestamptz,
         duration_ms integer,
         status text NOT NULL,
         error text,
         PRIMARY KEY (deployment_id, step_order))`,
    `CREATE TABLE dbee.objects (
         project text NOT NULL,
         object_key text NOT NULL,
         checksum text NOT NULL,
         deployment_id bigint NOT NULL REFERENCES dbee.deployments(id),
         updated_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (project, object_key))`,
    `CREATE TABLE dbee.backups (
         id bigserial PRIMARY KEY,
         deployment_id bigint NOT NULL REFERENCES dbee.deployments(id),
         object_key text NOT NULL,
         backup_name text NOT NULL,
         created_at timestamptz NOT NULL DEFAULT now(),
         retain_until timestamptz,
         dropped_at timestamptz)`,
    `CREATE TABLE dbee.migrations (
         project text NOT NULL,
         version text NOT NULL,
         description text NOT NULL,
         checksum text NOT NULL,
         deployment_id bigint NOT NULL REFERENCES dbee.deployments(id),
         applied_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (project, version))`,
    `CREATE TABLE dbee.smoke_results (
         id bigserial PRIMARY KEY,
         deployment_id bigint REFERENCES dbee.deployments(id),
         project text NOT NULL,
         environment text NOT NULL,
         check_name text NOT NULL,
         status text NOT NULL,
         duration_ms integer NOT NULL,
         message text,
         ran_at timestamptz NOT NULL DEFAULT now())`,
  ],
  [
    // Rollback: the ledger state of a step's object before it ran (restored when the step is undone), the step of
    // the reverted deployment that a rollback step undid, the hazards a step carried, and the project's whole
    // ledger state when a deployment started (restored when the whole deployment is undone).
    `ALTER TABLE dbee.steps ADD COLUMN previous_checksum text, ADD COLUMN reverts_step integer, ADD COLUMN hazards jsonb`,
    `ALTER TABLE dbee.deployments ADD COLUMN ledger_before jsonb`,
  ],
  [
    // Change control: the ticket a deployment ran under (`--ticket`, `gates.requireTicket`).
    `ALTER TABLE dbee.deployments ADD COLUMN ticket text`,
  ],
  [
    // backfills: cursor and progress. One row per backfill (core/src/expand/backfill.ts): the key columns it walks,
    // the largest key when it started (`bound_key`), the last key done (`cursor_key`, written in each batch's
    // transaction), done/total, and the start of the latest run (for rows/s in `dbee status`).
    `CREATE TABLE dbee.backfills (
         id text PRIMARY KEY,
         project text,
         table_schema text NOT NULL,
         table_name text NOT NULL,
         key_columns jsonb NOT NULL,
         set_clause text NOT NULL,
         where_clause text,
         bound_key jsonb,
         cursor_key jsonb,
         total bigint NOT NULL,
         done bigint NOT NULL DEFAULT 0,
         batches integer NOT NULL DEFAULT 0,
         batch_size integer NOT NULL,
         status text NOT NULL,
         started_at timestamptz NOT NULL DEFAULT now(),
         updated_at timestamptz NOT NULL DEFAULT now(),
         finished_at timestamptz,
         run_started_at timestamptz,
         run_start_done bigint)`,
    `CREATE INDEX backfills_project_idx ON dbee.backfills (project, started_at)`,
  ],
  // expand/contract phases: one row per release of `dbee deploy --strategy expand-contract`, its plan, its phase
  // (expanding, backfilling, expanded, contracting, done; aborting, aborted) and the lock waits it retried. The
  // partial unique index keeps one release in flight per project.
  [
    `CREATE TABLE dbee.expand_releases (
         id bigserial PRIMARY KEY,
         project text NOT NULL,
         environment text NOT NULL,
         release text NOT NULL,
         previous text NOT NULL,
         phase text NOT NULL,
         plan jsonb NOT NULL,
         started_at timestamptz NOT NULL DEFAULT now(),
         updated_at timestamptz NOT NULL DEFAULT now(),
         finished_at timestamptz,
         error text,
         lock_retries integer NOT NULL DEFAULT 0,
         lock_attempts jsonb NOT NULL DEFAULT '[]')`,
    `CREATE UNIQUE INDEX expand_releases_one_in_flight ON dbee.expand_releases (project)
         WHERE phase NOT IN ('done', 'aborted')`,
  ],
  // The rows every step writes (its `steps` row and its object's `objects` row) no longer check their deployment's
  // row with a foreign key: a key lookup and a lock on that row in every step's transaction, about a quarter of
  // the ledger rows' server time in a full deploy (`npm run bench:parts`, "rows with foreign keys"). What the keys
  // guaranteed is kept otherwise: only the session that opened a deployment writes its step and object rows, under
  // the deployment lock, with the id it wrote itself, and a deployment's row can never go away (the trigger below
  // refuses DELETE and TRUNCATE; the ledger never deletes one). The keys of the rows written once per deployment or
  // less (backups, migrations, smoke results, a rollback's `reverts`) stay.
  [
    // Written to run on a ledger some of it already reached (a fresh ledger's tables put back to an older version).
    `ALTER TABLE dbee.steps DROP CONSTRAINT IF EXISTS steps_deployment_id_fkey`,
    `ALTER TABLE dbee.objects DROP CONSTRAINT IF EXISTS objects_deployment_id_fkey`,
    `DROP TRIGGER IF EXISTS deployments_kept ON dbee.deployments`,
    ...DEPLOYMENTS_KEPT,
  ],
];

/** The statements of version 1 that `fresh` takes as they are, in their order. */
const first = (pattern: RegExp) => MIGRATIONS[0]!.filter((sql) => pattern.test(sql));
/** The `CREATE TABLE` of version 1 of a table. */
const firstTable = (table: string) => first(new RegExp(`^CREATE TABLE dbee\\.${table} `))[0]!;

/** A `CREATE TABLE` or `CREATE [UNIQUE] INDEX` of the ledger written to run again harmlessly (`IF NOT EXISTS`). */
const idempotent = (sql: string) => sql.replace(/^CREATE (TABLE|INDEX|UNIQUE INDEX) /, 'CREATE $1 IF NOT EXISTS ');

/**
 * The feature tables a new ledger leaves out (`LedgerDialect.lazyTables`), each created with its indexes, exactly as
 * the version that introduced it (no later version changed them), the first time a deployment writes it: a backup kept
 * by the conflict strategy `rename`, a backfill or batched migration started, an expand/contract release begun.
 */
const LAZY: Record<string, readonly string[]> = {
  backups: [idempotent(firstTable('backups'))],
  backfills: MIGRATIONS[3]!.map(idempotent),
  expand_releases: MIGRATIONS[4]!.map(idempotent),
};

/** `sql` with `from` written as `to`; `from` must be there (the released statements never change). */
function edited(sql: string, from: string, to: string): string {
  if (!sql.includes(from)) throw new Error(`the ledger's DDL has no "${from}" in ${sql.slice(0, 40)}...`);
  return sql.replace(from, to);
}

/**
 * The ledger dbee keeps inside each PostgreSQL database, in schema `dbee`: its versions (`MIGRATIONS`), and the
 * latest one created at once for a database that has none (`fresh`).
 */
export const postgresLedger: LedgerDialect = {
  schema: 'dbee',
  backfills: 'backfills',
  param: (n) => `$${n}`,
  now: 'now()',
  // A step's ledger rows go in the same request as its DDL (runner/journal.ts): literals as escape strings (right
  // whatever standard_conforming_strings says), the step's time from the server's clock, step commits that do not
  // wait for the disk (the deployment's closing row does; see LedgerInlining.asyncCommit), and the chained row
  // statement prepared once per session (LedgerInlining.named).
  inline: {
    literal,
    markStart: `set_config('dbee.step_started', clock_timestamp()::text, true)`,
    startedAt: `current_setting('dbee.step_started')::timestamptz`,
    elapsedMs: `round(extract(epoch FROM clock_timestamp() - current_setting('dbee.step_started')::timestamptz) * 1000)::integer`,
    asyncCommit: `set_config('synchronous_commit', 'off', true)`,
    asyncSession: { start: `set_config('synchronous_commit', 'off', false)`, end: 'RESET synchronous_commit' },
    chain: (statements) =>
      `WITH ${statements
        .slice(0, -1)
        .map((s, i) => `w${i} AS (${s})`)
        .join(', ')} ${statements[statements.length - 1]}`,
    named: {
      define: (name, sql) => `PREPARE ${name} AS ${sql}`,
      call: (name, literals) => (literals.length ? `EXECUTE ${name}(${literals.join(', ')})` : `EXECUTE ${name}`),
    },
  },
  // A summary merged by the UPDATE itself, and a deployment's id taken by its INSERT: no read before either.
  mergeJson: (column, param) => `coalesce(${column}, '{}'::jsonb) || ${param}::jsonb`,
  appendJson: (column, param) => `coalesce(${column}, '[]'::jsonb) || jsonb_build_array(${param}::jsonb)`,
  returning: true,
  upsertObject: (set) =>
    `ON CONFLICT (project, object_key) DO UPDATE SET ${set.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`,
  // A step writes only its `steps` row; `objects` follows from a deployment's applied steps when it closes.
  foldsObjects: true,
  migrations: MIGRATIONS,
  lazyTables: LAZY,
  presentTables: `(SELECT string_agg(c.relname, ' ') FROM pg_catalog.pg_class c
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'dbee' AND c.relkind = 'r' AND c.relname IN (${Object.keys(LAZY)
      .map((t) => `'${t}'`)
      .join(', ')}))`,
  // A new ledger: the tables of version 1 that no upgrade changed, except the feature tables (`LAZY`, created when
  // first written); `deployments` and `steps` with the columns versions 2 and 3 add, `steps` and `objects` without the
  // keys version 6 drops (test/ledger/ledger-keys.test.ts compares the result, its feature tables created, with a
  // ledger upgraded version by version).
  fresh: [
    ...first(/^CREATE (SCHEMA|TABLE IF NOT EXISTS dbee\.ledger_version) /),
    edited(firstTable('deployments'), 'summary jsonb)', 'summary jsonb, ledger_before jsonb, ticket text)'),
    ...first(/^CREATE INDEX deployments_project_idx /),
    edited(
      edited(firstTable('steps'), ' REFERENCES dbee.deployments(id)', ''),
      'PRIMARY KEY (deployment_id, step_order))',
      'previous_checksum text, reverts_step integer, hazards jsonb, PRIMARY KEY (deployment_id, step_order))',
    ),
    edited(firstTable('objects'), ' REFERENCES dbee.deployments(id)', ''),
    ...first(/^CREATE TABLE dbee\.(migrations|smoke_results) /),
    ...DEPLOYMENTS_KEPT,
  ],
};

/** A value as a PostgreSQL literal: `E'...'` with quotes and backslashes doubled, numbers and booleans bare. */
function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (typeof value === 'number' || typeof value === 'bigint') {
    if (typeof value === 'number' && !Number.isFinite(value))
      throw new Error(`ledger value ${value} is not a finite number`);
    return String(value);
  }
  const text = value instanceof Date ? value.toISOString() : String(value);
  // Text cannot hold NUL; a statement never contains one.
  return `E'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}
