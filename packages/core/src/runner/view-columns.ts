import type { Connection, Engine, ResultField } from '../engine/engine';
import { formatKey, type ObjectKey } from '../model/object-key';

/**
 * Whether a rollback can put a view back by replacing it in place (`CREATE OR REPLACE VIEW` of its old definition)
 * instead of dropping it and creating it again with every object that stands on it: the server accepts a
 * replacement only when the new query returns the columns the view has (same names and types, in the same order;
 * new ones may only be appended). Both sides are asked of the server without running anything (`Connection.describe`:
 * the view as it is, and the old definition's query), so a dry run plans what the real run sends. Within one plan,
 * a view an earlier step puts back has the columns of what put it back, not the live ones.
 */
export class InPlaceViews {
  /** Columns of the views earlier steps of this plan put back (`formatKey`), null when they could not be told. */
  private readonly after = new Map<string, readonly ResultField[] | null>();
  private pathSet = false;

  constructor(
    private readonly conn: Connection,
    private readonly engine: Engine,
    /** The project's search path, under which the rollback runs its statements (and the old queries resolve). */
    private readonly searchPath: readonly string[],
  ) {}

  /**
   * True when `reverse` (statements that replace view `key` by an older definition) can run in place. False when the
   * columns differ, or when either side cannot be told (no `describe`, a statement it cannot read, a query that does
   * not compile here yet): the caller then drops and creates the view again, as before.
   */
  async replaces(key: ObjectKey, reverse: readonly string[]): Promise<boolean> {
    const id = formatKey(key);
    const old = reverse.length === 1 ? viewQuery(reverse[0]!) : null;
    const now = this.after.has(id) ? this.after.get(id)! : await this.live(key);
    const back = old ? await this.columns(old.query, old.names) : null;
    this.after.set(id, back);
    return now !== null && back !== null && sameColumns(now, back);
  }

  /** Undo what the probes set on the session (the search path); the rollback sets its own before it runs. */
  async close(): Promise<void> {
    if (!this.pathSet) return;
    this.pathSet = false;
    for (const sql of this.engine.session.reset()) await this.conn.execute(sql);
  }

  private async live(key: ObjectKey): Promise<readonly ResultField[] | null> {
    const sql = this.engine.smoke?.compileStatement(key);
    return sql ? this.columns(sql, []) : null;
  }

  private async columns(query: string, names: readonly string[]): Promise<ResultField[] | null> {
    if (!this.conn.describe) return null;
    if (!this.pathSet && this.searchPath.length) {
      const path = this.engine.session.searchPath([...this.searchPath]);
      if (path) await this.conn.execute(path);
      this.pathSet = true;
    }
    const d = await this.conn.describe(query);
    if (!d.ok) return null;
    return d.columns.map((c, i) => (i < names.length ? { ...c, name: names[i]! } : c));
  }
}

/** Same names, types and (where the driver reports them on both sides) type modifiers, in the same order. */
export function sameColumns(a: readonly ResultField[], b: readonly ResultField[]): boolean {
  return (
    a.length === b.length &&
    a.every((x, i) => {
      const y = b[i]!;
      const mods = x.typeModifier === undefined || y.typeModifier === undefined || x.typeModifier === y.typeModifier;
      return x.name === y.name && x.typeId === y.typeId && mods;
    })
  );
}

const SPACE = /^(\s+|--[^\n]*(\n|$)|\/\*[\s\S]*?\*\/)+/;
const IDENT = /^("(?:[^"]|"")*"|[A-Za-z_\u0080-\uffff][\w$\u0080-\uffff]*)/;

/**
 * The query of a `CREATE OR REPLACE VIEW name [(columns)] [WITH (options)] AS query [WITH CHECK OPTION]` statement,
 * and the column names it gives (unquoted names in lower case, as the server folds them); null for anything else
 * (a temporary or recursive view, a statement it cannot read).
 */
export function viewQuery(sql: string): { query: string; names: string[] } | null {
  let rest = sql;
  const skip = () => (rest = rest.replace(SPACE, ''));
  const word = (w: string) => {
    skip();
    const m = new RegExp(`^${w}\\b`, 'i').exec(rest);
    if (m) rest = rest.slice(m[0].length);
    return Boolean(m);
  };
  const ident = (): string | null => {
    skip();
    const m = IDENT.exec(rest);
    if (!m) return null;
    rest = rest.slice(m[0].length);
    return m[0].startsWith('"') ? m[0].slice(1, -1).replace(/""/g, '"') : m[0].toLowerCase();
  };
  if (!word('CREATE') || !word('OR') || !word('REPLACE') || !word('VIEW')) return null;
  for (;;) {
    if (ident() === null) return null;
    skip();
    if (!rest.startsWith('.')) break;
    rest = rest.slice(1);
  }
  const names: string[] = [];
  skip();
  if (rest.startsWith('(')) {
    rest = rest.slice(1);
    for (;;) {
      const n = ident();
      if (n === null) return null;
      names.push(n);
      skip();
      if (rest.startsWith(')')) break;
      if (!rest.startsWith(',')) return null;
      rest = rest.slice(1);
    }
    rest = rest.slice(1);
  }
  if (word('WITH')) {
    skip();
    const close = rest.startsWith('(') ? closingParen(rest) : -1;
    if (close < 0) return null;
    rest = rest.slice(close + 1);
  }
  if (!word('AS')) return null;
  const query = rest
    .replace(/(\s|;)+$/, '')
    .replace(/\s+WITH\s+((CASCADED|LOCAL)\s+)?CHECK\s+OPTION$/i, '')
    .trim();
  return query ? { query, names } : null;
}

/** Index of the parenthesis closing the one `text` opens with, skipping quoted strings and names; -1 when none. */
function closingParen(text: string): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) return -1;
      i = end;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return -1;
}
