import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedEnvironment } from '../config/resolve';
import { DbeeError, outOfResources } from '../errors';
import { requireRole, type Connection, type Engine } from '../engine/engine';
import type { ReusableShadow, SessionPool } from '../engine/session-pool';
import { planFromSources } from '../planner/planner';
import { usedVariables, type ProjectModel } from '../planner/project-model';
import type { Plan, PlanStep } from '../plan/plan';
import { canonicalJson } from '../plan/serialize';
import { withBodyDependencies } from '../schema/body-dependencies';
import { keptReferences } from './kept-references';
import type { SchemaModel } from '../schema/model';
import { rolesNamed } from '../schema/named-roles';
import { expandPlaceholders } from '../sources/placeholders';
import { expandedSearchPath } from '../sources/key-name';
import { inBackground, writeCacheFile } from '../background';
import { sha256 } from '../sources/checksum';
import type { OperationContext } from '../context/operation-context';
import { schemaOwners } from '../context/load';

/** Where dbee keeps cached models and diffs, inside the workspace (git-ignored with .dbee/). */
export function cacheDir(workspaceRoot: string, kind: 'models' | 'diffs'): string {
  return join(workspaceRoot, '.dbee', 'cache', kind);
}

/**
 * Hash of everything the desired model of `target` depends on: the sources of it and its dependencies (every
 * file's bytes), the variables they use (so every target of a fleet shares one model) and their search paths, the engine, the shadow kind and dbee's version. The desired
 * model is a pure function of these, so equal keys mean equal models.
 */
export function desiredModelKey(
  models: readonly ProjectModel[],
  target: string,
  engine: string,
  shadow: string,
  toolVersion: string,
  /** The schemas the model reads, when not the target's own (`desiredModel`'s `schemas`). */
  schemas?: readonly string[],
): string {
  const h = createHash('sha256');
  h.update(`dbee-model-v1\0${toolVersion}\0${engine}\0${shadow}\0${target}\0`);
  if (schemas) h.update(`schemas\0${[...schemas].sort().join(',')}\0`);
  for (const m of [...models].sort((a, b) => (a.project.name < b.project.name ? -1 : 1))) {
    h.update(
      `${m.project.name}\0${canonicalJson(usedVariables(m))}\0${m.graph.searchPath.join(',')}\0${m.graph.schemas.join(',')}\0${canonicalJson(m.graph.manage ?? null)}\0`,
    );
    for (const f of m.files) h.update(`${f.path}\0${sha256(f.text)}\0`);
  }
  return h.digest('hex');
}

export interface DesiredModel {
  model: SchemaModel;
  key: string;
  /** True when read from the cache rather than built. */
  cached: boolean;
  /**
   * When built: the projects whose objects were applied to the shadow for it, of the projects in its closure (fewer
   * in a batch, where the dependencies' objects are already there).
   */
  applied?: { projects: number; of: number };
}

/**
 * The schema the sources describe, normalised by the engine itself: apply the sources (target and
 * dependencies, in plan order) to a shadow database, then introspect the target's schemas with the same code
 * that reads live databases. Cached on disk by `desiredModelKey`.
 *
 * With `sessions` (an Nx batch), the pool's shadow is kept between models: a dependency's objects, applied once
 * for the first project that needs them, serve every later dependent, instead of one fresh shadow and the whole
 * closure applied again per project (`nx run-many -t build` over 10 layers: each project's objects applied once).
 */
export async function desiredModel(args: {
  engine: Engine;
  environment: ResolvedEnvironment;
  workspaceRoot: string;
  models: ProjectModel[];
  target: string;
  schemaOwners: ReadonlyMap<string, string>;
  shadow: 'embedded' | 'server';
  toolVersion: string;
  useCache?: boolean;
  /** The batch's sessions: build in its shadow, incrementally (see above). */
  sessions?: SessionPool;
  /**
   * Read these schemas of the built shadow instead of the target's own (the target's `manage:` then does not apply):
   * one build serves a caller that needs every project of the closure (blue/green's judgement of a release).
   */
  schemas?: readonly string[];
}): Promise<DesiredModel> {
  const { engine, models, target } = args;
  const diff = requireRole(
    engine,
    'diff',
    'build a desired schema',
    'diffs against sources need an engine with a shadow database; compare environments instead',
  );
  const key = desiredModelKey(models, target, engine.name, args.shadow, args.toolVersion, args.schemas);
  const file = join(cacheDir(args.workspaceRoot, 'models'), `${key}.json`);
  if (args.useCache !== false && existsSync(file)) {
    return { model: JSON.parse(readFileSync(file, 'utf8')) as SchemaModel, key, cached: true };
  }
  // The same model asked for again while it is being built (a fleet's targets deploying at once, a deployment's
  // convergence check while its warm-up builds it), or once built and before its cache file is written (the
  // policies' judgment, then the convergence check): one build per command, each later caller given a copy of its
  // own, read from the text the cache file gets (as a later command reads it).
  const running = args.useCache !== false ? building.get(key) : undefined;
  if (running) return running.then(({ desired, text }) => ({ ...desired, model: JSON.parse(text) as SchemaModel }));
  const build = buildDesiredModel(args, diff, key, file);
  if (args.useCache === false) return build.then((b) => b.desired);
  building.set(key, build);
  void build.then(
    (b) => b.written.then(() => building.delete(key)),
    () => building.delete(key),
  );
  return build.then((b) => b.desired);
}

