import { readNxJson, updateNxJson, type GeneratorCallback, type Tree } from '@nx/devkit';
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

/** Lines of .gitignore that already keep .dbee/ out of git. */
const IGNORES_DBEE = new Set(['.dbee', '.dbee/', '/.dbee', '/.dbee/', '.dbee/**', '/.dbee/**']);

/**
 * `nx add @dbee/nx` (which runs `nx g @dbee/nx:init`): the plugin in nx.json, a starter dbee.yaml, .dbee/ (embedded
 * databases, diff cache) git-ignored. Idempotent: a plugin entry, a dbee.yaml or an ignore line that exists is kept.
 */
export async function initGenerator(tree: Tree, options: InitGeneratorSchema = {}): Promise<GeneratorCallback> {
  addPlugin(tree, options.projectPrefix ?? 'db-');
  if (!tree.exists(WORKSPACE_FILE)) tree.write(WORKSPACE_FILE, STARTER_WORKSPACE_CONFIG);
  ignoreDbeeFolder(tree);
  return () => {};
}

function addPlugin(tree: Tree, projectPrefix: string): void {
  const nxJson = readNxJson(tree) ?? {};
  const plugins = nxJson.plugins ?? [];
  const present = plugins.some((p) => (typeof p === 'string' ? p : p.plugin) === PLUGIN_NAME);
  if (present) return;
  nxJson.plugins = [...plugins, { plugin: PLUGIN_NAME, options: { projectPrefix } }];
  updateNxJson(tree, nxJson);
}

function ignoreDbeeFolder(tree: Tree): void {
  const text = tree.exists('.gitignore') ? (tree.read('.gitignore', 'utf-8') ?? '') : '';
  if (text.split(/\r?\n/).some((line) => IGNORES_DBEE.has(line.trim()))) return;
  const separator = text === '' || text.endsWith('\n') ? '' : '\n';
  tree.write('.gitignore', `${text}${separator}\n# dbee: embedded databases and caches\n.dbee/\n`.replace(/^\n/, ''));
}

export default initGenerator;
