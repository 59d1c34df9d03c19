import { settled, type Settled } from '../background';
import type { ResolvedEnvironment } from '../config/resolve';
import type { OperationContext } from '../context/operation-context';
import {
  carriedDrift,
  driftCause,
  finishedDeployment,
  laterDependencyDeployments,
  newestDeployments,
  recordedDrift,
  type ProjectDrift,
} from '../diffing/drift';
import type { Connection, Engine } from '../engine/engine';
import { DbeeError } from '../errors';
import { deploymentSummary, type Ledger } from '../ledger/ledger';
import { openLedger } from '../ledger/open-ledger';
import { scopeKey, stillRecorded } from '../runner/recorded-fingerprint';
import { catalogChangedInBatch, catalogShared, lastRecordedDeployment, plannedInBatch } from './batch-planned';
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
  private readings: Promise<ReadonlyMap<string, ProjectDrift>> | undefined;

  constructor(
    /**
     * The finding, asked for once by whoever asks first (`driftStage`): a reading already made or under way on the
     * lock's session, or one that starts then on the working session, in the asker's own sequence of requests.
     */
    private readonly read: () => Promise<ReadonlyMap<string, ProjectDrift>>,
    private readonly refusal: (drift: ProjectDrift) => DbeeError,
    /** See `DriftRequest.decides`. */
    readonly decides = false,
    /**
     * The lock's own session once the drift stage is done with it (the reading there settled), for the command's
     * catalog reads (`DiffRole.introspect`'s `side` given as a promise): given at once, a read's share went on the side
     * session ahead of the reading's next request, and the verdict the plan waits for came after it. Undefined when
     * there is no side session; a promise of undefined when the reading there failed (it is read again on the working
     * session).
     */
    readonly side?: Promise<Connection | undefined>,
  ) {}

  private found(): Promise<ReadonlyMap<string, ProjectDrift>> {
    this.readings ??= this.read();
    return this.readings;
  }

  /** A project's drift, decided by the caller from now on; undefined when its schemas did not drift. */
  async decide(project: string): Promise<ProjectDrift | undefined> {
    const d = (await this.found()).get(project);
    if (d?.state !== 'yes') return undefined;
    this.decided.add(project);
    return d;
  }

  /**
   * A project's finding when a dependency's deployment carried its state forward (`ProjectDrift.carried`): not drift,
   * but its objects that deployment rewrote are not as its sources make them (its deployment makes them again).
   * Undefined otherwise.
   */
  async carried(project: string): Promise<ProjectDrift | undefined> {
    const d = (await this.found()).get(project);
    return d?.carried ? d : undefined;
  }

  /**
   * Whether the schemas of `project` are as its newest deployment recorded them (`no`), drifted (`yes`), or cannot be
   * told (`unknown`, also for a project the stage was not asked about).
   */
  async state(project: string): Promise<ProjectDrift['state']> {
    return (await this.found()).get(project)?.state ?? 'unknown';
  }

  /** The refusal of every drift no command decided. */
  async refusals(): Promise<DbeeError[]> {
    return [...(await this.found()).values()]
      .filter((d) => d.state === 'yes' && !this.decided.has(d.project))
      .map((d) => this.refusal(d));
  }
}

/**
 * Stage `drift`, under the lock, in a dry run as in the real run: for each project the command changes, its newest
 * deployment in the target's own ledger (whatever environment name recorded it: a restored or renamed database is
 * judged by what it holds) and whether its schemas' fingerprint moved since (`recordedDrift`). Reads only. On the lock's
 * own session when there is one (`side`), while the command plans on the working session: the finding is awaited by
 * the command that decides drift (`DriftFound.decide`) and by the pipeline after the plan. Without one (an embedded
 * database's lock is a file; a fleet's targets), read on the working session before the plan starts, never beside it:
 * a session answers one request at a time, and a reading interleaved with the plan's requests shares the session's
 * settings with them (a catalog read without prepared queries sets `search_path` for the session and puts it back,
 * PGlite's fingerprint: interleaved, it printed the names another way and a deployment just made read as drift). A
 * side reading that fails is read again on the working session when first asked for, in the asker's sequence. A hand
 * edit is never recorded as dbee's: the command refuses it, or puts it back visibly.
 */
