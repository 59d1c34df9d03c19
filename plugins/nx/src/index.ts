// Public API of @dbee/nx: the Nx plugin (nx.json `plugins: ["@dbee/nx"]`). Executors are listed in executors.json.
export const name = '@dbee/nx';
export { createNodes, createNodesV2, PROJECT_FILE_GLOB } from './plugin/create-nodes';
export { createDependencies } from './plugin/create-dependencies';
export { normalizeOptions } from './plugin/options';
export type { DbeePluginOptions } from './plugin/options';