/**
 * Models built (or being built) in this process whose cache file is not written yet, by `desiredModelKey` (see
 * `desiredModel`): the cache file's text, and the write. Once the file is there, it serves.
 */
const building = new Map<string, Promise<{ desired: DesiredModel; text: string; written: Promise<void> }>>();

async function buildDesiredModel(
  args: Parameters<typeof desiredModel>[0],
  diff: NonNullable<Engine['diff']>,
  key: string,
  file: string,
): Promise<{ desired: DesiredModel; text: string; written: Promise<void> }> {
  const { engine, models, target } = args;
  const plan = planFromSources({
    engine,
    models,
    planned: models.map((m) => m.project.name),
    schemaOwners: args.schemaOwners,
  });
  const vars = new Map(models.map((m) => [m.project.name, m.variables]));
  const roles = rolesNamed(
    plan.steps.flatMap((s) =>
      s.statements.map((sql) => expandPlaceholders(sql, vars.get(s.project) ?? {}, s.key).expanded),
    ),
    diff.facts.builtInRoles,
  );
  const targetModel = models.find((m) => m.project.name === target)!;
  const scope = args.schemas
    ? { schemas: [...args.schemas] }
    : { schemas: targetModel.graph.schemas, manage: targetModel.graph.manage };
  const reusable = await args.sessions?.reusableShadow(engine, args.shadow, args.environment, {
    workspaceRoot: args.workspaceRoot,
    roles,
  });
  let model: SchemaModel;
  let applied = plan.projects.length;
  if (reusable) {
    applied = await applyIncrementally(engine, reusable, plan, models, target, (m) =>
      desiredModelKey([m], m.project.name, engine.name, args.shadow, args.toolVersion),
    );
    model = await diff.introspect(reusable.conn, scope);
  } else {
    const shadow = await diff.openShadow(args.shadow, args.environment, { workspaceRoot: args.workspaceRoot, roles });
    // A second session of the shadow (a server's), opened while the sources are applied: the built schema is read on
    // both at once.
    const side = shadow.side?.();
    try {
      await applyToShadow(engine, shadow.conn, plan, models);
      model = await diff.introspect(shadow.conn, scope, await side);
    } finally {
      // Dropping the shadow overlaps with what the operation does next (runOperation waits for it at the end).
      inBackground(shadow.dispose());
    }
  }
  // What routines' bodies read and call orders their creation (as the planner orders the sources): the catalog does
  // not record it, and a SQL function's body is checked when it is created.
  const kept = keptReferences(args.workspaceRoot, `${engine.name}\0${args.toolVersion}`, target);
  model = await withBodyDependencies(model, engine.parser, targetModel.graph.searchPath, kept);
  kept.save();
  const text = JSON.stringify(model);
  const written = writeCacheFile(file, text);
  return {
    desired: { model, key, cached: false, applied: { projects: applied, of: plan.projects.length } },
    text,
    written,
  };
}

/**
 * Bring a kept shadow to `target`'s closure: apply each project of the plan that is not in it yet, dependencies
 * first, and record it. What the shadow holds must fit: a project applied from other sources (another key), or a
 * project that depends on the target (its grants or comments could reach into the target's schemas), makes it start
 * again from empty. Projects unrelated to the target may stay: each owns its schemas. A failure wipes the shadow.
 */
