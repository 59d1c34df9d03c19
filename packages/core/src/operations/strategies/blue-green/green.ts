import type { InFlightReader } from '../../../diffing/in-flight-work';
import type { OperationContext } from '../../../context/operation-context';
import { DbeeError } from '../../../errors';
import { parseCommandOptions } from '../../../options';
import { withSession } from '../../../runner/session';
import { BlueGreenLedger, type BlueGreenState, type StepInput } from '../../../blue-green/record';
import { refuseServer, refuseUncarried, uncarriedChanges } from '../../../blue-green/refusals';
import { HAZARD_KINDS } from '../../../options/common';
import { dropReplication, startSync, waitCopied } from '../../../blue-green/replication';
import { clone } from '../../clone';
import {
  type BlueGreenOptions,
  type BlueGreenTarget,
  blueGreenState,
  blueGreenTarget,
  ledgerOn,
  namesInFlight,
  quiet,
  recorder,
  refuseState,
  session,
  tablesOf,
  uncarriedRelease,
  withSides,
} from './sides';

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
  // The clone reads blue's work in flight; this deploy phase's own (begun above) is not work to tell of: it would say
  // "deploy did not finish: run it again" of the phase that is running.
  const inFlight: InFlightReader = async (conn, engine, names) => {
    const work = await options.inFlight(conn, engine, names);
    return work?.strategy === 'blue-green' && work.project === t.project.name ? null : work;
  };
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
        { migrations: true, inFlight },
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
