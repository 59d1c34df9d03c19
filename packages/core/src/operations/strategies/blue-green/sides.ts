import { Writable } from 'node:stream';
import type { ResolvedEnvironment } from '../../../config/resolve';
import type { DbProject } from '../../../config/workspace';
import { loadTarget } from '../../../context/load';
import type { OperationContext } from '../../../context/operation-context';
import { desiredModelFor } from '../../../diffing/desired';
import type { BlueGreenRole, PublishedTable } from '../../../engine/blue-green-role';
import { requireRole, type Connection, type DiffRole, type Engine } from '../../../engine/engine';
import { DbeeError } from '../../../errors';
import type { ProjectModel } from '../../../planner/project-model';
import { withSession } from '../../../runner/session';
import { partitionRoot } from '../../../schema/diff';
import type { SchemaModel, Table } from '../../../schema/model';
import { recordedNames, replicationNames, type ReplicationNames } from '../../../blue-green/names';
import {
  BlueGreenLedger,
  formatState,
  stateOf,
  type BlueGreenPhase,
  type BlueGreenState,
  type StepInput,
} from '../../../blue-green/record';
import { identityOf, uncarriedChanges, type Uncarried } from '../../../blue-green/refusals';
import type { Replication } from '../../../blue-green/replication';
import { blueGreenNext } from './in-flight';

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
 * sources build (the release as green will have it), for the project and each of its dependencies (the deploy phase
 * deploys them all to green; each project's model holds its own schemas). Empty when it can be deployed blue/green.
 */
export async function uncarriedRelease(ctx: OperationContext, t: BlueGreenTarget): Promise<Uncarried[]> {
  const live = await withSession(session(ctx, t, t.blue), ({ conn }) =>
    t.diff.introspect(conn, { schemas: t.schemas }),
  );
  const out: Uncarried[] = [];
  const args = { engine: t.engine, environment: t.blue, models: t.models, target: t.project.name };
  // One build for the whole closure, read over every project's schemas; a project with `manage:` (its model holds only
  // what it manages) is judged on a model of its own.
  const whole = t.models.some((m) => !m.graph.manage)
    ? await desiredModelFor(ctx, { ...args, schemas: t.schemas })
    : null;
  for (const m of t.models) {
    const desired = m.graph.manage || !whole ? await desiredModelFor(ctx, { ...args, target: m.project.name }) : whole;
    out.push(...uncarriedChanges(t.role, live, desired.model, m.graph.schemas));
  }
  return out;
}

export const session = (ctx: OperationContext, t: BlueGreenTarget, environment: ResolvedEnvironment) => ({
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
export async function withSides<T>(
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
export async function namesInFlight(ledger: BlueGreenLedger, t: BlueGreenTarget): Promise<ReplicationNames> {
  const steps = await ledger.steps();
  const state = stateOf(steps);
  if (!state?.inFlight) return t.names;
  const begin = steps.findLast((s) => s.phase === 'deploy' && s.step === 'begin');
  return recordedNames(begin, t.project.name, t.blue.name) ?? t.names;
}

/** A phase's steps recorded under `phase` with the ticket; nothing in a dry run. */
export function recorder(ledger: BlueGreenLedger, phase: BlueGreenPhase, options: BlueGreenOptions) {
  return (step: Omit<StepInput, 'phase'>) =>
    options.dryRun ? Promise.resolve() : ledger.record({ ...step, phase, ticket: options.ticket ?? null });
}

/** Refuse `phase` unless the state allows it (`why` says why not, or null), naming the commands that move it on. */
export function refuseState(
  state: BlueGreenState | null,
  phase: BlueGreenPhase,
  why: string | null,
  t: BlueGreenTarget,
) {
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

/**
 * The tables of blue's model in the replicated schemas that hold rows, each with every column (what green's
 * publication carries back). A partitioned table holds none: its partitions are published, each with the columns of
 * the table at the top of its tree (the model records them there; the server refuses a column list on a partitioned
 * table, and a partition's list of none is no list). Given green's model (`whole`), a table found by its full row
 * (REPLICA IDENTITY FULL) that green has with blue's columns exactly is published whole, with no list: PostgreSQL 15
 * refuses every update and delete of such a table under any column list (one that gains a column on green is refused
 * before: `uncarriedChanges`).
 */
export function tablesOf(
  model: SchemaModel,
  schemas: readonly string[],
  whole?: { green: SchemaModel; role: BlueGreenRole },
): PublishedTable[] {
  const columnsOf = (m: SchemaModel, t: Table): string[] =>
    partitionRoot(m, t)
      .columns.filter((c) => c.generated === null)
      .map((c) => c.name);
  const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((c) => b.includes(c));
  return model.tables
    .filter((t) => schemas.includes(t.key.schema) && typeof t.attrs['partitionBy'] !== 'string')
    .map((t) => {
      const columns = columnsOf(model, t);
      const there = whole?.green.tables.find((g) => g.key.schema === t.key.schema && g.key.name === t.key.name);
      const all =
        there !== undefined &&
        identityOf(whole!.role, model, t).kind === 'full' &&
        same(columns, columnsOf(whole!.green, there));
      return { schema: t.key.schema, name: t.key.name, ...(all ? {} : { columns }) };
    })
    .sort((a, b) => `${a.schema}.${a.name}`.localeCompare(`${b.schema}.${b.name}`));
}

/** A context whose stdout is dropped: the clone's diff is not the deploy phase's output. */
export function quiet(ctx: OperationContext): OperationContext {
  return { ...ctx, stdout: new Writable({ write: (_c, _e, done) => done() }) };
}

/** The project's `blue_green` record on `conn`. */
export const ledgerOn = (t: BlueGreenTarget, conn: Connection) =>
  new BlueGreenLedger(conn, t.engine.ledger, t.role, t.project.name, t.blue.name, t.green.name);