async function applyIncrementally(
  engine: Engine,
  shadow: ReusableShadow,
  plan: Plan,
  models: ProjectModel[],
  target: string,
  ownKey: (m: ProjectModel) => string,
): Promise<number> {
  const byName = new Map(models.map((m) => [m.project.name, m]));
  const keys = new Map(models.map((m) => [m.project.name, ownKey(m)]));
  const dependencies = (name: string): Set<string> => {
    const out = new Set<string>();
    const visit = (n: string) => {
      for (const d of byName.get(n)?.graph.dependsOn ?? []) if (!out.has(d)) out.add(d), visit(d);
    };
    visit(name);
    return out;
  };
  const misfit = [...shadow.applied].some(
    ([p, a]) => (keys.has(p) && keys.get(p) !== a.key) || a.dependencies.has(target),
  );
  if (misfit) await shadow.reset();
  let count = 0;
  try {
    for (const project of plan.projects) {
      if (shadow.applied.get(project)?.key === keys.get(project)) continue;
      await applyProject(engine, shadow.conn, plan, project, byName.get(project)?.variables ?? {});
      shadow.applied.set(project, { key: keys.get(project)!, dependencies: dependencies(project) });
      count++;
    }
    return count;
  } catch (e) {
    await shadow.reset().catch(() => {});
    throw e;
  }
}

async function applyToShadow(engine: Engine, conn: Connection, plan: Plan, models: ProjectModel[]): Promise<void> {
  const vars = new Map(models.map((m) => [m.project.name, m.variables]));
  for (const project of plan.projects) await applyProject(engine, conn, plan, project, vars.get(project) ?? {});
}

/** One project's steps of `plan` (its objects; migrations are left out), in order. */
async function applyProject(
  engine: Engine,
  conn: Connection,
  plan: Plan,
  project: string,
  variables: Record<string, string>,
): Promise<void> {
  const path = expandedSearchPath(plan.searchPaths?.[project], variables, engine.capabilities.keyNames, project);
  const set = path.length ? engine.session.searchPath(path) : null;
  if (set) await conn.execute(set);
  // Migrations are run-once scripts for data; the desired schema is what the object files define.
  const steps = plan.steps.filter((s) => s.project === project && s.action !== 'migrate');
  const text = (step: (typeof steps)[number]) =>
    step.statements.map((sql) => expandPlaceholders(sql, variables, step.source?.file ?? step.key).expanded);
  // Round trips dominate a shadow build: consecutive transactional steps go in one request, in a transaction
  // (engines with transactional DDL), at most SHADOW_STEPS_PER_TRANSACTION of them. Only when that fails are they
  // replayed one by one, to name the culprit.
  const batchable = engine.capabilities.transactionalDdl;
  for (let i = 0; i < steps.length; ) {
    let j = i;
    while (batchable && j < steps.length && j - i < SHADOW_STEPS_PER_TRANSACTION && steps[j]!.transactional) j++;
    if (j - i > 1) {
      await applyGroup(conn, steps.slice(i, j), text);
      i = j;
      continue;
    }
    await applyStep(conn, steps[i]!, text(steps[i]!));
    i++;
  }
}

/**
 * The most steps of a shadow build sent in one transaction. PostgreSQL keeps the locks of a transaction in a table of
 * `max_locks_per_transaction` x `max_connections` entries (6,400 by default) shared by every session of the server,
 * and creating an object takes about two: a build of 10,000 objects in one transaction ran out of it after 5 s of work
 * (rolled back), and was then replayed a statement per round trip (18.5 s in all, where the statements take 8.7 s
 * one transaction each). A thousand steps stay well inside the default table, and a transaction more per thousand
 * steps costs one commit more (5,000 objects: 0.95x the time of one transaction, tools/bench/diff-pair.ts).
 */
const SHADOW_STEPS_PER_TRANSACTION = 1000;

/**
 * The most steps of an embedded shadow's transaction sent in one request (`Connection.inProcess`; a server's gets the
 * whole transaction in one). PGlite runs a request in this thread from start to end: a request of a thousand steps
 * held it for over a second, while a deployment's own requests to the target waited to be sent (the convergence
 * check's model is built as the steps run). In requests of ten steps (about 15 ms each), the target's requests are
 * sent between two, and the target works while the shadow does: the full CLI deploy of 1,005 objects with the model
 * to build, 0.87x the wall time and 0.94x the CPU (tools/bench/deploy-pair.ts --uncached, docs/performance.md).
 */
const SHADOW_STEPS_PER_REQUEST = 10;

/**
 * Consecutive transactional steps in one transaction of one request. When the server cannot hold that transaction
 * (`outOfResources`: a lock table smaller than the build needs), the group is halved and each half sent the same way;
 * any other failure replays the group statement by statement, to report which step fails (and where).
 */
