import type { Connection } from '@dbee/core';
import type { PgliteConnection } from '../connection/pglite-connection';
import { ensureShadowRoles } from './shadow-roles';
import { ident } from '../render/quote';

/**
 * Embedded (in-memory PGlite) shadow databases, kept for reuse within a process. Starting one from the template costs
 * ~0.15-0.35 s of CPU (loading the files, PostgreSQL's start-up) where wiping one costs a few milliseconds, and a
 * process often builds several shadows one after the other: a deploy builds the desired model and then verifies its
 * dry run on a scratch copy; an in-process caller (the test suite, a tool calling `runDbeeCommand` in a loop) runs
 * many commands. So a disposed shadow is kept, and the next `openEmbeddedShadow` wipes it and takes it. The wipe is
 * left to that next open, not done at `dispose`: a command that builds one shadow and ends (most dbee commands) never
 * pays for it (about 0.4 s of CPU after a 1,000-object build, spent while the command waited to exit).
 *
 * A kept shadow must be as good as a new one. After the wipe (the session discarded, every schema dropped, the
 * standard `public` made again, the roles made for the last user dropped) a census of the catalogs that hold objects
 * outside any schema (roles, extensions, event triggers, casts, languages, foreign servers, publications, default
 * privileges, database settings and comments...) and of every object count must equal the census taken when the
 * database was new; if not, or if the wipe fails, it is closed instead. At most one is kept, and it is closed after
 * {@link IDLE_MS} unused (it holds ~100 MB). Our timer does not keep the process alive, but PGlite's own do: PostgreSQL
 * arms its 10 s statistics-flush timeout after a statement, and PGlite makes it a Node timer. So a process that ends by
 * itself ends up to 10 s after its last shadow was disposed: the dbee command exits explicitly (bin/dbee.js), Nx ends
 * its task processes, and a script calling `runDbeeCommand` may call {@link closeIdleEmbeddedShadow} (exported).
 */
export const IDLE_MS = 30_000;

interface Kept {
  conn: PgliteConnection;
  /** The census of the database when it was new (see CENSUS). */
  pristine: string;
  /** Disposed and not wiped yet: the roles made for its last user, dropped by the wipe when it is taken again. */
  dirty?: readonly string[];
}

let idle: { kept: Kept; timer: NodeJS.Timeout } | null = null;

/** Counters for tests: how many shadows were started, taken from the kept one, found unfit, and wiped. */
export const embeddedShadowStats = { started: 0, reused: 0, discarded: 0, wiped: 0 };

/**
 * An embedded shadow with `roles` made in it: the kept one if there is one, else a new one from `open`. `dispose`
 * wipes it and keeps it for the next caller (or closes it, see above); the connection must not be used after it.
 */
export async function openEmbeddedShadow(
  open: () => Promise<PgliteConnection>,
  roles: readonly string[],
): Promise<{ conn: Connection; dispose(): Promise<void> }> {
  let kept: Kept | null = null;
  if (idle) {
    const taken = idle.kept;
    clearTimeout(idle.timer);
    idle = null;
    if (await wipe(taken, taken.dirty ?? [])) {
      taken.dirty = undefined;
      kept = taken;
      embeddedShadowStats.reused++;
    } else {
      embeddedShadowStats.discarded++;
      await taken.conn.close().catch(() => {});
    }
  }
  if (!kept) {
    const conn = await open();
    try {
      kept = { conn, pristine: await census(conn) };
    } catch (e) {
      await conn.close();
      throw e;
    }
    embeddedShadowStats.started++;
  }
  let made: string[];
  try {
    made = await ensureShadowRoles(kept.conn, roles);
  } catch (e) {
    await kept.conn.close();
    throw e;
  }
  let disposed = false;
  const shadow = kept;
  return {
    conn: shadow.conn,
    async dispose() {
      if (disposed) return;
      disposed = true;
      shadow.dirty = made;
      if (idle) {
        // Another shadow is kept already (two were open at once): one is enough.
        await shadow.conn.close();
        return;
      }
      const timer = setTimeout(() => {
        if (idle?.kept === shadow) idle = null;
        void shadow.conn.close().catch(() => {});
      }, IDLE_MS);
      timer.unref();
      idle = { kept: shadow, timer };
    },
  };
}

/** Close the kept shadow now, if there is one (tests; a long-lived caller that wants the memory back). */
export async function closeIdleEmbeddedShadow(): Promise<void> {
  if (!idle) return;
  const { kept, timer } = idle;
  idle = null;
  clearTimeout(timer);
  await kept.conn.close();
}

/** Wipe a shadow back to its state when new; false when it could not be, and must not be reused. */
function wipe(kept: Kept, madeRoles: readonly string[]): Promise<boolean> {
  embeddedShadowStats.wiped++;
  return wipedAsNew(kept.conn, kept.pristine, CENSUS, madeRoles);
}

/**
 * Wipe a shadow (embedded, or a server's: open-shadow.ts) back to its state when new: the session reset, every schema
 * dropped (`RESET_SHADOW`), the roles made for its last user dropped; true when its census (`censusSql`) then equals
 * `pristine`, false when not or when the wipe failed: it must not be reused.
 */
