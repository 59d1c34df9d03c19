import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockLost, PLAN_FORMAT_VERSION, runPlan, type Connection, type Plan, type PlanStep } from '@dbee/core';
import { createPostgresEngine, PgConnection } from '@dbee/postgres';
import { openMemoryPglite } from '../support/pglite';
import { scratchDatabase } from '../support/pg';

/**
 * The convergence check's model is prepared (a cached model read and parsed in this thread) once the deployment's first
 * request of steps is on its way, not before it: before, it held back the first step by the time of the parse
 * (docs/performance.md, "The convergence check's model read while the first steps run"). `apply` hands the preparation
 * to the run as `RunOptions.onStepsSent`; these cases run the runner with it on both engines.
 */
const ENGINES: [string, () => Promise<{ conn: Connection; done(): Promise<void> }>][] = [
  [
    'postgres',
    async () => {
      const db = await scratchDatabase('dbee_converge_prepare');
      const conn = await PgConnection.open({ connectionString: db.url }, 'working');
      return { conn, done: async () => (await conn.close(), await db.drop()) };
    },
  ],
  [
    'pglite',
    async () => {
      const conn = await openMemoryPglite('working');
      return { conn, done: () => conn.close() };
    },
  ],
];

const engine = createPostgresEngine();

const step = (order: number, schema: string, sql: string[], transactional = true): PlanStep => ({
  order,
  project: schema,
  key: order === 1 ? `schema:${schema}` : `table:${schema}.t${order}`,
  objectKey: order === 1 ? { kind: 'schema', schema: '', name: schema } : { kind: 'table', schema, name: `t${order}` },
  action: 'create',
  statements: sql,
  reverse: null,
  transactional,
  hazards: [],
  source: null,
  checksum: String(order),
});

const planOf = (schema: string, steps: PlanStep[]): Plan => ({
  formatVersion: PLAN_FORMAT_VERSION,
  engine: 'postgres',
  projects: [schema],
  sourceCommit: null,
  baseFingerprint: null,
  steps,
});

/** What the run's connection tells of (`watched`): the statements of the plan that runs, and where they are told. */
interface Watch {
  statements: Set<string>;
  events: string[];
}

/**
 * `conn` as the runs see it (as `withSession` hands a run a view of its session), telling `watch.events` of each request
 * that carries statements of the plan's steps (`steps sent`, then `steps answered`) and of each such statement sent
 * alone. One view for every run on the session: the ledger knows the statements it prepared there by the connection.
 */
function watched(conn: Connection, watch: Watch): Connection {
  const ours = (sql: string) => watch.statements.has(sql);
  return new Proxy(conn, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      const method = (v as (...a: unknown[]) => Promise<unknown>).bind(target);
      if (prop === 'executeBatch')
        return (statements: readonly string[]) => {
          if (!statements.some(ours)) return method(statements);
          watch.events.push('steps sent');
          return method(statements).then((r) => (watch.events.push('steps answered'), r));
        };
      if (prop === 'execute')
        return (sql: string) => {
          if (ours(sql)) watch.events.push(`statement: ${sql}`);
          return method(sql);
        };
      return method;
    },
  });
}

const watch: Watch = { statements: new Set(), events: [] };

/** Run `plan` on `conn` (a `watched` view), telling `events` where its statements go and when it prepared the model. */
const run = (conn: Connection, plan: Plan, events: string[], beforeStep?: () => Promise<void>) => {
  watch.statements = new Set(plan.steps.flatMap((s) => s.statements));
  watch.events = events;
  return runPlan({
    engine,
    conn,
    plan,
    environment: 'local',
    variables: new Map(),
    identity: { package: null, gitCommit: null, toolVersion: 'test', osUser: 'me', ciJob: null, host: 'here' },
    planChecksum: 'x',
    reporter: { info: () => {}, warn: () => {}, step: () => {} },
    beforeStep,
    onStepsSent: () => void events.push('prepared'),
  });
};

describe.each(ENGINES)('the convergence model prepared with the first steps [%s]', (_engine, open) => {
  let session: Awaited<ReturnType<typeof open>>;
  /** The session as the runs see it. */
  let view: Connection;
  beforeAll(async () => {
    session = await open();
    view = watched(session.conn, watch);
  }, 120_000);
  afterAll(async () => {
    await session?.done();
  });

  it('is prepared once, after the first request of steps is sent, on the same connection', async () => {
    const events: string[] = [];
    const conn = session.conn;
    const embedded = !conn.executeBatch;
    // 101 steps: two requests of steps on a server (100 steps at most each); the first takes a while there.
    const steps = [
      step(1, 'cp1', ['CREATE SCHEMA cp1', 'SELECT pg_sleep(0.3)']),
      ...Array.from({ length: 100 }, (_, i) => step(i + 2, 'cp1', [`CREATE TABLE cp1.t${i + 2} (id int)`])),
    ];
    const result = await run(view, planOf('cp1', steps), events);
    expect(result.exitCode).toBe(0);
    expect(result.projects.map((p) => [p.status, p.stepsApplied])).toEqual([['succeeded', 101]]);
    if (embedded) {
      // An embedded database (PGlite) takes no request of several steps, and runs each in this thread: nothing to
      // overlap, so prepared at once, as before.
      expect(events[0]).toBe('prepared');
      expect(events.filter((e) => e === 'prepared')).toHaveLength(1);
      expect(events.slice(1, 3)).toEqual(['statement: CREATE SCHEMA cp1', 'statement: SELECT pg_sleep(0.3)']);
    } else {
      // A request of steps that takes a while on the server: prepared while it runs, before its answer is read; not
      // again with the second request.
      expect(events).toEqual(['steps sent', 'prepared', 'steps answered', 'steps sent', 'steps answered']);
    }
    expect(
      (await conn.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'cp1'`)).rows,
    ).toEqual([{ n: 100 }]);
    // The connection itself is left as it is (the ledger and the smoke checks know it by its identity).
    expect(Object.hasOwn(conn, 'executeBatch')).toBe(false);
  });

  it('is not prepared when no step goes out (the lock lost before the first)', async () => {
    const events: string[] = [];
    const conn = session.conn;
    const embedded = !conn.executeBatch;
    const plan = planOf('cp2', [step(1, 'cp2', ['CREATE SCHEMA cp2'])]);
    const result = await run(view, plan, events, async () => {
      throw lockLost('the lock session ended');
    });
    expect(result.projects.map((p) => [p.status, p.stepsApplied])).toEqual([['not-run', 0]]);
    expect(events).toEqual(embedded ? ['prepared'] : []);
  });

  it('is prepared right before a first step that no request takes (one outside a transaction)', async () => {
    const events: string[] = [];
    const embedded = !session.conn.executeBatch;
    const steps = [
      step(1, 'cp3', ['CREATE SCHEMA cp3'], false),
      ...Array.from({ length: 2 }, (_, i) => step(i + 2, 'cp3', [`CREATE TABLE cp3.t${i + 2} (id int)`])),
    ];
    const result = await run(view, planOf('cp3', steps), events);
    expect(result.projects.map((p) => [p.status, p.stepsApplied])).toEqual([['succeeded', 3]]);
    // The steps after it go in a request on a server: prepared once, before the first.
    expect(events).toEqual([
      'prepared',
      'statement: CREATE SCHEMA cp3',
      ...(embedded
        ? ['statement: CREATE TABLE cp3.t2 (id int)', 'statement: CREATE TABLE cp3.t3 (id int)']
        : ['steps sent', 'steps answered']),
    ]);
  });
});
