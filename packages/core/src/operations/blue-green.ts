import { Writable } from 'node:stream';
import type { ResolvedEnvironment } from '../config/resolve';
import type { InFlightReader } from '../diffing/in-flight-work';
import type { DbProject } from '../config/workspace';
import { loadTarget } from '../context/load';
import type { OperationContext } from '../context/operation-context';
import { desiredModelFor } from '../diffing/desired';
import type { BlueGreenRole, PublishedTable } from '../engine/blue-green-role';
import { requireRole, type Connection, type DiffRole, type Engine } from '../engine/engine';
import { DbeeError } from '../errors';
import { parseCommandOptions } from '../options';
import { HAZARD_KINDS } from '../options/common';
import type { ProjectModel } from '../planner/project-model';
import { withSession } from '../runner/session';
import type { SchemaModel } from '../schema/model';
import { recordedNames, replicationNames, type ReplicationNames } from '../blue-green/names';
import {
  BlueGreenLedger,
  formatState,
  stateOf,
  type BlueGreenPhase,
  type BlueGreenState,
  type StepInput,
} from '../blue-green/record';
import { refuseServer, refuseUncarried, uncarriedChanges, type Uncarried } from '../blue-green/refusals';
import { dropReplication, startSync, waitCopied, type Replication } from '../blue-green/replication';
import type { Router } from '../blue-green/router';
import { refuseRowsLeft, rowsLeft } from '../blue-green/rows-left';
import {
  SWITCH_DEFAULTS,
  settleInterrupted,
  switchover,
  switchPhase,
  type SwitchBounds,
  type SwitchResult,
} from '../blue-green/switchover';
import { clone } from './clone';
import { blueGreenNext } from './strategies/blue-green/in-flight';

/**
 * What every blue/green phase is asked: the project (its dependencies come along: one database moves whole), blue's
 * environment (`--env`, serving today) and green's (an environment of dbee.yaml whose database dbee makes).
 */
export interface BlueGreenOptions {
  project: string;
  /** Blue's environment. */
  env?: string;
  /** Green's environment: the same server as blue's or another, its database made by `deploy`. */
  green: string;
  dryRun?: boolean;
  /** The change ticket, recorded with each step. */
  ticket?: string | null;
  /** `finish`: drop the side not serving even when it holds rows the side that stays never got. */
  force?: boolean;
}

/** What the phases work with, read once: the engine and its roles, both environments, the names, the schemas. */
export interface BlueGreenTarget {
  engine: Engine;
  role: BlueGreenRole;
  diff: DiffRole;
  project: DbProject;
  models: ProjectModel[];
  blue: ResolvedEnvironment;
  green: ResolvedEnvironment;
  names: ReplicationNames;
  /** Every schema of the project and its dependencies: what is replicated. */
  schemas: string[];
}

/** The project, both environments and the engine's roles, checked: two different environments of one engine. */
export async function blueGreenTarget(ctx: OperationContext, options: BlueGreenOptions): Promise<BlueGreenTarget> {
  const loaded = await loadTarget(ctx, options.project, options.env);
  const blue = loaded.environment;
  const green = ctx.workspace.environment(options.green, ctx.env);
  if (green.name === blue.name)
    throw new DbeeError(`green (${green.name}) is blue's own environment`, {
      code: 'OPTIONS_INVALID',
      hint: 'name another environment of dbee.yaml for green: its database is made by the deploy phase',
    });
  if (green.engine !== blue.engine)
    throw new DbeeError(`green (${green.name}) is ${green.engine}, blue (${blue.name}) is ${blue.engine}`, {
      code: 'OPTIONS_INVALID',
    });
  const { engine } = loaded;
  const role = requireRole(
    engine,
    'blueGreen',
    'deploy blue/green',
    'deploy with --strategy expand-contract or direct',
  );
  const root = { workspaceRoot: ctx.workspace.root };
  return {
    engine,
    role,
    diff: requireRole(engine, 'diff', 'compare blue and green'),
    project: loaded.target,
    models: loaded.models,
    blue,
    green,
    names: replicationNames(loaded.target.name, blue.name, {
      blue: role.databaseName(blue, root),
      green: role.databaseName(green, root),
    }),
    schemas: [...new Set(loaded.models.flatMap((m) => m.graph.schemas))].sort(),
  };
}

