import { readNxJson, updateNxJson, writeJson, type GeneratorCallback, type Tree } from '@nx/devkit';
import { WORKSPACE_FILE } from '@dbee/core';
import { PLUGIN_NAME } from '../workspace-projects';
import type { InitGeneratorSchema } from './schema';

/** The starter dbee.yaml: one embedded environment, so the first deploy needs nothing installed or started. */
export const STARTER_WORKSPACE_CONFIG = `# dbee workspace configuration: environments, their connections, variables and gates.
# Reference: the dbee README, "Configuration reference".
version: 1
defaultEnvironment: local

environments:
  # Embedded PostgreSQL (PGlite) in .dbee/local: nothing to install, nothing to start.
  local:
    engine: postgres
    description: embedded PostgreSQL for development
    connection:
      embedded: .dbee/local

  # A PostgreSQL server; the URL comes from the environment, never from this file:
  # test:
  #   engine: postgres
  #   connection:
  #     url: \${DBEE_TEST_URL}
`;

/**
 * What init git-ignores, in blocks under a comment: .dbee/ (embedded databases, dbee's caches), dist/ (where the
 * targets write their artifacts: release packages, graph pages, diff reports, under dist/dbee/), and Nx's own cache
 * and workspace data (Nx's task cache, and dbee's fingerprint locks under .nx/workspace-data), as Nx's own workspaces
 * ignore them: a workspace set up by hand (npm init, nx.json) has no such lines.
 */
const IGNORED = [
  { comment: '# dbee: embedded databases and caches', lines: ['.dbee/'] },
  { comment: '# dbee and Nx: build artifacts (packages, graph pages, diff reports)', lines: ['dist/'] },
  { comment: '# Nx: task cache and workspace data', lines: ['.nx/cache', '.nx/workspace-data'] },
];

/** Nx's task cache folder, relative to the workspace root: what CI caches between runs (docs/ci.md). */
export const NX_CACHE_DIRECTORY = '.nx/cache';

/** Whether one of `present`'s lines ignores `line`'s folder: the folder itself or one it is in, in any usual spelling. */
function covered(line: string, present: ReadonlySet<string>): boolean {
  const parts = line.replace(/\/$/, '').split('/');
  return parts.some((_, i) => {
    const f = parts.slice(0, i + 1).join('/');
    return [f, `${f}/`, `/${f}`, `/${f}/`, `${f}/**`, `/${f}/**`].some((l) => present.has(l));
  });
}

/**
 * `nx add @dbee/nx` (which runs `nx g @dbee/nx:init`): the plugin in nx.json, Nx's cache folder pinned to .nx/cache
 * (see pinCacheDirectory), a starter dbee.yaml, and .dbee/ (embedded databases, diff cache), dist/ (artifacts) and
 * Nx's .nx/cache and .nx/workspace-data git-ignored. Idempotent: a plugin entry, a cache folder, a dbee.yaml or an
 * ignore line that exists is kept.
 */
export async function initGenerator(tree: Tree, options: InitGeneratorSchema = {}): Promise<GeneratorCallback> {
  createNxJson(tree);
  addPlugin(tree, options.projectPrefix ?? 'db-');
  pinCacheDirectory(tree);
  if (!tree.exists(WORKSPACE_FILE)) tree.write(WORKSPACE_FILE, STARTER_WORKSPACE_CONFIG);
  ignoreFolders(tree);
  return () => {};
}

/**
 * A workspace whose Nx runs from package.json alone (`npm init`, `npm install -D nx`) has no nx.json, and Nx's
 * `updateNxJson` changes nothing where there is none: init would end with exit code 0 and no plugin, and the next
 * `nx run-many` would find no projects. So init writes one, with the schema Nx's own `nx init` names.
 */
function createNxJson(tree: Tree): void {
  if (!tree.exists('nx.json')) writeJson(tree, 'nx.json', { $schema: './node_modules/nx/schemas/nx-schema.json' });
}

/**
 * nx.json `cacheDirectory: .nx/cache` unless the workspace chose one. Without it, Nx 24 keeps the cache of a git
 * repository in the user's home folder (`~/.nx/<id>/cache`), which a CI job's cache step would have to find; with
 * it, CI restores and saves one known folder, and `.nx/cache` is the line init git-ignores.
 */
export function pinCacheDirectory(tree: Tree): void {
  const nxJson = readNxJson(tree) ?? {};
  if (nxJson.cacheDirectory !== undefined) return;
  updateNxJson(tree, { ...nxJson, cacheDirectory: NX_CACHE_DIRECTORY });
}

function addPlugin(tree: Tree, projectPrefix: string): void {
  const nxJson = readNxJson(tree) ?? {};
  const plugins = nxJson.plugins ?? [];
  const present = plugins.some((p) => (typeof p === 'string' ? p : p.plugin) === PLUGIN_NAME);
  if (present) return;
  nxJson.plugins = [...plugins, { plugin: PLUGIN_NAME, options: { projectPrefix } }];
  updateNxJson(tree, nxJson);
}

function ignoreFolders(tree: Tree): void {
  const text = tree.exists('.gitignore') ? (tree.read('.gitignore', 'utf-8') ?? '') : '';
  const present = new Set(text.split(/\r?\n/).map((line) => line.trim()));
  // Under each comment the lines no line of the file covers yet, in a block of their own after what the file has.
  const blocks = IGNORED.map((b) => ({ ...b, lines: b.lines.filter((l) => !covered(l, present)) }))
    .filter((b) => b.lines.length)
    .map((b) => [b.comment, ...b.lines].join('\n'));
  if (!blocks.length) return;
  const separator = text === '' || text.endsWith('\n') ? '' : '\n';
  tree.write('.gitignore', `${text}${separator}\n${blocks.join('\n\n')}\n`.replace(/^\n/, ''));
}

export default initGenerator;
