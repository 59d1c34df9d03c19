import { DependencyType, type CreateDependencies, type RawProjectGraphDependency } from '@nx/devkit';
import { DbeeAggregateError, DbeeError, PROJECT_FILE, loadProject, type DbProject } from '@dbee/core';
import { selectProjectFiles } from './create-nodes';
import { toNxError } from './nx-error';
import type { DbeePluginOptions } from './options';

interface LoadedProject {
  /** The Nx project name (normally `db-<name>`; whatever name the project ended up with). */
  nxName: string;
  /** The project's db.yaml, workspace-relative. */
  file: string;
  project: DbProject;
}

/**
 * Turns each `dependsOn` entry of a db.yaml (dbee names) into a static edge between the Nx projects, with the
 * db.yaml as the edge's source file: `db-sales -> db-core`.
 *
 * A dependency on a project that does not exist is an error naming the db.yaml line; Nx itself would drop such
 * an edge silently, and the deploy order would then be wrong without anyone noticing.
 */
export const createDependencies: CreateDependencies<DbeePluginOptions> = (_options, context) => {
  const projects = loadDbProjects(context.projects, context.fileMap.projectFileMap, context.workspaceRoot);
  const byName = new Map(projects.map((p) => [p.project.name, p]));
  const edges: RawProjectGraphDependency[] = [];
  const errors: DbeeError[] = [];
  for (const source of projects) {
    source.project.config.dependsOn.forEach((dependency, index) => {
      const target = byName.get(dependency);
      if (!target) {
        errors.push(
          new DbeeError(`dependsOn "${dependency}": no project with that name`, {
            code: 'PROJECT_DEPENDENCY_UNKNOWN',
            location: source.project.file.locate(['dependsOn', index]),
            hint: `known projects: ${[...byName.keys()].sort().join(', ')}`,
          }),
        );
        return;
      }
      edges.push({ source: source.nxName, target: target.nxName, type: DependencyType.static, sourceFile: source.file });
    });
  }
  if (errors.length === 1) throw toNxError(errors[0]);
  if (errors.length > 1) throw toNxError(new DbeeAggregateError(`${errors.length} dependencies name no project`, errors));
  return edges;
};

/**
 * The database projects of the graph: projects whose root holds a db.yaml that createNodes accepted. They are
 * found by root, not by name, so a project renamed in project.json keeps its edges.
 */
function loadDbProjects(
  projects: Record<string, { root: string }>,
  projectFileMap: Record<string, ReadonlyArray<{ file: string }>>,
  workspaceRoot: string,
): LoadedProject[] {
  const candidates = new Map<string, string>();
  for (const [nxName, config] of Object.entries(projects)) {
    const file = config.root === '.' || config.root === '' ? PROJECT_FILE : `${config.root}/${PROJECT_FILE}`;
    // The source file of a static edge must belong to the source project.
    if (projectFileMap[nxName]?.some((f) => f.file === file)) candidates.set(file, nxName);
  }
  const out: LoadedProject[] = [];
  for (const file of selectProjectFiles([...candidates.keys()], workspaceRoot)) {
    try {
      out.push({ nxName: candidates.get(file)!, file, project: loadProject(workspaceRoot, file) });
    } catch {
      // createNodes has already reported this file with its location; reporting it twice adds nothing.
    }
  }
  return out;
}
