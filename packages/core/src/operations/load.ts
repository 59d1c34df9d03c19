import type { DbProject } from '../config/workspace';
import type { ResolvedEnvironment } from '../config/resolve';
import type { Engine } from '../engine/engine';
import { loadProjectModel, graphProject, type ProjectModel } from '../planner/project-model';
import type { OperationContext } from './context';

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
    for (const s of graphProject(p, variables, ctx.workspace.projects).schemas) owners.set(s, p.name);
  }
  return owners;
}
