import { DbeeAggregateError, DbeeError } from '../errors';
import { byVersion } from './files';
import type { History, HistoryEntry, ImportedFolder, ImportedMigration, Importer } from './imported';

/** A migration of the folder that the history says ran, and why (printed, and kept in the adoption's output). */
export interface AppliedMigration {
  migration: ImportedMigration;
  evidence: string;
}

/**
 * The folder's migrations that the history says were applied, each checked: refused (all problems together, nothing
 * written) when an entry failed or is dirty, names a migration the folder does not hold, or has a checksum that does
 * not match the file's.
 */
export function appliedMigrations(
  importer: Importer,
  folder: ImportedFolder,
  history: History,
  table: string,
): AppliedMigration[] {
  const byId = new Map(folder.migrations.map((m) => [m.id, m]));
  const problems: DbeeError[] = [];
  const out = new Map<string, AppliedMigration>();
  for (const e of history.entries) {
    if (e.failed) {
      problems.push(
        new DbeeError(`${importer.tool}'s history on this environment has a failed entry: ${e.label}, ${e.failed}`, {
          code: 'IMPORT_FAILED_ENTRY',
          hint: `${importer.repair}; then import again (nothing was recorded)`,
          details: { table, entry: e.label },
        }),
      );
      continue;
    }
    const m = byId.get(e.id);
    if (!m) {
      problems.push(
        new DbeeError(`${e.label} was applied on this environment, but the folder holds no such migration`, {
          code: 'IMPORT_UNKNOWN_MIGRATION',
          hint: `import the folder that migrated this database (restore the migration's file from git), or remove the entry from ${table} if the migration was reverted by hand; nothing was recorded`,
          details: { table, entry: e.label },
        }),
      );
      continue;
    }
    let evidence = `applied by ${importer.tool}${e.at ? ` at ${e.at}` : ''}`;
    const expected = expectedChecksum(importer, e, m);
    if (typeof expected === 'string') {
      if (![expected, ...(m.alsoAccepted ?? [])].includes(e.checksum!)) {
        problems.push(
          new DbeeError(`${e.label}: its file ${m.file} changed since ${importer.tool} applied it`, {
            code: 'IMPORT_CHECKSUM_MISMATCH',
            location: { file: m.file, line: m.line ?? 1 },
            hint: `the history's checksum is ${e.checksum}, the file's ${expected}: restore the applied text from git (or, if the change is intended and already in the database, repair the tool's history first); nothing was recorded`,
            details: { table, entry: e.label },
          }),
        );
        continue;
      }
      evidence += ', checksum verified';
    } else evidence += `, checksum not verified (${expected.why})`;
    out.set(m.id, { migration: m, evidence });
  }
  for (const i of history.implied) {
    const below = i.id.startsWith('<=') ? i.id.slice(2) : null;
    const ms = below
      ? folder.migrations.filter((m) => byVersion(m, { version: below }) <= 0)
      : [byId.get(i.id)].filter((m) => m !== undefined);
    for (const m of ms)
      if (!out.has(m.id))
        out.set(m.id, { migration: m, evidence: `applied before ${i.through}, checksum not verified` });
  }
  if (problems.length === 1) throw problems[0]!;
  if (problems.length > 1)
    throw new DbeeAggregateError(`${problems.length} problems in ${importer.tool}'s history (${table})`, problems);
  return [...out.values()].sort((a, b) => byVersion(a.migration, b.migration));
}

/**
 * The file's checksum to compare with a history entry's: of the entry's algorithm (`m.earlier` when the entry's
 * checksum starts with one of its versions), or why there is none to compare.
 */
function expectedChecksum(importer: Importer, e: HistoryEntry, m: ImportedMigration): string | { why: string } {
  if (e.unverifiable) return { why: e.unverifiable };
  if (e.checksum === null)
    return {
      why: m.unverifiable ?? (m.checksum === undefined ? `${importer.tool} keeps none` : 'none in the history'),
    };
  const colon = e.checksum.indexOf(':');
  const earlier = colon > 0 ? m.earlier?.[e.checksum.slice(0, colon)] : undefined;
  if (earlier !== undefined) return earlier;
  if (m.checksum === undefined) return { why: m.unverifiable ?? `${importer.tool} keeps none` };
  return m.checksum;
}