/**
 * The blue/green state of `project` on blue's session `conn`, or null when it never had one: what `status` prints,
 * and what `diff` and drift need to tell dbee's in-flight work (green's subscription, the router's side) apart.
 */
export async function blueGreenState(
  engine: Engine,
  conn: Connection,
  project: string,
): Promise<BlueGreenState | null> {
  if (!engine.blueGreen) return null;
  return new BlueGreenLedger(conn, engine.ledger, engine.blueGreen, project, '', '').state();
}

/**
 * What the release would change that logical replication cannot carry: blue's live tables against the model the
 * sources build (the release as green will have it). Empty when it can be deployed blue/green.
 */
export async function uncarriedRelease(ctx: OperationContext, t: BlueGreenTarget): Promise<Uncarried[]> {
  const desired = await desiredModelFor(ctx, {
    engine: t.engine,
    environment: t.blue,
    models: t.models,
    target: t.project.name,
  });
  const live = await withSession(session(ctx, t, t.blue), ({ conn }) =>
    t.diff.introspect(conn, { schemas: t.schemas }),
  );
  const own = t.models.find((m) => m.project.name === t.project.name)!.graph.schemas;
  return uncarriedChanges(t.role, live, desired.model, own);
}

const session = (ctx: OperationContext, t: BlueGreenTarget, environment: ResolvedEnvironment) => ({
  engine: t.engine,
  environment,
  workspaceRoot: ctx.workspace.root,
  reporter: ctx.reporter,
});

/** Sessions already open, under their deployment lock (the pipeline's): used instead of opening another. */
export interface OpenSides {
  blue?: Connection;
  green?: Connection;
}

/**
 * Both sides open (blue's session, then green's, each under its deployment lock, or the one `open` holds already), the
 * ledger on blue: `fn` runs the phase. Never around `clone`, which takes both locks itself.
 */
async function withSides<T>(
  ctx: OperationContext,
  t: BlueGreenTarget,
  options: BlueGreenOptions,
  fn: (rep: Replication, ledger: BlueGreenLedger) => Promise<T>,
  open: OpenSides = {},
): Promise<T> {
  // dbee's own sessions write on a side a switch made read-only for the application (its ledger, its sequences).
  const writable = async (c: Connection) => {
    for (const sql of t.role.writableSession()) await c.execute(sql);
    return c;
  };
  const on = <R>(
    environment: ResolvedEnvironment,
    given: Connection | undefined,
    use: (c: Connection) => Promise<R>,
  ) =>
    given
      ? writable(given).then(use)
      : withSession(session(ctx, t, environment), async ({ conn }) => use(await writable(conn)));
  return on(t.blue, open.blue, (blue) =>
    on(t.green, open.green, async (green) => {
      const ledger = new BlueGreenLedger(blue, t.engine.ledger, t.role, t.project.name, t.blue.name, t.green.name);
      const rep: Replication = {
        role: t.role,
        names: await namesInFlight(ledger, t),
        blue: { side: 'blue', environment: t.blue, conn: blue },
        green: { side: 'green', environment: t.green, conn: green },
        workspaceRoot: ctx.workspace.root,
        reporter: ctx.reporter,
        dryRun: options.dryRun ?? false,
      };
      return fn(rep, ledger);
    }),
  );
}

/**
 * The names of the replication of the deployment in flight on `ledger` (recorded with its deploy phase's `begin`), or
 * `t.names` for a new one. A deployment begun before dbee recorded them has the names of that time (hashed without the
 * databases): its `finish` drops what it made, never another deployment's slot.
 */
