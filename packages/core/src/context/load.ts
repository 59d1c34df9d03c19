import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DbeeError } from '../errors';
import type { DbProject, Workspace } from '../config/workspace';
import type { ResolvedEnvironment } from '../config/resolve';
import type { Engine } from '../engine/engine';
import type { Ledger } from '../ledger/ledger';
import { canonicalJson } from '../plan/serialize';
import { writeCacheFile } from '../background';
import { deferredConstraintKey, type DeployedState } from '../planner/planner';
import type { SourceObject } from '../planner/objects';
import type { ManagedScope } from '../schema/managed-scope';
import { loadProjectModel, graphProject, type ParseCache, type ProjectModel } from '../planner/project-model';
import { engineFor, type OperationContext } from './operation-context';
import { gitCommit } from './origin';
import { formatKey, parseKey, type ObjectKey } from '../model/object-key';

/**
 * A value computed once for all the tasks of one Nx batch (`ctx.sessions`), and afresh by every operation outside
 * one. The sources, the configuration and the git commit cannot change while a batch runs (Nx started it on one
 * working tree, and the batch holds each environment's deployment lock throughout). Keyed by the workspace as well:
 * an operation on the sources at a git ref loads a workspace of its own.
 */
export function batchShared<T>(ctx: OperationContext, key: string, compute: () => T): T {
  // The targets of a fleet deployment share such values as the tasks of a batch do (context/fleet-plans.ts).
  if (!ctx.sessions && ctx.plans) return ctx.plans.memo(`${key}\0${ctx.workspace.root}`, compute);
  if (!ctx.sessions) return compute();
  const byWorkspace = ctx.sessions.memo('batch-shared', () => new WeakMap<Workspace, Map<string, unknown>>());
  let values = byWorkspace.get(ctx.workspace);
  if (!values) byWorkspace.set(ctx.workspace, (values = new Map()));
  if (!values.has(key)) values.set(key, compute());
  return values.get(key) as T;
}

/**
 * Parse the given projects (a project and its dependencies, usually) for one environment. In a batch each project is
 * parsed once, not once per dependent: planning the tenth layer of a monorepo then reads no more sources than the first.
 *
 * `exportsFor`: the projects being planned. Outside a batch, every other project (a dependency, there only to resolve
 * references) comes from what it exported when it was last parsed (`.dbee/cache/exports/`, see `ProjectExports`)
 * instead of its sources, when that is known: a project's plan then reads its own sources, not its whole closure's
 * (issue #19 point 4). Such a model has its objects' keys and locations but no statements and no files; use
 * `fullModels` before building a desired model from it.
 */
export async function loadModels(
  ctx: OperationContext,
  projects: DbProject[],
  environment: ResolvedEnvironment,
  engine: Engine,
  options: { exportsFor?: readonly string[] } = {},
): Promise<ProjectModel[]> {
  const models: ProjectModel[] = [];
  for (const p of projects) {
    const { variables } = ctx.workspace.settings(p, environment);
    const key = `model\0${engine.name}\0${environment.name}\0${p.name}\0${canonicalJson(variables)}`;
    // On a fleet every target's model comes from one parse (context/fleet-plans.ts), exports are not needed.
    if (options.exportsFor && !ctx.sessions && !ctx.plans && !options.exportsFor.includes(p.name)) {
      const known = readExports(ctx, engine, environment, p, variables);
      if (known) {
        models.push(known);
        continue;
      }
    }
    const load = () =>
      batchShared(ctx, key, async () => {
        const model = await loadProjectModel(
          ctx.workspace.root,
          p,
          variables,
          engine.parser,
          ctx.workspace.projects,
          parseCacheOf(ctx, engine),
          engine.capabilities.keyNames,
        );
        writeExports(ctx, engine, environment, model);
        return model;
      });
    models.push(
      ctx.plans && !ctx.sessions
        ? await ctx.plans.model(`${engine.name}\0${ctx.workspace.root}\0${p.name}`, variables, load)
        : await load(),
    );
  }
  return models;
}

/** Where parses (and the checks of smoke files) are kept between runs, and what else they depend on: the parser. */
export function parseCacheOf(ctx: Pick<OperationContext, 'workspace' | 'toolVersion'>, engine: Engine): ParseCache {
  return { dir: join(ctx.workspace.root, '.dbee', 'cache', 'parse'), parser: `${engine.name}\0${ctx.toolVersion}` };
}

/** `models` with every model made from exports replaced by the parsed sources (see `loadModels`). */
export async function fullModels(
  ctx: OperationContext,
  models: ProjectModel[],
  environment: ResolvedEnvironment,
  engine: Engine,
): Promise<ProjectModel[]> {
  if (!models.some((m) => fromExports.has(m))) return models;
  return loadModels(
    ctx,
    models.map((m) => m.project),
    environment,
    engine,
  );
}

/** True when some of `models` come from exports rather than sources. */
export function hasExportedModels(models: readonly ProjectModel[]): boolean {
  return models.some((m) => fromExports.has(m));
}

