import type { BlueGreenRole, IdentityInput, ReplicaIdentity } from '../engine/blue-green-role';
import { DbeeAggregateError, DbeeError } from '../errors';
import type { SchemaModel, Table } from '../schema/model';

/** What the expand-contract strategy is called with, named in every refusal of a change replication cannot carry. */
const EXPAND_CONTRACT = 'deploy this release with --strategy expand-contract (it serves both shapes from one database)';

/** One change between blue and green that logical replication cannot carry, or a table it cannot carry at all. */
export interface Uncarried {
  /** `schema.table`. */
  table: string;
  /** What is wrong and why it matters, one sentence. */
  reason: string;
}

/**
 * The replica identity of `table` in `model`, as the engine reads it from the neutral model. A partition has the
 * primary key of the table it is a partition of (the server gives it that key's index, which the model records once, on
 * the partitioned table): its rows are found by it as the partitioned table's are.
 */
export function identityOf(role: BlueGreenRole, model: SchemaModel, table: Table): ReplicaIdentity {
  const primary = primaryKeyOf(model, table);
  const input: IdentityInput = {
    attrs: table.attrs,
    primaryKey: primary ? primary.columns : null,
    uniqueKeys: [
      ...table.constraints.filter((c) => c.kind === 'unique').map((c) => ({ name: c.name, columns: c.columns })),
      ...model.indexes
        .filter(
          (i) =>
            i.unique &&
            !i.expression &&
            i.predicate === null &&
            i.table.schema === table.key.schema &&
            i.table.name === table.key.name,
        )
        .map((i) => ({ name: i.key.name, columns: i.columns })),
    ],
  };
  return role.replicaIdentity(input);
}

const nameOf = (t: Table) => `${t.key.schema}.${t.key.name}`;

/** The primary key of `table`, or of the nearest table above it in its partition tree (`attrs.partitionOf`). */
function primaryKeyOf(model: SchemaModel, table: Table) {
  let t: Table | undefined = table;
  for (let i = 0; t && i < 64; i++) {
    const primary = t.constraints.find((c) => c.kind === 'primary-key');
    if (primary) return primary;
    const parent: unknown = t.attrs['partitionOf'];
    t = typeof parent === 'string' ? model.tables.find((x) => nameOf(x) === parent) : undefined;
  }
  return undefined;
}

/**
 * What logical replication cannot carry between `blue` (the live database) and `green` (the release's shape: the
 * model its sources build before it is deployed, or green's live one before a switchover), over the tables of
 * `schemas`. Replication applies blue's rows to green by table and column name and finds updated and deleted rows by
 * their replica identity, and after a switchover carries green's rows back into blue's columns. So:
 * - a table without a replica identity cannot have its updates and deletes replicated (blue refuses them once it is
 *   published);
 * - a table or a column blue writes that green no longer has (dropped, or renamed: a rename is a drop and an add to
 *   replication) leaves blue's writes nowhere to go;
 * - a changed replica identity (primary key) finds no rows, or the wrong ones, on the other side;
 * - a column green adds NOT NULL without a default cannot take blue's rows, which lack it;
 * - a column green makes generated cannot take the values blue writes into it;
 * - a table found by its full row (REPLICA IDENTITY FULL) that gains a column on green cannot be published back with
 *   blue's columns only: the server refuses green's updates and deletes of it once the publication exists.
 * New tables and new nullable (or defaulted) columns on green are carried: blue's rows fill them with their defaults,
 * and the way back carries only blue's columns.
 */
export function uncarriedChanges(
  role: BlueGreenRole,
  blue: SchemaModel,
  green: SchemaModel,
  schemas: readonly string[],
): Uncarried[] {
  const inScope = (t: Table) => schemas.includes(t.key.schema);
  const greenTables = new Map(green.tables.filter(inScope).map((t) => [nameOf(t), t]));
  const out: Uncarried[] = [];
  for (const b of blue.tables.filter(inScope)) {
    const table = nameOf(b);
    const identity = identityOf(role, blue, b);
    if (identity.kind === 'none') {
      out.push({
        table,
        reason: `${table} has no primary key or replica identity: its updates and deletes cannot be replicated (give it a primary key first, or REPLICA IDENTITY FULL)`,
      });
    }
    const g = greenTables.get(table);
    if (!g) {
      out.push({
        table,
        reason: `${table} is dropped or renamed on green: blue's writes to it would have nowhere to go`,
      });
      continue;
    }
    out.push(...columnChanges(b, g));
    // The way back publishes blue's columns only; a full-row identity needs every column of green's row in it.
    const added = g.columns.filter((c) => c.generated === null && !b.columns.some((x) => x.name === c.name));
    if (identity.kind === 'full' && added.length)
      out.push({
        table,
        reason: `${table} is found by its full row (REPLICA IDENTITY FULL) and gains ${added.map((c) => `column ${c.name}`).join(', ')} on green: after the switchover green publishes blue's columns only, which cannot carry a full-row identity (every update and delete of ${table} on green would fail); give it a primary key first`,
      });
    const next = identityOf(role, green, g);
    if (identity.kind !== 'none' && !sameIdentity(identity, next)) {
      out.push({
        table,
        reason: `the replica identity of ${table} changes from ${describeIdentity(identity)} to ${describeIdentity(next)} on green: updates and deletes would not find their rows on the other side`,
      });
    }
  }
  return out;
}

