import { createHash } from 'node:crypto';

/** One change of a change set, as Liquibase's checksum reads it. */
export interface ChecksumChange {
  /** The change type (`sql`, `sqlFile`, `createTable`, …). */
  type: string;
  /** A `sql` change's text, its properties expanded; an `sqlFile`'s file as text. Null when the file is missing. */
  text: string | null;
  /** An `sqlFile`'s text with its properties expanded, where that differs from `text`. */
  expanded?: string;
  /** An `sqlFile`'s bytes as they are on disk (null when missing); unset for other changes. */
  bytes?: Buffer | null;
  /** Whether its `dbms` selects PostgreSQL (true without one). */
  forPostgres: boolean;
  /** Its attributes (`splitStatements`, `stripComments`, `endDelimiter`, `path`). */
  attrs: Record<string, string>;
}

/** A checksum recomputed from the files, or why it cannot be. */
export type Recomputed = string | { why: string };

/**
 * A change set's checksums as Liquibase writes them in `databasechangelog.md5sum`: version 9 (Liquibase 4.22 and later)
 * and version 8 (Liquibase 3.x to 4.21), each only where every change it covers is SQL (`sql`, `sqlFile`, formatted
 * SQL): Liquibase computes another change type's checksum from its own serialisation of the change. `formatted` says
 * the change set is formatted SQL, whose `stripComments` defaults to true.
 */
export function liquibaseChecksums(
  changes: ChecksumChange[],
  formatted: boolean,
): { v9: Recomputed; v8: Recomputed; also: string[] } {
  const v9 = version9(changes, false);
  // Liquibase 4.22 to 4.25 expanded the properties of an sqlFile's text for its version-9 checksum; later ones accept
  // such a checksum as valid (`ValidatingVisitorUtil.validateSqlFileChangeAndExpandExpressions`).
  const expanded = changes.some((c) => c.expanded !== undefined) ? version9(changes, true) : v9;
  return {
    v9,
    v8: version8(changes, formatted),
    also: typeof expanded === 'string' && expanded !== v9 ? [expanded] : [],
  };
}

/**
 * Version 9 (liquibase-standard `ChangeSet.generateCheckSum`, `AbstractSQLChange.generateCheckSum` and its
 * `NormalizingStream`, `SQLFileChange.generateCheckSum`, `CheckSum.compute`): for each change for this dbms,
 * `9:` + MD5 (hex) of its SQL without spaces, tabs and line breaks (a `sql`'s text with its properties expanded, an
 * `sqlFile`'s file as it is, or `expanded` too), each followed by `:`, and the MD5 of that string prefixed by `9:`.
 */
function version9(changes: ChecksumChange[], expanded: boolean): Recomputed {
  let s = '';
  for (const c of changes) {
    if (!c.forPostgres) continue;
    const why = notSql(c);
    if (why) return { why };
    s += `9:${md5(((expanded ? c.expanded : undefined) ?? c.text!).replace(/[ \t\r\n]/g, ''))}:`;
  }
  return `9:${md5(s)}`;
}

/**
 * Version 8 (Liquibase 4.21 `AbstractSQLChange.generateCheckSum` and its `NormalizingStream`, `ChangeSet.
 * generateCheckSum`): every change counts, whatever its `dbms`; each is `8:` + MD5 of a header
 * `<endDelimiter>:<splitStatements>:<stripComments>:` (`null:true:false:` by default) followed by its SQL with leading
 * and trailing white space dropped and each run of it (spaces, tabs, line breaks) made one space; then as version 9.
 * An `sqlFile`'s bytes are read as they are (no properties expanded); a `sql`'s text is encoded with Liquibase's
 * `outputFileEncoding`, UTF-8 unless set, so a text beyond ASCII is not verified.
 */
function version8(changes: ChecksumChange[], formatted: boolean): Recomputed {
  let s = '';
  for (const c of changes) {
    const why = notSql(c);
    if (why) return { why: c.forPostgres ? why : `${why} (version 8 counts changes for every dbms)` };
    if (c.type === 'sql' && /[^\x00-\x7f]/.test(c.text!))
      return {
        why: "its SQL is not ASCII: a version-8 checksum hashes it in Liquibase's outputFileEncoding, a setting dbee cannot read",
      };
    const a = c.attrs;
    const header = `${a.endDelimiter ?? 'null'}:${flag(a.splitStatements, true)}:${flag(a.stripComments, formatted)}:`;
    const body = c.type === 'sqlFile' ? c.bytes! : Buffer.from(c.text!, 'utf8');
    s += `8:${createHash('md5').update(header).update(collapse(body)).digest('hex')}:`;
  }
  return `8:${md5(s)}`;
}

/** Why a change's checksum cannot be recomputed (not SQL, or its file missing), or null. */
function notSql(c: ChecksumChange): string | null {
  if (c.type !== 'sql' && c.type !== 'sqlFile')
    return `Liquibase computes a ${c.type} change's checksum from its own serialisation of the change`;
  if (c.text === null || (c.type === 'sqlFile' && !c.bytes)) return `its sqlFile ${c.attrs.path ?? ''} is missing`;
  return null;
}

/** Java's `Boolean.parseBoolean` of a setting, or its default when unset. */
function flag(value: string | undefined, otherwise: boolean): boolean {
  return value === undefined ? otherwise : value.toLowerCase() === 'true';
}

const WHITE = new Set([0x20, 0x09, 0x0a, 0x0d]);

/** Bytes with leading and trailing white space dropped and each run of it made one space (`NormalizingStream`). */
function collapse(bytes: Buffer): Buffer {
  const out: number[] = [];
  let pending = false;
  for (const b of bytes) {
    if (WHITE.has(b)) {
      pending = out.length > 0;
      continue;
    }
    if (pending) out.push(0x20);
    pending = false;
    out.push(b);
  }
  return Buffer.from(out);
}

function md5(s: string): string {
  return createHash('md5').update(s.normalize('NFC'), 'utf8').digest('hex');
}