async function namesInFlight(ledger: BlueGreenLedger, t: BlueGreenTarget): Promise<ReplicationNames> {
  const steps = await ledger.steps();
  const state = stateOf(steps);
  if (!state?.inFlight) return t.names;
  const begin = steps.findLast((s) => s.phase === 'deploy' && s.step === 'begin');
  return recordedNames(begin, t.project.name, t.blue.name) ?? t.names;
}

/** A phase's steps recorded under `phase` with the ticket; nothing in a dry run. */
function recorder(ledger: BlueGreenLedger, phase: BlueGreenPhase, options: BlueGreenOptions) {
  return (step: Omit<StepInput, 'phase'>) =>
    options.dryRun ? Promise.resolve() : ledger.record({ ...step, phase, ticket: options.ticket ?? null });
}

/** Refuse `phase` unless the state allows it (`why` says why not, or null), naming the commands that move it on. */
function refuseState(state: BlueGreenState | null, phase: BlueGreenPhase, why: string | null, t: BlueGreenTarget) {
  if (why === null) return;
  const where = ` ${t.project.name} --env ${t.blue.name}`;
  const next = state?.inFlight
    ? blueGreenNext(state, where)
    : [`dbee deploy${where} --strategy blue-green (makes green and deploys the release to it)`];
  throw new DbeeError(`${phase} refused: ${why}`, {
    code: 'BLUE_GREEN_STATE',
    hint: `${state ? `${formatState(state)}; ` : ''}next: ${next.join(', or ')}; nothing was changed`,
  });
}

/** The tables of blue's model in the replicated schemas, each with every column (what green's publication carries back). */
function tablesOf(model: SchemaModel, schemas: readonly string[]): PublishedTable[] {
  return model.tables
    .filter((t) => schemas.includes(t.key.schema))
    .map((t) => ({
      schema: t.key.schema,
      name: t.key.name,
      columns: t.columns.filter((c) => c.generated === null).map((c) => c.name),
    }))
    .sort((a, b) => `${a.schema}.${a.name}`.localeCompare(`${b.schema}.${b.name}`));
}

/** What `makeGreen` did: green's database made or found, the projects cloned, the tables copied and how fast. */
export interface GreenMade {
  created: boolean;
  cloned: string[];
  tables: number;
  copyMs: number;
}

/**
 * The `deploy` phase's first half, green made and kept in sync (the release is then deployed to green through the
 * pipeline, `dbee deploy --env <green>`, and checked there while blue serves):
 * 1. refusals, before anything changes: blue's server (wal_level, replication privilege, slots), tables the switchover
 *    would leave behind (outside the projects' schemas), tables or a release replication cannot carry;
 * 2. green's database made on its server, its server checked as a subscriber and as a publisher (the way back);
 * 3. each project cloned from blue (`clone`, through the pipeline: green's gates, kind clone in green's ledger with
 *    blue's object states and migrations);
 * 4. blue's publication, its slot, green's subscription copying every table, waited for.
 * A deploy phase killed or failed half-way is undone (green and its replication dropped) by the next one, which then
 * starts again. A dry run makes the refusals and prints the statements.
 */
