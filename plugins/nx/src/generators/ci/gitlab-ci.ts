import type { CiPlan } from './ci-plan';
import { RELEASE_FOLDER, TICKET_VARIABLE, buildScript, deployScript } from './release-scripts';
import { gitlabNoteScript, reviewBodyScript } from './review-scripts';
import { previewCreateScript, previewDropScript } from './preview-scripts';

/** Where `nx g @dbee/nx:ci --provider=gitlab` writes the pipeline. */
export const GITLAB_CI_FILE = '.gitlab-ci.yml';

/**
 * The GitLab CI/CD equivalent of the GitHub workflow (github-workflow.ts; docs/ci.md explains each job):
 * - in merge request pipelines, `dbee-review`: what each affected database project would change on the first
 *   environment, exposed in the merge request as the `database diff` artifact (Markdown), with `.nx/cache` cached;
 * - on the main branch, when dbee.yaml or a database project changed, `dbee-release-<first env>` builds the release
 *   package once, deploys it there and keeps the folder as the job's artifact; each next `dbee-release-<env>` job
 *   takes that artifact (`needs`) and deploys it unchanged, with what the environment's gates ask, in a GitLab
 *   environment of the same name; a gated environment's job (and the last one) waits for a person (`when: manual`),
 *   who gives the ticket as the `DBEE_TICKET` variable of the run. The connection variables and promotion keys are
 *   CI/CD variables of the project (masked, scoped to the environment), which GitLab passes to the job's environment.
 */
export function gitlabCi(plan: CiPlan): string {
  const [first] = plan.environments;
  const order = plan.environments.map((e) => e.name).join(', then ');
  const main = `$CI_COMMIT_BRANCH == "${plan.mainBranch}"`;
  const mergeRequest = '$CI_PIPELINE_SOURCE == "merge_request_event"';
  const lines = [
    `# Database CI/CD with dbee, written by \`nx g @dbee/nx:ci --provider=gitlab\` (see dbee's docs/ci.md).`,
    `# Merge requests: what each affected database project would change on ${first!.name}, as a note and the "database review" artifact.`,
    `# Pushes to ${plan.mainBranch}: the release package is built once, deployed to ${order}.`,
    '# Variables (Settings > CI/CD > Variables, masked, scoped to their environment):',
    ...plan.environments.map(
      (e) =>
        `#   ${e.name}: ${[...new Set([...e.secrets, ...e.promotionKeys])].join(', ') || '(none: its connection in dbee.yaml reads no variable)'}` +
        (e.ticket ? `; ${TICKET_VARIABLE} given when the job is run` : ''),
    ),
    'workflow:',
    '  rules:',
    `    - if: ${mergeRequest}`,
    `    # A release only when the databases change: dbee.yaml or a database project.`,
    `    - if: ${main}`,
    '      changes:',
    ...plan.releasePaths.map((p) => `        - '${p}'`),
    '',
    'stages:',
    '  - review',
    '  - release',
    '',
    'variables:',
    '  # nx affected compares two commits, and a release starts at a commit of the history: not a shallow clone.',
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
    'dbee-review:',
    '  stage: review',
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
    `    - npx nx affected -t diff -c markdown${AFFECTED}`,
    '  after_script:',
    '    - |',
    ...reviewBodyScript(AFFECTED).map((l) => `      ${l}`),
    "    # The review as the merge request's note, updated on each push (needs DBEE_REVIEW_TOKEN, see docs/ci.md).",
    '    - |',
    ...gitlabNoteScript().map((l) => `      ${l}`),
    '  artifacts:',
    '    when: always',
    '    expose_as: database review',
    '    paths:',
    '      - dist/dbee-review.md',
    ...(plan.preview ? previewJobs(plan, mergeRequest) : []),
  ];
  plan.environments.forEach((env, i) => {
    const previous = plan.environments[i - 1];
    const later = i < plan.environments.length - 1;
    const script = [...(previous ? [] : buildScript(plan, env)), ...deployScript(plan, env, Boolean(previous))];
    lines.push(
      '',
      `dbee-release-${env.name}:`,
      '  stage: release',
      ...(previous
        ? ['  needs:', `    - job: dbee-release-${previous.name}`, '      artifacts: true']
        : ['  needs: []']),
      '  rules:',
      `    - if: ${main}`,
      ...(env.manual
        ? ['      # Started by a person, after the deployments before it succeeded.', '      when: manual']
        : []),
      '  environment:',
      `    name: ${env.name}`,
      '  # One deployment to an environment at a time.',
      `  resource_group: dbee-release-${env.name}`,
      '  variables:',
      `    DBEE_ENV: ${env.name}`,
      '  script:',
      '    - |',
      ...script.map((l) => `      ${l}`),
      ...(later
        ? [
            '  # The package, with the promotion record of this deployment, for the next environment.',
            '  artifacts:',
            '    paths:',
            `      - ${RELEASE_FOLDER}/`,
          ]
        : []),
    );
  });
  return `${lines.join('\n')}\n`;
}

/** The preview's name: the merge request's number. */
const PREVIEW_NAME = 'mr-$CI_MERGE_REQUEST_IID';

/**
 * With `preview:` in dbee.yaml (docs/preview.md): `dbee-preview` creates the merge request's preview database from the
 * first environment and deploys each push to it, in a GitLab environment `preview/mr-<iid>` whose `on_stop` job,
 * `dbee-preview-drop`, GitLab runs when the merge request is merged or closed (both jobs share the rules, as GitLab
 * requires). One run per merge request at a time.
 */
function previewJobs(plan: CiPlan, mergeRequest: string): string[] {
  const first = plan.environments[0]!;
  const common = ['  stage: review', '  rules:', `    - if: ${mergeRequest}`];
  return [
    '',
    'dbee-preview:',
    ...common,
    '  needs: []',
    '  variables:',
    `    DBEE_ENV: ${first.name}`,
    '  environment:',
    `    name: preview/${PREVIEW_NAME}`,
    '    on_stop: dbee-preview-drop',
    `  resource_group: dbee-preview-${PREVIEW_NAME}`,
    '  script:',
    '    - |',
    ...previewCreateScript(plan, first, PREVIEW_NAME).map((l) => `      ${l}`),
    '',
    'dbee-preview-drop:',
    ...common,
    '      # Run by GitLab when the merge request is merged or closed (the environment is stopped), or by a person.',
    '      when: manual',
    '  needs: []',
    '  variables:',
    `    DBEE_ENV: ${first.name}`,
    '  environment:',
    `    name: preview/${PREVIEW_NAME}`,
    '    action: stop',
    `  resource_group: dbee-preview-${PREVIEW_NAME}`,
    '  script:',
    '    - |',
    ...previewDropScript(plan, first, PREVIEW_NAME).map((l) => `      ${l}`),
  ];
}

/** The commits `nx affected` compares in a merge request pipeline. */
const AFFECTED = ' --base=$CI_MERGE_REQUEST_DIFF_BASE_SHA --head=$CI_COMMIT_SHA';

/** npm's download cache, keyed by the lock file. */
function npmCache(): string[] {
  return ['    - key:', '        files:', '          - package-lock.json', '      paths:', '        - .npm/'];
}
