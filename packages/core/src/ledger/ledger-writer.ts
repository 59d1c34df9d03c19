import { createHash } from 'node:crypto';
import { rawConnection } from '../engine/session-pool';
import type { Connection } from '../engine/engine';
import { namedStatements, shapes } from './memory';
import type { LedgerWrite } from './types';

import { LedgerBase } from './ledger-base';
/**
 * The request batching every store writes through: ledger writes inlined into a statement's text, chained, named
 * once per session (`inlineNamed`), and sent together (`runTogether`).
 */
export class LedgerWriter extends LedgerBase {
  /** Run writes in order on `conn`, one round trip each. */
  async run(writes: readonly LedgerWrite[], conn: Connection = this.conn): Promise<void> {
    for (const w of writes) await conn.query(w.sql, w.params);
  }

  /**
   * Run writes in order on `conn` in one round trip where the dialect writes literals and the connection batches
   * (chained as `inlineAll` chains them: each sees the ledger as it was before it, as one after the other would), else
   * one round trip each (`run`). Inside the caller's transaction, if one is open; without one, each request of more
   * than `WRITES_PER_REQUEST` writes is a transaction of its own.
   */
  async runTogether(writes: readonly LedgerWrite[], conn: Connection = this.conn): Promise<void> {
    if (writes.length < 2 || !this.inlines || !conn.executeBatch) return this.run(writes, conn);
    // Many writes (a project's whole state synced or replaced) go in requests of WRITES_PER_REQUEST.
    for (let i = 0; i < writes.length; i += WRITES_PER_REQUEST) {
      const r = await conn.executeBatch(this.inlineAll(writes.slice(i, i + WRITES_PER_REQUEST)));
      if (r.error) throw r.error;
    }
  }

  /**
   * How a deployment's commits stop waiting for the disk until its closing row (`LedgerInlining.asyncSession`): only
   * on a connection that batches (a server; an embedded database has no WAL writer).
   */
  get asyncSession(): { start: string; end: string } | null {
    const s = this.dialect.inline?.asyncSession;
    return s && this.conn.executeBatch ? s : null;
  }

  /** Whether writes can be sent as SQL text in one request with a step's statements (`LedgerDialect.inline`). */
  get inlines(): boolean {
    return this.dialect.inline !== undefined;
  }

  /** A write as one SQL statement with its parameters written as literals (needs `LedgerDialect.inline`). */
  inline(write: LedgerWrite): string {
    const inline = this.dialect.inline;
    if (!inline) throw new Error(`the ${this.dialect.schema} ledger dialect writes no literals`);
    if (!write.params.length) return write.sql;
    const { pattern, byMarker } = this.markers(write.params.length);
    pattern.lastIndex = 0;
    return write.sql.replace(pattern, (m) => {
      const value = write.params[byMarker.get(m)!];
      return inline.literal(value instanceof Date ? value.toISOString() : value);
    });
  }

  /**
   * Writes as few statements as the dialect allows, in order: consecutive writes to different tables are chained
   * into one (`LedgerInlining.chain`); a write to a table the current chain already writes starts the next one.
   * Chained writes all see the ledger as it was before them, which is what they would see one after the other: the
   * only write that reads the ledger (a step row's previous checksum, read from `objects` when not given) comes
   * before the object's own row. Without `chain`, one statement per write.
   */
  inlineAll(writes: readonly LedgerWrite[]): string[] {
    const chain = this.dialect.inline?.chain;
    if (!chain) return writes.map((w) => this.inline(w));
    return this.chains(writes).map((c) => (c.length === 1 ? this.inline(c[0]!) : chain(c.map((w) => this.inline(w)))));
  }

  /** Writes grouped as `inlineAll` chains them: a write to a table the current group already writes starts the next. */
  chains(writes: readonly LedgerWrite[]): LedgerWrite[][] {
    const out: LedgerWrite[][] = [];
    let current: LedgerWrite[] = [];
    for (const w of writes) {
      if (current.some((c) => c.table === w.table)) {
        out.push(current);
        current = [];
      }
      current.push(w);
    }
    if (current.length) out.push(current);
    return out;
  }