export async function makeGreen(
  ctx: OperationContext,
  options: BlueGreenOptions & { copyTimeoutMs?: number; release?: boolean; inFlight: InFlightReader },
): Promise<GreenMade> {
  const t = await blueGreenTarget(ctx, options);
  const unfinished = await checkBlue(ctx, t, options);
  const projects = t.models.map((m) => m.project.name);
  if (options.dryRun) {
    ctx.reporter.info(`create ${t.green.name}'s database, clone ${projects.join(', ')} from ${t.blue.name} into it`);
    return { created: false, cloned: [], ...(await syncGreen(ctx, t, options)) };
  }
  if (unfinished) await undoGreen(ctx, t, options);
  const root = { workspaceRoot: ctx.workspace.root };
  if (!(await t.role.createDatabase(t.green, root)))
    throw new DbeeError(`${t.green.name}'s database exists already: green is a database the deploy phase makes`, {
      code: 'BLUE_GREEN_STATE',
      hint: `drop it, or name another environment for green; nothing was changed`,
    });
  // Green subscribes to blue now, and publishes to blue from the switch on (the way back of a fallback).
  const problems = await withSession(session(ctx, t, t.green), async ({ conn }) => [
    ...(await t.role.serverProblems(conn, 'subscriber')),
    ...(await t.role.serverProblems(conn, 'publisher')),
  ]);
  // A refusal changes nothing: the database just made goes again.
  if (problems.length) await t.role.dropDatabase(t.green, root);
  refuseServer(problems, `green (${t.green.name})`);
  const cloned: string[] = [];
  try {
    await recordOn(ctx, t, options, {
      step: 'begin',
      status: 'started',
      live: 'blue',
      detail: { created: true, names: t.names },
    });
    for (const project of projects) {
      const o = parseCommandOptions('clone', { project, from: t.blue.name, to: t.green.name });
      const ticket = options.ticket ?? undefined;
      await clone(
        quiet(ctx),
        { ...o, assumeYes: true, allowHazards: [...HAZARD_KINDS], ticket },
        { migrations: true, inFlight: options.inFlight },
      );
      cloned.push(project);
    }
    return { created: true, cloned, ...(await syncGreen(ctx, t, options)) };
  } catch (e) {
    const detail = { error: (e as Error).message, cloned };
    await recordOn(ctx, t, options, { step: 'end', status: 'failed', live: 'blue', detail }).catch(() => {});
    throw e;
  }
}

/**
 * The refusals of `makeGreen` on blue's session: the state (a green made already is switched or finished, not made
 * again), the server, the tables left behind, and what replication cannot carry (blue's tables, and the release's
 * changes unless `release` is false). Returns the state of an unfinished deploy phase (to undo), else null.
 */
async function checkBlue(
  ctx: OperationContext,
  t: BlueGreenTarget,
  options: BlueGreenOptions & { release?: boolean },
): Promise<BlueGreenState | null> {
  const release = options.release === false ? [] : await uncarriedRelease(ctx, t);
  return withSession(session(ctx, t, t.blue), async ({ conn }) => {
    const state = await blueGreenState(t.engine, conn, t.project.name);
    const unfinished = state?.inFlight && state.phase === 'deploy' && state.status !== 'done';
    refuseState(state, 'deploy', state?.inFlight && !unfinished ? `green ${state.green} is made already` : null, t);
    refuseServer(await t.role.serverProblems(conn, 'publisher'), `blue (${t.blue.name})`);
    const outside = await t.role.tablesOutside(conn, t.schemas, t.engine.ledger.schema);
    if (outside.length)
      throw new DbeeError(
        `${t.blue.name}'s database holds tables outside ${t.project.name} and its dependencies (${outside.slice(0, 5).join(', ')}${outside.length > 5 ? ', ...' : ''}): a switchover moves the application's whole database, and green would lack them`,
        {
          code: 'REPLICATION_UNCARRIED',
          hint: 'deploy blue/green a project that depends on every project of the database, or use --strategy expand-contract; nothing was changed',
          details: { tables: outside },
        },
      );
    const live = await t.diff.introspect(conn, { schemas: t.schemas });
    refuseUncarried(
      [...uncarriedChanges(t.role, live, live, t.schemas), ...release],
      t.project.name,
      'green cannot be made',
    );
    return unfinished ? state : null;
  });
}

