import { glob, readNxJson, type Tree } from '@nx/devkit';
import { PROJECT_FILE, YamlFile } from '@dbee/core';

/** The plugin's package name, as nx.json `plugins` lists it. */
export const PLUGIN_NAME = '@dbee/nx';

/** Folders that never hold a project (dbee's own rule, see ALWAYS_IGNORED in @dbee/core). */
const IGNORED = new Set(['node_modules', '.git', '.nx', '.dbee', 'dist']);

/** One database project found in the tree. */
export interface TreeProject {
  /** dbee name (`sales`). */
  name: string;
  /** Folder relative to the workspace root, `/`-separated (`databases/sales`). */
  root: string;
}

/**
 * Database projects in the generator's tree, read from their db.yaml. Generators see the tree, not Nx's project
 * graph (a project created earlier in the same run is not in the graph yet), so they look for db.yaml themselves.
 * A db.yaml that does not parse is skipped: the plugin reports it, with its line, on every Nx command.
 */
export function treeProjects(tree: Tree): TreeProject[] {
  const files = glob(tree, [`**/${PROJECT_FILE}`]).filter((f) => !f.split('/').some((s) => IGNORED.has(s)));
  const projects: TreeProject[] = [];
  for (const file of files.sort()) {
    let name: unknown;
    try {
      name = (YamlFile.parse(tree.read(file, 'utf-8') ?? '', file).toJS() as { name?: unknown } | null)?.name;
    } catch {
      continue;
    }
    if (typeof name !== 'string') continue;
    const root = file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : '.';
    projects.push({ name, root });
  }
  return projects;
}

/** The `projectPrefix` of the @dbee/nx entry in nx.json (default `db-`). */
export function projectPrefix(tree: Tree): string {
  for (const entry of readNxJson(tree)?.plugins ?? []) {
    if (typeof entry === 'object' && entry.plugin === PLUGIN_NAME) {
      const prefix = (entry.options as { projectPrefix?: unknown } | undefined)?.projectPrefix;
      if (typeof prefix === 'string') return prefix;
    }
  }
  return 'db-';
}

/** A comma-separated option (or a list, from a programmatic call) as trimmed, non-empty names. */
export function listOption(value: string | string[] | undefined): string[] {
  const items = Array.isArray(value) ? value : (value ?? '').split(',');
  return items.map((s) => s.trim()).filter((s) => s !== '');
}

/** An error a user can fix: Nx prints the message; there is nothing to debug in a stack. */
export class GeneratorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GeneratorError';
    this.stack = message;
  }
}
