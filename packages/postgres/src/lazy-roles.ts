/**
 * The modules of the engine's roles that a deployment does not use, loaded with `require` when a command first uses
 * one of them (engine.ts, `lazyRole`): expand-contract's and its backfill's SQL, blue/green's, `check`'s query sources,
 * `advise`'s, `preview`'s and `audit`'s, and the extension reads of `extract`. Vitest replaces this module with
 * test/support/lazy-roles.ts (static imports of the sources, one module graph), see vitest.config.ts.
 */
export const expandSql = () => require('./expand/expand-sql') as typeof import('./expand/expand-sql');

export const backfillSql = () => require('./expand/backfill-sql') as typeof import('./expand/backfill-sql');

export const blueGreen = () =>
  require('./blue-green/postgres-blue-green') as typeof import('./blue-green/postgres-blue-green');

/** The settings of blue/green's PgBouncer router (zod): read only when a blue/green phase reads its router. */
export const pgbouncerSettings = () =>
  require('./blue-green/pgbouncer-settings') as typeof import('./blue-green/pgbouncer-settings');

export const querySources = () => require('./check/query-sources') as typeof import('./check/query-sources');

export const advise = () => require('./advise/advise-role') as typeof import('./advise/advise-role');

export const preview = () => require('./preview/postgres-preview') as typeof import('./preview/postgres-preview');

export const audit = () => require('./extract/audit') as typeof import('./extract/audit');

export const extensions = () => require('./extract/extensions') as typeof import('./extract/extensions');
