import { createHash } from 'node:crypto';
import type {
  AddedConstraintSql,
  Connection,
  ExpandColumn,
  ExpandPlan,
  ExpandRole,
  ExpandStatement,
  ExpandTable,
  NewColumnSql,
  ShadowColumnSql,
} from '@dbee/core';
import { releaseSlug, upOf, versionSchema } from '@dbee/core/expand-names';
import { ident, literal, qualified } from '../render/quote';
import { postgresLockTimeouts } from './lock-timeouts';
import { renderChange } from '../render/render-change';

/**
 * Whether a server of this `server_version_num` can make views `security_invoker` (PostgreSQL 15, `150000`, and
 * later): the one place the capability comes from.
 */
export function securityInvokerViews(serverVersionNum: number): boolean {
  return serverVersionNum >= 150000;
}

async function serverVersion(conn: Connection): Promise<number> {
  const r = await conn.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
  return Number(r.rows[0]?.v ?? 0);
}

async function castExists(conn: Connection, from: string, to: string): Promise<boolean> {
  try {
    await conn.query(`SELECT CAST(CAST(NULL AS ${from}) AS ${to}) AS x`);
    return true;
  } catch {
    return false;
  }
}

const t = (x: ExpandTable) => qualified(x.schema, x.name);
const stmt = (sql: string, what: string, transactional = true): ExpandStatement => ({ sql, what, transactional });
/** A `DO` block: statements run only when `condition` (SQL) holds, in one transaction. */
const guarded = (condition: string, body: string[], what: string): ExpandStatement =>
  stmt(`DO $dbee$ BEGIN IF ${condition} THEN ${body.map((b) => `${b};`).join(' ')} END IF; END $dbee$`, what);
const hasColumn = (x: ExpandTable, column: string, table = x.name) =>
  `EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(${literal(qualified(x.schema, table))}) AND attname = ${literal(column)} AND attnum > 0 AND NOT attisdropped)`;
const hasConstraint = (x: ExpandTable, name: string, table = x.name) =>
  `EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass(${literal(qualified(x.schema, table))}) AND conname = ${literal(name)})`;
const tableExists = (schema: string, name: string) => `to_regclass(${literal(qualified(schema, name))}) IS NOT NULL`;

/** Name of the NOT VALID check that stands for NOT NULL during the expand phase. */
function notNullCheck(column: string): string {
  return `_dbee_nn_${column}`.slice(0, 63);
}

/**
 * The setting a backfill batch makes (`set_config(..., true)`: its transaction only) to name the sync function its
 * table's trigger skips: the backfill's UPDATE writes the new columns by the same `up` expressions already, so the
 * trigger would compute them a second time per row (a PL/pgSQL call each: a 5,000-row batch took 1.62x as long with it, median of 25 paired batches).
 * The trigger's `WHEN` tests it before calling the function, and only for the statement itself
 * (`pg_trigger_depth() = 0`): a row another trigger writes during the batch is synced as always.
 */
const BACKFILL_SETTING = 'dbee.backfill';

/** Name of a table's sync function (in schema `dbee`) and trigger for a release. */
function syncNames(x: ExpandTable, release: string): { fn: string; trigger: string } {
  const slug = releaseSlug(release);
  const hash = createHash('sha256').update(`${x.schema}.${x.name}`).digest('hex').slice(0, 8);
  return {
    fn: `dbee.${ident(`expand_sync_${x.name.slice(0, 30)}_${hash}_${slug}`.slice(0, 63))}`,
    trigger: `_dbee_sync_${slug}`.slice(0, 63),
  };
}

function createTable(x: ExpandTable): ExpandStatement {
  const created = renderChange({ kind: 'create-table', table: x.created!.definition });
  return guarded(`to_regclass(${literal(t(x))}) IS NULL`, created.statements, `create table ${x.schema}.${x.name}`);
}

function dropCreatedTables(created: readonly ExpandTable[]): ExpandStatement {
  return stmt(
    `DROP TABLE IF EXISTS ${created.map(t).join(', ')}`,
    `drop the ${created.length === 1 ? 'table' : 'tables'} ${created.map((x) => `${x.schema}.${x.name}`).join(', ')} the release created`,
  );
}

