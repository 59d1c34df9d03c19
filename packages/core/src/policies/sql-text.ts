/**
 * SQL text as the statement rules read it: string literals, quoted identifiers' contents, dollar-quoted bodies and
 * comments blanked out (same length, so offsets still point into the original), so that a word found is a word of the
 * statement itself and not of a string or a comment.
 */
export function codeOnly(sql: string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end < 0 ? sql.length : end;
      out += ' '.repeat(stop - i);
      i = stop;
    } else if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      const stop = end < 0 ? sql.length : end + 2;
      out += blank(sql.slice(i, stop));
      i = stop;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < sql.length) {
        if (sql[j] === c && sql[j + 1] === c) j += 2;
        else if (sql[j] === c) break;
        else j++;
      }
      // A quoted identifier keeps its quotes (it is a name), a string becomes ''.
      out += c + blank(sql.slice(i + 1, j)) + (j < sql.length ? c : '');
      i = j + 1;
    } else if (c === '$') {
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i))?.[0];
      if (!tag) {
        out += c;
        i++;
        continue;
      }
      const end = sql.indexOf(tag, i + tag.length);
      const stop = end < 0 ? sql.length : end + tag.length;
      out += blank(sql.slice(i, stop));
      i = stop;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

function blank(s: string): string {
  return s.replace(/[^\n]/g, ' ');
}

/** The line (1-based, relative to the statement) of an offset in its text. */
export function lineOf(sql: string, offset: number): number {
  return sql.slice(0, offset).split('\n').length;
}

/** Whether a name needs quoting in SQL: anything but lower-case letters, digits, `_` and `$` (not first). */
export function needsQuotes(name: string): boolean {
  return !/^[a-z_][a-z0-9_$]*$/.test(name);
}
