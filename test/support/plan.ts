import { Workspace, loadProjectModel, graphProject, planExplained, type Plan, type DeployedState } from '@dbee/core';
import { createPostgresEngine } from '@dbee/postgres';

/** Plan `projects` of the workspace at `root` for environment `env`, as `dbee plan` would (no database). */
export async function planWorkspace(
  root: string,
  projects: string[],
  options: { env?: string; deployed?: Map<string, DeployedState> } = {},
): Promise<Plan> {
  const workspace = Workspace.load(root);
  const environment = workspace.environment(options.env ?? 'local', { DBEE_TEST_PG_URL: 'postgres://unused' });
  const engine = createPostgresEngine();
  const needed = new Map<string, ReturnType<typeof workspace.project>>();
  for (const p of projects) for (const d of workspace.withDependencies(p)) needed.set(d.name, d);
  const models = [];
  const owners = new Map<string, string>();
  for (const p of workspace.projects.values()) {
    const { variables } = workspace.settings(p, environment);
    for (const s of graphProject(p, variables, workspace.projects).schemas) owners.set(s, p.name);
  }
  for (const p of needed.values()) {
    models.push(
      await loadProjectModel(root, p, workspace.settings(p, environment).variables, engine.parser, workspace.projects),
    );
  }
  const load = async (name: string) => {
    const p = workspace.project(name);
    return loadProjectModel(root, p, workspace.settings(p, environment).variables, engine.parser, workspace.projects);
  };
  return planExplained({ engine, models, planned: projects, schemaOwners: owners, deployed: options.deployed }, load);
}

export const project = (name: string, extra = '') =>
  `version: 1\nname: ${name}\nengine: postgres\nschemas: [${name}]\n${extra}`;
