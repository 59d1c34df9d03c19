import { join } from 'node:path';
import { DbeeError } from '../errors';
import { canonicalVersion } from '../sources/discover';
import { byVersion, duplicateVersions, filesUnder, invalid, readText, requireFolder, slug, throwAll } from './files';
import { sqlName, text } from './history';
import type { ImportedMigration, Importer } from './imported';

const FILE = /^(\d+)_(.*)\.(up|down)\.sql$/;

/**
 * golang-migrate: `<version>_<title>.up.sql` and its optional `.down.sql`, in one folder. Its history is one row
 * (`schema_migrations(version, dirty)`): the current version, every older one applied before it; no checksum.
 */
export const golangMigrate: Importer = {
  tool: 'golang-migrate',
  table: 'schema_migrations',
  repair:
    'fix the database by hand to the state the migration meant, then `migrate force <version>` (which clears `dirty`)',
  read(folder, display) {
    requireFolder(folder, display, 'golang-migrate migrations (1_create_users.up.sql, ...)');
    const problems: DbeeError[] = [];
    const ups: ImportedMigration[] = [];
    const downs = new Map<string, { text: string; file: string }>();
    const skipped: string[] = [];
    for (const file of filesUnder(folder)) {
      if (file.includes('/')) {
        skipped.push(`${file} (golang-migrate reads one folder, not its subfolders)`);
        continue;
      }
      const m = FILE.exec(file);
      if (!m) {
        if (file.endsWith('.sql'))
          problems.push(
            invalid(
              `${display}/${file}`,
              1,
              `${file} is not a golang-migrate migration name`,
              'name it <version>_<title>.up.sql or .down.sql, as golang-migrate requires',
            ),
          );
        else skipped.push(`${file} (not a migration)`);
        continue;
      }
      const version = canonicalVersion(m[1]!);
      const body = readText(join(folder, file));
      if (m[3] === 'down') downs.set(version, { text: body, file });
      else ups.push({ version, name: slug(m[2]!), up: body, down: null, file, id: version });
    }
    const migrations = duplicateVersions(ups.sort(byVersion), display, problems);
    const byVer = new Map(migrations.map((m) => [m.version, m]));
    for (const [version, d] of downs) {
      const m = byVer.get(version);
      if (m) m.down = d.text;
      else
        problems.push(
          invalid(
            `${display}/${d.file}`,
            1,
            `down migration ${version} has no up migration`,
            'add its .up.sql or remove it',
          ),
        );
    }
    throwAll(problems, display);
    return { migrations, repeatables: [], smoke: [], variables: {}, skipped };
  },
  async history(conn, table, folder, engine) {
    if (!(await engine.hasColumn(conn, table, 'dirty')))
      throw new DbeeError(
        `${table.schema}.${table.name} has no column dirty: it is not golang-migrate's history (dbmate's has the same name)`,
        { code: 'IMPORT_NO_HISTORY', hint: 'import with --from dbmate if dbmate migrated this database' },
      );
    const r = await conn.query<Record<string, unknown>>(`SELECT version, dirty FROM ${sqlName(table)}`);
    const row = r.rows[0];
    if (!row) return { entries: [], implied: [] };
    const version = canonicalVersion(text(row.version) ?? '0');
    const dirty = row.dirty === true || row.dirty === 't' || row.dirty === 1;
    const label = `version ${version} (${table.name})`;
    const entry = { id: version, checksum: null, failed: dirty ? 'dirty = true' : null, label, at: null };
    const older = folder.migrations.filter((m) => byVersion(m, { version }) < 0);
    return { entries: [entry], implied: older.map((m) => ({ id: m.id, through: `${label}, the current version` })) };
  },
};
