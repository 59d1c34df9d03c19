import type { Engine } from '@dbee/core';
import { PgConnection } from '../connection/postgres-connection';
import { postgresTarget } from '../connection/target';
import { advisoryLockHolder, fileLockHolder, takeAdvisoryLock, takeFileLock } from './postgres-lock';

/**
 * The deployment lock of a PostgreSQL environment: a server's advisory lock on a session of its own, an embedded
 * database's lock file.
 */
export const postgresLockRole: Pick<Engine, 'locks' | 'lock'> = {
  // `dbee unlock`: who holds the advisory lock (never cleared: it ends with its session), or an embedded database's
  // lock file (never cleared either: the next deployment takes it over once its process is gone).
  locks: {
    async holder(environment, { workspaceRoot }, key) {
      const target = postgresTarget(environment, workspaceRoot);
      if (target.kind === 'embedded') return target.dataDir ? fileLockHolder(target.dataDir + '.lock') : null;
      const conn = await PgConnection.open({ ...target.config, application_name: 'dbee-unlock' }, target.description);
      try {
        return await advisoryLockHolder(conn, key);
      } finally {
        await conn.close();
      }
    },
    clear: async () => false,
  },
  async lock(environment, { workspaceRoot }, key, options) {
    const target = postgresTarget(environment, workspaceRoot);
    if (target.kind === 'embedded') {
      // In-memory databases live in one process; nothing to share, nothing to lock across processes.
      if (!target.dataDir) return { release: async () => {} };
      return takeFileLock(target.dataDir + '.lock', key, options);
    }
    // A reader of a server (`dbee check`) holds no lock: it reads committed catalog state, as any session does.
    if (options.reader) return { release: async () => {} };
    const conn = await PgConnection.open({ ...target.config, application_name: 'dbee-lock' }, target.description);
    try {
      return await takeAdvisoryLock(conn, key, options);
    } catch (e) {
      await conn.close();
      throw e;
    }
  },
};