/** A column added physically (added, or a shadow), and the check that stands for its NOT NULL until complete. */
const newColumn: NewColumnSql = {
  add: (x, c) => [
    `ALTER TABLE ${t(x)} ADD COLUMN IF NOT EXISTS ${ident(c.physical)} ${c.type}`,
    ...(c.default !== null ? [`ALTER TABLE ${t(x)} ALTER COLUMN ${ident(c.physical)} SET DEFAULT ${c.default}`] : []),
  ],
  drop: (x, c) => `ALTER TABLE ${t(x)} DROP COLUMN IF EXISTS ${ident(c.physical)}`,
  addNotNullCheck: (x, c) =>
    guarded(
      `NOT ${hasConstraint(x, notNullCheck(c.name))}`,
      [
        `ALTER TABLE ${t(x)} ADD CONSTRAINT ${ident(notNullCheck(c.name))} CHECK (${ident(c.physical)} IS NOT NULL) NOT VALID`,
      ],
      `NOT NULL of ${x.schema}.${x.name}.${c.name} as a NOT VALID check`,
    ),
  validateNotNullCheck: (x, c) =>
    guarded(
      hasConstraint(x, notNullCheck(c.name)),
      [`ALTER TABLE ${t(x)} VALIDATE CONSTRAINT ${ident(notNullCheck(c.name))}`],
      `validate NOT NULL of ${x.schema}.${x.name}.${c.name}`,
    ),
  setNotNull: (x, c) => [
    guarded(tableExists(x.schema, x.name), [`ALTER TABLE ${t(x)} ALTER COLUMN ${ident(c.name)} SET NOT NULL`], '').sql,
    `ALTER TABLE IF EXISTS ${t(x)} DROP CONSTRAINT IF EXISTS ${ident(notNullCheck(c.name))}`,
  ],
  dropNotNullCheck: (x, c) =>
    stmt(
      `ALTER TABLE ${t(x)} DROP CONSTRAINT IF EXISTS ${ident(notNullCheck(c.name))}`,
      `drop the check that stood for NOT NULL of ${x.schema}.${x.name}.${c.name}`,
    ),
};

/** A shadow column: the old column goes and the shadow takes its name, only while the shadow is there. */
const shadowColumn: ShadowColumnSql = {
  ...newColumn,
  swap: (x, c) =>
    guarded(
      hasColumn(x, c.physical),
      [
        `ALTER TABLE ${t(x)} DROP COLUMN IF EXISTS ${ident(c.from!)}`,
        `ALTER TABLE ${t(x)} RENAME COLUMN ${ident(c.physical)} TO ${ident(c.name)}`,
      ],
      '',
    ).sql,
};

const renameColumn = (x: ExpandTable, c: ExpandColumn): string =>
  guarded(
    `${hasColumn(x, c.from!)} AND NOT ${hasColumn(x, c.name)}`,
    [`ALTER TABLE ${t(x)} RENAME COLUMN ${ident(c.from!)} TO ${ident(c.name)}`],
    '',
  ).sql;

const renameTable = (x: ExpandTable): ExpandStatement =>
  guarded(
    `${tableExists(x.schema, x.name)} AND NOT ${tableExists(x.schema, x.newName)}`,
    [`ALTER TABLE ${t(x)} RENAME TO ${ident(x.newName)}`],
    `rename table ${x.schema}.${x.name} to ${x.newName}`,
  );

const renameConstraint = (x: ExpandTable, r: { from: string; to: string }): ExpandStatement =>
  guarded(
    `${hasConstraint(x, r.from, x.newName)} AND NOT ${hasConstraint(x, r.to, x.newName)}`,
    [`ALTER TABLE ${qualified(x.schema, x.newName)} RENAME CONSTRAINT ${ident(r.from)} TO ${ident(r.to)}`],
    `rename constraint ${r.from} of ${x.schema}.${x.newName} to ${r.to}`,
  );

