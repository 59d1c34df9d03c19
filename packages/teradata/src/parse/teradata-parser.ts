import type {
  ObjectKey,
  ObjectKind,
  ParsedStatement,
  ParseOptions,
  Reference,
  ReferenceKind,
  SourceParser,
  StatementAction,
} from '@dbee/core';
import { normalizeName } from './teradata-identifiers';
import { splitStatements, type SplitOptions, type Token } from './splitter';
import { columnList, columnUdt } from './table-columns';
import { checkPasswordLiteral } from '../catalog/authorization';

/**
 * dbee's own Teradata statement classifier. The object kind comes from the statement (`CREATE MULTISET TABLE`,
 * `REPLACE MACRO`, `CREATE JOIN INDEX`...), never from the file name. References to other objects (for ordering)
 * come from a scan of the statement's tokens, so names inside strings and comments are never mistaken for them.
 */

export interface TeradataParseOptions extends ParseOptions, SplitOptions {
  /**
   * Accept an authorization whose PASSWORD is written literally (the test double reads the requests dbee sends, which
   * hold the value). Default false: a source must write `PASSWORD '${VAR}'` (authorization.ts).
   */
  literalSecrets?: boolean;
}

/** What a statement does, before locations and file-level fix-ups. */
export interface StatementClass {
  key: ObjectKey | null;
  action: StatementAction;
  references: Reference[];
  /** The kind in `key` was guessed (GRANT, COMMENT, COLLECT STATISTICS): prefer the kind defined in the same file. */
  kindGuessed?: boolean;
  /** Set by `DATABASE x`: the session's default database from here on. */
  setsDefaultDatabase?: string;
}

/** Parse a file: split, classify, resolve unqualified names to the default database (`searchPath[0]`). */
export function parseTeradata(text: string, file: string, options: TeradataParseOptions): ParsedStatement[] {
  const split = splitStatements(text, file, options);
  let defaultDatabase = options.searchPath[0] ? normalizeName(options.searchPath[0]) : '';
  const out: ParsedStatement[] = [];
  const guessed: { statement: ParsedStatement }[] = [];
  for (const s of split) {
    const c = classifyStatement(s.words, { defaultDatabase, file });
    if (!options.literalSecrets && c.key?.kind === 'authorization') checkPasswordLiteral(s.words, c.key, file);
    if (c.setsDefaultDatabase) defaultDatabase = c.setsDefaultDatabase;
    const statement: ParsedStatement = {
      sql: s.sql,
      location: { file, line: s.line, column: s.column },
      key: c.key,
      action: c.action,
      references: c.references,
      // Every Teradata statement may run in a transaction; a DDL must only be its last statement (see README).
      transactional: true,
    };
    if (c.kindGuessed) guessed.push({ statement });
    out.push(statement);
  }
  // GRANT / COMMENT / COLLECT STATISTICS on an object defined in the same file take that object's key.
  const defined = new Map<string, ObjectKey>();
  for (const s of out) {
    if (s.key && (s.action === 'create' || s.action === 'create-or-replace'))
      defined.set(`${s.key.schema}.${s.key.name}`, s.key);
  }
  for (const { statement } of guessed) {
    const k = statement.key;
    // A name the parser could not read (a `{{placeholder}}` in text not yet expanded, as in extracted files) has no key.
    if (!k) continue;
    const d = defined.get(`${k.schema}.${k.name}`);
    if (d) statement.key = { ...d };
  }
  return out;
}

/** The engine's `SourceParser`. */
export class TeradataParser implements SourceParser {
  constructor(private readonly defaults: SplitOptions = {}) {}
  async parse(text: string, file: string, options: ParseOptions): Promise<ParsedStatement[]> {
    return parseTeradata(text, file, { ...this.defaults, ...options });
  }
}

// ---------------------------------------------------------------------------------------------------------------

interface Ctx {
  defaultDatabase: string;
  file: string;
}

