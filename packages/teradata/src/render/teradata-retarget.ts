import { isSignificant, tokenize } from '../parse/splitter';
import { quoteIdent } from '../parse/teradata-identifiers';

/** Words after which a bare table name is the table itself (`CREATE TABLE t`, `... ON t`, `COMMENT ON COLUMN t.c`). */
const BEFORE_TABLE = new Set(['TABLE', 'ON', 'COLUMN']);

/**
 * `sql` with its references to table `db.name` made to `db.to`: a build aside (#73) runs a table file's CREATE, COMMENT,
 * COLLECT STATISTICS and GRANT statements against the table it builds under another name. A name qualified with `db`
 * is changed wherever it stands; a bare one only right after `TABLE`, `ON` or `COLUMN` (a column of the same name stays
 * as it is). Comments and the rest of the text are kept as written.
 */
export function retarget(sql: string, db: string, name: string, to: string): string {
  const tokens = tokenize(sql, '<statement>');
  const sig = tokens.filter(isSignificant);
  const named = (t: { type: string; value: string } | undefined, v: string) =>
    !!t && (t.type === 'word' || t.type === 'quoted') && t.value === v.toUpperCase();
  const edits: { start: number; end: number }[] = [];
  for (const [i, t] of sig.entries()) {
    if (!named(t, name)) continue;
    const dot = sig[i - 1]?.text === '.';
    if (dot ? named(sig[i - 2], db) && sig[i - 3]?.text !== '.' : BEFORE_TABLE.has(sig[i - 1]?.value ?? ''))
      edits.push({ start: t.start, end: t.end });
  }
  let out = sql;
  for (const e of edits.reverse()) out = out.slice(0, e.start) + quoteIdent(to) + out.slice(e.end);
  return out;
}
