import type { CiEnvironment, CiPlan } from './ci-plan';

/**
 * The shell lines of the pull request's preview job: for each release project, `dbee preview <project> create` on the first
 * environment, named after the pull request (`name`, e.g. `pr-$PULL_REQUEST`): the first push makes the preview from
 * the environment's structure, each next push deploys the branch's new commit to it (docs/preview.md).
 */
export function previewCreateScript(plan: CiPlan, env: CiEnvironment, name: string): string[] {
  return [
    `for project in ${plan.projects.join(' ')}; do`,
    `  npx dbee preview "$project" create --env ${env.name} --name "${name}"`,
    'done',
  ];
}

/**
 * The shell lines of the job that runs when the pull request closes: the preview dropped, then (when dbee.yaml sets
 * `preview.maxAge` or `preview.maxCount`) the orphans of pull requests whose close job never ran.
 */
export function previewDropScript(plan: CiPlan, env: CiEnvironment, name: string): string[] {
  const [project] = plan.projects;
  return [
    `npx dbee preview ${project} drop --env ${env.name} --name "${name}"`,
    ...(plan.preview?.cleanup ? [`npx dbee preview ${project} cleanup --env ${env.name}`] : []),
  ];
}
