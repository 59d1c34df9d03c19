import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Connection } from '@dbee/core';
import { PgConnection } from './postgres-connection';
import type { PgliteConnection as PgliteConnectionType } from './pglite-connection';
import type { PostgresTarget } from './target';

/**
 * PGlite (WebAssembly PostgreSQL) and its template cache, loaded on first use: a server environment never loads them,
 * which keeps `dbee status`/`deploy` against a server quick to start.
 */
export async function loadPglite(): Promise<{
  PgliteConnection: typeof PgliteConnectionType;
  pgliteTemplate: typeof import('./pglite-template').pgliteTemplate;
}> {
  const [{ PgliteConnection }, { pgliteTemplate }] = await Promise.all([
    import('./pglite-connection'),
    import('./pglite-template'),
  ]);
  return { PgliteConnection, pgliteTemplate };
}

/** Open a connection to a PostgreSQL target. */
export async function openPostgres(target: PostgresTarget, workspaceRoot?: string): Promise<Connection> {
  if (target.kind === 'server') return PgConnection.open(target.config, target.description);
  // A new embedded database starts from the cached template instead of running initdb (seconds saved).
  const fresh = target.dataDir !== null && !existsSync(join(target.dataDir, 'PG_VERSION'));
  const { PgliteConnection, pgliteTemplate } = await loadPglite();
  return PgliteConnection.open(
    target.dataDir,
    target.description,
    fresh && workspaceRoot ? await pgliteTemplate(workspaceRoot) : undefined,
  );
}
