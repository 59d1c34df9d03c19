import { liveFingerprint } from '../runner/recorded-fingerprint';
import { renderMode, type RenderMode } from '../plan/render-mode';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Workspace } from '../config/workspace';
import { DbeeError } from '../errors';
import { requireRole, type Connection, type Engine } from '../engine/engine';
import type { DeploymentSummary } from '../ledger/ledger';
import { openLedger } from '../ledger/open-ledger';
import { settled, unsettled, writeCacheFile } from '../background';
import { engineFor, type OperationContext } from '../context/operation-context';
import { loadModels, loadTarget, removedObjects, schemaOwners, type LoadedTarget } from '../context/load';
import { PLAN_FORMAT_VERSION, type Plan, type PlanStep } from '../plan/plan';
import { planChanges, type PlanChangesSettings } from '../planner/plan-changes';
import type { SchemaModel } from '../schema/model';
import { ignorePattern, projectScope, type ManagedScope, type SchemaScope } from '../schema/managed-scope';
import {
  compareEnvironments,
  differingUnmodelled,
  environmentScope,
  refuseOtherSchemaNames,
  refuseSchemasOnNeither,
} from './environment-scope';
import type { RenameDeclaration } from '../schema/change';
import { againstSources, type InFlightReader, type InFlightWork } from './in-flight-work';
import { checksumStatements } from '../sources/checksum';
import { cacheDir, desiredModel, desiredModelStarted } from './desired';
import { materializeRef } from './git-ref';
import { sideSession, withSession } from '../runner/session';
import { backupStamp } from '../plan/backup-stamp';
import { expandText } from '../sources/placeholders';
import { formatKey } from '../model/object-key';

/** What to compare: the environment (`--env`) against its sources (default), another environment, or two refs. */
export interface DiffSelectors {
  project: string;
  env?: string;
  /** Compare with this environment's live schema instead of the sources (the target side). */
  againstEnv?: string;
  /** Compare two git refs of the sources (`head` defaults to the working tree); no database is touched. */
  base?: string;
  /** The sources at this ref: the new side of `base`, or, without it, what the environment is compared with. */
  head?: string;
  /** Ignore cached models and diffs (they are still written). */
  noCache?: boolean;
  /** Apply the safe rewrites whatever the settings say (`--safe`; see `renderMode`). */
  safe?: boolean;
}

export interface DiffResult {
  project: string;
  /** Human labels of the two sides, e.g. `test (postgres://...)` and `sources`. */
  from: string;
  to: string;
  /** The plan that turns `from` into `to`; `baseFingerprint` is the live side's, when it is a database. */
  plan: Plan;
  /** Served from the diff cache. */
  cached: boolean;
  /**
   * Deployed objects (ledger) whose source was removed without a drop decision (a migration that drops them), when
   * the target side is the sources: the plan drops them, `deploy` warns and leaves them unless it plans the project
   * by a diff. Absent for the other comparisons.
   */
  pendingDrops?: string[];
  /**
   * Changes the comparison found but cannot plan (an engine that compares objects itself: a Teradata column type
   * changed, say), each with its object and what only a migration can do. Absent when the engine plans every change.
   */
  unplanned?: { key: string; reason: string }[];
  /**
   * Where the plan starts, for the compatibility check of the diff's Markdown (in memory only, never printed): the
   * environment, engine and models as loaded (for two refs, the head's), and for two refs the base's desired model
   * (the side the plan starts from is then no database). Absent for an engine that compares objects itself.
   */
  start?: { loaded: Pick<LoadedTarget, 'environment' | 'engine' | 'models'>; from?: SchemaModel };
  /**
   * Between two refs (`diff --base`), the changed dependencies of the project, each its own result: its release package
   * carries their changes too. Absent otherwise, and on the dependencies' own results.
   */
  dependencies?: DiffResult[];
  /** On a result in `dependencies`: the project it is a dependency of. */
  dependencyOf?: string;
  /**
   * dbee's own work in flight on either side (an environment: a strategy's, between its phases), with what it holds:
   * its objects are not differences (see `livePlan`). Absent when there is none.
   */
  inFlight?: { environment: string; work: InFlightWork }[];
}