/** The columns of blue's table `b` that green's `g` cannot take, and green's new columns blue's rows cannot fill. */
function columnChanges(b: Table, g: Table): Uncarried[] {
  const table = nameOf(b);
  const out: Uncarried[] = [];
  const greenColumns = new Map(g.columns.map((c) => [c.name, c]));
  const blueColumns = new Set(b.columns.map((c) => c.name));
  for (const c of b.columns) {
    const there = greenColumns.get(c.name);
    if (!there) {
      if (c.generated === null)
        out.push({
          table,
          reason: `column ${table}.${c.name} is dropped or renamed on green: the values blue writes to it would be lost`,
        });
    } else if (there.generated !== null && c.generated === null) {
      out.push({
        table,
        reason: `column ${table}.${c.name} becomes generated on green: it cannot take the values blue writes to it`,
      });
    }
  }
  for (const c of g.columns) {
    if (blueColumns.has(c.name) || !c.notNull || c.default !== null || c.identity !== null || c.generated !== null)
      continue;
    out.push({
      table,
      reason: `column ${table}.${c.name} is new on green and NOT NULL without a default: the rows blue writes lack it (give it a default, or add NOT NULL after the switchover)`,
    });
  }
  return out;
}

function sameIdentity(a: ReplicaIdentity, b: ReplicaIdentity): boolean {
  if (a.kind === 'full' || b.kind === 'full') return a.kind === b.kind;
  return a.columns.length === b.columns.length && a.columns.every((c, i) => c === b.columns[i]);
}

function describeIdentity(i: ReplicaIdentity): string {
  if (i.kind === 'none') return 'none';
  if (i.kind === 'full') return 'the full row';
  return `(${i.columns.join(', ')})`;
}

/**
 * Refuse a blue/green deployment over `found` (each a `REPLICATION_UNCARRIED`, together when several), naming the
 * expand-contract strategy as what can deploy the release instead; `what`: what was being done (`green cannot be
 * made`, `the switchover is refused`).
 */
export function refuseUncarried(found: readonly Uncarried[], project: string, what: string): void {
  if (!found.length) return;
  const hint = `${EXPAND_CONTRACT}: dbee deploy ${project} --strategy expand-contract; nothing was changed`;
  // The hint once, on the last: the aggregate prints every error's own.
  const errors = found.map(
    (u, i) =>
      new DbeeError(`${u.reason}; ${what}`, {
        code: 'REPLICATION_UNCARRIED',
        hint: i === found.length - 1 ? hint : undefined,
        details: { table: u.table },
      }),
  );
  if (errors.length === 1) throw errors[0]!;
  throw new DbeeAggregateError(
    `${errors.length} changes logical replication cannot carry between blue and green; ${what}`,
    errors,
  );
}

/**
 * Refuse when a server cannot take its part (`problems` from `BlueGreenRole.serverProblems`), naming expand-contract,
 * which needs none of it.
 */
export function refuseServer(problems: readonly string[], where: string): void {
  if (!problems.length) return;
  throw new DbeeError(`${where} cannot run logical replication for blue/green: ${problems.join('; ')}`, {
    code: 'REPLICATION_UNAVAILABLE',
    hint: `fix the server as said, or ${EXPAND_CONTRACT}; nothing was changed`,
    details: { problems },
  });
}

/**
 * The warning of a release whose data migrations run on green while blue takes writes, or null when it has none.
 * Replication carries blue's rows as blue has them: a row blue writes after a migration changed it on green reaches
 * green as blue wrote it, and the migration's change to that row is lost (a table found by its full row does not even
 * find the row, and the write is skipped). Not refused: a migration of rows the application no longer writes (a
 * backfill of a new column, a table only green uses) is the use blue/green is chosen for.
 */
export function migrationsOnGreen(
  steps: readonly { action: string; key: string; source?: { file: string } | null }[],
): string | null {
  const migrations = steps
    .filter((s) => s.action === 'migrate')
    .map((s) => (s.source ? `${s.key} (${s.source.file})` : s.key));
  if (!migrations.length) return null;
  return (
    `the release's data migrations (${migrations.join(', ')}) run on green while blue takes writes: a row blue ` +
    'writes after a migration changed it reaches green as blue has it, and the change is lost (replication carries ' +
    "blue's rows, not the migration); run a migration of rows the application writes after the switch, in a release " +
    'of its own, or keep the application from writing them until the switch'
  );
}
