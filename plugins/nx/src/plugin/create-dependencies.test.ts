import { afterEach, describe, expect, it } from 'vitest';
import type { CreateDependenciesContext, ProjectConfiguration } from '@nx/devkit';
import { createDependencies, createNodes } from '../index';
import { CORE_DB_YAML, SALES_DB_YAML, TestWorkspace } from '../testing/workspace';

let workspace: TestWorkspace | undefined;
afterEach(() => workspace?.remove());

/** The context Nx gives createDependencies: the projects createNodes inferred, each owning its files. */
async function dependencyContext(
  files: Record<string, string>,
  extraProjects: Record<string, ProjectConfiguration> = {},
): Promise<CreateDependenciesContext> {
  workspace = new TestWorkspace(files);
  const configFiles = Object.keys(files).filter((f) => f.endsWith('db.yaml'));
  const results = await createNodes[1](configFiles, {}, workspace.context());
  const projects: Record<string, ProjectConfiguration> = { ...extraProjects };
  for (const [, result] of results) {
    for (const [root, project] of Object.entries(result.projects ?? {})) projects[project.name!] = { ...project, root };
  }
  const projectFileMap = Object.fromEntries(
    Object.entries(projects).map(([name, p]) => [
      name,
      Object.keys(files)
        .filter((f) => f.startsWith(`${p.root}/`))
        .map((file) => ({ file, hash: '0' })),
    ]),
  );
  const fileMap = { projectFileMap, nonProjectFiles: [] };
  return {
    projects,
    fileMap,
    filesToProcess: fileMap,
    externalNodes: {},
    nxJsonConfiguration: {},
    workspaceRoot: workspace.root,
  };
}

describe('createDependencies', () => {
  it('turns dependsOn into a static edge whose source file is the db.yaml of the source project', async () => {
    const context = await dependencyContext({ 'db/core/db.yaml': CORE_DB_YAML, 'db/sales/db.yaml': SALES_DB_YAML });

    expect(await createDependencies({}, context)).toEqual([
      { source: 'db-sales', target: 'db-core', type: 'static', sourceFile: 'db/sales/db.yaml' },
    ]);
  });

  it('finds projects by root, so a project renamed outside db.yaml keeps its edges', async () => {
    const context = await dependencyContext({ 'db/core/db.yaml': CORE_DB_YAML, 'db/sales/db.yaml': SALES_DB_YAML });
    const { ['db-core']: core, ...rest } = context.projects;
    const renamed = { ...context, projects: { ...rest, catalogue: core! } };
    renamed.fileMap.projectFileMap.catalogue = renamed.fileMap.projectFileMap['db-core']!;

    expect(await createDependencies({}, renamed)).toEqual([
      { source: 'db-sales', target: 'catalogue', type: 'static', sourceFile: 'db/sales/db.yaml' },
    ]);
  });

  it('ignores projects without a db.yaml', async () => {
    const context = await dependencyContext(
      { 'db/core/db.yaml': CORE_DB_YAML, 'apps/web/package.json': '{}' },
      { web: { root: 'apps/web' } },
    );

    expect(await createDependencies({}, context)).toEqual([]);
  });

  it('fails on a dependency that names no project, with the db.yaml line and the known projects', async () => {
    const context = await dependencyContext({
      'db/core/db.yaml': CORE_DB_YAML,
      'db/sales/db.yaml':
        'version: 1\nname: sales\nengine: postgres\nschemas: [sales]\ndependsOn:\n  - core\n  - billing\n',
    });

    await expect(async () => createDependencies({}, context)).rejects.toThrow(
      'db/sales/db.yaml:7:5: dependsOn "billing": no project with that name\n  hint: known projects: core, sales',
    );
  });

  it('reports every unknown dependency at once', async () => {
    const context = await dependencyContext({
      'db/core/db.yaml': 'version: 1\nname: core\nengine: postgres\nschemas: [core]\ndependsOn: [base]\n',
      'db/sales/db.yaml': 'version: 1\nname: sales\nengine: postgres\nschemas: [sales]\ndependsOn: [core, billing]\n',
    });

    await expect(async () => createDependencies({}, context)).rejects.toThrow(
      [
        '2 dependencies name no project',
        '- db/core/db.yaml:5:13: dependsOn "base": no project with that name',
        '    hint: known projects: core, sales',
        '- db/sales/db.yaml:5:19: dependsOn "billing": no project with that name',
        '    hint: known projects: core, sales',
      ].join('\n'),
    );
  });
});
