import type { Connection } from '@dbee/core';
import { loadPglite } from '../connection/open';
import { PgConnection } from '../connection/postgres-connection';
import { onDatabase, type PostgresTarget } from '../connection/target';
import { openEmbeddedShadow } from './embedded-shadow';
import { removeLeftShadows, shadowComment, shadowName } from './shadow-leftovers';
import { dropShadowRoles, ensureShadowRoles } from './shadow-roles';

/**
 * A scratch database for building desired schemas: PGlite in memory, or (`shadow: server`) a new database on
 * the environment's own server, for exact version parity, named and commented so that the next one removes it when
 * its run was killed (shadow-leftovers.ts). The server database is always dropped on dispose; an
 * embedded one is wiped and kept for the next shadow of the process (embedded-shadow.ts).
 */
export async function openShadow(
  kind: 'embedded' | 'server',
  target: PostgresTarget,
  workspaceRoot?: string,
  roles: readonly string[] = [],
): Promise<{ conn: Connection; side?: () => Promise<Connection | undefined>; dispose(): Promise<void> }> {
  if (kind === 'embedded' || target.kind === 'embedded') {
    const { PgliteConnection, pgliteTemplate } = await loadPglite();
    return openEmbeddedShadow(
      async () =>
        PgliteConnection.open(null, 'pglite:shadow', workspaceRoot ? await pgliteTemplate(workspaceRoot) : undefined),
      roles,
    );
  }
  let made: string[] = [];
  const name = shadowName();
  const admin = await PgConnection.open(target.config, target.description);
  try {
    // What a killed run left (its name and comment say whose), then this one, recorded the same way.
    await removeLeftShadows(admin);
    await admin.execute(`CREATE DATABASE ${name}`);
    await admin.execute(shadowComment(name));
  } catch (e) {
    await admin.close();
    throw e;
  }
  const drop = async () => {
    await admin.execute(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
    await dropShadowRoles(admin, made);
    await admin.close();
  };
  try {
    const conn = await PgConnection.open(onDatabase(target.config, name), `${target.description} (shadow ${name})`);
    try {
      made = await ensureShadowRoles(conn, roles);
    } catch (e) {
      await conn.close();
      throw e;
    }
    let side: Promise<PgConnection | undefined> | undefined;
    return {
      conn,
      side: () =>
        (side ??= PgConnection.open(onDatabase(target.config, name), `${target.description} (shadow ${name})`).catch(
          () => undefined,
        )),
      async dispose() {
        await (await side)?.close();
        await conn.close();
        // Dropping a database waits for a checkpoint of the whole server (seconds on a busy one): the server drops the
        // scratch database after dbee has its answer, without dbee waiting. Roles made for it must wait for it. The
        // drop is left running on a session of the maintenance database, not the target's: the target is free for
        // what comes next (a DROP DATABASE of it would wait for that session, or with FORCE end the drop half-way).
        if (made.length) return drop();
        const maintenance = await PgConnection.open(onDatabase(target.config, 'postgres'), target.description).catch(
          () => null,
        );
        if (!maintenance) return drop();
        await admin.close();
        await maintenance.leave(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => maintenance.close());
      },
    };
  } catch (e) {
    await drop();
    throw e;
  }
}
