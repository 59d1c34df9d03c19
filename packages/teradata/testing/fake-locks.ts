// Table locks of the Teradata test double, between sessions of one fake system. No Teradata system exists here; the
// rules are the documentation's (SQL Request and Transaction Processing, "Locking and Transaction Processing"):
//
// - levels ACCESS, READ, WRITE, EXCLUSIVE, and their compatibility ("Lock Compatibility" table): ACCESS is granted
//   beside ACCESS, READ and WRITE; READ beside ACCESS and READ; WRITE beside ACCESS; EXCLUSIVE beside nothing;
// - the lock a request needs: a SELECT a READ lock (ACCESS with `LOCKING ... FOR ACCESS`), INSERT/UPDATE/DELETE a
//   WRITE lock, DDL on a table (DROP, RENAME, ALTER, CREATE/DROP INDEX) an EXCLUSIVE lock ("Default Lock Assignments");
// - a request whose lock is not compatible with a lock another session holds waits: "lock requests queue
//   indefinitely" (research note §3.6: only a NOWAIT modifier or a deadlock ends the wait; deadlocks are not
//   modelled);
// - `LOCKING ... FOR <level> NOWAIT`: a request whose lock cannot be granted at once is not queued; it fails with
//   7423 "Object already locked and NOWAIT. Transaction Aborted." and its transaction is rolled back (SQL Data
//   Manipulation Language, LOCKING Request Modifier, "Example: NOWAIT Option"; Database Administration, "Locking
//   Overview": "Requests identified with the LOCKING modifier NOWAIT option immediately abort rather than join the
//   queue");
// - a `LOCKING TABLE t FOR <level>` request modifier inside an open transaction holds the lock until the transaction
//   ends (COMMIT, ET, ROLLBACK, an abort), so a check and the DROP after it run under one lock;
// - a holder outside any request: `session.holdLock(table, level)` (a reader's long SELECT, a MultiLoad's WRITE lock
//   in its application phase: Teradata MultiLoad Reference, "Locks"), released by the function it returns.
//
// Deadlock detection and the order in which queued requests are granted are not modelled.

export type FakeLockLevel = 'ACCESS' | 'READ' | 'WRITE' | 'EXCLUSIVE';

const COMPATIBLE: Readonly<Record<FakeLockLevel, ReadonlySet<FakeLockLevel>>> = {
  ACCESS: new Set(['ACCESS', 'READ', 'WRITE']),
  READ: new Set(['ACCESS', 'READ']),
  WRITE: new Set(['ACCESS']),
  EXCLUSIVE: new Set(),
};

/** One lock held: by a session (its number), on a table (`DB.NAME`, upper case). */
export interface FakeLock {
  table: string;
  level: FakeLockLevel;
  session: number;
  /** Held until the session's transaction ends (a `LOCKING` modifier), or until released by hand. */
  transaction: boolean;
}

/** The locks of one fake system and the requests waiting for them. */
export class FakeLockTable {
  readonly held: FakeLock[] = [];
  /** Requests waiting for a lock: the session and the request text (for tests). */
  readonly waiting: { session: number; sql: string }[] = [];
  private wakers: (() => void)[] = [];

  /** Hold `level` on `table` for `session`; the function releases it. */
  hold(table: string, level: FakeLockLevel, session: number, transaction = false): () => void {
    const lock: FakeLock = { table: table.toUpperCase(), level, session, transaction };
    this.held.push(lock);
    return () => this.release((l) => l === lock);
  }

  /** Release the locks `which` selects and wake the waiting requests. */
  release(which: (lock: FakeLock) => boolean): void {
    for (let i = this.held.length - 1; i >= 0; i--) if (which(this.held[i]!)) this.held.splice(i, 1);
    const wake = this.wakers.splice(0);
    for (const w of wake) w();
  }

  /** Whether another session holds a lock on one of `needs`' tables that is not compatible with the level needed. */
  blocks(session: number, needs: { table: string; level: FakeLockLevel }[]): boolean {
    return needs.some((n) =>
      this.held.some((l) => l.session !== session && l.table === n.table && !COMPATIBLE[l.level].has(n.level)),
    );
  }

