// Public API of @dbee/postgres: a flat list of explicit exports.
export {
  createPostgresEngine,
  postgresTarget,
  openPostgres,
  postgresCapabilities,
  dropStatement,
  quoteIdent,
} from './postgres-engine';
export type { PostgresTarget } from './postgres-engine';
export { PgConnection, redactUrl, runInTransaction, checkServerVersion } from './postgres-connection';
export { PgliteConnection } from './pglite-connection';
export { securityInvokerViews } from './expand/expand-sql';
export { postgresBackfill } from './expand/backfill-sql';
export { postgresQuerySources } from './query-sources';
export { closeIdleEmbeddedShadow } from './embedded-shadow';
export { mapPostgresError } from './postgres-errors';
export { postgresLedger } from './postgres-ledger';
export { postgresFacts } from './postgres-facts';
export { takeAdvisoryLock, takeFileLock, advisoryLockId } from './postgres-lock';
export { PostgresParser, loadPostgresParser } from './parse';