/** A name as written: its parts, upper case, and its first token. */
interface Name {
  parts: string[];
  token: Token;
  /** Index of the first word after the name. */
  next: number;
}

const isWord = (t: Token | undefined, ...values: string[]): boolean =>
  !!t && t.type === 'word' && (values.length === 0 || values.includes(t.value));
const isPunct = (t: Token | undefined, text: string): boolean => !!t && t.type === 'punct' && t.text === text;

/** `name` or `db.name` (or longer): words or quoted identifiers joined by `.`. */
function readName(w: Token[], i: number): Name | null {
  const first = w[i];
  if (!first || (first.type !== 'word' && first.type !== 'quoted')) return null;
  const parts = [first.value];
  let k = i + 1;
  while (isPunct(w[k], '.') && (w[k + 1]?.type === 'word' || w[k + 1]?.type === 'quoted')) {
    parts.push(w[k + 1]!.value);
    k += 2;
  }
  return { parts, token: first, next: k };
}

function resolve(name: Name, ctx: Ctx): { schema: string; name: string } | null {
  if (name.parts.length === 1) return { schema: ctx.defaultDatabase, name: name.parts[0]! };
  if (name.parts.length === 2) return { schema: name.parts[0]!, name: name.parts[1]! };
  return null;
}

/** Object kind words after CREATE / REPLACE / DROP / ALTER / COMMENT ON. */
function readKind(w: Token[], i: number): { kind: ObjectKind; next: number } | null {
  const t = w[i];
  if (!isWord(t)) return null;
  switch (t!.value) {
    case 'TABLE':
      return { kind: 'table', next: i + 1 };
    case 'VIEW':
      return { kind: 'view', next: i + 1 };
    case 'RECURSIVE':
      return isWord(w[i + 1], 'VIEW') ? { kind: 'view', next: i + 2 } : null;
    case 'MACRO':
      return { kind: 'macro', next: i + 1 };
    case 'PROCEDURE':
      return { kind: 'procedure', next: i + 1 };
    case 'FUNCTION':
      // CREATE FUNCTION MAPPING (SQL Data Definition Language, "CREATE FUNCTION MAPPING and REPLACE FUNCTION MAPPING").
      return isWord(w[i + 1], 'MAPPING')
        ? { kind: 'function-mapping', next: i + 2 }
        : { kind: 'function', next: i + 1 };
    case 'AUTHORIZATION':
      return { kind: 'authorization', next: i + 1 };
    case 'SPECIFIC':
      return isWord(w[i + 1], 'FUNCTION') ? { kind: 'function', next: i + 2 } : null;
    case 'JOIN':
      return isWord(w[i + 1], 'INDEX') ? { kind: 'join-index', next: i + 2 } : null;
    case 'HASH':
      return isWord(w[i + 1], 'INDEX') ? { kind: 'hash-index', next: i + 2 } : null;
    case 'INDEX':
      return { kind: 'index', next: i + 1 };
    case 'UNIQUE':
      return isWord(w[i + 1], 'INDEX') ? { kind: 'index', next: i + 2 } : null;
    case 'TRIGGER':
      return { kind: 'trigger', next: i + 1 };
    case 'DATABASE':
      return { kind: 'database', next: i + 1 };
    case 'USER':
      return { kind: 'user', next: i + 1 };
    case 'ROLE':
      return { kind: 'role', next: i + 1 };
    case 'TYPE':
      return { kind: 'type', next: i + 1 };
    case 'PROFILE':
      return { kind: 'profile', next: i + 1 };
    default:
      return null;
  }
}

/** Words that may precede TABLE in CREATE: `CREATE MULTISET GLOBAL TEMPORARY TABLE`. */
const TABLE_MODIFIERS = new Set(['SET', 'MULTISET', 'GLOBAL', 'TEMPORARY', 'VOLATILE', 'TRACE', 'ERROR']);
const NAMESPACE_KINDS = new Set<ObjectKind>(['database', 'user', 'role', 'profile']);

/**
 * Classify one statement (its significant tokens). Unqualified names resolve to `ctx.defaultDatabase`.
 */
