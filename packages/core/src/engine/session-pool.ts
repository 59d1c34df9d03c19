import type { ResolvedEnvironment } from '../config/resolve';
import type { Connection, DiffRole, Engine, LockHandle } from './engine';

/**
 * A shadow database kept by a pool between the tasks of a batch, with what is in it: desired models are built
 * incrementally in it (diffing/desired.ts), each project's objects applied once for all its dependents.
 */
export interface ReusableShadow {
  conn: Connection;
  /**
   * The projects applied to it, in order: name → the key of its own sources and the projects it depends on
   * (directly or not). Emptied whenever the shadow is wiped, by any user of the pool.
   */
  readonly applied: Map<string, { key: string; dependencies: ReadonlySet<string> }>;
  /** Wipe it: every schema and object goes, and `applied` is emptied. */
  reset(): Promise<void>;
}

/** The diff role of an engine (its own, not the pool's wrapper), with the engine's name for the pool's keys. */
interface PoolDiff {
  name: string;
  role: DiffRole;
}

interface PooledShadow {
  conn: Connection;
  dispose(): Promise<void>;
  /** Roles made when it was opened: a task that needs another role gets a new shadow (see `shadowFor`). */
  roles: ReadonlySet<string>;
  applied: Map<string, { key: string; dependencies: ReadonlySet<string> }>;
}

/**
 * Sessions shared by many operations in one process (an Nx batch running a target for hundreds of projects):
 * per environment, one deployment lock and one connection, held until `close()`; per environment and kind,
 * one shadow database, wiped between uses (`diff.resetShadow`). Opening an embedded database
 * or a shadow costs hundreds of milliseconds; a batch pays it once.
 *
 * Holding the lock for the whole batch is deliberate: the batch is one operation, and nothing else may change
 * the database between its tasks.
 */
export class SessionPool {
  private readonly engines = new Map<string, { raw: Engine; wrapped: Engine }>();
  private readonly locks = new Map<string, Promise<LockHandle>>();
  private readonly connections = new Map<string, Promise<Connection>>();
  private readonly shadows = new Map<string, Promise<PooledShadow>>();
  private readonly values = new Map<string, unknown>();
  /** Pooled connections already marked as the lock holder's working session (`LockHandle.attach`). */
  private readonly attached = new WeakSet<Connection>();
  /** Work left for the end of the batch (`atClose`), in the order it was handed over. */
  private readonly deferred: Array<() => Promise<void>> = [];

  constructor(
    /**
     * The dbee projects of the batch's tasks, where the batch knows them (an Nx batch does): a read the batch shares
     * may then cover them all in one request (the drift stage's live fingerprints, pipeline/drift.ts) instead of one
     * per task. Default: none known.
     */
    readonly projects: readonly string[] = [],
  ) {}

  /** A value computed once per pool (e.g. the loaded workspace: a batch reads dbee.yaml and every db.yaml once). */
  memo<T>(key: string, compute: () => T): T {
    if (!this.values.has(key)) this.values.set(key, compute());
    return this.values.get(key) as T;
  }

  /**
   * The engine `wrap` made `engine` from, or `engine` itself when this pool did not wrap it: for work that must not
   * keep its sessions until the batch ends (each target of a fleet takes and releases its own).
   */
  unwrap(engine: Engine): Engine {
    for (const { raw, wrapped } of this.engines.values()) if (wrapped === engine) return raw;
    return engine;
  }

  /** The engine with lock, connect and its diff role's openShadow served from this pool. */
  wrap(engine: Engine): Engine {
    const known = this.engines.get(engine.name);
    if (known) return known.wrapped;
    const key = (env: ResolvedEnvironment) => `${engine.name}\0${env.name}`;
    const wrapped: Engine = {
      ...engine,
      lock: async (env, ctx, lockKey, options) => {
        const held = await shared(this.locks, key(env), () => engine.lock(env, ctx, lockKey, options));
        // Released by close(); a lost lock is lost for every task of the batch. A pooled connection is marked as
        // the holder's working session once: the mark lasts as long as the connection (sessionReset keeps it).
        const attach = held.attach?.bind(held);
        return {
          release: async () => {},
          lost: held.lost?.bind(held),
          guard: held.guard,
          attach: attach
            ? async (conn: Connection) => {
                const raw = rawConnection(conn);
                if (this.attached.has(raw)) return;
                await attach(conn);
                this.attached.add(raw);
              }
            : undefined,
        };
      },
      connect: async (env, ctx) => keepOpen(await shared(this.connections, key(env), () => engine.connect(env, ctx))),
      diff: engine.diff && this.pooledDiff({ name: engine.name, role: engine.diff }),
    };
    this.engines.set(engine.name, { raw: engine, wrapped });
    return wrapped;
  }

