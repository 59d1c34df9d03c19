import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DbeeError } from '../errors';
import { sha256Hex } from './checksums';
import { duplicateVersions, invalid, readText, requireFolder, slug, throwAll } from './files';
import { sqlName, text } from './history';
import type { ImportedMigration, Importer } from './imported';

const DIR = /^(\d+)_(.+)$/;

/**
 * Prisma Migrate: `prisma/migrations/<timestamp>_<name>/migration.sql`, no down migrations; dbee's version is the
 * folder's place in name order, the order Prisma runs them in. History:
 * `_prisma_migrations`, one row per attempt; the checksum is the SHA-256 (hex) of migration.sql.
 */
export const prisma: Importer = {
  tool: 'prisma',
  table: '_prisma_migrations',
  repair:
    'run `prisma migrate resolve --rolled-back <name>` (or `--applied <name>` once you finished it by hand) so that no attempt is left unfinished',
  read(folder, display) {
    requireFolder(folder, display, 'Prisma migrations (prisma/migrations/<timestamp>_<name>/migration.sql)');
    const problems: DbeeError[] = [];
    const found: ImportedMigration[] = [];
    const skipped: string[] = [];
    for (const e of readdirSync(folder, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    )) {
      if (!e.isDirectory()) {
        if (e.name !== 'migration_lock.toml' && !e.name.startsWith('.')) skipped.push(`${e.name} (not a migration)`);
        continue;
      }
      const m = DIR.exec(e.name);
      const sql = join(folder, e.name, 'migration.sql');
      if (!m || !existsSync(sql)) {
        problems.push(
          invalid(
            `${display}/${e.name}`,
            undefined,
            m ? `${e.name} has no migration.sql` : `${e.name} is not a Prisma migration folder (<timestamp>_<name>)`,
            'the folder to import is prisma/migrations; every folder in it is one migration with its migration.sql',
          ),
        );
        continue;
      }
      const raw = readText(sql);
      const lf = raw.replace(/\r\n/g, '\n');
      found.push({
        // Prisma runs the folders in the order of their names, whatever their prefix (`01_init`, `20240101…_init`).
        version: String(found.length + 1),
        name: slug(m[2]!),
        up: raw,
        down: null,
        file: `${e.name}/migration.sql`,
        id: e.name,
        checksum: sha256Hex(raw),
        ...(lf !== raw ? { alsoAccepted: [sha256Hex(lf)] } : {}),
      });
    }
    const migrations = duplicateVersions(found, display, problems);
    throwAll(problems, display);
    return { migrations, repeatables: [], smoke: [], variables: {}, skipped };
  },
  async history(conn, table) {
    const r = await conn.query<Record<string, unknown>>(
      `SELECT migration_name, checksum, finished_at, rolled_back_at, started_at FROM ${sqlName(table)} ORDER BY started_at`,
    );
    const entries = new Map<
      string,
      { id: string; checksum: string | null; failed: string | null; label: string; at: string | null }
    >();
    for (const row of r.rows) {
      const id = text(row.migration_name) ?? '';
      if (row.rolled_back_at !== null && row.rolled_back_at !== undefined) {
        if (entries.get(id)?.failed) entries.delete(id);
        continue;
      }
      const done = row.finished_at !== null && row.finished_at !== undefined;
      if (entries.get(id) && !done) continue;
      entries.set(id, {
        id,
        checksum: text(row.checksum),
        failed: done ? null : 'started, never finished (finished_at is null)',
        label: `${id} (${table.name})`,
        at: text(row.finished_at),
      });
    }
    return { entries: [...entries.values()], implied: [] };
  },
};
