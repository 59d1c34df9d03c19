import { settled } from '../background';
import type { ResolvedEnvironment } from '../config/resolve';
import { batchShared } from '../context/load';
import type { OperationContext } from '../context/operation-context';
import { recordedDrift, type ProjectDrift } from '../diffing/drift';
import type { Connection, Engine } from '../engine/engine';
import { DbeeError } from '../errors';
import { openLedger } from '../ledger/open-ledger';
import { lastRecordedDeployment } from './batch-planned';
import type { SchemaScope } from '../schema/managed-scope';
import { graphProject, projectManagedScope } from '../planner/project-model';

/** One project whose schemas a command changes: what the drift stage judges. */
export interface DriftSubject {
  project: string;
  /** Its schemas as its recorded fingerprint covers them (`projectScope` of its graph, a release's `scope`). */
  scope: SchemaScope;
}

/**
 * What a command hands the drift stage: the projects it changes, or why it changes none that dbee recorded (`none`).
 * `refusal` words a drifted project's refusal the command's way (default: `driftRefusal`).
 */
export type DriftRequest =
  | {
      subjects: readonly DriftSubject[];
      refusal?: (drift: ProjectDrift, environment: string) => DbeeError;
      /**
       * The command's plan decides drift (`DriftFound.decide`): what it leaves is refused after the plan. Otherwise a
       * drift refuses the run before it plans (a plan made over a hand edit could fail for the edit's sake first).
       */
      decides?: boolean;
    }
  | { none: string };

/**
 * The drift stage's finding, handed to the command's `plan`: the projects whose schemas changed outside dbee since
 * the last deployment recorded in the target's own ledger. A command that puts drift back visibly (a deployment from
 * the sources under a conflict strategy that allows it; a gap package, planned from the live database) takes a
 * project's drift with `decide`; every drift no command decided refuses the run (`refusals`), in the dry run alike.
 */
export class DriftFound {
  private readonly decided = new Set<string>();

  constructor(
    /** Read while the command plans (`driftStage`); awaited by whoever asks first. */
    private readonly readings: Promise<ReadonlyMap<string, ProjectDrift>>,
    private readonly refusal: (drift: ProjectDrift) => DbeeError,
    /** See `DriftRequest.decides`. */
    readonly decides = false,
  ) {
    // Awaited by the stage after the plan; a plan that throws first leaves it unread, never unhandled.
    readings.catch(() => undefined);
  }

  /** A project's drift, decided by the caller from now on; undefined when its schemas did not drift. */
  async decide(project: string): Promise<ProjectDrift | undefined> {
    const d = (await this.readings).get(project);
    if (d?.state !== 'yes') return undefined;
    this.decided.add(project);
    return d;
  }

  /**
   * Whether the schemas of `project` are as its newest deployment recorded them (`no`), drifted (`yes`), or cannot be
   * told (`unknown`, also for a project the stage was not asked about).
   */
  async state(project: string): Promise<ProjectDrift['state']> {
    return (await this.readings).get(project)?.state ?? 'unknown';
  }

  /** The refusal of every drift no command decided. */
  async refusals(): Promise<DbeeError[]> {
    return [...(await this.readings).values()]
      .filter((d) => d.state === 'yes' && !this.decided.has(d.project))
      .map((d) => this.refusal(d));
  }
}

/**
 * Stage `drift`, under the lock, in a dry run as in the real run: for each project the command changes, its newest
 * deployment in the target's own ledger (whatever environment name recorded it: a restored or renamed database is
 * judged by what it holds) and whether its schemas' fingerprint moved since (`recordedDrift`). Reads only, on the lock's
 * own session when there is one (`side`), while the command plans on the working session: the finding is awaited by
 * the command that decides drift (`DriftFound.decide`) and by the pipeline after the plan. A hand edit is never
 * recorded as dbee's: the command refuses it, or puts it back visibly.
 */