export async function driftStage(
  ctx: OperationContext,
  args: {
    engine: Engine;
    conn: Connection;
    side: Connection | undefined;
    environment: ResolvedEnvironment;
    command: string;
  },
  request: DriftRequest,
): Promise<DriftFound> {
  const { environment } = args;
  const refusal =
    'subjects' in request && request.refusal
      ? (d: ProjectDrift) => request.refusal!(d, environment.name)
      : (d: ProjectDrift) => driftRefusal(d, environment.name, args.command);
  const subjects = 'subjects' in request ? request.subjects.filter((s) => s.scope.schemas.length) : [];
  const decides = 'subjects' in request && (request.decides ?? false);
  if (!subjects.length || !args.engine.diff)
    return new DriftFound(async () => new Map(), refusal, false, args.side && Promise.resolve(args.side));
  if (!args.side) {
    // Its failure is the finding's (thrown to whoever asks), as a side reading's would be.
    const read = await readDrifts(ctx, args, subjects).then(
      (r) => async () => r,
      (e: unknown) => async () => Promise.reject(e),
    );
    return new DriftFound(read, refusal, decides);
  }
  const { side } = args;
  const onSide = readDrifts(ctx, { ...args, conn: side }, subjects).catch(() => null);
  return new DriftFound(
    async () => (await onSide) ?? readDrifts(ctx, args, subjects),
    refusal,
    decides,
    onSide.then((r) => (r ? side : undefined)),
  );
}

async function readDrifts(
  ctx: OperationContext,
  args: { engine: Engine; conn: Connection; environment: ResolvedEnvironment },
  subjects: readonly DriftSubject[],
): Promise<Map<string, ProjectDrift>> {
  const { engine, conn, environment } = args;
  const diff = engine.diff!;
  const readings = new Map<string, ProjectDrift>();
  // The ledger first: a database dbee never wrote to has nothing recorded to compare with (a new target of a fleet
  // reads its missing ledger once, for the plan as well: test/fleet/fleet-requests.test.ts). Its version is read once
  // per session and the rows below read it anyway; in an Nx batch the rows read for the batch answer (no request).
  const ledger = openLedger(conn, engine.ledger);
  if (ledger.tables.knownMissing() || (!ctx.sessions && !(await ledger.tables.exists()))) return readings;
  // Then the catalog version (one for every project; in an Nx batch, the first one read serves every task: a no-op task
  // sends nothing of its own, test/workspace/batch-reads.test.ts), answered before the ledger's rows are read: a
  // session answers one request at a time.
  const version = () => settled(diff.catalogVersion!(conn));
  const catalogVersion = diff.catalogVersion
    ? ctx.sessions
      ? catalogShared(ctx, environment.name, 'catalog-version', version)
      : version()
    : undefined;
  await catalogVersion;
  const shared = catalogVersion && ctx.sessions ? sharedFingerprints(ctx, args, ledger, catalogVersion) : undefined;
  for (const { project, scope } of subjects) {
    const last = await lastRecordedDeployment(ctx, ledger, project, environment.name);
    const input = { project, scope, last, catalogVersion, shared: shared?.(project) };
    // A dependency's deployment that carried the project's state forward (it rewrote a view in place) is no drift.
    const drift = await carriedDrift(ctx, engine, conn, ledger, await recordedDrift(engine, conn, input), scope, last);
    const after = await laterDeployments(ctx, ledger, environment.name, drift);
    readings.set(project, after.length ? { ...drift, after } : drift);
  }
  return readings;
}

/**
 * A drifted project's `after` (`laterDependencyDeployments`), from the newest deployment of each project it depends
 * on: in an Nx batch, those read once for the batch (`lastRecordedDeployment`: no request, but for a dependency an
 * earlier task planned, read again); in one process, the newest of every project in one query, only for a project that
 * drifted and has dependencies.
 */
async function laterDeployments(
  ctx: OperationContext,
  ledger: Pick<Ledger, 'deployments'>,
  environment: string,
  drift: ProjectDrift,
): Promise<NonNullable<ProjectDrift['after']>> {
  return laterDependencyDeployments(
    ctx,
    drift,
    ctx.sessions ? (project) => lastRecordedDeployment(ctx, ledger, project, environment) : newestDeployments(ledger),
  );
}

