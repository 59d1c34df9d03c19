import { join } from 'node:path';
import type { DbeeError } from '../errors';
import { canonicalVersion } from '../sources/discover';
import { byVersion, duplicateVersions, filesUnder, invalid, readText, requireFolder, slug, throwAll } from './files';
import { sqlName, text } from './history';
import type { ImportedMigration, Importer } from './imported';

const FILE = /^(\d+)_(.*)\.sql$/;
const MARK = /^--\s*migrate:(up|down)\b(.*)$/;

/**
 * dbmate: `<version>_<name>.sql` with `-- migrate:up` and `-- migrate:down` sections (options such as
 * `transaction:false` noted in the file). History: `schema_migrations(version)`, one row per applied migration.
 */
export const dbmate: Importer = {
  tool: 'dbmate',
  table: 'schema_migrations',
  repair: 'dbmate keeps no failed entries',
  read(folder, display) {
    requireFolder(folder, display, 'dbmate migrations (db/migrations/20240101120000_create_users.sql, ...)');
    const problems: DbeeError[] = [];
    const found: ImportedMigration[] = [];
    const skipped: string[] = [];
    for (const file of filesUnder(folder)) {
      const m = file.includes('/') ? null : FILE.exec(file);
      if (!m) {
        skipped.push(`${file} (not a dbmate migration)`);
        continue;
      }
      const shown = `${display}/${file}`;
      const raw = readText(join(folder, file));
      const up: string[] = [];
      const down: string[] = [];
      const notes: string[] = [];
      let section: 'none' | 'up' | 'down' = 'none';
      for (const [i, line] of raw.split(/\r?\n/).entries()) {
        const mark = MARK.exec(line.trim());
        if (mark) {
          section = mark[1] as 'up' | 'down';
          if (mark[2]!.trim()) notes.push(`dbmate options of the ${section} section: ${mark[2]!.trim()}`);
          continue;
        }
        if (section === 'up') up.push(line);
        else if (section === 'down') down.push(line);
        else if (line.trim() && !line.trim().startsWith('--'))
          problems.push(invalid(shown, i + 1, 'a statement before -- migrate:up', 'put it under -- migrate:up'));
      }
      if (!raw.split(/\r?\n/).some((l) => /^--\s*migrate:up\b/.test(l.trim()))) {
        problems.push(invalid(shown, 1, 'no -- migrate:up section', 'dbmate needs one: add it above the migration'));
        continue;
      }
      const version = m[1]!;
      const text = (ls: string[]) =>
        `${ls
          .join('\n')
          .replace(/^\s*\n/, '')
          .trimEnd()}\n`;
      found.push({
        version: canonicalVersion(version),
        name: slug(m[2]!),
        up: text(up),
        down: down.some((l) => l.trim() && !l.trim().startsWith('--')) ? text(down) : null,
        file,
        id: version,
        ...(notes.length ? { notes } : {}),
      });
    }
    const migrations = duplicateVersions(found.sort(byVersion), display, problems);
    throwAll(problems, display);
    return { migrations, repeatables: [], smoke: [], variables: {}, skipped };
  },
  async history(conn, table) {
    const r = await conn.query<Record<string, unknown>>(`SELECT version FROM ${sqlName(table)} ORDER BY version`);
    return {
      entries: r.rows.map((row) => {
        const id = text(row.version) ?? '';
        return { id, checksum: null, failed: null, label: `version ${id} (${table.name})`, at: null };
      }),
      implied: [],
    };
  },
};
