import type { CreateNodes } from '@nx/devkit';
import { PROJECT_FILE_GLOB } from './constants';
import { InferenceCache, inferenceCacheEnabled } from './inference-cache';
import { normalizeOptions, type DbeePluginOptions } from './options';

export { PROJECT_FILE_GLOB, INSTALLED_FINGERPRINT_SCRIPT } from './constants';

/**
 * Infers one Nx project per `db.yaml` (inference in infer.ts). Nx computes the project graph on every command
 * without the daemon, and on every file change with it: the answer comes from the plugin's inference cache
 * (inference-cache.ts) while no file it depends on changed, and only a miss loads @dbee/core (its module graph is
 * most of the plugin's cost) and reads the db.yaml files.
 */
export const createNodes: CreateNodes<DbeePluginOptions> = [
  PROJECT_FILE_GLOB,
  async (configFiles, rawOptions, context) => {
    const options = normalizeOptions(rawOptions);
    const cache = inferenceCacheEnabled() ? new InferenceCache(context) : undefined;
    const key = cache?.key(configFiles, options);
    const hit = key === undefined ? undefined : cache!.get(key);
    if (hit) return hit;
    const { inferProjects } = await import('./infer');
    const results = await inferProjects(configFiles, options, context);
    if (key !== undefined) cache!.set(key, results);
    return results;
  },
];

/** Nx 24 reads `createNodes`; the deprecated alias keeps older tooling working, as Nx's own plugins do. */
export const createNodesV2 = createNodes;