  /** A diff role whose `openShadow` hands out the pooled shadow, emptied. */
  private pooledDiff(diff: PoolDiff): DiffRole {
    return {
      ...diff.role,
      openShadow: async (kind, env, ctx) => {
        const shadow = await this.shadowFor(diff, kind, env, ctx);
        // Whoever takes the shared shadow this way expects it empty, and leaves it to be wiped.
        if (shadow.applied.size) await this.wipe(diff, shadow);
        return { conn: keepOpen(shadow.conn), dispose: () => this.wipe(diff, shadow) };
      },
    };
  }

  /**
   * The shadow of `engine` (as given by `wrap`) for an environment, kept as it is between uses: null when the engine
   * has no diff role, or was not wrapped by this pool.
   */
  async reusableShadow(
    engine: Engine,
    kind: 'embedded' | 'server',
    env: ResolvedEnvironment,
    ctx: { workspaceRoot: string; roles?: string[] },
  ): Promise<ReusableShadow | null> {
    const raw = this.engines.get(engine.name);
    if (!raw || raw.wrapped !== engine || !raw.raw.diff) return null;
    const diff = { name: raw.raw.name, role: raw.raw.diff };
    const shadow = await this.shadowFor(diff, kind, env, ctx);
    return { conn: keepOpen(shadow.conn), applied: shadow.applied, reset: () => this.wipe(diff, shadow) };
  }

  /**
   * The pooled shadow for (engine, environment, kind), opened on first use. A shadow makes the roles its sources
   * name when it opens; when a later task names a role it lacks, it is closed and opened again with every role asked
   * for so far (what was applied in it is gone then).
   */
  private async shadowFor(
    diff: PoolDiff,
    kind: 'embedded' | 'server',
    env: ResolvedEnvironment,
    ctx: { workspaceRoot: string; roles?: string[] },
  ): Promise<PooledShadow> {
    const k = `${diff.name}\0${env.name}\0${kind}`;
    const open = (roles: ReadonlySet<string>) => async (): Promise<PooledShadow> => {
      const s = await diff.role.openShadow(kind, env, { ...ctx, roles: [...roles].sort() });
      return { conn: s.conn, dispose: () => s.dispose(), roles, applied: new Map() };
    };
    const current = await shared(this.shadows, k, open(new Set(ctx.roles ?? [])));
    const missing = (ctx.roles ?? []).filter((r) => !current.roles.has(r));
    if (!missing.length) return current;
    this.shadows.delete(k);
    await current.dispose().catch(() => {});
    return shared(this.shadows, k, open(new Set([...current.roles, ...missing])));
  }

  private async wipe(diff: PoolDiff, shadow: PooledShadow): Promise<void> {
    shadow.applied.clear();
    await diff.role.resetShadow(shadow.conn);
  }

  /**
   * Work that may wait until the batch ends: `close()` runs it first, in order, while the batch's connections are
   * open and its locks held. A failure is the work's own business (it must catch what it can survive): it is
   * swallowed here so that the sessions still close.
   */
  atClose(work: () => Promise<void>): void {
    this.deferred.push(work);
  }

  /** Close every shared session and release every lock (connections first: the lock guards them). */
  async close(): Promise<void> {
    for (const work of this.deferred.splice(0)) await work().catch(() => {});
    const settle = async <T>(map: Map<string, Promise<T>>, f: (v: T) => Promise<void>) => {
      for (const p of map.values()) await p.then(f, () => {}).catch(() => {});
      map.clear();
    };
    await settle(this.shadows, (s) => s.dispose());
    await settle(this.connections, (c) => c.close());
    await settle(this.locks, (l) => l.release());
  }
}

/** The promise under `k`, opened on first use; forgotten when opening fails, so that the next use tries again. */
function shared<T>(map: Map<string, Promise<T>>, k: string, open: () => Promise<T>): Promise<T> {
  let p = map.get(k);
  if (!p) {
    p = open();
    map.set(k, p);
    p.catch(() => map.delete(k));
  }
  return p;
}

const RAW = Symbol('pooled connection');

/** The shared connection behind a pooled view of it (or `conn` itself): what per-connection caches key on. */
export function rawConnection(conn: Connection): Connection {
  return (conn as Connection & { [RAW]?: Connection })[RAW] ?? conn;
}

/** A view of a shared connection whose `close` does nothing (the pool closes it). */
function keepOpen(conn: Connection): Connection {
  return new Proxy(conn, {
    get(target, prop, receiver) {
      if (prop === RAW) return target;
      if (prop === 'close') return async () => {};
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}