export function classifyStatement(w: Token[], ctx: Ctx): StatementClass {
  const head = w[0];
  const none = (action: StatementAction = 'other'): StatementClass => ({
    key: null,
    action,
    references: scanReferences(w, 0, ctx),
  });
  if (!head || head.type !== 'word') return none();
  switch (head.value) {
    case 'CREATE':
    case 'REPLACE':
    case 'CT':
      return classifyCreate(w, ctx);
    case 'ALTER':
    case 'MODIFY':
    case 'DROP':
    case 'RENAME': {
      const action: StatementAction = head.value === 'DROP' ? 'drop' : 'alter';
      const kind = readKind(w, 1);
      if (!kind) return none(action);
      if (kind.kind === 'index') return classifyIndex(w, kind.next, ctx, action, false);
      const name = readName(w, kind.next);
      const key = name && keyFor(kind.kind, name, ctx);
      return { key, action, references: action === 'drop' ? [] : scanReferences(w, name?.next ?? kind.next, ctx, key) };
    }
    case 'COMMENT':
      return classifyComment(w, ctx);
    case 'GRANT':
    case 'REVOKE':
      return classifyGrant(w, ctx);
    case 'COLLECT': {
      const on = findTopLevel(w, 1, 'ON');
      if (on < 0) return none();
      let i = on + 1;
      if (isWord(w[i], 'TEMPORARY')) i++;
      const name = readName(w, i);
      const key = name && keyFor('table', name, ctx);
      // The statement belongs to its table's step (same key), so it needs no reference to it.
      return { key, action: 'other', references: [], kindGuessed: !!key };
    }
    case 'DATABASE': {
      const name = readName(w, 1);
      return {
        key: null,
        action: 'other',
        references: [],
        setsDefaultDatabase: name?.parts.length === 1 ? name.parts[0] : undefined,
      };
    }
    default:
      return none();
  }
}

/**
 * The database every user-defined type lives in: "An optional specification of the containing database for UDT_name,
 * which must always be SYSUDTLIB"; "If omitted, the containing database is SYSUDTLIB" (SQL Data Definition Language,
 * CREATE TYPE, distinct and structured forms). The session's default database never applies to a type.
 */
export const UDT_DATABASE = 'SYSUDTLIB';

function keyFor(kind: ObjectKind, name: Name, ctx: Ctx): ObjectKey | null {
  if (NAMESPACE_KINDS.has(kind)) return { kind, schema: '', name: name.parts[name.parts.length - 1]! };
  if (kind === 'type' && name.parts.length === 1) return { kind, schema: UDT_DATABASE, name: name.parts[0]! };
  const r = resolve(name, ctx);
  return r ? { kind, schema: r.schema, name: r.name } : null;
}

function ref(
  kind: ReferenceKind,
  target: { schema: string; name: string },
  token: Token,
  ctx: Ctx,
  via: string,
): Reference {
  const r: Reference = {
    kind,
    name: target.name,
    via,
    location: { file: ctx.file, line: token.line, column: token.column },
  };
  if (target.schema) r.schema = target.schema;
  return r;
}

