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

/**
 * The one statement loop: a step's statements (a deployment's step in `runStep`, a reverse or a compensating step in
 * `undo.ts`) sent one by one, in order, when the executor (`executePlan`) runs a step statement by statement rather
 * than in a request of many. `onStatement` is told of each before it is sent (the statement in progress, for a
 * failure's report); `send` replaces `execute` for a statement that travels otherwise (a batched migration's UPDATE
 * in keyset batches). Throws the first failure.
 */
export async function sendStatements(
  conn: Connection,
  statements: readonly string[],
  options: {
    onStatement?: (sql: string, index: number) => void;
    send?: (sql: string, index: number) => Promise<void>;
  } = {},
): Promise<void> {
  for (const [i, sql] of statements.entries()) {
    options.onStatement?.(sql, i);
    if (options.send) await options.send(sql, i);
    else await conn.execute(sql);
  }
}