/** Green's replication started and its copy waited for, recorded; returns the tables and the copy's time. */
async function syncGreen(
  ctx: OperationContext,
  t: BlueGreenTarget,
  options: BlueGreenOptions & { copyTimeoutMs?: number },
): Promise<{ tables: number; copyMs: number }> {
  if (options.dryRun && !(await databaseExists(ctx, t))) {
    ctx.reporter.info(
      `then: publish blue's tables, make slot ${t.names.toGreen} on blue, subscribe green to it (copying every row)`,
    );
    return { tables: 0, copyMs: 0 };
  }
  return withSides(ctx, t, options, async (rep, ledger) => {
    const record = recorder(ledger, 'deploy', options);
    const tables = tablesOf(await t.diff.introspect(rep.blue.conn, { schemas: t.schemas }), t.schemas);
    const t0 = Date.now();
    await startSync(
      rep,
      tables.map(({ schema, name }) => ({ schema, name })),
    );
    if (options.dryRun) return { tables: tables.length, copyMs: 0 };
    await record({ step: 'subscribe', status: 'done', live: 'blue', detail: { tables: tables.length } });
    await waitCopied(rep, {
      timeoutMs: options.copyTimeoutMs ?? 3_600_000,
      onProgress: (left, all) => ctx.reporter.info(`green: ${all - left} of ${all} tables copied`),
    });
    const copyMs = Date.now() - t0;
    await record({ step: 'copy', status: 'done', live: 'blue', durationMs: copyMs, detail: { tables: tables.length } });
    await record({ step: 'end', status: 'done', live: 'blue' });
    ctx.reporter.info(
      `green (${t.green.name}) is in sync with blue (${t.blue.name}): ${tables.length} tables copied in ${copyMs} ms`,
    );
    return { tables: tables.length, copyMs };
  });
}

/** Whether green's database exists already (a dry run of a first deploy phase has none to connect to). */
export async function databaseExists(ctx: OperationContext, t: BlueGreenTarget): Promise<boolean> {
  try {
    const conn = await t.engine.connect(t.green, { workspaceRoot: ctx.workspace.root });
    await conn.close();
    return true;
  } catch {
    return false;
  }
}

/** One row on blue's ledger, in a session of its own (outside `withSides`). */
export async function recordOn(
  ctx: OperationContext,
  t: BlueGreenTarget,
  options: BlueGreenOptions,
  step: Omit<StepInput, 'phase'>,
): Promise<void> {
  await withSession(session(ctx, t, t.blue), async ({ conn }) => {
    for (const sql of t.role.writableSession()) await conn.execute(sql);
    await recorder(
      new BlueGreenLedger(conn, t.engine.ledger, t.role, t.project.name, t.blue.name, t.green.name),
      'deploy',
      options,
    )(step);
  });
}

/** What an unfinished deploy phase left, dropped: replication on both sides, then green's database. */
async function undoGreen(ctx: OperationContext, t: BlueGreenTarget, options: BlueGreenOptions): Promise<void> {
  ctx.reporter.warn(
    `an earlier deploy phase of ${t.project.name} did not finish: dropping what it made of green, then starting again`,
  );
  if (await databaseExists(ctx, t))
    await withSides(ctx, t, options, (rep) => dropReplication(rep, { blue: true, green: true }));
  else
    await withSession(session(ctx, t, t.blue), async ({ conn }) => {
      const rep = {
        role: t.role,
        names: await namesInFlight(ledgerOn(t, conn), t),
        blue: { side: 'blue' as const, environment: t.blue, conn },
        green: { side: 'green' as const, environment: t.green, conn },
        workspaceRoot: ctx.workspace.root,
        reporter: ctx.reporter,
        dryRun: false,
      };
      await dropReplication(rep, { blue: true, green: false });
    });
  await t.role.dropDatabase(t.green, { workspaceRoot: ctx.workspace.root });
}

/** A context whose stdout is dropped: the clone's diff is not the deploy phase's output. */
function quiet(ctx: OperationContext): OperationContext {
  return { ...ctx, stdout: new Writable({ write: (_c, _e, done) => done() }) };
}

/**
 * `switch` (from blue to green) and `fallback` (back to blue): the state checked (green made and in sync, the
 * application on `from`), green's live tables checked against blue's once more (the release deployed there may hold
 * what replication cannot carry), then `switchover` with its guard rails, each step in blue's ledger.
 */