function classifyCreate(w: Token[], ctx: Ctx): StatementClass {
  const action: StatementAction = w[0]!.value === 'REPLACE' ? 'create-or-replace' : 'create';
  let i = 1;
  if (w[0]!.value === 'CT') {
    const name = readName(w, 1);
    const key = name && keyFor('table', name, ctx);
    return { key, action, references: scanReferences(w, name?.next ?? 1, ctx, key) };
  }
  while (isWord(w[i]) && TABLE_MODIFIERS.has(w[i]!.value) && !isWord(w[i], 'TABLE')) i++;
  const kind = readKind(w, i);
  if (!kind) return { key: null, action: 'other', references: scanReferences(w, 1, ctx) };
  if (kind.kind === 'index') return classifyIndex(w, kind.next, ctx, action, true);
  const name = readName(w, kind.next);
  if (!name) return { key: null, action, references: [] };
  const key = keyFor(kind.kind, name, ctx);
  const references: Reference[] = [];
  if (kind.kind === 'database' || kind.kind === 'user') {
    // CREATE DATABASE x FROM owner AS PERM = ...
    if (isWord(w[name.next], 'FROM')) {
      const owner = readName(w, name.next + 1);
      if (owner) references.push(ref('schema', { schema: '', name: owner.parts[0]! }, owner.token, ctx, 'owner'));
    }
    return { key, action, references };
  }
  // An authorization references nothing; its password is checked by `parseTeradata` (authorization.ts).
  if (kind.kind === 'authorization') return { key, action, references };
  if (kind.kind === 'function-mapping') return { key, action, references: mappingReferences(w, name.next, ctx) };
  if (kind.kind === 'table') {
    // A column of a user-defined type needs the type first (CREATE TABLE refuses an unknown type).
    for (const item of columnList(w)?.items ?? []) {
      const udt = columnUdt(item);
      if (udt) references.push(ref('type', { schema: UDT_DATABASE, name: udt.name }, udt.token, ctx, 'column type'));
    }
    // CREATE TABLE x AS y WITH [NO] DATA: a copy of y.
    const as = isWord(w[name.next], 'AS') ? name.next : -1;
    if (as > 0 && !isPunct(w[as + 1], '(')) {
      const src = readName(w, as + 1);
      const r = src && resolve(src, ctx);
      if (r) references.push(ref('relation', r, src!.token, ctx, 'copy'));
    }
  }
  if (kind.kind === 'hash-index' || kind.kind === 'trigger') {
    // CREATE HASH INDEX h (cols) ON db.t; CREATE TRIGGER tr AFTER INSERT ON db.t ...
    const on = findTopLevel(w, name.next, 'ON');
    const target = on > 0 ? readName(w, on + 1) : null;
    const r = target && resolve(target, ctx);
    if (r) references.push(ref('relation', r, target!.token, ctx, kind.kind === 'trigger' ? 'trigger' : 'index'));
  }
  references.push(...scanReferences(w, name.next, ctx, key));
  return { key, action, references: dedupe(references) };
}

/**
 * What a function mapping needs first: `FOR [db.]function` (the function or table operator it maps; unqualified, the
 * session's default database, "then SYSLIB, then TD_SYSFNLIB": a reference the planner ignores when no source
 * defines it), `SERVER [db.]server` (a foreign server, made by a DBA) and `EXTERNAL SECURITY [DEFINER | INVOKER]
 * [TRUSTED] [db.]authorization` (SQL Data Definition Language, "CREATE FUNCTION MAPPING and REPLACE FUNCTION
 * MAPPING", syntax elements). The USING clause's parameters name no object dbee orders by.
 */
function mappingReferences(w: Token[], from: number, ctx: Ctx): Reference[] {
  const out: Reference[] = [];
  const take = (at: number, kind: ReferenceKind, via: string) => {
    const name = at > 0 ? readName(w, at) : null;
    const r = name && resolve(name, ctx);
    if (r) out.push(ref(kind, r, name!.token, ctx, via));
  };
  const forAt = findTopLevel(w, from, 'FOR');
  take(forAt > 0 ? forAt + 1 : -1, 'function', 'mapped function');
  const server = findTopLevel(w, from, 'SERVER');
  take(server > 0 ? server + 1 : -1, 'object', 'server');
  const security = findTopLevel(w, from, 'SECURITY');
  if (security > 0 && isWord(w[security - 1], 'EXTERNAL')) {
    let i = security + 1;
    while (isWord(w[i], 'DEFINER', 'INVOKER', 'TRUSTED', 'DEFAULT')) i++;
    take(i, 'object', 'external security');
  }
  return dedupe(out);
}

