import * as adviseRole from '../../packages/postgres/src/advise/advise-role';
import * as pgbouncerSettingsModule from '../../packages/postgres/src/blue-green/pgbouncer-settings';
import * as blueGreenRole from '../../packages/postgres/src/blue-green/postgres-blue-green';
import * as querySourcesRole from '../../packages/postgres/src/check/query-sources';
import * as backfillRole from '../../packages/postgres/src/expand/backfill-sql';
import * as expandRole from '../../packages/postgres/src/expand/expand-sql';
import * as auditRole from '../../packages/postgres/src/extract/audit';
import * as extensionReads from '../../packages/postgres/src/extract/extensions';
import type * as Production from '../../packages/postgres/src/lazy-roles';
import * as previewRole from '../../packages/postgres/src/preview/postgres-preview';

/**
 * Vitest's stand-in for packages/postgres/src/lazy-roles.ts (aliased in vitest.config.ts): Node's `require` there
 * would not resolve the TypeScript sources, nor share Vitest's module graph.
 */
export const expandSql: typeof Production.expandSql = () => expandRole;

export const backfillSql: typeof Production.backfillSql = () => backfillRole;

export const blueGreen: typeof Production.blueGreen = () => blueGreenRole;

export const pgbouncerSettings: typeof Production.pgbouncerSettings = () => pgbouncerSettingsModule;

export const querySources: typeof Production.querySources = () => querySourcesRole;

export const advise: typeof Production.advise = () => adviseRole;

export const preview: typeof Production.preview = () => previewRole;

export const audit: typeof Production.audit = () => auditRole;

export const extensions: typeof Production.extensions = () => extensionReads;
