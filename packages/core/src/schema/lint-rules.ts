import type { HazardKind } from '../config/schema';

/**
 * The lint rules behind dbee's hazards: each hazard a plan step carries names the rule it comes from, so a reviewer
 * can look it up (docs/lint-rules.md is generated from this table), and each rule says what it does to a running
 * application: the lock it takes, for how long, and the rewrite that avoids it. Names follow Squawk's where a rule
 * means the same thing, so a team that knows one tool reads the other.
 */
export interface LintRule {
  /** The hazard kind a step with this rule carries (what `allowHazards` accepts). */
  hazard: HazardKind;
  /** Why it matters, in one sentence. */
  reason: string;
  /** The PostgreSQL lock the statement takes on the object, or null for no lock worth naming. */
  lock: 'ACCESS EXCLUSIVE' | 'SHARE' | 'SHARE ROW EXCLUSIVE' | 'SHARE UPDATE EXCLUSIVE' | null;
  /** How long it holds that lock: an instant (a catalog change), a scan of the table, or a rewrite of every row. */
  holds: 'instant' | 'scan' | 'rewrite' | 'build' | 'until commit';
  /** What a team does instead. */
  safe: string;
  /** What dbee does about it: refuses the step unless its hazard kind is allowed, or rewrites it (`--safe`). */
  dbee: string;
  /** The safe rewrites (`--safe`, `deploy.safeRewrites`) remove this hazard where they apply. */
  safeRewrite?: true;
  /** The same rule in the peer tools, where there is one: Squawk's rule name, strong_migrations' check (its README's
   * heading), Atlas's analyzer family. */
  peers: { squawk?: string; strongMigrations?: string; atlas?: string };
}

