import type { Connection, Engine, ResolvedEnvironment } from '@dbee/core';
import { ledgerDatabaseFor } from '../ledger/teradata-ledger';
import { acquireTeradataLock, clearTeradataLock, teradataLockHolder } from './teradata-lock';

function lockTtlOf(environment: ResolvedEnvironment): number | undefined {
  const v = environment.connection.lockTtlMinutes;
  return v === undefined ? undefined : Number(v);
}

/** The deployment lock of a Teradata environment: a row of the ledger, on a session of its own. */
export function teradataLockRole(
  connect: (environment: ResolvedEnvironment, context: { workspaceRoot: string }) => Promise<Connection>,
  options: { lockPollMs?: number },
): Pick<Engine, 'locks' | 'lock'> {
  return {
    // `dbee unlock`: the lock row's holder, and its row deleted (by its token) once the DBA confirmed.
    locks: {
      async holder(environment, context, key) {
        const conn = await connect(environment, context);
        try {
          return await teradataLockHolder(conn, ledgerDatabaseFor(environment), key);
        } finally {
          await conn.close();
        }
      },
      async clear(environment, context, key, holder) {
        if (!holder.token) return false;
        const conn = await connect(environment, context);
        try {
          return await clearTeradataLock(conn, ledgerDatabaseFor(environment), key, holder.token);
        } finally {
          await conn.close();
        }
      },
    },
    async lock(environment, context, key, lockOptions) {
      // The lock lives on a session of its own, so its heartbeat never interleaves with deployment requests.
      const conn = await connect(environment, context);
      try {
        const handle = await acquireTeradataLock(conn, key, {
          ...lockOptions,
          database: ledgerDatabaseFor(environment),
          ttlMinutes: lockTtlOf(environment),
          pollMs: options.lockPollMs,
        });
        let released = false;
        return {
          async release() {
            if (released) return;
            released = true;
            try {
              await handle.release();
            } finally {
              await conn.close().catch(() => undefined);
            }
          },
        };
      } catch (error) {
        await conn.close().catch(() => undefined);
        throw error;
      }
    },
  };
}
