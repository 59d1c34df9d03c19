import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DbeeError } from '../errors';
import { sha256Hex } from './checksums';
import { duplicateVersions, invalid, readText, requireFolder, slug, throwAll } from './files';
import { sqlName, text } from './history';
import type { ImportedMigration, Importer } from './imported';

interface JournalEntry {
  idx: number;
  when: number;
  tag: string;
}

/**
 * Drizzle Kit: `<tag>.sql` files listed in `meta/_journal.json` (`idx`, `when`, `tag`), statements separated by
 * `--> statement-breakpoint` (a comment to dbee). dbee's version is the journal's `idx + 1`. History:
 * `drizzle.__drizzle_migrations(id, hash, created_at)`: `hash` is the SHA-256 of the file, `created_at` the journal's
 * `when`; Drizzle runs every entry newer than the last row, so every entry up to it counts as applied.
 */
export const drizzle: Importer = {
  tool: 'drizzle',
  table: 'drizzle.__drizzle_migrations',
  repair: 'Drizzle keeps no failed entries',
  read(folder, display) {
    requireFolder(folder, display, 'Drizzle migrations (the folder of meta/_journal.json)');
    const problems: DbeeError[] = [];
    const journalFile = join(folder, 'meta', '_journal.json');
    if (!existsSync(journalFile))
      throw invalid(
        `${display}/meta/_journal.json`,
        undefined,
        'no meta/_journal.json',
        "name Drizzle Kit's `out` folder",
      );
    const journalText = readText(journalFile);
    let entries: JournalEntry[];
    try {
      const doc = JSON.parse(journalText) as { entries?: JournalEntry[] };
      if (!Array.isArray(doc.entries)) throw new Error('no "entries" array');
      entries = doc.entries;
    } catch (e) {
      throw invalid(
        `${display}/meta/_journal.json`,
        1,
        `meta/_journal.json is not Drizzle's journal: ${(e as Error).message}`,
        'name the folder Drizzle Kit writes (its `out`), unedited',
      );
    }
    const found: ImportedMigration[] = [];
    for (const [i, entry] of entries.entries()) {
      const line = journalText.split('\n').findIndex((l) => l.includes(`"${entry.tag}"`)) + 1 || 1;
      if (typeof entry.tag !== 'string' || typeof entry.when !== 'number' || typeof entry.idx !== 'number') {
        problems.push(
          invalid(
            `${display}/meta/_journal.json`,
            line,
            `entry ${i} lacks idx, when or tag`,
            'restore the journal Drizzle Kit wrote',
          ),
        );
        continue;
      }
      const file = `${entry.tag}.sql`;
      if (!existsSync(join(folder, file))) {
        problems.push(
          invalid(
            `${display}/meta/_journal.json`,
            line,
            `the journal lists ${file}, which is not in the folder`,
            'restore the file (or the journal Drizzle Kit wrote)',
          ),
        );
        continue;
      }
      const raw = readText(join(folder, file));
      found.push({
        version: String(entry.idx + 1),
        name: slug(entry.tag),
        up: raw,
        down: null,
        file,
        id: String(entry.when),
        checksum: sha256Hex(raw),
      });
    }
    const migrations = duplicateVersions(found, display, problems);
    throwAll(problems, display);
    return { migrations, repeatables: [], smoke: [], variables: {}, skipped: [] };
  },
  async history(conn, table, folder) {
    const r = await conn.query<Record<string, unknown>>(
      `SELECT id, hash, created_at FROM ${sqlName(table)} ORDER BY created_at`,
    );
    const entries = r.rows.map((row) => {
      const id = text(row.created_at) ?? '';
      return {
        id,
        checksum: text(row.hash),
        failed: null,
        label: `created_at ${id} (${table.name} id ${text(row.id)})`,
        at: null,
      };
    });
    const last = Math.max(0, ...entries.map((e) => Number(e.id)));
    const named = new Set(entries.map((e) => e.id));
    const implied = folder.migrations
      .filter((m) => Number(m.id) <= last && !named.has(m.id))
      .map((m) => ({ id: m.id, through: `the last row of ${table.name} (created_at ${last})` }));
    return { entries, implied };
  },
};
