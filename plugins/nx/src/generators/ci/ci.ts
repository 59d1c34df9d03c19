import type { GeneratorCallback, Tree } from '@nx/devkit';
import { pinCacheDirectory } from '../init/init';
import { GeneratorError } from '../workspace-projects';
import { ciPlan } from './ci-plan';
import { GITHUB_WORKFLOW_FILE, githubWorkflow } from './github-workflow';
import { GITLAB_CI_FILE, gitlabCi } from './gitlab-ci';
import type { CiGeneratorSchema } from './schema';

/** The CI systems the generator writes a pipeline for, with the file and its content. */
const PROVIDERS = {
  github: { file: GITHUB_WORKFLOW_FILE, render: githubWorkflow },
  gitlab: { file: GITLAB_CI_FILE, render: gitlabCi },
} as const;

/**
 * `nx g @dbee/nx:ci --provider=github|gitlab`: a pipeline that diffs pull requests and deploys what changed, to each
 * server environment of dbee.yaml in turn (see github-workflow.ts, gitlab-ci.ts and docs/ci.md). It also pins Nx's
 * cache folder to `.nx/cache` in nx.json, the folder the pipeline caches. Refuses to replace a file it did not
 * write unless `--overwrite`.
 */
export async function ciGenerator(tree: Tree, options: CiGeneratorSchema): Promise<GeneratorCallback> {
  const provider = PROVIDERS[options.provider as keyof typeof PROVIDERS];
  if (!provider) {
    throw new GeneratorError(
      `--provider "${options.provider ?? ''}" is not known: use --provider=github or --provider=gitlab`,
    );
  }
  const text = provider.render(ciPlan(tree, options));
  const existing = tree.read(provider.file, 'utf-8');
  if (existing !== null && existing !== text && !options.overwrite) {
    throw new GeneratorError(
      `${provider.file} already exists and differs from the generated pipeline: merge it by hand, or pass --overwrite to replace it`,
    );
  }
  tree.write(provider.file, text);
  pinCacheDirectory(tree);
  return () => {};
}

export default ciGenerator;