export const LINT_RULES = {
  'ban-drop-table': {
    hazard: 'data-loss',
    reason: 'drops a table and every row in it',
    lock: 'ACCESS EXCLUSIVE',
    holds: 'instant',
    safe: 'keep a renamed backup (`ifExists: rename`, `gates.requireBackup`), or drop it in a later release once nothing reads it',
    dbee: 'refuses the step unless `data-loss` is allowed (`gates.requireBackup`: unless the table is kept aside); `dbee check` names the queries that read it',
    peers: { squawk: 'ban-drop-table', atlas: 'destructive (DS)' },
  },
  'ban-drop-column': {
    hazard: 'data-loss',
    reason: 'drops a column and its values; a running application that selects or writes it fails',
    lock: 'ACCESS EXCLUSIVE',
    holds: 'instant',
    safe: 'stop the application using it first (expand/contract), then drop it in a later release',
    dbee: 'refuses the step unless `data-loss` is allowed; `dbee check` names the queries that use the column',
    peers: { squawk: 'ban-drop-column', strongMigrations: 'Removing a column', atlas: 'destructive (DS)' },
  },
  'ban-drop-sequence': {
    hazard: 'data-loss',
    reason: 'drops a sequence and its current value',
    lock: 'ACCESS EXCLUSIVE',
    holds: 'instant',
    safe: 'drop it in a later release once no default uses it',
    dbee: 'refuses the step unless `data-loss` is allowed',
    peers: {},
  },
  'changing-column-type': {
    hazard: 'table-rewrite',
    reason: 'most type changes rewrite every row and every index of the table',
    lock: 'ACCESS EXCLUSIVE',
    holds: 'rewrite',
    safe: 'add a new column, backfill it in batches, switch readers, drop the old one (expand/contract)',
    dbee: 'refuses the step unless `table-rewrite` is allowed; a widening change (varchar(10) to text) is no hazard',
    peers: {
      squawk: 'changing-column-type',
      strongMigrations: 'Changing the type of a column',
      atlas: 'locks and rewrites (PG)',
    },
  },
  'column-type-loss': {
    hazard: 'data-loss',
    reason: 'the new type cannot hold every value of the old one: values are rejected or truncated',
    lock: 'ACCESS EXCLUSIVE',
    holds: 'rewrite',
    safe: 'check the live values first (a migration that fails on rows that would not fit), or widen instead',
    dbee: 'refuses the step unless `data-loss` is allowed',
    peers: { atlas: 'data-dependent (MF)' },
  },
  'adding-field-with-volatile-default': {
    hazard: 'table-rewrite',
    reason:
      'a volatile default (now(), random(), a volatile function) is computed for every existing row: the table is rewritten',
    lock: 'ACCESS EXCLUSIVE',
    holds: 'rewrite',
    safe: 'add the column without the default, set the default, backfill existing rows in batches',
    dbee: 'refuses the step unless `table-rewrite` is allowed; a constant or stable default (now() on PG 11+) is no hazard',
    peers: { squawk: 'adding-field-with-default', strongMigrations: 'Adding a column with a volatile default value' },
  },
  'adding-stored-generated-or-identity': {
    hazard: 'table-rewrite',
    reason: 'an identity or a stored generated column is computed for every existing row: the table is rewritten',
    lock: 'ACCESS EXCLUSIVE',
    holds: 'rewrite',
    safe: 'add a plain column, backfill it in batches, then attach the identity or expression',
    dbee: 'refuses the step unless `table-rewrite` is allowed',
    peers: { squawk: 'adding-serial-primary-key-field' },
  },
  'adding-not-nullable-field': {
    hazard: 'long-lock',
    reason: 'SET NOT NULL scans every row while holding a lock that blocks reads and writes',
    lock: 'ACCESS EXCLUSIVE',
    holds: 'scan',
    safe: 'add CHECK (col IS NOT NULL) NOT VALID, VALIDATE it (no exclusive lock), then SET NOT NULL uses it and skips the scan',
    dbee: '`--safe`: the check NOT VALID, VALIDATE in the next step outside a transaction, then SET NOT NULL without a scan and the check dropped',
    safeRewrite: true,
    peers: {
      squawk: 'adding-not-nullable-field',
      strongMigrations: 'Setting NOT NULL on an existing column',
      atlas: 'data-dependent (MF)',
    },
  },
  'adding-constraint-with-index': {
    hazard: 'index-build',
    reason: 'a primary key, unique or exclusion constraint builds its index',
    lock: 'ACCESS EXCLUSIVE',
    holds: 'build',
    safe: 'build a unique index CONCURRENTLY, then ADD CONSTRAINT ... USING INDEX',
    dbee: '`--safe` (or `deploy.online`) builds the index CONCURRENTLY and adopts it; the build still reads the table, so the `index-build` hazard stays',
    peers: {
      squawk: 'disallowed-unique-constraint',
      strongMigrations: 'Adding a unique constraint',
      atlas: 'data-dependent (MF)',
    },
  },
  'constraint-index-blocks-writes': {
    hazard: 'long-lock',
    reason: 'the constraint builds its index while writes to the table wait',
    lock: 'ACCESS EXCLUSIVE',
    holds: 'build',
    safe: 'build a unique index CONCURRENTLY and adopt it (ADD CONSTRAINT ... USING INDEX); not possible for exclusion constraints',
    dbee: '`--safe` (or `deploy.online`) builds the index CONCURRENTLY and adopts it, for a plain column list; otherwise refuses the step unless `long-lock` is allowed',
    safeRewrite: true,
    peers: { squawk: 'disallowed-unique-constraint', strongMigrations: 'Adding a unique constraint' },
  },
  'require-concurrent-index-creation': {
    hazard: 'long-lock',
    reason: 'CREATE INDEX without CONCURRENTLY blocks every write to the table while it builds',
    lock: 'SHARE',
    holds: 'build',
    safe: 'CREATE INDEX CONCURRENTLY outside a transaction',
    dbee: "`--safe` (or `deploy.online`) builds it CONCURRENTLY outside a transaction; on a partitioned table, which PostgreSQL cannot index concurrently, per partition: `ON ONLY` the table, each partition's `CONCURRENTLY`, then attached",
    safeRewrite: true,
    peers: {
      squawk: 'require-concurrent-index-creation',
      strongMigrations: 'Adding an index non-concurrently',
      atlas: 'locks and rewrites (PG)',
    },
  },
  'index-build': {
    hazard: 'index-build',
    reason: 'builds an index on a table that holds rows: reads the whole table',
    lock: 'SHARE UPDATE EXCLUSIVE',
    holds: 'build',
    safe: 'build it outside peak hours; CONCURRENTLY keeps writes going',
    dbee: 'refuses the step unless `index-build` is allowed, CONCURRENTLY or not',
    peers: {},
  },
  'refreshing-materialized-view': {
    hazard: 'long-lock',
    reason: 'recomputes a materialized view; its readers wait until the deployment commits',
    lock: 'ACCESS EXCLUSIVE',
    holds: 'until commit',
    safe: 'create the new version under another name and swap, or REFRESH ... CONCURRENTLY with a unique index',
    dbee: 'refuses the step unless `long-lock` is allowed',
    peers: {},
  },
  'changing-view-columns': {
    hazard: 'backward-incompatible',
    reason: 'a view loses, changes or reorders columns that running queries may read',
    lock: 'ACCESS EXCLUSIVE',
    holds: 'instant',
    safe: 'add a new view (or append columns only) and move readers before removing the old shape',
    dbee: 'refuses the step unless `backward-incompatible` is allowed; `dbee check` names the queries whose result columns change',
    peers: {},
  },
  'dropping-used-object': {
    hazard: 'backward-incompatible',
    reason: 'drops a table, column, view or routine that other objects use',
    lock: 'ACCESS EXCLUSIVE',
    holds: 'instant',
    safe: 'change or drop the users first, in the same release or an earlier one',
    dbee: 'refuses the step unless `backward-incompatible` is allowed',
    peers: { atlas: 'backward-incompatible (BC)' },
  },
  'changing-routine-signature': {
    hazard: 'backward-incompatible',
    reason: "changes a function's or procedure's parameters or result: callers written for the old one fail",
    lock: null,
    holds: 'instant',
    safe: 'add the new signature beside the old one, move callers, drop the old one later',
    dbee: 'refuses the step unless `backward-incompatible` is allowed; `dbee check` names the calls that break',
    peers: {},
  },
  'recreating-type': {
    hazard: 'backward-incompatible',
    reason: 'a type that cannot be altered in place (enum values removed or reordered) is dropped and created again',
    lock: 'ACCESS EXCLUSIVE',
    holds: 'instant',
    safe: 'add a new type and migrate the columns that use it',
    dbee: 'refuses the step unless `backward-incompatible` is allowed',
    peers: { squawk: 'ban-alter-domain-with-add-constraint' },
  },
  'renaming-table': {
    hazard: 'backward-incompatible',
    reason: 'running queries that name the old table fail at once',
    lock: 'ACCESS EXCLUSIVE',
    holds: 'instant',
    safe: 'create a view with the old name over the renamed table while clients move (expand/contract)',
    dbee: 'refuses the step unless `backward-incompatible` is allowed; `dbee check` names the queries that break',
    peers: { squawk: 'renaming-table', strongMigrations: 'Renaming a table', atlas: 'backward-incompatible (BC)' },
  },
  'renaming-object': {
    hazard: 'backward-incompatible',
    reason: 'running queries and calls that name the old view, function or procedure fail at once',
    lock: 'ACCESS EXCLUSIVE',
    holds: 'instant',
    safe: 'keep a view or function of the old name over the new one while clients move',
    dbee: 'refuses the step unless `backward-incompatible` is allowed; `dbee check` names the queries that break',
    peers: { atlas: 'backward-incompatible (BC)' },
  },
  'renaming-column': {
    hazard: 'backward-incompatible',
    reason: 'running queries that name the old column fail at once',
    lock: 'ACCESS EXCLUSIVE',
    holds: 'instant',
    safe: 'add the new column, sync and backfill it, move clients, drop the old one (expand/contract)',
    dbee: 'refuses the step unless `backward-incompatible` is allowed; `dbee check` names the queries that break',
    peers: { squawk: 'renaming-column', strongMigrations: 'Renaming a column', atlas: 'backward-incompatible (BC)' },
  },
  'revoking-privilege': {
    hazard: 'backward-incompatible',
    reason: 'a role that the application connects as may lose access',
    lock: null,
    holds: 'instant',
    safe: 'revoke after the application stopped needing it',
    dbee: 'refuses the step unless `backward-incompatible` is allowed',
    peers: {},
  },
  'domain-constraint-scan': {
    hazard: 'long-lock',
    reason: 'a domain constraint or NOT NULL checks every column that uses the domain',
    lock: 'SHARE',
    holds: 'scan',
    safe: 'add the domain constraint NOT VALID and VALIDATE it later',
    dbee: 'adds a domain check NOT VALID and validates it; a domain NOT NULL: refuses the step unless `long-lock` is allowed',
    peers: { squawk: 'ban-alter-domain-with-add-constraint' },
  },
  'changing-table-persistence': {
    hazard: 'table-rewrite',
    reason: 'SET LOGGED / UNLOGGED rewrites the table',
    lock: 'ACCESS EXCLUSIVE',
    holds: 'rewrite',
    safe: 'do it in a maintenance window',
    dbee: 'refuses the step unless `table-rewrite` is allowed',
    peers: {},
  },
  'recreating-table': {
    hazard: 'table-rewrite',
    reason: 'a table re-created for its new partitioning copies every row under an exclusive lock',
    lock: 'ACCESS EXCLUSIVE',
    holds: 'rewrite',
    safe: 'create the new table beside the old one and move rows in batches',
    dbee: 'refuses the step unless `table-rewrite` is allowed',
    peers: {},
  },
  'rows-outside-partitions': {
    hazard: 'data-loss',
    reason: 'rows that fit no partition of the re-created table are not copied',
    lock: 'ACCESS EXCLUSIVE',
    holds: 'rewrite',
    safe: 'add a default partition, or check the rows first',
    dbee: 'refuses the step unless `data-loss` is allowed',
    peers: {},
  },
} as const satisfies Record<string, LintRule>;