/**
 * The changes from one side to the other as a plan: typed changes from the two models, rendered by the engine
 * with reverses and hazards. Live sides are read under the deployment lock (the embedded database allows one
 * process at a time, and a diff must not read a schema halfway through a deployment).
 */
export async function diffPlan(
  ctx: OperationContext,
  selectors: DiffSelectors,
  /** The one reader of every strategy's work in flight (operations/strategies/in-flight.ts). */
  inFlight: InFlightReader,
): Promise<DiffResult> {
  if ((selectors.base || selectors.head) && selectors.againstEnv) {
    throw new DbeeError(`--against-env and --${selectors.base ? 'base' : 'head'} cannot be combined`, {
      code: 'OPTIONS_INVALID',
      hint: 'compare an environment with another (--against-env), with the sources at a ref (--head), or two refs (--base, --head)',
    });
  }
  return selectors.base ? diffRefs(ctx, selectors) : diffEnvironment(ctx, selectors, inFlight);
}

async function diffEnvironment(
  ctx: OperationContext,
  selectors: DiffSelectors,
  inFlight: InFlightReader,
): Promise<DiffResult> {
  const { workspace } = ctx;
  const loaded = await loadTarget(ctx, selectors.project, selectors.env);
  if (!loaded.engine.diff && loaded.engine.compare) return diffByComparison(ctx, selectors, loaded);
  const { environment, target, models, model } = loaded;
  const engine = requireDiffEngine(loaded.engine);
  // Comparing two environments, both sides are read whole (no source names the grantees), then brought to what the
  // comparison covers by `compareEnvironments`, which names what it leaves out.
  const envVsEnv = Boolean(selectors.againstEnv) && Boolean(requireRole(engine, 'diff', 'compute a diff').roles);
  const scope = envVsEnv ? environmentScope(projectScope(model.graph)) : projectScope(model.graph);
  const mode = renderMode(workspace.settings(target, environment).deploy, selectors.safe);

  // The target side first (it needs no lock): the sources' model, or another environment's live schema.
  // The target side's model is a thunk: a diff served from the cache never reads it.
  let desired: TargetSide;
  if (selectors.againstEnv) {
    const there = workspace.environment(selectors.againstEnv, ctx.env);
    refuseOtherSchemaNames(ctx, engine, target, { environment, schemas: model.graph.schemas }, there);
    desired = await otherEnvironment(ctx, engine, selectors.againstEnv, scope, target.name, envVsEnv, inFlight);
  } else if (selectors.head) {
    const d = await desiredAtRef(ctx, selectors.head, selectors.env, target.name, !selectors.noCache);
    desired = { model: () => d.model, key: d.key, label: `sources at ${selectors.head}` };
  } else {
    // The model itself is read only when the diff is not cached (see `desiredModelStarted`). Its key depends on the
    // sources only: a model not cached is built in a shadow database while the live side is read below.
    const d = desiredModelStarted(ctx, {
      engine,
      environment,
      models,
      target: target.name,
      useCache: !selectors.noCache,
    });
    desired = { model: null, building: d.model, key: d.key, label: 'sources' };
  }

  // Against the sources, what the ledger records but the sources no longer hold (read in the same session).
  const pending =
    selectors.againstEnv || selectors.head
      ? undefined
      : async (conn: Connection) =>
          removedObjects(model, await openLedger(conn, engine.ledger).objects.deployedState(target.name));
  const reading = readLive(ctx, engine, environment, scope, {
    project: target.name,
    inFlight,
    cached: (fp, roles, work) => {
      const key = diffKey(desired.key, liveKey(fp, roles, work), mode);
      return selectors.noCache ? null : readCachedDiff(workspace.root, key);
    },
    pending,
    withRoles: envVsEnv,
    lastOf: selectors.noCache
      ? undefined
      : (conn) =>
          openLedger(conn, engine.ledger)
            .deployments.lastFinishedSummary(target.name, environment.name)
            .catch(() => null),
  });
  // Both sides at once; the sources' error first, as when the model was built before the live side was read.
  const [read, built] = await Promise.all([settled(reading), desired.building ? settled(desired.building) : null]);
  if (built) desired.model = unsettled(built);
  const live = unsettled(read);
  const held = [
    ...(live.work ? [{ environment: environment.name, work: live.work }] : []),
    ...(desired.work ? [{ environment: desired.label.replace(/ \(.*$/, ''), work: desired.work }] : []),
  ];
  const pendingDrops = live.pendingDrops && (live.work ? live.work.pendingDrops(live.pendingDrops) : live.pendingDrops);
  const sides = {
    project: target.name,
    from: `${environment.name} (${live.description})`,
    to: desired.label,
    ...(pendingDrops ? { pendingDrops } : {}),
    ...(held.length ? { inFlight: held } : {}),
    start: { loaded },
  };
  if (live.cachedPlan) return { ...sides, plan: live.cachedPlan, cached: true };
  if (envVsEnv)
    refuseSchemasOnNeither(target, model.graph.schemas, live.model!, desired.model!(), {
      fromLabel: environment.name,
      toLabel: desired.label.replace(/ \(.*$/, ''),
    });
  const plan = livePlan(engine, live, desired, {
    project: target.name,
    ...mode,
    renames: target.config.renames ?? [],
    owners: envVsEnv ? (model.graph.manage?.owners ?? false) : scope.manage?.owners,
    envVsEnv: envVsEnv ? { manage: model.graph.manage, grants: target.config.manage?.grants !== false } : null,
    labels: [environment.name, desired.label.replace(/ \(.*$/, '')],
    scope,
    toSources: !selectors.againstEnv,
  });
  writeCachedDiff(workspace.root, diffKey(desired.key, liveKey(live.fingerprint, live.roles, live.work), mode), plan);
  return { ...sides, plan, cached: false };
}

/** The side a diff goes to: the sources' model (a thunk, or being built), or another environment's live schema. */
interface TargetSide {
  model: (() => SchemaModel) | null;
  /** The sources' model being read or built (a shadow database): the live side is read meanwhile. */
  building?: Promise<() => SchemaModel>;
  key: string;
  label: string;
  roles?: string[];
  /** Another environment's work in flight (its model is then what undoing the work would leave). */
  work?: InFlightWork;
}

/** `--against-env`: the other environment's live schema, read under its own lock; work in flight there left out. */
async function otherEnvironment(
  ctx: OperationContext,
  engine: Engine,
  name: string,
  scope: SchemaScope,
  project: string,
  envVsEnv: boolean,
  inFlight: InFlightReader,
): Promise<TargetSide> {
  const other = ctx.workspace.environment(name, ctx.env);
  const read = await readLive(ctx, engine, other, scope, { project, withRoles: envVsEnv, inFlight });
  const model = read.model;
  if (!model) throw new Error('unreachable: readLive returned no model');
  const work = read.work;
  return {
    model: work ? () => work.before(model) : () => model,
    key: `env:${other.name}:${liveKey(read.fingerprint, read.roles, work)}`,
    label: `${other.name} (${read.description})`,
    ...(read.roles ? { roles: read.roles } : {}),
    ...(work ? { work } : {}),
  };
}

/**
 * The plan from the live side to the target side. Work in flight on the live side is left out of it: against another
 * environment, the live side is what undoing the work would leave (`InFlightWork.before`); against the sources, dbee's
 * scaffolding is left out and the changes that finishing the work makes are not planned (`againstSources`).
 */
function livePlan(
  engine: Engine,
  live: LiveRead,
  desired: TargetSide,
  settings: PlanChangesSettings & {
    envVsEnv: { manage: ManagedScope | undefined; grants: boolean } | null;
    labels: [string, string];
    scope: SchemaScope;
    /** The target side is the sources (else another environment). */
    toSources: boolean;
  },
): Plan {
  const { envVsEnv, labels, scope, toSources, ...planSettings } = settings;
  const work = live.work;
  const sources = toSources ? againstSources(live.model!, work) : null;
  const old = work ? work.before(live.model!) : live.model!;
  let [from, to] = [sources?.from ?? old, desired.model!()];
  let uncompared: string[] = [];
  if (envVsEnv)
    ({ from, to, uncompared } = compareEnvironments(envVsEnv.manage, from, to, {
      from: live.roles ?? [],
      to: desired.roles ?? [],
      fromLabel: labels[0],
      toLabel: labels[1],
      grants: envVsEnv.grants,
    }));
  // Objects of classes the model does not hold: named when the two sides differ in them, whatever the sides are.
  uncompared.push(...differingUnmodelled(from, to, { fromLabel: labels[0], toLabel: labels[1] }));
  // The scope of the fingerprint goes with it: deploy checks freshness over the same part of the database.
  return {
    ...planChanges(engine, from, to, {
      ...planSettings,
      ...(envVsEnv ? { renames: reachedRenames(planSettings.renames ?? [], to) } : {}),
      baseFingerprint: live.fingerprint,
      ...(sources?.skip ? { skip: sources.skip } : {}),
    }),
    baseScope: scope,
    ...(uncompared.length ? { uncompared } : {}),
  };
}

/**
 * Between two environments, the project's renames that the target side has made (its table or column has the new
 * name): the others are the sources' news to both sides (two environments before a release that renames, or one
 * with it in flight), not a difference between them.
 */
export function reachedRenames(renames: RenameDeclaration[], to: SchemaModel): RenameDeclaration[] {
  const table = (schema: string, name: string | undefined) =>
    to.tables.find((t) => t.key.schema === schema && t.key.name === name);
  return renames.filter((r) =>
    r.kind === 'view'
      ? to.views.some((v) => v.key.schema === r.schema && v.key.name === r.to)
      : r.kind === 'function'
        ? to.routines.some((x) => x.key.schema === r.schema && x.key.name === r.to)
        : r.kind === 'table'
          ? table(r.schema, r.to) !== undefined
          : (
              table(r.schema, r.table) ??
              table(r.schema, renames.find((t) => t.kind === 'table' && t.from === r.table)?.to)
            )?.columns.some((c) => c.name === r.to),
  );
}

/** The live side's part of a diff's cache key: its fingerprint, its roles, and the work in flight there. */
function liveKey(fingerprint: string, roles: string[] | undefined, work: InFlightWork | null | undefined): string {
  const flying = work ? `:${work.key}` : '';
  return `${roles ? `${fingerprint}:${rolesHash(roles)}` : fingerprint}${flying}`;
}

/**
 * `diff --env` on an engine without a shadow database but with `compare` (Teradata): the engine compares each source
 * object of the project with the live one itself (no model of either side, so no cache: nothing fingerprints the
 * live side), under the deployment lock as any live read. The other comparisons (`--against-env`, `--head`,
 * `--base`) need the models of a shadow database: refused.
 */
async function diffByComparison(
  ctx: OperationContext,
  selectors: DiffSelectors,
  loaded: Awaited<ReturnType<typeof loadTarget>>,
): Promise<DiffResult> {
  const { environment, target, model, engine } = loaded;
  if (selectors.againstEnv || selectors.head) {
    throw new DbeeError(
      `the ${engine.name} engine compares an environment with the working tree's sources only (--${selectors.againstEnv ? 'against-env' : 'head'} needs a shadow database to build models in)`,
      {
        code: 'ENGINE_CAPABILITY',
        hint: `run dbee diff ${target.name} --env <environment> against each environment, or dbee extract to write an environment's objects as files`,
        details: { engine: engine.name, role: 'diff' },
      },
    );
  }
  const compare = requireRole(engine, 'compare', 'compare objects with the live database');
  // Keys as the database names them (`view:DEV_EDW.V`, not `view:{{env}}_EDW.V`), statements expanded.
  const objects = model.objects.map((o) => ({
    key: {
      ...o.key,
      schema: expandText(o.key.schema, model.variables, o.location.file),
      name: expandText(o.key.name, model.variables, o.location.file),
      ...(o.key.parent ? { parent: expandText(o.key.parent, model.variables, o.location.file) } : {}),
    },
    statements: o.statements.map((s) => s.sql),
  }));
  const located = new Map(model.objects.map((o, i) => [formatKey(objects[i]!.key), o.location]));
  // `manage.ignore` globs name objects as the database does (`table:{{env}}_EDW.TMP_*` is `table:DEV_EDW.TMP_*`).
  const manage = model.graph.manage && {
    ...model.graph.manage,
    ignore: (target.config.manage?.ignore ?? []).map((g) =>
      ignorePattern(expandText(g, model.variables, target.file.displayPath)),
    ),
  };
  const read = await withSession(
    { engine, environment, workspaceRoot: ctx.workspace.root, reporter: ctx.reporter },
    async ({ conn }) => ({
      description: conn.description,
      pendingDrops: removedObjects(model, await openLedger(conn, engine.ledger).objects.deployedState(target.name)),
      ...(await compare.compareObjects(conn, {
        objects,
        databases: model.graph.schemas,
        stamp: backupStamp(new Date()),
        ...(manage ? { manage } : {}),
      })),
    }),
  );
  const steps: PlanStep[] = read.steps.map((r, i) => {
    const at = located.get(r.key);
    return {
      ...r,
      order: i + 1,
      project: target.name,
      source: at ? { file: at.file, line: at.line } : null,
      checksum: checksumStatements(r.statements),
    };
  });
  return {
    project: target.name,
    from: `${environment.name} (${read.description})`,
    to: 'sources',
    plan: {
      formatVersion: PLAN_FORMAT_VERSION,
      engine: engine.name,
      projects: [target.name],
      sourceCommit: null,
      baseFingerprint: null,
      steps,
    },
    cached: false,
    pendingDrops: read.pendingDrops,
    unplanned: read.unplanned,
  };
}

async function diffRefs(ctx: OperationContext, selectors: DiffSelectors): Promise<DiffResult> {
  const sides = await Promise.all(
    [selectors.base!, selectors.head].map(async (ref) => {
      const tree = ref ? materializeRef(ctx.workspace.root, ref) : null;
      try {
        const s = await desiredIn(
          ctx,
          tree ? Workspace.load(tree.root) : ctx.workspace,
          selectors.env,
          selectors.project,
          !selectors.noCache,
        );
        return {
          engine: s.engine,
          environment: s.environment,
          models: s.models,
          model: s.desired.model,
          mode: renderMode(s.workspace.settings(s.target, s.environment).deploy, selectors.safe),
          renames: s.target.config.renames ?? [],
        };
      } finally {
        await tree?.dispose();
      }
    }),
  );
  const [base, head] = sides as [(typeof sides)[0], (typeof sides)[0]];
  const plan = planChanges(head.engine, base.model, head.model, {
    project: selectors.project,
    ...head.mode,
    renames: head.renames,
  });
  return {
    project: selectors.project,
    from: selectors.base!,
    to: selectors.head ?? 'working tree',
    plan,
    cached: false,
    start: { loaded: head, from: base.model },
  };
}

/**
 * The desired model of a project as the sources at a git ref describe it (read from git's objects, no checkout),
 * with the variables that environment has at that ref.
 */
async function desiredAtRef(
  ctx: OperationContext,
  ref: string,
  env: string | undefined,
  project: string,
  useCache: boolean,
) {
  const tree = materializeRef(ctx.workspace.root, ref);
  try {
    return (await desiredIn(ctx, Workspace.load(tree.root), env, project, useCache)).desired;
  } finally {
    await tree.dispose();
  }
}

/** The desired model of `project` as the sources of `workspace` (the working tree, or a git ref's) describe it. */
async function desiredIn(
  ctx: OperationContext,
  workspace: Workspace,
  env: string | undefined,
  project: string,
  useCache: boolean,
) {
  const sub: OperationContext = { ...ctx, workspace };
  // Environments (connections, variables, gates) come from the working tree's dbee.yaml, whichever ref the sources are read at.
  const environment = ctx.workspace.environment(env, ctx.env);
  const target = workspace.project(project);
  const all = workspace.withDependencies(target.name);
  const engine = requireDiffEngine(engineFor(sub, environment, all));
  const models = await loadModels(sub, all, environment, engine);
  const desired = await desiredModel({
    engine,
    environment,
    // Cache under the real workspace: the key is the sources' hash, wherever they were read from.
    workspaceRoot: ctx.workspace.root,
    models,
    target: target.name,
    schemaOwners: schemaOwners(sub, environment),
    shadow: 'embedded',
    toolVersion: ctx.toolVersion,
    useCache,
  });
  return { workspace, environment, target, engine, models, desired };
}

/** What `readLive` read of one environment. */
interface LiveRead {
  fingerprint: string;
  description: string;
  model?: SchemaModel;
  cachedPlan?: Plan;
  pendingDrops?: string[];
  roles?: string[];
  /** dbee's work in flight there for the project (a strategy's, between its phases), or null. */
  work: InFlightWork | null;
}

/**
 * Read a live schema under the lock: the project's work in flight and the fingerprint first, then (unless `cached`
 * answers) the full model.
 */
async function readLive(
  ctx: OperationContext,
  engine: Engine,
  environment: ReturnType<OperationContext['workspace']['environment']>,
  scope: SchemaScope,
  options: {
    project: string;
    inFlight: InFlightReader;
    cached?: (fingerprint: string, roles: string[] | undefined, work: InFlightWork | null) => Plan | null;
    pending?: (conn: Connection) => Promise<string[]>;
    withRoles?: boolean;
    /** The summary of the project's last finished deployment on this environment (its recorded fingerprint). */
    lastOf?: (conn: Connection) => Promise<DeploymentSummary | null>;
  },
): Promise<LiveRead> {
  const { cached, pending, lastOf } = options;
  return withSession(
    { engine, environment, workspaceRoot: ctx.workspace.root, reporter: ctx.reporter },
    async (session) => {
      const { conn } = session;
      const pendingDrops = pending ? { pendingDrops: await pending(conn) } : {};
      const diff = requireRole(engine, 'diff', 'compute a diff');
      const roles = options.withRoles && diff.roles ? await diff.roles(conn) : undefined;
      const withRoleList = roles ? { roles } : {};
      const work = await options.inFlight(conn, engine, [options.project]);
      // The fingerprint the project's last deployment here recorded, while the catalog has not changed since
      // (`liveFingerprint`); only where a cached plan may answer by it.
      const recorded = cached && lastOf ? await lastOf(conn) : null;
      const fingerprint = await liveFingerprint(diff, engine, conn, scope, recorded);
      const base = { fingerprint, description: conn.description, work, ...pendingDrops, ...withRoleList };
      const hit = cached?.(fingerprint, roles, work);
      if (hit) return { ...base, cachedPlan: hit };
      // Its catalog queries shared with the lock's session (`DiffRole.introspect`).
      return { ...base, model: await diff.introspect(conn, scope, sideSession(ctx, session)) };
    },
  );
}

function rolesHash(roles: string[]): string {
  return createHash('sha256').update(roles.join('\0')).digest('hex').slice(0, 16);
}

/** The engine, once it is known to have a diff role (`ENGINE_CAPABILITY` otherwise). */
function requireDiffEngine(engine: Engine): Engine {
  requireRole(engine, 'diff', 'compute a diff');
  return engine;
}

function diffKey(desiredKey: string, fingerprint: string, mode: RenderMode): string {
  return createHash('sha256')
    .update(`dbee-diff-v3\0${desiredKey}\0${fingerprint}\0${JSON.stringify(mode)}`)
    .digest('hex');
}

function readCachedDiff(root: string, key: string): Plan | null {
  const file = join(cacheDir(root, 'diffs'), `${key}.json`);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Plan) : null;
}

function writeCachedDiff(root: string, key: string, plan: Plan): void {
  writeCacheFile(join(cacheDir(root, 'diffs'), `${key}.json`), JSON.stringify(plan));
}

/**
 * Refuse a plan computed against another state of the database: its base fingerprint (taken when it was
 * planned) must match the live one, read over the scope the plan recorded (`scope`, the project's
 * {@link projectScope}, for older plans that recorded none). Plans from sources have no base and always pass.
 */
export async function assertFreshBase(engine: Engine, conn: Connection, plan: Plan, scope: SchemaScope): Promise<void> {
  if (!plan.baseFingerprint || !engine.diff) return;
  // In the base's format: a plan made by an earlier dbee is not stale for what that dbee did not print.
  const now = await engine.diff.fingerprint(conn, plan.baseScope ?? scope, plan.baseFingerprint);
  if (now !== plan.baseFingerprint) {
    throw new DbeeError(
      'the plan is stale: the database changed since the plan was made, so its steps may no longer apply',
      {
        code: 'PLAN_STALE',
        hint: 'make the plan again against the current database (dbee plan --diff --out ..., or dbee diff) and deploy that',
        details: { planned: plan.baseFingerprint, live: now },
      },
    );
  }
}