  /**
   * `inlineAll`, each statement run as a statement the session keeps by name (`LedgerInlining.named`): the same
   * statements with their values as arguments, so that the server parses and plans each shape once per session. A
   * shape the session does not have yet is defined first, on `conn`, in one round trip of its own (outside the
   * request the statements go in: a definition outlives a rolled-back transaction, and a request that fails before
   * it would leave it undefined). Plain `inlineAll` where the dialect names no statements or `conn` does not batch.
   */
  async inlineNamed(writes: readonly LedgerWrite[], conn: Connection): Promise<string[]> {
    const inline = this.dialect.inline;
    const named = inline?.named;
    if (!inline || !named || !conn.executeBatch) return this.inlineAll(writes);
    const raw = rawConnection(conn);
    let session = namedStatements.get(raw);
    if (!session) namedStatements.set(raw, (session = { generation: 0, defined: new Set() }));
    const { defined, generation } = session;
    const out: string[] = [];
    const define: string[] = [];
    const names: string[] = [];
    for (const group of inline.chain ? this.chains(writes) : writes.map((w) => [w])) {
      const { sql, hash } = this.shape(group);
      const name = `dbee_ledger_${hash}_${generation}`;
      if (!defined.has(name) && !names.includes(name)) {
        define.push(named.define(name, sql));
        names.push(name);
      }
      const values = group.flatMap((w) => w.params);
      out.push(
        named.call(
          name,
          values.map((v) => inline.literal(v instanceof Date ? v.toISOString() : v)),
        ),
      );
    }
    if (define.length) {
      for (const d of define) await conn.execute(d);
      for (const n of names) defined.add(n);
    }
    return out;
  }

  /**
   * The one statement of a group of chained writes (`inlineNamed`), their parameters numbered one after the other, and
   * the hash that names it. Computed once per shape and dialect: a deployment writes thousands of rows of a few shapes.
   */
  shape(group: readonly LedgerWrite[]): { sql: string; hash: string } {
    let known = shapes.get(this.dialect);
    if (!known) shapes.set(this.dialect, (known = new Map()));
    const key = group.map((w) => `${w.params.length}\u0000${w.sql}`).join('\u0000');
    let shape = known.get(key);
    if (!shape) {
      let offset = 0;
      const parts = group.map((w) => {
        const sql = this.renumber(w, offset);
        offset += w.params.length;
        return sql;
      });
      const sql = parts.length === 1 ? parts[0]! : this.dialect.inline!.chain!(parts);
      shape = { sql, hash: createHash('sha256').update(sql).digest('hex').slice(0, 16) };
      // Shapes are few (a guard's lock key is part of one); a long-lived process must not keep every one it saw.
      if (known.size >= 1000) known.clear();
      known.set(key, shape);
    }
    return shape;
  }

  /**
   * Forget what `inlineNamed` defined on `conn`'s session: statements that run there may drop them (`DEALLOCATE`), so
   * they are defined again when next needed.
   */
  forgetNamed(conn: Connection): void {
    const session = namedStatements.get(rawConnection(conn));
    if (!session) return;
    session.generation++;
    session.defined.clear();
  }

  /** `w.sql` with its parameter markers moved up by `offset` (`$1` becomes `$(offset + 1)`). */
  renumber(w: LedgerWrite, offset: number): string {
    if (!w.params.length || offset === 0) return w.sql;
    const { pattern, byMarker } = this.markers(w.params.length);
    pattern.lastIndex = 0;
    return w.sql.replace(pattern, (m) => this.p(byMarker.get(m)! + 1 + offset));
  }

  readonly markerPatterns = new Map<number, { pattern: RegExp; byMarker: Map<string, number> }>();

  /** The markers of `n` parameters as one pattern, longest first (`$1` is a prefix of `$12`): one pass, so a literal that contains `$1` stays as it is. */
  markers(n: number): { pattern: RegExp; byMarker: Map<string, number> } {
    let m = this.markerPatterns.get(n);
    if (!m) {
      const markers = Array.from({ length: n }, (_, i) => ({ marker: this.p(i + 1), i })).sort(
        (a, b) => b.marker.length - a.marker.length,
      );
      const pattern = new RegExp(markers.map((x) => x.marker.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
      m = { pattern, byMarker: new Map(markers.map((x) => [x.marker, x.i])) };
      this.markerPatterns.set(n, m);
    }
    return m;
  }
}

/** Ledger writes per request at most (`Ledger.runTogether`). */
const WRITES_PER_REQUEST = 1000;