export type LintRuleId = keyof typeof LINT_RULES;

/** The lock a rule's statement holds, for a hazard line: `ACCESS EXCLUSIVE for the whole rewrite`. */
export function lockText(rule: LintRuleId): string | null {
  const r: LintRule = LINT_RULES[rule];
  if (!r.lock) return null;
  const how = {
    instant: 'briefly (a catalog change)',
    scan: 'while it scans every row',
    rewrite: 'for the whole rewrite',
    build: 'while the index builds',
    'until commit': 'until the deployment commits',
  }[r.holds];
  return `${r.lock} ${how}`;
}

/**
 * A hazard as one line of a plan: `data-loss: drops column sales.orders.note and its data [ban-drop-column:
 * ACCESS EXCLUSIVE briefly (a catalog change)]`. The rule and its lock follow the message where the hazard names one.
 */
export function hazardLine(h: { kind: string; message: string; rule?: string }): string {
  const rule = h.rule && h.rule in LINT_RULES ? (h.rule as LintRuleId) : null;
  const lock = rule ? lockText(rule) : null;
  return `${h.kind}: ${h.message}${rule ? ` [${rule}${lock ? `: ${lock}` : ''}]` : ''}`;
}

/**
 * Peer tools' rules that dbee never reports, because what it writes already follows them (or `--safe` makes it so):
 * the rule, the peers' names, and what dbee does. Listed in docs/lint-rules.md beside `LINT_RULES`.
 */