/**
 * In an Nx batch, the live fingerprints of its tasks' projects (`SessionPool.projects`) whose recorded one the catalog
 * version no longer vouches for, read in one request when the first task needs one, instead of one per task: a
 * version moves with any DDL in the database, such as another project's later deployment or a ledger table dbee makes
 * afterwards (`dbee.blue_green`, on a blue/green deployment), and a no-op batch then read every project's fingerprint
 * on every run (plugins/nx/src/executors/batch-requests.test.ts). Not the projects planned by an earlier task of the
 * batch (read live, as their ledger rows are), nor a batch of one such project. Read again once a task of the batch has
 * applied steps (`catalogShared`), but then from the second task that needs one on: the first reads its own, so that a
 * batch whose every task deploys reads one fingerprint per task, as one process per task does, and not every later
 * project's after each deployment. Returns, for a project, the fingerprint read of the scope given, or undefined (not
 * read, another scope, the read failed): the task then reads its own.
 */
function sharedFingerprints(
  ctx: OperationContext,
  args: { engine: Engine; conn: Connection; environment: ResolvedEnvironment },
  ledger: Pick<Ledger, 'deployments'>,
  catalogVersion: Promise<Settled<string>>,
): (project: string) => (scope: SchemaScope) => Promise<string | undefined> {
  const { engine, conn, environment } = args;
  const read = () =>
    catalogShared(ctx, environment.name, 'live-fingerprints', async () => {
      const planned = plannedInBatch(ctx, environment.name);
      const stale: DriftSubject[] = [];
      for (const project of new Set(ctx.sessions?.projects ?? [])) {
        if (planned.has(project) || !ctx.workspace.projects.has(project)) continue;
        // Those whose task would read it (recordedDrift): a finished deployment's fingerprint the catalog moved past.
        const last = await lastRecordedDeployment(ctx, ledger, project, environment.name);
        const summary = last && finishedDeployment(last) ? deploymentSummary(last) : null;
        if (!summary?.fingerprint || (await stillRecorded(engine, conn, summary, catalogVersion))) continue;
        stale.push(projectSubject(ctx, environment, engine, project));
      }
      if (stale.length < 2) return new Map<string, { scope: string; fingerprint: string }>();
      const read = await engine.diff!.fingerprints(
        conn,
        stale.map((s) => s.scope),
      );
      return new Map(stale.map((s, i) => [s.project, { scope: scopeKey(s.scope), fingerprint: read[i]! }]));
    }).catch(() => new Map<string, { scope: string; fingerprint: string }>());
  return (project) => async (scope) => {
    if (catalogChangedInBatch(ctx, environment.name)) {
      const asked = catalogShared(ctx, environment.name, 'fingerprints-asked', () => new Set<string>());
      asked.add(project);
      if (asked.size < 2) return undefined;
    }
    const found = (await read()).get(project);
    return found && found.scope === scopeKey(scope) ? found.fingerprint : undefined;
  };
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

/**
 * Where a drift's recorded state comes from, for a message that says `changed outside dbee since` it: `deployment #4`
 * (` (recorded in this database as environment prod)`), then the later deployments of the projects it depends on when
 * there are some (`driftCause`: `, or by a later deployment of a project sales depends on: core's deployment #5 ...`).
 */
export function driftSince(drift: ProjectDrift, environment: string): string {
  const as = drift.sinceEnvironment && drift.sinceEnvironment !== environment;
  return `deployment #${drift.since}${as ? ` (recorded in this database as environment ${drift.sinceEnvironment})` : ''}${driftCause(drift)}`;
}

/**
 * The refusal of a command that cannot put a hand edit back (it plans no object from the sources): it would record
 * the edit as dbee's own. Said with the way out: put it back (a deployment from the sources under a conflict strategy
 * that replaces it), or keep it (into the sources, then deploy).
 */
export function driftRefusal(drift: ProjectDrift, environment: string, command: string): DbeeError {
  const { project } = drift;
  return new DbeeError(
    `${project} on ${environment} was changed outside dbee since ${driftSince(drift, environment)}: ${command} would record ${drift.after?.length ? 'the change' : 'the hand edit'} as dbee's own`,
    {
      code: 'DRIFT',
      hint:
        `see what changed with dbee status ${project} --env ${environment} (or dbee diff); put it back to the sources with dbee deploy ${project} --env ${environment} --if-exists drop, ` +
        `or keep it by writing it into the sources (dbee extract ${project} --env ${environment}) and deploying; then run ${command} again`,
      details: { project, since: drift.since, recorded: drift.recorded, live: drift.live },
    },
  );
}
