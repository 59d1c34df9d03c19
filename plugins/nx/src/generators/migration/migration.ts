import type { GeneratorCallback, Tree } from '@nx/devkit';
import { GeneratorError, projectPrefix, treeProjects } from '../workspace-projects';
import type { MigrationGeneratorSchema } from './schema';

/** The naming dbee reads (packages/core/src/sources/discover.ts): V<version>__<description>.sql. */
const VERSIONED = /^[VU](\d+)(?:[._]\d+)*__.+\.sql$/;

/**
 * `nx g @dbee/nx:migration <project> <description>`: migrations/V<n>__<slug>.sql and its rollback script
 * V<n>__<slug>.rollback.sql, where n is one more than the highest major version in the project's migrations/.
 */
export async function migrationGenerator(tree: Tree, options: MigrationGeneratorSchema): Promise<GeneratorCallback> {
  const projects = treeProjects(tree);
  const prefix = projectPrefix(tree);
  const wanted = (options.project ?? '').trim();
  const project =
    projects.find((p) => p.name === wanted) ??
    (wanted.startsWith(prefix) ? projects.find((p) => p.name === wanted.slice(prefix.length)) : undefined);
  if (!project) {
    const list = projects.map((p) => p.name).join(', ') || 'none yet';
    throw new GeneratorError(
      `no database project "${wanted}" (projects: ${list}): give a dbee name such as "sales" or an Nx name such as "${prefix}sales"`,
    );
  }
  const slug = slugOf(options.description ?? '');
  if (slug === '')
    throw new GeneratorError('the description must contain letters or digits, e.g. "backfill order status"');

  const dir = project.root === '.' ? 'migrations' : `${project.root}/migrations`;
  const version = nextVersion(tree.exists(dir) ? tree.children(dir) : []);
  const base = `${dir}/V${version}__${slug}`;
  tree.write(
    `${base}.sql`,
    `-- Migration ${version} of ${project.name}: ${options.description.trim()}.\n-- Runs once per database, in version order, recorded in the ledger. Objects (tables, views...) belong in schema/.\n`,
  );
  tree.write(
    `${base}.rollback.sql`,
    `-- Undoes migration ${version} of ${project.name} (run by rollback). Leave the database as it was before V${version}.\n`,
  );
  return () => {};
}

/** `Backfill order-status!` -> `backfill_order_status`. */
export function slugOf(description: string): string {
  return description
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 60)
    .replace(/_+$/, '');
}

/** One more than the highest major version among V/U files (V1, V1_1, V2.3 count as 1, 1, 2). */
export function nextVersion(files: readonly string[]): number {
  let max = 0;
  for (const f of files) {
    const m = VERSIONED.exec(f);
    if (m) max = Math.max(max, Number(m[1]));
  }
  return max + 1;
}

export default migrationGenerator;