/**
 * What a project offers the projects that depend on it for planning: the keys of its objects and where each is
 * defined (to resolve their references, and to name the file in an error), and its managed scope. Written whenever
 * dbee parses the project, keyed by project, engine, environment, variables and dbee's version.
 *
 * Read instead of the project's sources when a dependent is planned alone. If the dependency changed since it was
 * last parsed here, the exports are older than its sources: references are then resolved against its previous
 * objects. That never changes the steps planned for the dependent (they come from its own sources, and the order
 * among them from its own objects); it can only make an error about an undeclared dependency appear or vanish, so
 * a plan that fails is made again from the sources before the error is shown.
 */
interface ProjectExports {
  project: string;
  objects: Array<Pick<SourceObject, 'key' | 'id' | 'location'>>;
  manage?: ManagedScope;
}

const fromExports = new WeakSet<ProjectModel>();

function exportsFile(
  ctx: OperationContext,
  engine: Engine,
  environment: ResolvedEnvironment,
  project: string,
  variables: Record<string, string>,
): string {
  const key = createHash('sha256')
    .update(
      `dbee-exports-v1\0${ctx.toolVersion}\0${engine.name}\0${environment.name}\0${project}\0${canonicalJson(variables)}`,
    )
    .digest('hex');
  return join(ctx.workspace.root, '.dbee', 'cache', 'exports', `${key.slice(0, 40)}.json`);
}

function writeExports(
  ctx: OperationContext,
  engine: Engine,
  environment: ResolvedEnvironment,
  model: ProjectModel,
): void {
  const data: ProjectExports = {
    project: model.project.name,
    objects: model.objects.map((o) => ({ key: o.key, id: o.id, location: o.location })),
    manage: model.graph.manage,
  };
  const file = exportsFile(ctx, engine, environment, model.project.name, model.variables);
  const text = JSON.stringify(data);
  try {
    // Unchanged (the common case: a no-op deploy of 200 projects): no write, no rename.
    if (readFileSync(file, 'utf8') === text) return;
  } catch {
    // Not written yet.
  }
  // In the background (the operation waits for it before it ends, so a dependent planned next reads it).
  writeCacheFile(file, text);
}

function readExports(
  ctx: OperationContext,
  engine: Engine,
  environment: ResolvedEnvironment,
  project: DbProject,
  variables: Record<string, string>,
): ProjectModel | null {
  let data: ProjectExports;
  try {
    data = JSON.parse(
      readFileSync(exportsFile(ctx, engine, environment, project.name, variables), 'utf8'),
    ) as ProjectExports;
  } catch {
    return null;
  }
  if (data.project !== project.name) return null;
  const graph = graphProject(project, variables, ctx.workspace.projects, engine.capabilities.keyNames);
  graph.manage = data.manage;
  const objects: SourceObject[] = data.objects.map((o) => ({
    ...o,
    project: project.name,
    statements: [],
    references: [],
    deferrable: [],
  }));
  const model: ProjectModel = { project, graph, variables, objects, migrations: [], smoke: [], files: [] };
  fromExports.add(model);
  return model;
}

/** `gitCommit` of the workspace, once per batch (two git processes each time: 0.1 s, and far more on a loaded machine). */
export function sourceCommit(ctx: OperationContext): Promise<string | null> {
  return batchShared(ctx, 'git-commit', () => gitCommit(ctx.workspace.root));
}

/**
 * What the ledger says each of `projects` deployed. In a batch, the state of every project is read once per
 * environment (two queries) when the first task asks: the batch holds the deployment lock throughout, and each task
 * deploys only its own project, so no task changes the state another one reads.
 */
export async function deployedStates(
  ctx: OperationContext,
  ledger: Pick<Ledger, 'objects'>,
  environment: ResolvedEnvironment,
  projects: readonly string[],
): Promise<Map<string, DeployedState>> {
  const out = new Map<string, DeployedState>();
  if (!ctx.sessions) {
    for (const name of projects) out.set(name, await ledger.objects.deployedState(name));
    return out;
  }
  const all = await batchShared(ctx, `ledger-state\0${environment.name}`, () => ledger.objects.deployedStates());
  for (const name of projects) out.set(name, all.get(name) ?? { objects: new Map(), migrations: new Map() });
  return out;
}

/** Loads one more project's model on demand (to explain references into projects that are not dependencies). */
export function modelLoader(
  ctx: OperationContext,
  environment: ResolvedEnvironment,
  engine: Engine,
): (name: string) => Promise<ProjectModel> {
  return async (name) => (await loadModels(ctx, [ctx.workspace.project(name)], environment, engine))[0]!;
}

/**
 * Where the project that owns an object's schema defines it (its file and line), null when no project of the
 * workspace does: the source of a step on another project's object (a view made again over a view a step replaces).
 */
