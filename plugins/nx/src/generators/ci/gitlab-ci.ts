import { deployCommand, type CiPlan } from './ci-plan';

/** Where `nx g @dbee/nx:ci --provider=gitlab` writes the pipeline. */
export const GITLAB_CI_FILE = '.gitlab-ci.yml';

/**
 * The GitLab CI/CD equivalent of the GitHub workflow (github-workflow.ts; docs/ci.md explains each job):
 * - in merge request pipelines, `dbee-diff`: what each affected database project would change on the first
 *   environment, exposed in the merge request as the `database diff` artifact (Markdown), with `.nx/cache` cached;
 * - on the main branch, one `dbee-deploy-<env>` job per environment, each after the previous one, running
 *   `nx affected -t deploy --excludeTaskDependencies` with DBEE_ENV, in a GitLab environment of the same name. The
 *   connection variables are CI/CD variables of the project (masked, scoped to the environment), which GitLab passes
 *   to the job's environment; the last environment's job waits for a person to start it.
 * Affected compares the merge request's base with its head, and on the main branch the commit before the push with it.
 */
export function gitlabCi(plan: CiPlan): string {
  const [first] = plan.environments;
  const order = plan.environments.map((e) => e.name).join(', then ');
  const main = `$CI_COMMIT_BRANCH == "${plan.mainBranch}"`;
  const mergeRequest = '$CI_PIPELINE_SOURCE == "merge_request_event"';
  const lines = [
    `# Database CI/CD with dbee, written by \`nx g @dbee/nx:ci --provider=gitlab\` (see dbee's docs/ci.md).`,
    `# Merge requests: what each affected database project would change on ${first!.name}, as the "database diff" artifact.`,
    `# Pushes to ${plan.mainBranch}: the affected database projects are deployed to ${order}.`,
    '# Connection variables (Settings > CI/CD > Variables, masked, scoped to their environment):',
    ...plan.environments.map(
      (e) => `#   ${e.name}: ${e.secrets.join(', ') || '(none: its connection in dbee.yaml reads no variable)'}`,
    ),
    'workflow:',
    '  rules:',
    `    - if: ${mergeRequest}`,
    `    - if: ${main}`,
    '',
    'stages:',
    '  - diff',
    '  - deploy',
    '',
    'variables:',
    '  # nx affected compares two commits: the whole history, not a shallow clone.',
    '  GIT_DEPTH: "0"',
    '  NX_DAEMON: "false"',
    '  NX_NO_CLOUD: "true"',
    '  # Every task prints its output in full (by default Nx shows one line for each task that succeeded).',
    '  NX_DEFAULT_OUTPUT_STYLE: static',
    '',
    'default:',
    `  image: node:${plan.nodeVersion}`,
    '  cache:',
    ...npmCache(),
    '  before_script:',
    '    - npm ci --cache .npm --prefer-offline',
    '',
    'dbee-diff:',
    '  stage: diff',
    '  rules:',
    `    - if: ${mergeRequest}`,
    '  variables:',
    `    DBEE_ENV: ${first!.name}`,
    '  cache:',
    ...npmCache(),
    '    - key: nx-$CI_COMMIT_REF_SLUG',
    '      fallback_keys:',
    '        - nx-$CI_DEFAULT_BRANCH',
    '      paths:',
    '        - .nx/cache/',
    '  script:',
    '    - npx nx affected -t diff -c markdown --base=$CI_MERGE_REQUEST_DIFF_BASE_SHA --head=$CI_COMMIT_SHA',
    '  after_script:',
    `    - cat dist/dbee/*/diff/diff.md > dbee-diff.md 2> /dev/null || echo "${NOTHING_AFFECTED}" > dbee-diff.md`,
    '  artifacts:',
    '    when: always',
    '    expose_as: database diff',
    '    paths:',
    '      - dbee-diff.md',
  ];
  plan.environments.forEach((env, i) => {
    const previous = plan.environments[i - 1];
    const last = i === plan.environments.length - 1 && plan.environments.length > 1;
    lines.push(
      '',
      `dbee-deploy-${env.name}:`,
      '  stage: deploy',
      ...(previous ? ['  needs:', `    - dbee-deploy-${previous.name}`] : ['  needs: []']),
      '  rules:',
      `    - if: ${main}`,
      ...(last
        ? ['      # Started by a person, after the deployments before it succeeded.', '      when: manual']
        : []),
      '  environment:',
      `    name: ${env.name}`,
      '  # One deployment to an environment at a time.',
      `  resource_group: dbee-deploy-${env.name}`,
      '  variables:',
      `    DBEE_ENV: ${env.name}`,
      '  script:',
      `    - ${deployCommand(env)} --base=$CI_COMMIT_BEFORE_SHA --head=$CI_COMMIT_SHA`,
    );
  });
  return `${lines.join('\n')}\n`;
}

const NOTHING_AFFECTED = 'No database project is affected by this merge request.';

/** npm's download cache, keyed by the lock file. */
function npmCache(): string[] {
  return ['    - key:', '        files:', '          - package-lock.json', '      paths:', '        - .npm/'];
}