export async function wipedAsNew(
  conn: Connection & { inTransaction(): boolean },
  pristine: string,
  censusQuery: string,
  madeRoles: readonly string[] = [],
): Promise<boolean> {
  try {
    // DISCARD ALL: settings, session authorization, prepared statements, temporary tables, advisory locks, listens.
    if (conn.inTransaction()) await conn.execute('ROLLBACK');
    await conn.execute('DISCARD ALL');
    await conn.execute(RESET_SHADOW);
    for (const role of madeRoles) await conn.execute(`DROP ROLE IF EXISTS ${ident(role)}`);
    return (await censusOf(conn, censusQuery)) === pristine;
  } catch {
    return false;
  }
}

/** The one value of a census query (`censusSql`). */
export async function censusOf(conn: Connection, censusQuery: string): Promise<string> {
  return String((await conn.query<{ census: string }>(censusQuery)).rows[0]!.census);
}

/**
 * A shadow database as good as new: every schema but the system's dropped, and `public` made again as initdb
 * (PostgreSQL 15 and later, PGlite included) makes it: owned by pg_database_owner, USAGE for PUBLIC, its comment.
 * Used here and by the session pool's `resetShadow` (server shadows too: the shadow's creator owns the database, so
 * it may make a schema for pg_database_owner).
 */
export const RESET_SHADOW = `DO $reset$
DECLARE s text;
BEGIN
  FOR s IN SELECT nspname FROM pg_namespace
            WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\\_%'
  LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', s);
  END LOOP;
  CREATE SCHEMA public AUTHORIZATION pg_database_owner;
  GRANT USAGE ON SCHEMA public TO PUBLIC;
  COMMENT ON SCHEMA public IS 'standard public schema';
END
$reset$`;

/** Catalogs of one database that hold objects, those outside schemas included (counted by {@link censusSql}). */
const DATABASE_CATALOGS = [
  'pg_class',
  'pg_proc',
  'pg_type',
  'pg_attribute',
  'pg_constraint',
  'pg_trigger',
  'pg_rewrite',
  'pg_attrdef',
  'pg_index',
  'pg_depend',
  'pg_description',
  'pg_extension',
  'pg_event_trigger',
  'pg_cast',
  'pg_language',
  'pg_operator',
  'pg_opclass',
  'pg_opfamily',
  'pg_am',
  'pg_collation',
  'pg_conversion',
  'pg_ts_config',
  'pg_ts_dict',
  'pg_ts_parser',
  'pg_ts_template',
  'pg_foreign_data_wrapper',
  'pg_foreign_server',
  'pg_user_mapping',
  'pg_publication',
  'pg_default_acl',
  'pg_largeobject_metadata',
  'pg_policy',
  'pg_statistic_ext',
  'pg_transform',
  'pg_seclabel',
];

/** The catalogs the whole cluster shares (a PGlite instance is a cluster of its own). */
const CLUSTER_CATALOGS = ['pg_shdepend', 'pg_shdescription', 'pg_db_role_setting', 'pg_tablespace', 'pg_auth_members'];

/**
 * A query whose one value (`census`) a wiped database must share with a new one: its schemas (name, owner,
 * privileges, comment) and the number of rows of every catalog that holds objects, including those that live outside
 * schemas. An object left behind anywhere changes a count; one dropped and made again the same does not, and need
 * not. `cluster`: also the roles, the databases and the shared catalogs (a PGlite shadow is a cluster of its own);
 * `database`: the current database's own settings, owner, privileges and comment instead (on a server, where other
 * sessions change the shared catalogs all the time). Not pg_init_privs: dropping `public` drops its initdb row there,
 * which only pg_dump reads (dbee does not); an extension left behind shows in pg_extension.
 */
export function censusSql(scope: 'cluster' | 'database'): string {
  const count = (t: string) => `(SELECT count(*) FROM pg_catalog.${t})`;
  const current = `(SELECT oid FROM pg_database WHERE datname = current_database())`;
  const parts = [
    `(SELECT string_agg(nspname || ':' || nspowner::regrole || ':' || coalesce(nspacl::text, '') || ':' || coalesce(obj_description(oid, 'pg_namespace'), ''), ',' ORDER BY nspname) FROM pg_namespace)`,
    ...(scope === 'cluster'
      ? [
          `(SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles)`,
          `(SELECT string_agg(datname || ':' || coalesce(datacl::text, ''), ',' ORDER BY datname) FROM pg_database)`,
          ...CLUSTER_CATALOGS.map(count),
        ]
      : [
          `(SELECT datdba::regrole || ':' || coalesce(datacl::text, '') || ':' || datconnlimit || ':' || coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE oid = ${current})`,
          `(SELECT count(*) FROM pg_db_role_setting WHERE setdatabase = ${current})`,
        ]),
    ...DATABASE_CATALOGS.map(count),
  ];
  return `SELECT concat_ws('|',\n  ${parts.join(',\n  ')}) AS census`;
}

const CENSUS = censusSql('cluster');

function census(conn: Connection): Promise<string> {
  return censusOf(conn, CENSUS);
}
