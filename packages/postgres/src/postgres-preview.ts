import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PreviewPlace, PreviewRecord, PreviewRole, ResolvedEnvironment } from '@dbee/core';
import { DbeeError } from '@dbee/core/errors';
import { PgConnection } from './postgres-connection';
import { onDatabase, postgresTarget, type PostgresTarget } from './postgres-engine';
import { quoteIdent } from './parse/names';

/** What marks a database comment or a folder's record as a preview's: nothing else is listed or dropped. */
const MARK = 'dbee-preview';
/** The record of an embedded preview, in its folder beside its data folder. */
const RECORD_FILE = 'preview.json';
/** Bounds of the statements on the server's maintenance session (CREATE DATABASE copies a template). */
const ADMIN_SETTINGS = ['SET lock_timeout = 10000', 'SET statement_timeout = 300000'];

/**
 * `dbee preview` on PostgreSQL: a preview of a server environment is a database on the same server (`CREATE
 * DATABASE`, its record in the database's comment); a preview of an embedded (PGlite) environment is a folder under
 * `preview.directory` holding its data folder and its record.
 */
export const postgresPreview: PreviewRole = {
  connection(base, place, name): Record<string, string | number | boolean> {
    const target = postgresTarget(base, place.workspaceRoot);
    if (target.kind === 'embedded') return { embedded: join(place.directory, name, 'data') };
    const c = base.connection;
    if (c.url !== undefined) {
      const url = new URL(String(c.url));
      url.pathname = '/' + encodeURIComponent(name);
      return { ...c, url: url.toString() };
    }
    return { ...c, database: name };
  },
  describe(base, place, name) {
    return postgresTarget(previewEnvironment(base, place, name), place.workspaceRoot).description;
  },
  async create(base, place, record) {
    const target = postgresTarget(base, place.workspaceRoot);
    if (target.kind === 'embedded') {
      const dir = join(place.directory, record.name);
      // A folder of that name is a preview already, or someone else's: neither is made again.
      if (existsSync(dir)) return false;
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, RECORD_FILE), JSON.stringify({ [MARK]: 1, ...record }, null, 2) + '\n');
      return true;
    }
    return withAdmin(target, async (admin) => {
      const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [record.name]);
      if (found.rows.length) return false;
      await admin.execute(`CREATE DATABASE ${quoteIdent(record.name)}`);
      await admin.execute(
        `COMMENT ON DATABASE ${quoteIdent(record.name)} IS ${literal(JSON.stringify({ [MARK]: 1, ...record }))}`,
      );
      return true;
    });
  },
  async list(base, place) {
    const target = postgresTarget(base, place.workspaceRoot);
    const records: PreviewRecord[] = [];
    if (target.kind === 'embedded') {
      if (!existsSync(place.directory)) return [];
      for (const name of readdirSync(place.directory).filter((n) => n.startsWith(place.prefix))) {
        const file = join(place.directory, name, RECORD_FILE);
        const record = existsSync(file) ? parseRecord(readFileSync(file, 'utf8'), name) : null;
        if (record) records.push(record);
      }
    } else {
      const rows = await withAdmin(target, async (admin) =>
        admin.query<{ datname: string; comment: string | null }>(
          "SELECT datname, shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE left(datname, length($1)) = $1",
          [place.prefix],
        ),
      );
      for (const r of rows.rows) {
        const record = r.comment ? parseRecord(r.comment, r.datname) : null;
        if (record) records.push(record);
      }
    }
    return records.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name));
  },
  async drop(base, place, name) {
    const previews = await postgresPreview.list(base, place);
    if (!previews.some((p) => p.name === name)) return false;
    const target = postgresTarget(base, place.workspaceRoot);
    if (target.kind === 'embedded') {
      rmSync(join(place.directory, name), { recursive: true, force: true });
      return true;
    }
    // WITH (FORCE): a preview's sessions (an application under review) are ended, not waited for.
    await withAdmin(target, (admin) => admin.execute(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
    return true;
  },
};

/** `base` with the connection of its preview `name` (what `describe` reads the description of). */
function previewEnvironment(base: ResolvedEnvironment, place: PreviewPlace, name: string): ResolvedEnvironment {
  return { ...base, name, connection: postgresPreview.connection(base, place, name) };
}

/**
 * A session on the server's maintenance database (`postgres`), else on the base environment's own database: CREATE
 * and DROP DATABASE run outside the databases they make and drop.
 */
async function withAdmin<T>(
  target: Extract<PostgresTarget, { kind: 'server' }>,
  work: (admin: PgConnection) => Promise<T>,
): Promise<T> {
  const admin = await PgConnection.open(
    { ...onDatabase(target.config, 'postgres'), application_name: 'dbee-preview' },
    target.description,
  ).catch(() => PgConnection.open({ ...target.config, application_name: 'dbee-preview' }, target.description));
  try {
    for (const s of ADMIN_SETTINGS) await admin.execute(s);
    return await work(admin);
  } catch (e) {
    if (e instanceof DbeeError) throw e;
    throw new DbeeError(`preview databases on ${target.description}: ${(e as Error).message}`, {
      code: 'PREVIEW_FAILED',
      hint: "the environment's role needs the CREATEDB privilege to make previews (ALTER ROLE ... CREATEDB), and to own the previews it drops",
      cause: e,
    });
  } finally {
    await admin.close();
  }
}

/** A preview's record from its comment or file; null when it is not one (another database under the prefix). */
function parseRecord(text: string, name: string): PreviewRecord | null {
  try {
    const r = JSON.parse(text) as Record<string, unknown>;
    if (r[MARK] !== 1 || r.name !== name) return null;
    return {
      name,
      base: String(r.base ?? ''),
      branch: String(r.branch ?? ''),
      createdAt: String(r.createdAt ?? ''),
    };
  } catch {
    return null;
  }
}

function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
