import type { ResolvedEnvironment } from '../config/resolve';
import type { Connection, Engine, LockHandle } from './engine';

/**
 * Sessions shared by many operations in one process (an Nx batch running a target for hundreds of projects):
 * per environment, one deployment lock and one connection, held until `close()`; per environment and kind,
 * one shadow database, wiped between uses when the engine can (`resetShadow`). Opening an embedded database
 * or a shadow costs hundreds of milliseconds; a batch pays it once.
 *
 * Holding the lock for the whole batch is deliberate: the batch is one operation, and nothing else may change
 * the database between its tasks.
 */
export class SessionPool {
  private readonly engines = new Map<string, Engine>();
  private readonly locks = new Map<string, Promise<LockHandle>>();
  private readonly connections = new Map<string, Promise<Connection>>();
  private readonly shadows = new Map<string, Promise<{ conn: Connection; dispose(): Promise<void> }>>();
  private readonly values = new Map<string, unknown>();

  /** A value computed once per pool (e.g. the loaded workspace: a batch reads dbee.yaml and every db.yaml once). */
  memo<T>(key: string, compute: () => T): T {
    if (!this.values.has(key)) this.values.set(key, compute());
    return this.values.get(key) as T;
  }

  /** The engine with lock, connect and openShadow served from this pool. */
  wrap(engine: Engine): Engine {
    let wrapped = this.engines.get(engine.name);
    if (wrapped) return wrapped;
    const key = (env: ResolvedEnvironment) => `${engine.name}\0${env.name}`;
    const shared = <T>(map: Map<string, Promise<T>>, k: string, open: () => Promise<T>): Promise<T> => {
      let p = map.get(k);
      if (!p) {
        p = open();
        map.set(k, p);
        p.catch(() => map.delete(k));
      }
      return p;
    };
    wrapped = {
      ...engine,
      lock: async (env, ctx, lockKey, options) => {
        const held = await shared(this.locks, key(env), () => engine.lock(env, ctx, lockKey, options));
        // Released by close(); a lost lock is lost for every task of the batch.
        return { release: async () => {}, lost: held.lost?.bind(held), attach: held.attach?.bind(held) };
      },
      connect: async (env, ctx) => keepOpen(await shared(this.connections, key(env), () => engine.connect(env, ctx))),
      openShadow:
        engine.openShadow && engine.resetShadow
          ? async (kind, env, ctx) => {
              const shadow = await shared(this.shadows, `${key(env)}\0${kind}`, () => engine.openShadow!(kind, env, ctx));
              return { conn: keepOpen(shadow.conn), dispose: () => engine.resetShadow!(shadow.conn) };
            }
          : engine.openShadow,
    };
    this.engines.set(engine.name, wrapped);
    return wrapped;
  }

  /** Close every shared session and release every lock (connections first: the lock guards them). */
  async close(): Promise<void> {
    const settle = async <T>(map: Map<string, Promise<T>>, f: (v: T) => Promise<void>) => {
      for (const p of map.values()) await p.then(f, () => {}).catch(() => {});
      map.clear();
    };
    await settle(this.shadows, (s) => s.dispose());
    await settle(this.connections, (c) => c.close());
    await settle(this.locks, (l) => l.release());
  }
}

/** A view of a shared connection whose `close` does nothing (the pool closes it). */
function keepOpen(conn: Connection): Connection {
  return new Proxy(conn, {
    get(target, prop, receiver) {
      if (prop === 'close') return async () => {};
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}
