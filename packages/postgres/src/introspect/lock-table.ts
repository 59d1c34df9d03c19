import { outOfResources } from '@dbee/core/errors';

/**
 * `read` of `items`, halved until the server's lock table holds each part. PostgreSQL's deparser locks the view it
 * prints until the transaction ends, and the lock table is shared by the whole server (`max_locks_per_transaction` x
 * its sessions; about 7,000 entries on a default server): one statement that prints more views than that fails with
 * "out of shared memory" and changes nothing. Each part runs in a transaction of its own; the parts' answers are
 * returned in order. `tried`: the whole was already refused, so start with its halves.
 */
export async function inHalves<T, R>(
  items: readonly T[],
  read: (part: T[]) => Promise<R[]>,
  tried = false,
): Promise<R[]> {
  if (!tried || items.length < 2) {
    try {
      return await read([...items]);
    } catch (e) {
      if (!outOfResources(e) || items.length < 2) throw e;
    }
  }
  const half = Math.ceil(items.length / 2);
  return [...(await inHalves(items.slice(0, half), read)), ...(await inHalves(items.slice(half), read))];
}

/** The views and materialized views of `schemas` (`schema.name`, in name order), with their oids. */
export const VIEW_NAMES_SQL = `select c.oid, n.nspname || '.' || c.relname as name from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('v', 'm') and n.nspname = any($1::text[]) order by 2`;