/** `CREATE [UNIQUE] INDEX [name] [ALL] (cols) ... ON [TEMPORARY] db.t`, also `DROP INDEX`. */
function classifyIndex(w: Token[], i: number, ctx: Ctx, action: StatementAction, withRefs: boolean): StatementClass {
  let indexName: string | undefined;
  if ((w[i]?.type === 'word' || w[i]?.type === 'quoted') && !isWord(w[i], 'ALL', 'ON')) indexName = w[i++]!.value;
  if (isWord(w[i], 'ALL')) i++;
  const cols: string[] = [];
  if (isPunct(w[i], '(')) {
    for (i++; i < w.length && !isPunct(w[i], ')'); i++)
      if (w[i]!.type === 'word' || w[i]!.type === 'quoted') cols.push(w[i]!.value);
    i++;
  }
  const on = findTopLevel(w, i, 'ON');
  let j = on + 1;
  if (isWord(w[j], 'TEMPORARY')) j++;
  const table = on >= 0 ? readName(w, j) : null;
  const r = table && resolve(table, ctx);
  if (!r) return { key: null, action, references: [] };
  const key: ObjectKey = {
    kind: 'index',
    schema: r.schema,
    name: indexName ?? `UNNAMED_${cols.join('_')}`,
    parent: `${r.schema}.${r.name}`,
  };
  return { key, action, references: withRefs ? [ref('relation', r, table!.token, ctx, 'index')] : [] };
}

/** `COMMENT [ON] [kind] name [AS|IS] 'text'`; a column comment belongs to its table or view. */
function classifyComment(w: Token[], ctx: Ctx): StatementClass {
  let i = 1;
  if (isWord(w[i], 'ON')) i++;
  let kind: ObjectKind = 'other';
  let guessed = true;
  let column = false;
  if (isWord(w[i], 'COLUMN')) {
    column = true;
    i++;
  } else {
    const k = readKind(w, i);
    if (k) {
      kind = k.kind;
      guessed = false;
      i = k.next;
    }
  }
  const name = readName(w, i);
  if (!name) return { key: null, action: 'comment', references: [] };
  const parts = column ? name.parts.slice(0, -1) : name.parts;
  if (column) kind = 'table';
  if (parts.length === 0) return { key: null, action: 'comment', references: [] };
  const key = keyFor(kind, { ...name, parts }, ctx);
  return { key, action: 'comment', references: [], kindGuessed: guessed || column };
}

/** `GRANT privileges ON target TO grantee` / `REVOKE ... ON target FROM ...`; `GRANT role TO user`. */
function classifyGrant(w: Token[], ctx: Ctx): StatementClass {
  const on = findTopLevel(w, 1, 'ON');
  if (on < 0) {
    // GRANT role TO user
    const role = readName(w, 1);
    const key: ObjectKey | null =
      role && role.parts.length === 1 && isWord(w[role.next], 'TO')
        ? { kind: 'role', schema: '', name: role.parts[0]! }
        : null;
    return { key, action: 'grant', references: [] };
  }
  let i = on + 1;
  let kind: ObjectKind = 'other';
  if (isWord(w[i], 'DATABASE', 'USER')) {
    const db = readName(w, i + 1);
    return { key: db ? { kind: 'database', schema: '', name: db.parts[0]! } : null, action: 'grant', references: [] };
  }
  const k = readKind(w, i);
  if (k) {
    kind = k.kind;
    i = k.next;
  }
  const name = readName(w, i);
  if (!name) return { key: null, action: 'grant', references: [] };
  if (name.parts.length === 1 && sameName(name.parts[0]!, ctx.defaultDatabase)) {
    return { key: { kind: 'database', schema: '', name: name.parts[0]! }, action: 'grant', references: [] };
  }
  const key = keyFor(kind, name, ctx);
  return { key, action: 'grant', references: [], kindGuessed: kind === 'other' };
}

const sameName = (a: string, b: string): boolean => a.toUpperCase() === b.toUpperCase();