export async function blueGreenSwitch(
  ctx: OperationContext,
  options: BlueGreenOptions & { router: Router; bounds?: Partial<SwitchBounds> },
  from: 'blue' | 'green',
  open: OpenSides = {},
): Promise<SwitchResult> {
  const t = await blueGreenTarget(ctx, options);
  const phase = switchPhase(from);
  return withSides(
    ctx,
    t,
    options,
    async (rep, ledger) => {
      let state = await ledger.state();
      if (state?.status === 'running' && (state.phase === 'switch' || state.phase === 'fallback') && !options.dryRun) {
        const was = state.phase === 'switch' ? 'blue' : 'green';
        const record = recorder(ledger, state.phase, options);
        const serving = await settleInterrupted({
          rep,
          router: options.router,
          from: was,
          record,
          lastStep: state.step,
        });
        if (state.phase === phase && serving !== from) return { to: serving, pausedMs: 0, steps: [], lagBytes: 0 };
        state = await ledger.state();
      }
      refuseState(state, phase, switchRefusal(state, from), t);
      const inspect = async () => {
        const blueModel = await t.diff.introspect(rep.blue.conn, { schemas: t.schemas });
        const greenModel = await t.diff.introspect(rep.green.conn, { schemas: t.schemas });
        const found = uncarriedChanges(t.role, blueModel, greenModel, t.schemas);
        refuseUncarried(found, t.project.name, `the ${phase} is refused`);
        return tablesOf(blueModel, t.schemas);
      };
      const result = await switchover({
        rep,
        router: options.router,
        from,
        inspect,
        schemas: t.schemas,
        bounds: { ...SWITCH_DEFAULTS, ...options.bounds },
        record: recorder(ledger, phase, options),
      });
      if (!options.dryRun) {
        ctx.reporter.info(
          `${phase} done: ${result.to} (${result.to === 'green' ? t.green.name : t.blue.name}) serves; writes paused ${result.pausedMs} ms`,
        );
      }
      return result;
    },
    open,
  );
}

/** Why a switchover from `from` cannot start in `state`, or null. */
function switchRefusal(state: BlueGreenState | null, from: 'blue' | 'green'): string | null {
  if (!state?.inFlight) return 'no green is made (run the deploy phase first)';
  if (state.phase === 'deploy' && state.status !== 'done') return 'the deploy phase did not finish';
  if (state.release === 'running')
    return 'the release on green did not finish (refused before its plan, or its process ended): deploy it again first';
  if (state.release === 'failed') return 'the release on green failed or was refused: deploy it again first';
  if (state.phase === 'finish') return 'a finish phase did not finish: run it again';
  if (state.live !== from) return `${state.live} serves already`;
  return null;
}

/**
 * `finish`: replication dropped on both sides, then the side not serving dropped with its database: blue after a
 * switch (its ledger's blue/green rows copied to green's first), green when blue serves (the blue/green deployment
 * given up, or after a fallback); under `keep` (`gates.requireBackup`) that database is renamed aside as a backup
 * instead of dropped. Returns the side taken away and its backup. Its `end` is written last, by the side that stays, once the
 * other is dropped (blue's: after green's database is dropped; green's: before blue's, which holds no `end` of its own),
 * so that a process killed anywhere before leaves a finish still running on the side it reads: `finish` run again
 * ends it (green's database already dropped, it only writes the `end`).
 */