  /** Wait until `session` can have `level` on every table of `tables`. */
  async acquire(session: number, sql: string, needs: { table: string; level: FakeLockLevel }[]): Promise<void> {
    const blocked = () => this.blocks(session, needs);
    if (!blocked()) return;
    const entry = { session, sql };
    this.waiting.push(entry);
    while (blocked()) await new Promise<void>((resolve) => this.wakers.push(resolve));
    this.waiting.splice(this.waiting.indexOf(entry), 1);
  }
}

const NAME = String.raw`(?:"(?:[^"]|"")+"|[\w$#]+)(?:\.(?:"(?:[^"]|"")+"|[\w$#]+))?`;

/** `DB.NAME` (upper case, quotes gone) of a name as written, qualified with `database` when it has no database. */
function tableId(written: string, database: string | null): string {
  const parts = written.match(/"(?:[^"]|"")+"|[^."]+/g)!.map((p) => (p.startsWith('"') ? p.slice(1, -1) : p));
  return (parts.length === 2 ? parts.join('.') : `${database ?? ''}.${parts[0]}`).toUpperCase();
}

/**
 * The `LOCKING TABLE t FOR level` modifier at the head of a request (ROW/ACCESS forms apart), and the request without
 * it; null when there is none.
 */
export function lockingModifier(
  sql: string,
  database: string | null,
): { table: string; level: FakeLockLevel; nowait: boolean; rest: string } | null {
  const m = new RegExp(
    String.raw`^\s*LOCK(?:ING)?\s+(?:TABLE\s+)?(${NAME})\s+FOR\s+(ACCESS|READ|WRITE|EXCLUSIVE)\s+(NOWAIT\s+)?`,
    'i',
  ).exec(sql);
  if (!m || /^ROW$/i.test(m[1]!)) return null;
  return {
    table: tableId(m[1]!, database),
    level: m[2]!.toUpperCase() as FakeLockLevel,
    nowait: !!m[3],
    rest: sql.slice(m[0].length),
  };
}

/** The tables a request touches and the lock each needs (see the file comment). */
export function locksNeeded(sql: string, database: string | null): { table: string; level: FakeLockLevel }[] {
  const head = /^\s*(\w+)(?:\s+(\w+))?/.exec(sql);
  const verb = head?.[1]?.toUpperCase() ?? '';
  const access = /^\s*LOCKING\s+ROW\s+FOR\s+ACCESS\b/i.test(sql);
  const out: { table: string; level: FakeLockLevel }[] = [];
  const add = (written: string, level: FakeLockLevel) => out.push({ table: tableId(written, database), level });
  if (['DROP', 'RENAME', 'ALTER'].includes(verb)) {
    const m = new RegExp(String.raw`^\s*\w+\s+TABLE\s+(${NAME})`, 'i').exec(sql);
    if (m) add(m[1]!, 'EXCLUSIVE');
  }
  if (/^\s*(CREATE|DROP)\s+(UNIQUE\s+)?INDEX\b/i.test(sql)) {
    const m = new RegExp(String.raw`\bON\s+(${NAME})`, 'i').exec(sql);
    if (m) add(m[1]!, 'EXCLUSIVE');
  }
  const write = new RegExp(
    String.raw`^\s*(?:INSERT\s+INTO|INS\s+INTO|INSERT|UPDATE|UPD|DELETE\s+FROM|DEL\s+FROM|DELETE|DEL)\s+(${NAME})`,
    'i',
  ).exec(sql);
  if (write) add(write[1]!, 'WRITE');
  for (const m of sql.matchAll(new RegExp(String.raw`\b(?:FROM|JOIN)\s+(${NAME})`, 'gi'))) {
    if (write && m.index === sql.search(/\bFROM\b/i) && /^\s*DEL/i.test(sql)) continue;
    if (/^DBC\./i.test(m[1]!)) continue;
    add(m[1]!, access ? 'ACCESS' : 'READ');
  }
  return out;
}