const addedConstraint: AddedConstraintSql = {
  addToCreated: (x, k) =>
    guarded(
      `NOT ${hasConstraint(x, k.name)}`,
      [`ALTER TABLE ${t(x)} ADD CONSTRAINT ${ident(k.name)} ${k.definition}${k.notValid ? ' NOT VALID' : ''}`],
      `${k.kind} constraint ${k.name} on the new table ${x.schema}.${x.name}`,
    ),
  addNotValid: (x, k) =>
    guarded(
      `NOT ${hasConstraint(x, k.name)}`,
      [`ALTER TABLE ${t(x)} ADD CONSTRAINT ${ident(k.name)} ${k.definition} NOT VALID`],
      `${k.kind} constraint ${k.name} on ${x.schema}.${x.name}, NOT VALID`,
    ),
  validate: (x, k) =>
    guarded(
      hasConstraint(x, k.name),
      [`ALTER TABLE ${t(x)} VALIDATE CONSTRAINT ${ident(k.name)}`],
      `validate ${k.name} on ${x.schema}.${x.name}`,
    ),
  buildUniqueIndex: (x, k) => {
    // A build cut short (its lock timeout while it waits for older transactions, a kill, a duplicate) leaves an
    // INVALID index that IF NOT EXISTS would take for built: dropped before every attempt, and the index checked
    // valid after.
    const index = literal(qualified(x.schema, k.name));
    return {
      ...stmt(
        `CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ${ident(k.name)} ON ${t(x)} (${k.columns.map(ident).join(', ')})`,
        `unique index ${k.name} on ${x.schema}.${x.name}, built concurrently`,
        false,
      ),
      clear: guarded(
        `EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = to_regclass(${index}) AND NOT indisvalid)`,
        [`DROP INDEX ${qualified(x.schema, k.name)}`],
        '',
      ).sql,
      check: `SELECT coalesce((SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(${index})), false) AS ok`,
    };
  },
  uniqueFromIndex: (x, k) =>
    guarded(
      `NOT ${hasConstraint(x, k.name)} AND ${tableExists(x.schema, x.name)}`,
      [`ALTER TABLE ${t(x)} ADD CONSTRAINT ${ident(k.name)} UNIQUE USING INDEX ${ident(k.name)}`],
      `unique constraint ${k.name} on ${x.schema}.${x.name} from its index`,
    ),
  dropUniqueIndex: (x, k) =>
    stmt(`DROP INDEX CONCURRENTLY IF EXISTS ${qualified(x.schema, k.name)}`, `drop the index ${k.name}`, false),
  drop: (x, k) =>
    stmt(`ALTER TABLE ${t(x)} DROP CONSTRAINT IF EXISTS ${ident(k.name)}`, `drop the constraint ${k.name}`),
};

/** The sync trigger of a table, as parts of the statement that adds its new columns. */
function syncTrigger(plan: ExpandPlan, x: ExpandTable): string[] {
  const { fn, trigger } = syncNames(x, plan.release);
  return [
    syncFunction(x, plan, fn),
    `DROP TRIGGER IF EXISTS ${ident(trigger)} ON ${t(x)}`,
    `CREATE TRIGGER ${ident(trigger)} BEFORE INSERT OR UPDATE ON ${t(x)} FOR EACH ROW
         WHEN (pg_trigger_depth() > 0 OR current_setting(${literal(BACKFILL_SETTING)}, true) IS DISTINCT FROM ${literal(fn)})
         EXECUTE FUNCTION ${fn}()`,
  ];
}

/**
 * The sync trigger's function. The writer is the new version when `dbee.version` names the release, or, with the
 * setting empty, when the search path holds the table's new version schema; otherwise the old version. Old-version
 * writes compute the new columns by `up` over the old columns; new-version writes compute the old columns by `down`
 * over the new ones. The expressions see the columns as variables named like the shape's columns.
 */
