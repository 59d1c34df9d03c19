import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PreviewPlace, PreviewRecord, PreviewRole, ResolvedEnvironment } from '@dbee/core';
import { DbeeError } from '@dbee/core/errors';
import { PgConnection } from '../connection/postgres-connection';
import { onDatabase, postgresTarget, type PostgresTarget } from '../connection/target';
import { loadPostgresParser } from '../parse/libpg';
import { quoteIdent } from '../parse/names';

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
    const making = makingName(place.prefix, record.name);
    // `making` until `markMade`: a preview whose structure a killed create left unfinished is listed half-made.
    const text = JSON.stringify({ [MARK]: 1, ...record, making: true });
    if (target.kind === 'embedded') {
      const dir = join(place.directory, record.name);
      // A folder of that name is a preview already, or someone else's: neither is made again.
      if (existsSync(dir)) return false;
      // Made under its making name with its record, then renamed: the preview's folder never lacks its record.
      const staging = join(place.directory, making);
      rmSync(staging, { recursive: true, force: true });
      mkdirSync(staging, { recursive: true });
      writeFileSync(join(staging, RECORD_FILE), JSON.stringify(JSON.parse(text), null, 2) + '\n');
      renameSync(staging, dir);
      return true;
    }
    return withAdmin(target, async (admin) => {
      const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [record.name]);
      if (found.rows.length) return false;
      // CREATE DATABASE runs in no transaction, so its record (the comment) cannot join it: the database is made under
      // its making name, which only dbee makes, commented, then renamed. One a killed create left is replaced.
      await admin.execute(`DROP DATABASE IF EXISTS ${quoteIdent(making)} WITH (FORCE)`);
      await admin.execute(`CREATE DATABASE ${quoteIdent(making)}`);
      await admin.execute(`COMMENT ON DATABASE ${quoteIdent(making)} IS ${literal(text)}`);
      await admin.execute(`ALTER DATABASE ${quoteIdent(making)} RENAME TO ${quoteIdent(record.name)}`);
      return true;
    });
  },
  async markMade(base, place, name) {
    const target = postgresTarget(base, place.workspaceRoot);
    const record = (await postgresPreview.list(base, place)).find((p) => p.name === name);
    if (!record) throw new DbeeError(`preview ${name} is not there to be recorded made`, { code: 'PREVIEW_FAILED' });
    const text = JSON.stringify({
      [MARK]: 1,
      name,
      base: record.base,
      branch: record.branch,
      createdAt: record.createdAt,
    });
    if (target.kind === 'embedded') {
      // Written beside, then renamed over the record: a kill leaves the old record or the new one, never half of one.
      const file = join(place.directory, name, RECORD_FILE);
      writeFileSync(`${file}.new`, JSON.stringify(JSON.parse(text), null, 2) + '\n');
      renameSync(`${file}.new`, file);
      return;
    }
    await withAdmin(target, (admin) => admin.execute(`COMMENT ON DATABASE ${quoteIdent(name)} IS ${literal(text)}`));
  },
  async list(base, place) {
    const target = postgresTarget(base, place.workspaceRoot);
    const found: { name: string; record: string | null }[] = [];
    if (target.kind === 'embedded') {
      if (!existsSync(place.directory)) return [];
      for (const name of readdirSync(place.directory).filter((n) => n.startsWith(place.prefix))) {
        const file = join(place.directory, name, RECORD_FILE);
        found.push({ name, record: existsSync(file) ? readFileSync(file, 'utf8') : null });
      }
    } else {
      const rows = await withAdmin(target, async (admin) =>
        admin.query<{ datname: string; comment: string | null }>(
          "SELECT datname, shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE left(datname, length($1)) = $1",
          [place.prefix],
        ),
      );
      for (const r of rows.rows) found.push({ name: r.datname, record: r.comment });
    }
    const records = found.flatMap(({ name, record }) => {
      if (name.startsWith(makingName(place.prefix, ''))) return [halfMade(name, record)];
      const r = record ? parseRecord(record, name) : null;
      return r ? [r] : [];
    });
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
  // The statements quote names with the parser's keyword list (parse/names.ts): loaded while the session opens, as the
  // engine's own sessions do (a cleanup that quoted a name before the load had finished failed now and then).
  const [admin] = await Promise.all([
    PgConnection.open(
      { ...onDatabase(target.config, 'postgres'), application_name: 'dbee-preview' },
      target.description,
    ).catch(() => PgConnection.open({ ...target.config, application_name: 'dbee-preview' }, target.description)),
    loadPostgresParser(),
  ]);
  try {
    for (const s of ADMIN_SETTINGS) await admin.execute(s);
    return await work(admin);
  } catch (e) {
    if (e instanceof DbeeError) throw e;
    // The server's own refusal (SQLSTATE 42501, insufficient privilege) is the one the privilege hint is for.
    const denied = (e as { code?: string }).code === '42501';
    throw new DbeeError(`preview databases on ${target.description}: ${(e as Error).message}`, {
      code: 'PREVIEW_FAILED',
      hint: denied
        ? "the environment's role needs the CREATEDB privilege to make previews (ALTER ROLE ... CREATEDB), and to own the previews it drops"
        : "the message is the server's answer; dbee preview <project> list shows the previews there are",
      cause: e,
    });
  } finally {
    await admin.close();
  }
}

/**
 * The name a preview is made under before it takes its own (`create`): the prefix, `making-` and a hash of the name.
 * A preview's own name never holds a `-` (`previewName` makes every other character `_`), so no preview has it.
 */
function makingName(prefix: string, name: string): string {
  return `${prefix}making-${name ? createHash('sha256').update(name).digest('hex').slice(0, 12) : ''}`;
}

/** A preview a killed create left under its making name, with its record when it was written. */
function halfMade(name: string, text: string | null): PreviewRecord {
  let record: Record<string, unknown> = {};
  try {
    record = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {}
  const field = (k: string) => (record[MARK] === 1 ? String(record[k] ?? '') : '');
  return { name, base: field('base'), branch: field('branch'), createdAt: field('createdAt'), halfMade: true };
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
      ...(r.making === true ? { halfMade: true } : {}),
    };
  } catch {
    return null;
  }
}

function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
