import type { Connection, QueryResult } from './connection';

/**
 * `conn` for one pass of reads over many projects that cannot change what they read while the pass runs (an Nx
 * batch's read, when it starts and under the environment's deployment lock, of the work in flight of every project of
 * the workspace): a `SELECT` sent again in the pass with the same text and parameters is answered from its first
 * answer instead of a round trip of its own (200 projects asking whether the same ledger table exists ask it once).
 * Any other request (a statement that is not a `SELECT`, `execute`, a transaction, a prepared or many-query read)
 * goes to `conn` and forgets the answers kept, so a pass that writes reads again what it wrote. A failed query is not
 * kept. Use it for that pass only, never as a session's connection.
 */
export function readOnce(conn: Connection): Connection {
  const answers = new Map<string, Promise<QueryResult<unknown>>>();
  const forgetting =
    <A extends unknown[], R>(f: (...args: A) => R) =>
    (...args: A): R => {
      answers.clear();
      return f(...args);
    };
  const once: Connection = {
    description: conn.description,
    query: <Row>(sql: string, params?: unknown[]) => {
      const key = /^\s*select\b/i.test(sql) ? keyOf(sql, params) : undefined;
      if (key === undefined) {
        answers.clear();
        return conn.query<Row>(sql, params);
      }
      let answer = answers.get(key);
      if (!answer) {
        answer = conn.query<unknown>(sql, params);
        answers.set(key, answer);
        answer.catch(() => answers.delete(key));
      }
      return answer as Promise<QueryResult<Row>>;
    },
    execute: forgetting((sql: string) => conn.execute(sql)),
    transaction: forgetting(<T>(fn: (tx: Connection) => Promise<T>) => conn.transaction(fn)),
    close: () => conn.close(),
  };
  const prepared = conn.queryPrepared?.bind(conn);
  if (prepared)
    once.queryPrepared = <Row>(sql: string, params: unknown[], settings?: Record<string, string>) => {
      answers.clear();
      return prepared<Row>(sql, params, settings);
    };
  if (conn.queryMany) once.queryMany = forgetting(conn.queryMany.bind(conn));
  if (conn.executeBatch) once.executeBatch = forgetting(conn.executeBatch.bind(conn));
  if (conn.onNotice) once.onNotice = conn.onNotice.bind(conn);
  if (conn.describe) once.describe = conn.describe.bind(conn);
  return once;
}

/** The key of a query's answer, or undefined when its parameters have no stable text (then it is not kept). */
function keyOf(sql: string, params: unknown[] | undefined): string | undefined {
  const simple = (params ?? []).every((p) => p === null || ['string', 'number', 'boolean'].includes(typeof p));
  return simple ? `${sql}\0${JSON.stringify(params ?? [])}` : undefined;
}