async function applyGroup(
  conn: Connection,
  group: readonly PlanStep[],
  text: (step: PlanStep) => string[],
): Promise<void> {
  const size = conn.inProcess ? SHADOW_STEPS_PER_REQUEST : group.length;
  try {
    await conn.transaction(async (tx) => {
      for (let k = 0; k < group.length; k += size) {
        // Each statement on its own line before its ';', so a trailing -- comment cannot swallow the terminator.
        await tx.execute(
          group
            .slice(k, k + size)
            .flatMap(text)
            .join('\n;\n'),
        );
        // An embedded shadow runs in this thread, each request without a pause: between two, what else the process
        // waits for (a deployment's steps on the target, while the convergence check's model is built) gets its turn.
        if (conn.inProcess) await new Promise((resolve) => setImmediate(resolve));
      }
    });
    return;
  } catch (e) {
    if (outOfResources(e) && group.length > 1) {
      const half = Math.ceil(group.length / 2);
      await applyGroup(conn, group.slice(0, half), text);
      await applyGroup(conn, group.slice(half), text);
      return;
    }
    // Fall through: replay the group statement by statement to report which step fails.
  }
  for (const step of group) await applyStep(conn, step, text(step));
}

async function applyStep(conn: Connection, step: PlanStep, statements: string[]): Promise<void> {
  for (const sql of statements) {
    try {
      await conn.execute(sql);
    } catch (e) {
      const cause = e instanceof DbeeError ? e.message : String(e);
      throw new DbeeError(`the sources do not build: ${step.key} fails on a fresh database: ${cause.split('\n')[0]}`, {
        code: 'SHADOW_BUILD_FAILED',
        location: step.source ? { file: step.source.file, line: step.source.line } : undefined,
        hint: step.key.startsWith('extension:')
          ? "the scratch database the desired schema is built in lacks this extension: the embedded one (PGlite) ships only a few; set `shadow: server` in dbee.yaml to build it in a scratch database on the environment's server, where the extension is installed"
          : 'fix the definition; dbee builds the desired schema by applying every source to an empty scratch database',
        cause: e,
      });
    }
  }
}

/**
 * `desiredModelFor`'s key at once (it depends on the sources only), and its model when asked for: a diff answered from
 * the diff cache needs the key alone, and reading the cached model (4 MB of JSON for 5,000 objects) cost a tenth of
 * such a diff. A model not cached is built (in a shadow database) as the promise runs, so that an operation reads the
 * live side meanwhile.
 */
export function desiredModelStarted(
  ctx: OperationContext,
  args: Parameters<typeof desiredModelFor>[1],
): { key: string; model: Promise<() => SchemaModel> } {
  const shadow = args.shadow ?? ctx.workspace.config.shadow ?? 'embedded';
  const key = desiredModelKey(args.models, args.target, args.engine.name, shadow, ctx.toolVersion);
  const file = join(cacheDir(ctx.workspace.root, 'models'), `${key}.json`);
  if (args.useCache !== false && existsSync(file)) {
    let model: SchemaModel | undefined;
    return { key, model: Promise.resolve(() => (model ??= JSON.parse(readFileSync(file, 'utf8')) as SchemaModel)) };
  }
  return { key, model: desiredModelFor(ctx, args).then((built) => () => built.model) };
}

/**
 * `desiredModel` with what an operation already knows filled in from its context: the workspace root, the
 * schema owners, the configured shadow kind and dbee's version.
 */
export function desiredModelFor(
  ctx: OperationContext,
  args: {
    engine: Engine;
    environment: ResolvedEnvironment;
    models: ProjectModel[];
    target: string;
    useCache?: boolean;
    shadow?: 'embedded' | 'server';
    schemas?: readonly string[];
  },
): Promise<DesiredModel> {
  return desiredModel({
    ...args,
    workspaceRoot: ctx.workspace.root,
    schemaOwners: schemaOwners(ctx, args.environment),
    shadow: args.shadow ?? ctx.workspace.config.shadow ?? 'embedded',
    toolVersion: ctx.toolVersion,
    sessions: ctx.sessions,
  });
}

/** `desiredModelKey` of the model `desiredModelFor` gives for these arguments (the configured shadow kind). */
export function desiredModelKeyFor(
  ctx: OperationContext,
  args: { engine: Engine; models: readonly ProjectModel[]; target: string },
): string {
  const shadow = ctx.workspace.config.shadow ?? 'embedded';
  return desiredModelKey(args.models, args.target, args.engine.name, shadow, ctx.toolVersion);
}

/** Whether `desiredModelFor` with these arguments would read its model from the cache (build nothing). */
export function desiredModelCached(
  ctx: OperationContext,
  args: { engine: Engine; models: ProjectModel[]; target: string },
): boolean {
  return existsSync(join(cacheDir(ctx.workspace.root, 'models'), `${desiredModelKeyFor(ctx, args)}.json`));
}
