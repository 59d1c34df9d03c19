import type { Node } from '@pgsql/types';
import { scanSql } from './libpg';

/** The `sval` of a `String` node, if it is one. */
export function stringValue(node: unknown): string | undefined {
  const s = (node as { String?: { sval?: string } } | undefined)?.String;
  return s ? (s.sval ?? '') : undefined;
}

/** The names of a list of `String` nodes (`funcname`, `defnames`, `any_name` lists), skipping anything else. */
export function nameList(nodes: readonly Node[] | undefined): string[] {
  const out: string[] = [];
  for (const n of nodes ?? []) {
    const s = stringValue(n);
    if (s !== undefined) out.push(s);
  }
  return out;
}

/** `[schema, name]` of a possibly qualified name list; a catalog (database) prefix is ignored. */
export function splitQualified(names: readonly string[]): { schema?: string; name: string } {
  const name = names[names.length - 1] ?? '';
  return names.length >= 2 ? { schema: names[names.length - 2], name } : { name };
}

const keywordCache = new Map<string, boolean>();

/** Quote an identifier the way PostgreSQL's `quote_ident` does: only when it is not a plain lower-case name. */
export function quoteIdent(name: string): string {
  if (/^[a-z_][a-z0-9_$]*$/.test(name) && !isNonUnreservedKeyword(name)) return name;
  return `"${name.replace(/"/g, '""')}"`;
}

/** `schema.name`, each part quoted when needed. */
export function quoteQualified(schema: string | undefined, name: string): string {
  return schema ? `${quoteIdent(schema)}.${quoteIdent(name)}` : quoteIdent(name);
}

/** Keywords other than unreserved ones must be quoted to be used as identifiers; asks PostgreSQL's own lexer. */
function isNonUnreservedKeyword(word: string): boolean {
  let result = keywordCache.get(word);
  if (result === undefined) {
    const token = scanSql(word)[0];
    result = (token?.keywordKind ?? 0) > 1;
    keywordCache.set(word, result);
  }
  return result;
}

/**
 * Split the text of a `regclass` literal (`'core.seq'`, `'"My Schema".seq'`) into its names, the way PostgreSQL's
 * `stringToQualifiedNameList` does: unquoted parts are folded to lower case, `""` in quoted parts is a quote.
 * Returns undefined when the text is not a qualified name.
 */
export function parseQualifiedName(text: string): string[] | undefined {
  const names: string[] = [];
  let i = 0;
  const s = text.trim();
  for (;;) {
    let part = '';
    if (s[i] === '"') {
      i++;
      for (;;) {
        if (i >= s.length) return undefined;
        if (s[i] === '"') {
          if (s[i + 1] === '"') {
            part += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        part += s[i++];
      }
    } else {
      const start = i;
      while (i < s.length && s[i] !== '.' && !/\s/.test(s[i]!)) i++;
      part = s.slice(start, i).toLowerCase();
      if (part === '') return undefined;
    }
    names.push(part);
    if (i >= s.length) return names;
    if (s[i] !== '.') return undefined;
    i++;
  }
}
