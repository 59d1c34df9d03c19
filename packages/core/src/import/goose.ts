import { join } from 'node:path';
import type { DbeeError } from '../errors';
import { canonicalVersion } from '../sources/discover';
import { byVersion, duplicateVersions, filesUnder, invalid, readText, requireFolder, slug, throwAll } from './files';
import { sqlName, text } from './history';
import type { ImportedMigration, Importer } from './imported';

const FILE = /^(\d+)_(.+)\.(sql|go)$/;
const ANNOTATION = /^--\s*\+goose\s+(.*?)\s*$/i;

/**
 * goose: `<version>_<name>.sql` with `-- +goose Up` / `-- +goose Down` sections, `StatementBegin`/`StatementEnd`
 * around statements holding semicolons (dbee's parser needs no marks: they are dropped), and `-- +goose NO
 * TRANSACTION` (noted in the file: dbee runs a statement that cannot run in a transaction outside one by itself).
 * Go migrations cannot be converted and are refused. History: `goose_db_version`, one row per up or down.
 */
export const goose: Importer = {
  tool: 'goose',
  table: 'goose_db_version',
  repair: 'goose keeps no failed entries; a version goose marked not applied is not recorded',
  read(folder, display) {
    requireFolder(folder, display, 'goose migrations (00001_create_users.sql, ...)');
    const problems: DbeeError[] = [];
    const found: ImportedMigration[] = [];
    const skipped: string[] = [];
    for (const file of filesUnder(folder)) {
      const m = file.includes('/') ? null : FILE.exec(file);
      if (!m) {
        skipped.push(`${file} (not a goose migration)`);
        continue;
      }
      if (m[3] === 'go') {
        problems.push(
          invalid(
            `${display}/${file}`,
            1,
            `${file} is a Go migration, which dbee cannot convert`,
            'write what it does as a SQL migration of the same version (goose runs either), then import again',
          ),
        );
        continue;
      }
      const parsed = gooseSections(readText(join(folder, file)), `${display}/${file}`, problems);
      if (!parsed) continue;
      const version = canonicalVersion(m[1]!);
      found.push({
        version,
        name: slug(m[2]!),
        up: parsed.up,
        down: parsed.down,
        file,
        id: version,
        ...(parsed.noTransaction
          ? { notes: ['goose ran this migration outside a transaction (-- +goose NO TRANSACTION)'] }
          : {}),
      });
    }
    const migrations = duplicateVersions(found.sort(byVersion), display, problems);
    throwAll(problems, display);
    return { migrations, repeatables: [], smoke: [], variables: {}, skipped };
  },
  async history(conn, table) {
    const r = await conn.query<Record<string, unknown>>(
      `SELECT id, version_id, is_applied, tstamp FROM ${sqlName(table)} ORDER BY id`,
    );
    const latest = new Map<string, { applied: boolean; id: string; at: string | null }>();
    for (const row of r.rows) {
      const version = canonicalVersion(text(row.version_id) ?? '0');
      if (version === '0') continue;
      const applied = row.is_applied === true || row.is_applied === 't' || row.is_applied === 1;
      latest.set(version, { applied, id: text(row.id) ?? '', at: text(row.tstamp) });
    }
    return {
      entries: [...latest]
        .filter(([, v]) => v.applied)
        .map(([version, v]) => ({
          id: version,
          checksum: null,
          failed: null,
          label: `version ${version} (${table.name} id ${v.id})`,
          at: v.at,
        })),
      implied: [],
    };
  },
};

/** The Up and Down sections of a goose file, the annotations removed; null (and a problem) when it has no Up. */
export function gooseSections(
  raw: string,
  shown: string,
  problems: DbeeError[],
): { up: string; down: string | null; noTransaction: boolean } | null {
  const up: string[] = [];
  const down: string[] = [];
  let section: 'none' | 'up' | 'down' = 'none';
  let sawDown = false;
  let noTransaction = false;
  let open = 0;
  const lines = raw.split(/\r?\n/);
  for (const [i, line] of lines.entries()) {
    const a = ANNOTATION.exec(line);
    if (a) {
      const what = a[1]!.toLowerCase();
      if (what === 'up') section = 'up';
      else if (what === 'down') {
        section = 'down';
        sawDown = true;
      } else if (what === 'statementbegin') open = i + 1;
      else if (what === 'statementend') open = 0;
      else if (what === 'no transaction') noTransaction = true;
      else {
        problems.push(
          invalid(
            shown,
            i + 1,
            `-- +goose ${a[1]} is not an annotation the import knows (Up, Down, StatementBegin, StatementEnd, NO TRANSACTION)`,
            'goose ENVSUB and other annotations have no dbee equivalent: remove it (write the values, or dbee {{variables}}) and import again',
          ),
        );
      }
      continue;
    }
    if (section === 'up') up.push(line);
    else if (section === 'down') down.push(line);
    else if (line.trim() && !line.trim().startsWith('--')) {
      problems.push(
        invalid(shown, i + 1, 'a statement before -- +goose Up', 'goose itself refuses it: put it under -- +goose Up'),
      );
      return null;
    }
  }
  if (open)
    problems.push(
      invalid(shown, open, '-- +goose StatementBegin without its StatementEnd', 'close it, as goose requires'),
    );
  if (section === 'none') {
    problems.push(
      invalid(shown, 1, 'no -- +goose Up annotation', 'goose needs one to run the file: add it above the migration'),
    );
    return null;
  }
  const trim = (ls: string[]) =>
    `${ls
      .join('\n')
      .replace(/^\s*\n/, '')
      .trimEnd()}\n`;
  return { up: trim(up), down: sawDown && down.some((l) => l.trim()) ? trim(down) : null, noTransaction };
}