function syncFunction(x: ExpandTable, plan: ExpandPlan, fn: string): string {
  const newSchema = versionSchema(x.schema, plan.release);
  const declared = new Set<string>();
  const newVars = [
    ...x.columns.map((c) => `${ident(c.name)} ${c.type} := NEW.${ident(c.physical)};`),
    ...x.dropped.map((d) => `${ident(d.name)} ${d.type} := NEW.${ident(d.name)};`),
  ].filter((line) => (declared.has(line) ? false : (declared.add(line), true)));
  const downs = [
    ...x.columns
      .filter((c) => c.kind === 'shadow' && c.down !== null)
      .map((c) => `NEW.${ident(c.from!)} := (${c.down});`),
    ...x.dropped.filter((d) => d.down !== null).map((d) => `NEW.${ident(d.name)} := (${d.down});`),
  ];
  const oldVars = x.oldColumns.map((c) => `${ident(c.name)} ${c.type} := NEW.${ident(c.name)};`);
  const ups = x.columns
    .filter((c) => (c.kind === 'shadow' || c.kind === 'added') && c.up !== null)
    .map((c) => `NEW.${ident(c.physical)} := (${c.up});`);
  return `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $dbee$
#variable_conflict use_column
DECLARE
  _dbee_version text := coalesce(current_setting('dbee.version', true), '');
  _dbee_is_new boolean;
BEGIN
  IF _dbee_version <> '' THEN
    _dbee_is_new := _dbee_version = ${literal(plan.release)};
  ELSE
    _dbee_is_new := ${literal(newSchema)} = ANY (string_to_array(replace(replace(current_setting('search_path'), '"', ''), ' ', ''), ','));
  END IF;
  IF _dbee_is_new THEN
    DECLARE
      ${newVars.join('\n      ')}
    BEGIN
      ${downs.join('\n      ') || 'NULL;'}
    END;
  ELSE
    DECLARE
      ${oldVars.join('\n      ')}
    BEGIN
      ${ups.join('\n      ') || 'NULL;'}
    END;
  END IF;
  RETURN NEW;
END
$dbee$`;
}

function versionSchemaStatements(
  plan: ExpandPlan,
  which: 'old' | 'new',
  options: { securityInvoker: boolean },
): ExpandStatement[] {
  const release = which === 'old' ? plan.previous : plan.release;
  const out: ExpandStatement[] = [];
  const withOption = options.securityInvoker ? ' WITH (security_invoker = true)' : '';
  for (const schema of plan.schemas) {
    const vs = versionSchema(schema, release);
    out.push(stmt(`CREATE SCHEMA IF NOT EXISTS ${ident(vs)}`, `version schema ${vs}`));
    out.push(copySchemaUsage(schema, vs));
    for (const x of plan.tables.filter((x) => x.schema === schema && (which === 'new' || !x.created))) {
      const name = which === 'old' ? x.name : x.newName;
      const select =
        which === 'old'
          ? x.oldColumns.map((c) => ident(c.name)).join(', ')
          : x.columns
              .map((c) => (c.physical === c.name ? ident(c.name) : `${ident(c.physical)} AS ${ident(c.name)}`))
              .join(', ');
      const view = qualified(vs, name);
      const create = `CREATE OR REPLACE VIEW ${view}${withOption} AS SELECT ${select} FROM ${t(x)}`;
      const what = `view ${vs}.${name} (${which} shape of ${x.schema}.${x.name})`;
      // The old version's view usually exists already: the previous release's new version, whose columns may be in
      // another order than the table's now. It is kept as it is; only a missing one is made.
      out.push(which === 'old' ? guarded(`to_regclass(${literal(view)}) IS NULL`, [create], what) : stmt(create, what));
      out.push(copyTableGrants(x, view));
    }
  }
  return out;
}

/** Whoever may use the project's schema may use its version schema. */
function copySchemaUsage(schema: string, vs: string): ExpandStatement {
  return stmt(
    `DO $dbee$ DECLARE r record; BEGIN
  FOR r IN SELECT DISTINCT a.grantee FROM pg_namespace n, aclexplode(n.nspacl) a
    WHERE n.nspname = ${literal(schema)} AND a.privilege_type = 'USAGE' AND a.grantee <> n.nspowner LOOP
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %s', ${literal(vs)}, CASE WHEN r.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r.grantee)) END);
  END LOOP;
END $dbee$`,
    `usage of ${vs} for the roles that use ${schema}`,
  );
}

/** Whoever may read or write the table may do the same through its view (the view checks the table's rights too). */
function copyTableGrants(x: ExpandTable, view: string): ExpandStatement {
  return stmt(
    `DO $dbee$ DECLARE r record; BEGIN
  FOR r IN SELECT a.grantee, a.privilege_type FROM pg_class c, aclexplode(c.relacl) a
    WHERE c.oid = ${literal(t(x))}::regclass AND a.grantee <> c.relowner
      AND a.privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE') LOOP
    EXECUTE format('GRANT %s ON %s TO %s', r.privilege_type, ${literal(view)}, CASE WHEN r.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r.grantee)) END);
  END LOOP;
END $dbee$`,
    `grants of ${x.schema}.${x.name} on ${view}`,
  );
}

