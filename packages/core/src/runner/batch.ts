import type { BatchResult, Connection } from '../engine/engine';

/**
 * Run `statements` in order, stopping at the first that fails: in one round trip where the connection can
 * (`Connection.executeBatch`), else one by one. Never throws for a failing statement: the result says how many
 * completed and why the next one failed.
 */
export async function runStatements(conn: Connection, statements: readonly string[]): Promise<BatchResult> {
  if (conn.executeBatch) return conn.executeBatch(statements);
  for (const [i, sql] of statements.entries()) {
    try {
      await conn.execute(sql);
    } catch (e) {
      return { completed: i, error: e instanceof Error ? e : new Error(String(e)) };
    }
  }
  return { completed: statements.length, error: null };
}