export const FOLLOWED_RULES: readonly { rule: string; peers: LintRule['peers']; dbee: string }[] = [
  {
    rule: 'constraint-missing-not-valid',
    peers: {
      squawk: 'constraint-missing-not-valid',
      strongMigrations: 'Adding a check constraint',
      atlas: 'locks and rewrites (PG)',
    },
    dbee: 'a check or foreign key on an existing table is always added NOT VALID, then validated; with `--safe` the validation is a later step outside a transaction, so the lock of the ADD is released before the scan',
  },
  {
    rule: 'adding-foreign-key-constraint',
    peers: { squawk: 'adding-foreign-key-constraint', strongMigrations: 'Adding a foreign key' },
    dbee: 'as above (NOT VALID, then VALIDATE); PostgreSQL refuses NOT VALID on or to a partitioned table, where it is added valid at once and the plan says so',
  },
  {
    rule: 'require-lock-timeout',
    peers: { squawk: 'require-lock-timeout' },
    dbee: '`deploy.lockTimeout` sets it for the session; `--safe` sets it at the start of every step (default 5s), and to 0 for CONCURRENTLY and VALIDATE, whose locks block no reads or writes',
  },
  {
    rule: 'require-statement-timeout',
    peers: { squawk: 'require-statement-timeout' },
    dbee: '`deploy.statementTimeout` sets it for the steps',
  },
  {
    rule: 'require-concurrent-index-deletion',
    peers: { squawk: 'require-concurrent-index-deletion' },
    dbee: '`--safe` (or `deploy.online`) drops an index of an existing table with DROP INDEX CONCURRENTLY',
  },
  {
    rule: 'ban-concurrent-index-creation-in-transaction',
    peers: { squawk: 'ban-concurrent-index-creation-in-transaction' },
    dbee: "a step with CONCURRENTLY always runs outside a transaction (it splits the deployment's transaction there)",
  },
];

