import { DbeeError } from '../errors';
import type { DbProject } from '../config/workspace';
import type { ResolvedEnvironment } from '../config/resolve';
import type { Engine } from '../engine/engine';
import { loadProjectModel, graphProject, type ProjectModel } from '../planner/project-model';
import { engineFor, type OperationContext } from './context';

/** Parse the given projects (a project and its dependencies, usually) for one environment. */
export async function loadModels(ctx: OperationContext, projects: DbProject[], environment: ResolvedEnvironment, engine: Engine): Promise<ProjectModel[]> {
  const models: ProjectModel[] = [];
  for (const p of projects) {
    const { variables } = ctx.workspace.settings(p, environment);
    models.push(await loadProjectModel(ctx.workspace.root, p, variables, engine.parser, ctx.workspace.projects));
  }
  return models;
}

/** Loads one more project's model on demand (to explain references into projects that are not dependencies). */
export function modelLoader(ctx: OperationContext, environment: ResolvedEnvironment, engine: Engine): (name: string) => Promise<ProjectModel> {
  return async (name) => (await loadModels(ctx, [ctx.workspace.project(name)], environment, engine))[0]!;
}

/** Every schema owned in the workspace → its project (expanded for this environment). */
export function schemaOwners(ctx: OperationContext, environment: ResolvedEnvironment): Map<string, string> {
  const owners = new Map<string, string>();
  for (const p of ctx.workspace.projects.values()) {
    const { variables } = ctx.workspace.settings(p, environment);
    for (const s of graphProject(p, variables, ctx.workspace.projects).schemas) {
      const other = owners.get(s);
      if (other !== undefined && other !== p.name) {
        // Two owners would deploy into each other's schema, each diffing away what the other made.
        const first = ctx.workspace.project(other);
        const a = first.file.locate(['schemas']);
        throw new DbeeError(`schema ${s} is owned by two projects: ${other} (${a.file}${a.line ? ':' + a.line : ''}) and ${p.name}`, {
          code: 'SCHEMA_TWO_OWNERS',
          location: p.file.locate(['schemas']),
          hint: `a schema belongs to one project: remove it from the schemas of one of them (the other can depend on it with dependsOn)`,
          details: { schema: s, projects: [other, p.name] },
        });
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
export async function loadTarget(ctx: OperationContext, project: string, env: string | undefined): Promise<LoadedTarget> {
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
  return [...deployed.objects.keys()].filter((k) => !present.has(k) && !k.startsWith('migration:')).sort();
}
