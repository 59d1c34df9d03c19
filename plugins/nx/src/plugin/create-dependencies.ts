import type { CreateDependencies, DependencyType, RawProjectGraphDependency } from '@nx/devkit';
import { DBEE_METADATA, PROJECT_FILE, type DbeeProjectMetadata } from './constants';
import type { DbeePluginOptions } from './options';

/** `DependencyType.static`, without loading @nx/devkit into the plugin worker for one constant. */
const STATIC = 'static' as DependencyType.static;

interface DbNode {
  /** The Nx project name (normally `db-<name>`; whatever name the project ended up with). */
  nxName: string;
  /** The project's db.yaml, workspace-relative. */
  file: string;
  meta: DbeeProjectMetadata;
}

/**
 * Turns each `dependsOn` entry of a db.yaml (dbee names) into a static edge between the Nx projects, with the
 * db.yaml as the edge's source file: `db-sales -> db-core`. It reads what createNodes recorded in each project's
 * metadata (`metadata.dbee`), not the db.yaml files, so it costs nothing when createNodes answered from its cache.
 *
 * A dependency on a project that does not exist is an error naming the db.yaml line; Nx itself would drop such
 * an edge silently, and the deploy order would then be wrong without anyone noticing.
 */
export const createDependencies: CreateDependencies<DbeePluginOptions> = async (_options, context) => {
  const nodes = dbNodes(context.projects, context.fileMap.projectFileMap);
  const byName = new Map(nodes.map((n) => [n.meta.name, n]));
  const edges: RawProjectGraphDependency[] = [];
  const unknown: Array<{ node: DbNode; dependency: string; index: number }> = [];
  for (const source of nodes) {
    source.meta.dependsOn.forEach((dependency, index) => {
      const target = byName.get(dependency);
      if (target) edges.push({ source: source.nxName, target: target.nxName, type: STATIC, sourceFile: source.file });
      else unknown.push({ node: source, dependency, index });
    });
  }
  if (unknown.length > 0) throw await unknownDependencyError(unknown, [...byName.keys()].sort(), context.workspaceRoot);
  return edges;
};

/**
 * The database projects of the graph: projects that createNodes inferred from a db.yaml (they carry its metadata).
 * They are found by their configuration, not by name, so a project renamed in project.json keeps its edges.
 */
function dbNodes(
  projects: Record<string, { root: string; metadata?: Record<string, unknown> }>,
  projectFileMap: Record<string, ReadonlyArray<{ file: string }>>,
): DbNode[] {
  const out: DbNode[] = [];
  for (const [nxName, config] of Object.entries(projects)) {
    const meta = config.metadata?.[DBEE_METADATA] as DbeeProjectMetadata | undefined;
    if (!meta || typeof meta.name !== 'string' || !Array.isArray(meta.dependsOn)) continue;
    const file = config.root === '.' || config.root === '' ? PROJECT_FILE : `${config.root}/${PROJECT_FILE}`;
    // The source file of a static edge must belong to the source project.
    if (projectFileMap[nxName]?.some((f) => f.file === file)) out.push({ nxName, file, meta });
  }
  return out;
}

/** The user error for dependencies that name no project, each with its db.yaml line (reading @dbee/core only now). */
async function unknownDependencyError(
  unknown: Array<{ node: DbNode; dependency: string; index: number }>,
  known: string[],
  workspaceRoot: string,
): Promise<Error> {
  const { DbeeAggregateError, DbeeError, loadProject } = await import('@dbee/core');
  const { toNxError } = await import('./nx-error');
  const errors = unknown.map(({ node, dependency, index }) => {
    let location;
    try {
      location = loadProject(workspaceRoot, node.file).file.locate(['dependsOn', index]);
    } catch {
      location = { file: node.file };
    }
    return new DbeeError(`dependsOn "${dependency}": no project with that name`, {
      code: 'PROJECT_DEPENDENCY_UNKNOWN',
      location,
      hint: `known projects: ${known.join(', ')}`,
    });
  });
  return toNxError(
    errors.length === 1 ? errors[0] : new DbeeAggregateError(`${errors.length} dependencies name no project`, errors),
  );
}
