import childProcess from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import type { PGlite } from '@electric-sql/pglite';
import { PgliteConnection } from '../../packages/postgres/src/connection/pglite-connection';

/**
 * One PGlite instance per data folder for the length of a test, shared by the test's own connections (snapshots,
 * queries) and by the dbee commands it runs in-process. Starting PGlite on a folder costs 0.2-0.5 s of CPU, and a
 * test used to start it five or six times on the same folder (snapshot, deploy, query, snapshot...).
 *
 * Installed by setup.ts for every test file: `PgliteConnection.open` of a folder returns a view of the shared
 * instance; the view's `close()` ends the session as a real close would (an open transaction is rolled back,
 * settings, prepared statements and advisory locks are reset) once no other view is open, and leaves the instance
 * running. {@link releasePglite} really closes every instance no view holds: setup.ts calls it after each test, and
 * a test must call it before another process opens the folder (a child process would read files the instance has
 * not written back). Starting a Node process while such an instance is open throws, naming this function, so a
 * forgotten release fails loudly instead of handing a child a stale folder.
 * In-memory databases (shadows) are not shared: each open is a new database.
 */
const shared = new Map<string, { conn: Promise<PgliteConnection>; views: number }>();
let installed = false;

export function sharePglite(): void {
  if (installed) return;
  installed = true;
  const open = PgliteConnection.open.bind(PgliteConnection);
  PgliteConnection.open = async (dataDir, description, template) => {
    if (!dataDir) return open(dataDir, description, template);
    const key = resolve(dataDir);
    let entry = shared.get(key);
    if (!entry) {
      entry = { conn: open(dataDir, description, template), views: 0 };
      shared.set(key, entry);
      entry.conn.catch(() => shared.delete(key));
    }
    const conn = await entry.conn;
    entry.views++;
    return view(conn, entry);
  };
  guardSpawns();
}

function view(conn: PgliteConnection, entry: { views: number }): PgliteConnection {
  const v = Object.create(conn) as PgliteConnection;
  let open = true;
  v.close = async () => {
    if (!open) return;
    open = false;
    if (--entry.views > 0) return;
    // What a new session would not see: an open (or failed) transaction, settings, prepared statements, locks.
    // PGlite's own flag: a ROLLBACK outside a transaction left its backend broken ("bad buffer ID: 0" seen here).
    if ((conn as unknown as { db: PGlite }).db.isInTransaction()) await conn.execute('ROLLBACK');
    await conn.execute('SET SESSION AUTHORIZATION DEFAULT; RESET ALL; DEALLOCATE ALL; SELECT pg_advisory_unlock_all()');
  };
  return v;
}

/**
 * Close every shared instance nobody holds open (after each test, and before a child process opens one of the
 * folders). An instance with open views stays: a connection a test file opened in `beforeAll` lives on.
 */
export async function releasePglite(): Promise<void> {
  for (const key of idleFolders()) {
    const entry = shared.get(key)!;
    shared.delete(key);
    const conn = await entry.conn.catch(() => null);
    // The folder may be gone already (a test removed its workspace): nothing left to write back.
    await conn?.close().catch(() => {});
  }
}

/** The folders whose instance no view holds open. */
function idleFolders(): string[] {
  return [...shared].filter(([, entry]) => entry.views === 0).map(([key]) => key);
}

/** Refuse to start a Node process (dbee, Nx) while an instance is open (see above); git, psql and such are fine. */
function guardSpawns(): void {
  const cp = childProcess as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of ['spawn', 'spawnSync', 'execFile', 'execFileSync', 'exec', 'execSync', 'fork']) {
    const original = cp[name]! as ((...args: unknown[]) => unknown) & {
      [promisify.custom]?: (...args: unknown[]) => unknown;
    };
    const check = (args: unknown[]) => {
      const command = String(args[0]);
      const idle = idleFolders();
      if (idle.length && (name === 'fork' || command === process.execPath || /\b(node|npx|nx|dbee)\b/.test(command))) {
        throw new Error(
          `${name}(${command}) while PGlite is open in the test process on ${idle.join(', ')}: await releasePglite() (test/support/pglite-share.ts) first`,
        );
      }
    };
    const wrapped = function (this: unknown, ...args: unknown[]) {
      check(args);
      return original.apply(this, args);
    } as typeof original;
    // promisify(execFile) resolves { stdout, stderr } through this symbol: keep it, guarded too.
    const custom = original[promisify.custom];
    if (custom) wrapped[promisify.custom] = (...args: unknown[]) => (check(args), custom(...args));
    cp[name] = wrapped;
  }
  syncBuiltinESMExports();
}
