import type { Connection, LedgerDialect } from '../engine/engine';
import { Ledger } from './ledger';

/**
 * The ledger of one session: the one place that builds it (its stores share the connection, the dialect and the
 * request batching). Callers keep the `Ledger` they get for the session's duration.
 */
export function openLedger(conn: Connection, dialect: LedgerDialect): Ledger {
  return new Ledger(conn, dialect);
}
