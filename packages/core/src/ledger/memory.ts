import type { Connection, LedgerDialect } from '../engine/engine';
import type { LedgerWrite, DeploymentSummary } from './types';

/**
 * Connections whose ledger (by version table) is known to be at the latest version this dbee knows: a ledger's version
 * only grows, so `version()` reads it once per connection, not once per project of a batch (three times each).
 */
export const upToDate = new WeakMap<Connection, Set<string>>();

/**
 * Connections on which the version table was found missing (the database has no ledger yet), until `ensure` creates
 * it: a deployment to a new database asks for the version four times before it creates the ledger (recovery, started
 * steps, deployed state, `ensure`), and each failed read is a round trip and an error. Only dbee creates the ledger,
 * and only in `ensure` under the deployment lock, which the deployment holds for as long as its connection lives.
 */
export const missing = new WeakMap<Connection, Set<string>>();

/**
 * Connections whose `ensure` created the ledger from nothing, until their first deployment row: its objects and
 * migrations are empty and the next deployment id is 1 (object and migration rows reference a deployment, and only
 * `startDeployment` writes one), so neither `state` nor `startDeployment` reads them. Same reason as `missing`: the deployment
 * lock is held for as long as the connection lives.
 */
export const createdEmpty = new WeakMap<Connection, Set<string>>();

/**
 * A new ledger's creation (its statements, `BEGIN` to `COMMIT`) that `ensure({ withFirstDeployment: true })` left to
 * the connection's first deployment row, by version table: `startDeployment` sends both in one request (a fleet's new
 * target pays one round trip for its ledger and its row). Taken by the first `startDeployment`; the caller sends no
 * other ledger request before it (the deployment lock is held for as long as the connection lives).
 */
export const pendingCreation = new WeakMap<Connection, Map<string, string[]>>();

/**
 * The deployments a connection opened and has not closed, by `<version table>\0<id>`: while a deployment runs, only
 * its own session writes its row (under the deployment lock). Its summary is kept here (`updateSummary` merges into
 * it, `finishDeployment` writes it with the closing row: no read, no write of its own), and so are the writes that
 * travel with the closing row (`withClosingRow`: its smoke results).
 */
export const openDeployments = new WeakMap<Connection, Map<string, OpenDeployment>>();

/** What a connection keeps of a deployment it opened until it closes it (`openDeployments`). */
export interface OpenDeployment {
  summary: DeploymentSummary;
  /** Writes sent in the closing row's request, before it, in this order. */
  atClose: LedgerWrite[];
}

/**
 * The kinds of deployment whose steps write no `objects` rows where the dialect folds them (`Ledger.fold`): those that
 * run a plan (runner.ts). A compensating deployment (rollback, disable, enable) and adopt, cleanup or the expand's
 * completion write `objects` directly.
 */
export const FOLDED_KINDS = ['deploy', 'clone'];

/**
 * What a connection knows of the ledger's feature tables (`LedgerDialect.lazyTables`), by qualified name: `present`,
 * read from the catalog (a table is never dropped, so this stays true); `absent`, read from the catalog or known
 * because this connection created the ledger without them, and trusted while no deployment creates them elsewhere
 * (as `missing` is: every creator holds the deployment lock, which a deployment's connection holds for as long as it
 * lives); `created`, created by this connection in a transaction that may not have committed: read from the catalog
 * every time (a transaction rolled back takes the table with it).
 */
export const tablesPresent = new WeakMap<Connection, Set<string>>();
export const tablesAbsent = new WeakMap<Connection, Set<string>>();
export const tablesCreated = new WeakMap<Connection, Set<string>>();

/** Add `table` to what `map` remembers of connection `raw`. */
export function remember(map: WeakMap<Connection, Set<string>>, raw: Connection, table: string): void {
  let tables = map.get(raw);
  if (!tables) map.set(raw, (tables = new Set()));
  tables.add(table);
}

/**
 * The ledger statements each session keeps (`Ledger.inlineNamed`), by raw connection: their names, and the generation
 * that names new ones (a name is never defined twice, even when a forgotten one may still exist).
 */
export const namedStatements = new WeakMap<Connection, { generation: number; defined: Set<string> }>();

/** By dialect, the statement and name hash of each shape of chained ledger writes (`Ledger.shape`). */
export const shapes = new WeakMap<LedgerDialect, Map<string, { sql: string; hash: string }>>();