export async function blueGreenFinish(
  ctx: OperationContext,
  options: BlueGreenOptions & { keep?: { stamp: string } },
  open: OpenSides = {},
): Promise<FinishResult> {
  const t = await blueGreenTarget(ctx, options);
  const onBlue = <R>(use: (ledger: BlueGreenLedger) => Promise<R>) =>
    open.blue
      ? use(ledgerOn(t, open.blue))
      : withSession(session(ctx, t, t.blue), ({ conn }) => use(ledgerOn(t, conn)));
  const end = { phase: 'finish' as const, step: 'end', status: 'done' as const, ticket: options.ticket ?? null };
  // A finish killed after it dropped green's database: blue still serves, the `end` is all that is left.
  if (!options.dryRun && !(await databaseExists(ctx, t))) {
    const state = await onBlue((ledger) => ledger.state());
    if (state?.inFlight && state.phase === 'finish' && state.live === 'blue') {
      await onBlue((ledger) => ledger.record({ ...end, live: 'blue', detail: { dropped: 'green' } }));
      ctx.reporter.info(`finish done: green (${t.green.name}) dropped; blue (${t.blue.name}) serves`);
      return { dropped: 'green', backup: null };
    }
  }
  const old = await withSides(ctx, t, options, (rep, ledger) => finishSides(ctx, t, options, rep, ledger), open);
  const environment = old === 'blue' ? t.blue : t.green;
  if (options.dryRun) return { dropped: old, backup: null };
  const root = { workspaceRoot: ctx.workspace.root };
  const backup = options.keep ? await t.role.keepDatabase(environment, options.keep.stamp, root) : null;
  if (!options.keep) await t.role.dropDatabase(environment, root);
  if (old === 'green') await onBlue((ledger) => ledger.record({ ...end, live: 'blue', detail: { dropped: 'green' } }));
  const gone = backup ? `kept as the backup ${backup}` : 'dropped';
  ctx.reporter.info(
    `finish done: ${old === 'blue' ? `blue (${t.blue.name}) ${gone}; green (${t.green.name}) serves` : `green (${t.green.name}) ${gone}; blue (${t.blue.name}) serves`}`,
  );
  return { dropped: old, backup };
}

/** What `finish` did: the side it took away, and the name its database is kept under (`gates.requireBackup`) or null. */
export interface FinishResult {
  dropped: 'blue' | 'green';
  backup: string | null;
}

/** The project's `blue_green` record on `conn`. */
const ledgerOn = (t: BlueGreenTarget, conn: Connection) =>
  new BlueGreenLedger(conn, t.engine.ledger, t.role, t.project.name, t.blue.name, t.green.name);

/**
 * `finish` with both sides open: the state checked, replication dropped; when blue goes, the record copied to green and
 * ended there. Returns the side to drop.
 */
async function finishSides(
  ctx: OperationContext,
  t: BlueGreenTarget,
  options: BlueGreenOptions & { keep?: { stamp: string } },
  rep: Replication,
  ledger: BlueGreenLedger,
): Promise<'blue' | 'green'> {
  const state = await ledger.state();
  refuseState(
    state,
    'finish',
    state?.inFlight
      ? state.status === 'running' && state.phase !== 'finish'
        ? `the ${state.phase} phase did not finish: run it again first`
        : null
      : 'no green is made',
    t,
  );
  const live = state!.live;
  const dropped = live === 'green' ? 'blue' : 'green';
  // Rows a client wrote to the side dropped, bypassing the router, after it stopped serving: refused before anything.
  const blueTables = tablesOf(await t.diff.introspect(rep.blue.conn, { schemas: t.schemas }), t.schemas);
  const found = await rowsLeft(
    rep,
    await ledger.steps(),
    dropped,
    t.schemas,
    blueTables.map((x) => `${x.schema}.${x.name}`),
  );
  refuseRowsLeft(found, dropped, ` ${t.project.name} --env ${t.blue.name}`, options.force ?? false, (line) =>
    ctx.reporter.warn(line),
  );
  if (options.dryRun)
    ctx.reporter.info(
      `finish: ${live} serves; drop replication, then ${dropped}'s database (${dropped === 'blue' ? t.blue.name : t.green.name})${options.keep ? ', kept as a backup (gates.requireBackup): renamed aside' : ''}`,
    );
  const record = recorder(ledger, 'finish', options);
  await record({ step: 'begin', status: 'started', live });
  await dropReplication(rep, { blue: true, green: true });
  await record({ step: 'replication', status: 'done', live });
  if (dropped === 'blue' && !options.dryRun) {
    await ledger.copyTo(rep.green.conn);
    await ledgerOn(t, rep.green.conn).record({
      phase: 'finish',
      step: 'end',
      status: 'done',
      live,
      detail: { dropped },
      ticket: options.ticket ?? null,
    });
  }
  return dropped;
}