const peerList = (peers: LintRule['peers']) =>
  [
    peers.squawk && `Squawk \`${peers.squawk}\``,
    peers.strongMigrations && `strong_migrations: ${peers.strongMigrations}`,
    peers.atlas && `Atlas ${peers.atlas}`,
  ]
    .filter(Boolean)
    .join('<br>') || '—';

/** docs/lint-rules.md: the rules table, written by `npm run generate:executor-schemas` from `LINT_RULES`. */
export function lintRulesMarkdown(): string {
  const rows = Object.entries(LINT_RULES as Record<string, LintRule>).map(
    ([id, r]) =>
      `| \`${id}\` | \`${r.hazard}\` | ${r.reason} | ${lockText(id as LintRuleId) ?? 'none'} | ${r.safe} | ${r.dbee} | ${peerList(r.peers)} |`,
  );
  const followed = FOLLOWED_RULES.map((r) => `| \`${r.rule}\` | ${peerList(r.peers)} | ${r.dbee} |`);
  return [
    '# Lint rules',
    '',
    '<!-- generated by npm run generate:executor-schemas from packages/core/src/schema/lint-rules.ts; edit that file -->',
    '',
    'Every hazard dbee finds in a plan names the rule it comes from. `deploy --dry-run`, `diff` and `plan` print it after',
    'the hazard, with the lock the statement takes and for how long:',
    '',
    '```',
    '-- step 2/3: alter table:sales.orders',
    '--   hazard long-lock: SET NOT NULL on sales.orders.placed_on scans the table under an exclusive lock [adding-not-nullable-field: ACCESS EXCLUSIVE while it scans every row]',
    '```',
    '',
    'A step with a hazard kind the environment does not allow (`deploy.allowHazards`, `--allow-hazards`) is refused before',
    "anything runs. The JSON of `diff --format json` and of a package's plan carries each hazard's `rule`.",
    '',
    "## How long the lock is held on a table of the target's size",
    '',
    'A catalog change holds its lock for an instant whatever the size of the table (but it waits behind every',
    'transaction that uses the table, and every query that comes after waits behind it: hence the lock timeout). A scan,',
    'a rewrite or an index build reads every row while the lock is held: the hold grows with the table, roughly as long',
    'as a full read of it (a rewrite: as long as writing it again, its indexes included). `deploy` judges this against',
    'the target, whatever the plan came from: a table of at most 10,000 rows is small, and a step on it loses its',
    '`index-build`, `long-lock` and `table-rewrite` hazards (the dry run says so); a larger one keeps them, with its size',
    "from the planner's statistics: `(sales.orders: about 1,200,000 rows)`.",
    '',
    '## The safe rewrites: `--safe`',
    '',
    '`deploy --safe`, `plan --safe`, or `deploy.safeRewrites: true` for an environment (or a project, in db.yaml) make',
    'dbee write the statements the rules below recommend, where it can do it itself:',
    '',
    '- an index on an existing table, and the index of a new primary key or unique constraint, is built `CONCURRENTLY`',
    '  outside a transaction (writes go on; the build still reads the table, so `index-build` stays a hazard). On a',
    '  partitioned table, which PostgreSQL cannot index concurrently, it is built per partition: `CREATE INDEX ... ON ONLY`',
    "  the table (invalid at first), then each partition's index `CONCURRENTLY` (named as PostgreSQL names it,",
    '  `<partition>_<columns>_idx`) and `ALTER INDEX ... ATTACH PARTITION`; the last attach makes it valid (not when the',
    '  same plan creates or drops partitions of the table: built plainly). A run that failed or stopped half-way left it',
    '  invalid: the next run drops what it left and builds it again (`deploy.online` does the same, without `--safe`);',
    '- a check or foreign key is added `NOT VALID` in one step and validated in the next, outside a transaction: the',
    '  validation scans the table under a lock that blocks no reads or writes;',
    '- `SET NOT NULL` goes through a check: `CHECK (col IS NOT NULL) NOT VALID`, `VALIDATE` outside a transaction, then',
    '  `SET NOT NULL`, which finds the validated check and skips its scan, and drops the check;',
    '- every step starts with `SET lock_timeout` (`deploy.lockTimeout`, default 5s): a step that waits longer for its lock',
    '  fails instead of queueing the application behind it. `CONCURRENTLY` and `VALIDATE` get `0` (no timeout):',
    '  their locks block no reads or writes, and a concurrent build cut short leaves an invalid index.',
    '',
    'The hazards a rewrite satisfies are gone from the step: they no longer need `--allow-hazards`. The dry run prints',
    'the rewritten plan, and it is what the real run sends:',
    '',
    '```',
    '-- step 1/3: alter table:sales.orders  (sales/tables/orders.sql:1)',
    '--   safe: SET NOT NULL on sales.orders.placed_on through a validated check: added NOT VALID here, validated in the next step, used by SET NOT NULL in the one after',
    "SET lock_timeout = '5s';",
    'ALTER TABLE sales.orders ADD CONSTRAINT placed_on_not_null_dbee CHECK (placed_on IS NOT NULL) NOT VALID;',
    '',
    '-- step 2/3: alter table:sales.orders  (sales/tables/orders.sql:1)  [outside a transaction]',
    '--   safe: validates the check outside a transaction: the scan blocks no reads or writes',
    'SET lock_timeout = 0;',
    'ALTER TABLE sales.orders VALIDATE CONSTRAINT placed_on_not_null_dbee;',
    '```',
    '',
    'What is not rewritten, and the plan says so under the step (`-- safe: not rewritten, ...`): a table the same plan',
    'creates (it is empty), a foreign key on',
    'or to a partitioned table (PostgreSQL refuses it NOT VALID), and a unique constraint that is not a plain column',
    'list. Migrations run as written: put their own `SET lock_timeout` in them. The full plan of the sources (`dbee plan`',
    'without `--base` or `--diff`) knows no target and is not rewritten. A package is deployed as it was planned',
    '(`deploy --package --safe` is refused: make the package with `plan --safe`). A step outside a transaction splits the',
    "deployment's transaction there (`deploy.transaction: plan` then commits what came before). When the validation",
    'finds rows that break the constraint, the step fails (exit 2) with the constraint added NOT VALID (new rows are',
    'checked already); `dbee rollback` or `deploy.autoRollback` drops it.',
    '',
    '## The rules',
    '',
    '| rule | hazard | why | lock held | what to do instead | what dbee does | peer tools |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    '## Peer rules that dbee follows in what it writes',
    '',
    'These never show up as hazards: the statements dbee writes already follow them.',
    '',
    '| rule | peer tools | what dbee does |',
    '| --- | --- | --- |',
    ...followed,
    '',
  ].join('\n');
}