/** Index of the first `word` at parenthesis depth 0 from `from`, or -1. */
function findTopLevel(w: Token[], from: number, word: string): number {
  let depth = 0;
  for (let i = from; i < w.length; i++) {
    const t = w[i]!;
    if (isPunct(t, '(')) depth++;
    else if (isPunct(t, ')')) depth--;
    else if (depth === 0 && isWord(t, word)) return i;
  }
  return -1;
}

function dedupe(refs: Reference[]): Reference[] {
  const seen = new Set<string>();
  return refs.filter((r) => {
    const k = `${r.kind}:${r.schema ?? ''}.${r.name}:${r.foreignKey ? 'fk' : ''}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Words that end a FROM item rather than being its alias. */
const NOT_ALIAS = new Set(
  (
    'WHERE JOIN INNER LEFT RIGHT FULL CROSS ON GROUP ORDER HAVING QUALIFY UNION MINUS EXCEPT INTERSECT SET SAMPLE WITH WHEN ' +
    'THEN ELSE END SELECT SEL FROM USING VALUES INTO NATURAL OUTER TOP AND OR NOT FOR DO UNTIL RETURN RETURNS EXPAND ' +
    'NORMALIZE ALL LOCKING UPDATE DELETE INSERT MERGE'
  ).split(' '),
);
/** Functions whose argument list may contain FROM (`EXTRACT(YEAR FROM d)`): not a table reference. */
const FROM_FUNCTIONS = new Set(['EXTRACT', 'TRIM', 'SUBSTRING', 'OVERLAY', 'POSITION']);

/**
 * References from FROM / JOIN / INTO / UPDATE / DELETE / MERGE ... USING / LOCKING TABLE (relations),
 * EXEC (macros), CALL (procedures), REFERENCES (foreign keys) and qualified calls `db.fn(...)` (functions).
 * CTE names, aliases and `:host` variables are left out; unqualified names resolve to the default database.
 */
export function scanReferences(w: Token[], from: number, ctx: Ctx, self?: ObjectKey | null): Reference[] {
  const found: { kind: ReferenceKind; name: Name; via: string; foreignKey?: boolean }[] = [];
  const aliases = new Set<string>();
  const ctes = new Set<string>();
  const parenFns: (string | null)[] = [];
  const take = (i: number, kind: ReferenceKind, via: string, extra?: { foreignKey?: boolean }): number => {
    if (isPunct(w[i - 1], ':')) return i;
    const name = readName(w, i);
    if (!name) return i;
    found.push({ kind, name, via, ...extra });
    return name.next;
  };
  /** Skip `[AS] alias` after a FROM item, remembering the alias. */
  const skipAlias = (i: number): number => {
    if (isWord(w[i], 'AS') && (w[i + 1]?.type === 'word' || w[i + 1]?.type === 'quoted')) {
      aliases.add(w[i + 1]!.value);
      return i + 2;
    }
    if ((w[i]?.type === 'word' && !NOT_ALIAS.has(w[i]!.value)) || w[i]?.type === 'quoted') {
      aliases.add(w[i]!.value);
      return i + 1;
    }
    return i;
  };

  for (let i = from; i < w.length; i++) {
    const t = w[i]!;
    if (isPunct(t, '(')) {
      const before = w[i - 1];
      parenFns.push(before?.type === 'word' ? before.value : null);
      continue;
    }
    if (isPunct(t, ')')) {
      parenFns.pop();
      continue;
    }
    if (t.type !== 'word') continue;
    const next = w[i + 1];
    switch (t.value) {
      case 'WITH': {
        // WITH [RECURSIVE] name [(cols)] AS ( ... ) [, name AS (...)]
        let j = i + 1;
        if (isWord(w[j], 'RECURSIVE')) j++;
        if ((w[j]?.type === 'word' || w[j]?.type === 'quoted') && (isWord(w[j + 1], 'AS') || isPunct(w[j + 1], '(')))
          ctes.add(w[j]!.value);
        break;
      }
      case 'FROM': {
        const fn = parenFns[parenFns.length - 1];
        if (fn && FROM_FUNCTIONS.has(fn)) break;
        let j = i + 1;
        for (;;) {
          if (isPunct(w[j], '(') || isWord(w[j], 'TABLE')) break;
          const after = take(j, 'relation', 'from');
          if (after === j) break;
          j = skipAlias(after);
          if (!isPunct(w[j], ',')) break;
          j++;
        }
        i = j - 1;
        break;
      }
      case 'JOIN': {
        if (isPunct(next, '(')) break;
        i = skipAlias(take(i + 1, 'relation', 'join')) - 1;
        break;
      }
      case 'INTO':
        i = take(i + 1, 'relation', 'into') - 1;
        break;
      case 'INSERT':
      case 'INS':
        // MERGE ... WHEN NOT MATCHED THEN INSERT [(cols)] VALUES: no table named.
        if (!isWord(next, 'INTO', 'ON', 'VALUES') && !isPunct(next, '(') && !isPunct(next, ','))
          i = take(i + 1, 'relation', 'into') - 1;
        break;
      case 'UPDATE':
      case 'UPD':
      case 'DELETE':
      case 'DEL':
        if (next && !isWord(next, 'FROM', 'ON', 'OF', 'SET', 'ALL') && !isPunct(next, ',') && !isPunct(next, ')')) {
          i = take(i + 1, 'relation', t.value.startsWith('UPD') ? 'update' : 'delete') - 1;
        }
        break;
      case 'USING':
        // MERGE INTO t USING s: only directly after a MERGE target.
        if (w.some((x) => isWord(x, 'MERGE')) && !isPunct(next, '('))
          i = skipAlias(take(i + 1, 'relation', 'using')) - 1;
        break;
      case 'LOCKING':
      case 'LOCK':
        if (isWord(next, 'TABLE', 'VIEW')) i = take(i + 2, 'relation', 'locking') - 1;
        break;
      case 'EXEC':
      case 'EXECUTE':
        if (!isWord(next, 'IMMEDIATE', 'PROCEDURE', 'FUNCTION', 'ON')) i = take(i + 1, 'object', 'exec') - 1;
        break;
      case 'CALL':
        i = take(i + 1, 'object', 'call') - 1;
        break;
      case 'REFERENCES': {
        let j = i + 1;
        if (isWord(w[j], 'WITH')) {
          j++;
          if (isWord(w[j], 'NO')) j++;
          if (isWord(w[j], 'CHECK')) j++;
          if (isWord(w[j], 'OPTION')) j++;
        }
        i = take(j, 'relation', 'foreign key', { foreignKey: true }) - 1;
        break;
      }
      default: {
        // db.fn( ... ): a call of a user-defined function in another database.
        if (
          isPunct(next, '.') &&
          !isPunct(w[i - 1], '.') &&
          (w[i + 2]?.type === 'word' || w[i + 2]?.type === 'quoted') &&
          isPunct(w[i + 3], '(')
        ) {
          found.push({
            kind: 'function',
            name: { parts: [t.value, w[i + 2]!.value], token: t, next: i + 3 },
            via: 'function call',
          });
          i += 2;
        }
      }
    }
  }
  // `t.col (FORMAT 'YYYY')` is Teradata's attribute syntax, not a call: drop "functions" qualified by a table name
  // or alias used in this statement.
  const qualifiers = new Set([...aliases, ...ctes]);
  for (const f of found) if (f.kind === 'relation') qualifiers.add(f.name.parts[f.name.parts.length - 1]!);
  const refs: Reference[] = [];
  for (const f of found) {
    if (f.name.parts.length === 1 && (ctes.has(f.name.parts[0]!) || aliases.has(f.name.parts[0]!))) continue;
    if (f.kind === 'function' && qualifiers.has(f.name.parts[0]!)) continue;
    const r = resolve(f.name, ctx);
    if (!r) continue;
    if (self && self.schema === r.schema && self.name === r.name) continue;
    const reference = ref(f.kind, r, f.name.token, ctx, f.via);
    if (f.foreignKey) reference.foreignKey = true;
    refs.push(reference);
  }
  return dedupe(refs);
}