export function sourceLocator(
  ctx: OperationContext,
  environment: ResolvedEnvironment,
  engine: Engine,
): (key: ObjectKey) => Promise<{ file: string; line: number } | null> {
  const owners = schemaOwners(ctx, environment);
  const load = modelLoader(ctx, environment, engine);
  return async (key) => {
    const owner = key.schema ? owners.get(key.schema) : undefined;
    if (!owner) return null;
    const found = (await load(owner)).objects.find((o) => o.id === formatKey(key));
    return found ? { file: found.location.file, line: found.location.line } : null;
  };
}

/** Every schema owned in the workspace → its project (expanded for this environment). */
export function schemaOwners(ctx: OperationContext, environment: ResolvedEnvironment): Map<string, string> {
  return batchShared(ctx, `schema-owners\0${environment.name}`, () => ownersOfSchemas(ctx, environment));
}

/**
 * The schemas a schema's objects may read, as the workspace declares them: those of its owning project and of every
 * project it depends on (a project references only what its `dependsOn` names). A copy of the target that takes a
 * schema takes these with it: its views over another project's tables compile there (`VerifyInput.needs`). A schema
 * no project owns needs none that the workspace knows of.
 */
export function schemasNeeded(ctx: OperationContext, environment: ResolvedEnvironment): (schema: string) => string[] {
  const owners = schemaOwners(ctx, environment);
  const byProject = new Map<string, string[]>();
  for (const [schema, project] of owners) byProject.set(project, [...(byProject.get(project) ?? []), schema]);
  return (schema) => {
    const project = owners.get(schema);
    if (project === undefined) return [];
    return ctx.workspace.withDependencies(project).flatMap((p) => byProject.get(p.name) ?? []);
  };
}

function ownersOfSchemas(ctx: OperationContext, environment: ResolvedEnvironment): Map<string, string> {
  const owners = new Map<string, string>();
  const rules = ctx.engine(environment.engine).capabilities.keyNames;
  for (const p of ctx.workspace.projects.values()) {
    const { variables } = ctx.workspace.settings(p, environment);
    for (const s of graphProject(p, variables, ctx.workspace.projects, rules).schemas) {
      const other = owners.get(s);
      if (other !== undefined && other !== p.name) {
        // Two owners would deploy into each other's schema, each diffing away what the other made.
        const first = ctx.workspace.project(other);
        const a = first.file.locate(['schemas']);
        throw new DbeeError(
          `schema ${s} is owned by two projects: ${other} (${a.file}${a.line ? ':' + a.line : ''}) and ${p.name}`,
          {
            code: 'SCHEMA_TWO_OWNERS',
            location: p.file.locate(['schemas']),
            hint: `a schema belongs to one project: remove it from the schemas of one of them (the other can depend on it with dependsOn)`,
            details: { schema: s, projects: [other, p.name] },
          },
        );
      }
      owners.set(s, p.name);
    }
  }
  return owners;
}

/** What most operations start from: the environment, the project and its dependencies, the engine, the models. */
export interface LoadedTarget {
  environment: ResolvedEnvironment;
  target: DbProject;
  /** The project and its dependencies, dependencies first. */
  all: DbProject[];
  engine: Engine;
  models: ProjectModel[];
  /** The target project's own model. */
  model: ProjectModel;
}

/** Resolve `env`, find `project` and its dependencies, check the engine, and parse every model. */
export async function loadTarget(
  ctx: OperationContext,
  project: string,
  env: string | undefined,
): Promise<LoadedTarget> {
  const environment = ctx.workspace.environment(env, ctx.env);
  const target = ctx.workspace.project(project);
  const all = ctx.workspace.withDependencies(target.name);
  const engine = engineFor(ctx, environment, all);
  const models = await loadModels(ctx, all, environment, engine);
  return { environment, target, all, engine, models, model: models.find((m) => m.project.name === target.name)! };
}

/**
 * Objects the ledger says a project deployed whose source is gone (its file removed or its statement deleted).
 * dbee never drops an object for want of its file: nothing decided that it goes (a migration that drops it, or a
 * diff-planned `drop`), so these are reported, not planned. Migrations and the schemas a project owns are left out.
 */
export function removedObjects(model: ProjectModel, deployed: { objects: ReadonlyMap<string, string> }): string[] {
  const present = new Set(model.objects.map((o) => o.id));
  for (const s of model.graph.schemas) present.add(`schema:${s}`);
  const missing = [...deployed.objects.keys()].filter((k) => !present.has(k) && !k.startsWith('migration:'));
  // A foreign key of a cycle is planned and recorded as a step of its own, still written in its table's file. Its key
  // comes from the table's parsed statement: read only for the tables of such keys the ledger has (a no-op deployment
  // of 1,005 objects parsed every table's for it, about a third of the command's CPU).
  const parents = new Set(missing.filter((k) => k.startsWith('constraint:')).map((k) => parseKey(k).parent));
  if (parents.size)
    for (const o of model.objects)
      if (o.key.kind === 'table' && o.deferrable.length && parents.has(`${o.key.schema}.${o.key.name}`))
        for (const d of o.deferrable) present.add(formatKey(deferredConstraintKey(o.key, d)));
  return missing.filter((k) => !present.has(k)).sort();
}