function backfillSet(x: ExpandTable): string {
  return x.columns
    .filter((c) => (c.kind === 'shadow' || c.kind === 'added') && upOf(c) !== null)
    .map((c) => `${ident(c.physical)} = (${upOf(c)})`)
    .join(', ');
}

/** Each `up`/`down` compiled against a row of its shape made of typed NULLs: the server parses and types it. */
async function checkExpressions(
  conn: Connection,
  plan: ExpandPlan,
): Promise<{ table: string; column: string; which: 'up' | 'down'; error: string } | null> {
  const row = (cols: { name: string; type: string }[]) =>
    `(SELECT ${cols.map((c) => `CAST(NULL AS ${c.type}) AS ${ident(c.name)}`).join(', ')}) AS _dbee_row`;
  for (const x of plan.tables) {
    const newCols = [
      ...x.columns.map((c) => ({ name: c.name, type: c.type })),
      ...x.dropped.map((d) => ({ name: d.name, type: d.type })),
    ].filter((c, i, all) => all.findIndex((o) => o.name === c.name) === i);
    const checks: { column: string; which: 'up' | 'down'; sql: string }[] = [];
    for (const c of x.columns) {
      if (c.up !== null)
        checks.push({
          column: c.name,
          which: 'up',
          sql: `SELECT CAST((${c.up}) AS ${c.type}) FROM ${row(x.oldColumns)} LIMIT 0`,
        });
      if (c.kind === 'shadow' && c.down !== null) {
        const oldType = x.oldColumns.find((o) => o.name === c.from)!.type;
        checks.push({
          column: c.name,
          which: 'down',
          sql: `SELECT CAST((${c.down}) AS ${oldType}) FROM ${row(newCols)} LIMIT 0`,
        });
      }
    }
    for (const d of x.dropped)
      if (d.down !== null)
        checks.push({
          column: d.name,
          which: 'down',
          sql: `SELECT CAST((${d.down}) AS ${d.type}) FROM ${row(newCols)} LIMIT 0`,
        });
    for (const ch of checks) {
      try {
        await conn.query(ch.sql);
      } catch (e) {
        return {
          table: `${x.schema}.${x.newName}`,
          column: ch.column,
          which: ch.which,
          error: e instanceof Error ? e.message : String(e),
        };
      }
    }
  }
  return null;
}

/**
 * The expand/contract strategy on PostgreSQL. Every statement can run again after a kill: additions are
 * `IF NOT EXISTS` or guarded by a catalog lookup in a `DO` block, removals `IF EXISTS`, swaps and renames happen only
 * while their old side is still there. Sync functions live in the ledger schema `dbee`, so the project's schemas get
 * only the trigger and the columns.
 */
export const postgresExpand: ExpandRole = {
  lockTimeouts: postgresLockTimeouts,
  castExists,
  checkExpressions,
  securityInvoker: async (conn) => securityInvokerViews(await serverVersion(conn)),
  kinds: {
    'create-table': { create: createTable, drop: dropCreatedTables },
    'add-column': newColumn,
    'alter-column-type': shadowColumn,
    'alter-column-nullability': shadowColumn,
    'alter-column-default': {},
    'rename-column': { rename: renameColumn },
    'drop-column': {
      drop: (x, d) => `ALTER TABLE IF EXISTS ${t(x)} DROP COLUMN IF EXISTS ${ident(d.name)}`,
    },
    'add-constraint': addedConstraint,
    'drop-constraint': { rename: renameConstraint },
    'rename-table': { rename: renameTable },
  },
  together: (parts, what) => stmt(parts.join(';\n'), what),
  syncTrigger,
  dropSyncTrigger: (plan, x) => {
    const { fn, trigger } = syncNames(x, plan.release);
    return [`DROP TRIGGER IF EXISTS ${ident(trigger)} ON ${t(x)}`, `DROP FUNCTION IF EXISTS ${fn}()`];
  },
  dropVersionSchema: (name, which) =>
    stmt(`DROP SCHEMA IF EXISTS ${ident(name)} CASCADE`, `drop the ${which} version schema ${name}`),
  versionSchema: versionSchemaStatements,
  backfillSet,
  backfillSettings: (plan, x) => ({ [BACKFILL_SETTING]: syncNames(x, plan.release).fn }),
  versionSettings: (schemas, release) => ({
    searchPath: [...schemas.map((s) => versionSchema(s, release)), ...schemas],
    settings: { 'dbee.version': release },
  }),
};