export function driftStage(
  ctx: OperationContext,
  args: {
    engine: Engine;
    conn: Connection;
    side: Connection | undefined;
    environment: ResolvedEnvironment;
    command: string;
  },
  request: DriftRequest,
): DriftFound {
  const { environment } = args;
  const refusal =
    'subjects' in request && request.refusal
      ? (d: ProjectDrift) => request.refusal!(d, environment.name)
      : (d: ProjectDrift) => driftRefusal(d, environment.name, args.command);
  const subjects = 'subjects' in request ? request.subjects.filter((s) => s.scope.schemas.length) : [];
  if (!subjects.length || !args.engine.diff) return new DriftFound(Promise.resolve(new Map()), refusal);
  // Read on the lock's session; on the working session when there is none or it failed there.
  const reading = args.side
    ? readDrifts(ctx, { ...args, conn: args.side }, subjects).catch(() => readDrifts(ctx, args, subjects))
    : readDrifts(ctx, args, subjects);
  return new DriftFound(reading, refusal, 'subjects' in request && (request.decides ?? false));
}

async function readDrifts(
  ctx: OperationContext,
  args: { engine: Engine; conn: Connection; environment: ResolvedEnvironment },
  subjects: readonly DriftSubject[],
): Promise<Map<string, ProjectDrift>> {
  const { engine, conn, environment } = args;
  const diff = engine.diff!;
  const readings = new Map<string, ProjectDrift>();
  // The catalog version first (one for every project; in an Nx batch, the one at its start serves every task: a
  // no-op task sends nothing of its own, test/workspace/batch-reads.test.ts), then the ledger.
  const version = () => settled(diff.catalogVersion!(conn));
  const catalogVersion = diff.catalogVersion
    ? ctx.sessions
      ? batchShared(ctx, `catalog-version\0${environment.name}`, version)
      : version()
    : undefined;
  // One request at a time on a session (the driver queues none): the version is answered before the ledger is read.
  await catalogVersion;
  const ledger = openLedger(conn, engine.ledger);
  if (ledger.knownMissing()) return readings;
  for (const { project, scope } of subjects) {
    const last = await lastRecordedDeployment(ctx, ledger, project, environment.name);
    readings.set(project, await recordedDrift(engine, conn, { project, scope, last, catalogVersion }));
  }
  return readings;
}

/**
 * One project of the workspace as the drift stage judges it, its scope read from its db.yaml and file list (what a
 * deployment of it records): for a command that loads no model of it.
 */
export function projectSubject(
  ctx: OperationContext,
  environment: ResolvedEnvironment,
  engine: Engine,
  name: string,
): DriftSubject {
  const { workspace } = ctx;
  const project = workspace.project(name);
  const { variables } = workspace.settings(project, environment);
  const graph = graphProject(project, variables, workspace.projects, engine.capabilities.keyNames);
  const manage = projectManagedScope(workspace.root, project, variables);
  return { project: name, scope: { schemas: graph.schemas, manage } };
}

/** Where a drift's recorded state comes from, for a message: `deployment #4` (`, recorded as environment prod`). */
export function driftSince(drift: ProjectDrift, environment: string): string {
  const as = drift.sinceEnvironment && drift.sinceEnvironment !== environment;
  return `deployment #${drift.since}${as ? ` (recorded in this database as environment ${drift.sinceEnvironment})` : ''}`;
}

/**
 * The refusal of a command that cannot put a hand edit back (it plans no object from the sources): it would record
 * the edit as dbee's own. Said with the way out: put it back (a deployment from the sources under a conflict strategy
 * that replaces it), or keep it (into the sources, then deploy).
 */
export function driftRefusal(drift: ProjectDrift, environment: string, command: string): DbeeError {
  const { project } = drift;
  return new DbeeError(
    `${project} on ${environment} was changed outside dbee since ${driftSince(drift, environment)}: ${command} would record the hand edit as dbee's own`,
    {
      code: 'DRIFT',
      hint:
        `see what changed with dbee status ${project} --env ${environment} (or dbee diff); put it back to the sources with dbee deploy ${project} --env ${environment} --if-exists drop, ` +
        `or keep it by writing it into the sources (dbee extract ${project} --env ${environment}) and deploying; then run ${command} again`,
      details: { project, since: drift.since, recorded: drift.recorded, live: drift.live },
    },
  );
}
