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
      return await (items.length < 2 ? whenHeld(() => read([...items])) : read([...items]));
    } catch (e) {
      if (!outOfResources(e) || items.length < 2) throw e;
    }
  }
  const half = Math.ceil(items.length / 2);
  return [...(await inHalves(items.slice(0, half), read)), ...(await inHalves(items.slice(half), read))];
}

/**
 * `read` again while the server is short of locks for it, a few times, waiting longer each time: the lock table is
 * shared, and another session (of this command too: a shadow built beside the target's read) may hold most of it
 * for the length of its transaction. Then the server's refusal is the answer.
 */
export async function whenHeld<R>(read: () => Promise<R>, waits = [50, 200, 500, 1000, 2000]): Promise<R> {
  for (let i = 0; ; i++) {
    try {
      return await read();
    } catch (e) {
      if (!outOfResources(e) || i >= waits.length) throw e;
      await new Promise((r) => setTimeout(r, waits[i]));
    }
  }
}

/** The views and materialized views of `schemas` (`schema.name`, in name order), with their oids. */
export const VIEW_NAMES_SQL = `select c.oid, n.nspname || '.' || c.relname as name from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('v', 'm') and n.nspname = any($1::text[]) order by 2`;
