import type { CiEnvironment, CiPlan } from './ci-plan';
import { RELEASE_FOLDER, TICKET_VARIABLE, buildScript, deployScript } from './release-scripts';
import { REVIEW_MARKER, reviewBodyScript } from './review-scripts';
import { previewCreateScript, previewDropScript } from './preview-scripts';

/** Where `nx g @dbee/nx:ci --provider=github` writes the workflow. */
export const GITHUB_WORKFLOW_FILE = '.github/workflows/dbee.yml';

/** The artifact the release jobs pass on: the packages, with the promotion records each deployment adds. */
const ARTIFACT = 'dbee-release';

/**
 * A GitHub Actions workflow for a dbee workspace (docs/ci.md explains each job):
 * - on pull requests, `review`: what each affected database project would change on the first environment, written as
 *   the job summary (Markdown), with the Nx cache folder restored and saved;
 * - on pushes to the main branch that change dbee.yaml or a database project, `release-<first env>` builds the release
 *   package once (see release-scripts.ts), deploys it there and uploads the folder as the `dbee-release` artifact;
 *   each next `release-<env>` job downloads that folder and deploys it unchanged, with what the environment's gates ask
 *   (the ticket from the `DBEE_TICKET` variable, `--assume-yes`, the promotion key), inside a GitHub environment of the
 *   same name, whose required reviewers are the manual approval.
 */
export function githubWorkflow(plan: CiPlan): string {
  const [first] = plan.environments;
  const order = plan.environments.map((e) => e.name).join(', then ');
  const lines = [
    `# Database CI/CD with dbee, written by \`nx g @dbee/nx:ci --provider=github\` (see dbee's docs/ci.md).`,
    `# Pull requests: what each affected database project would change on ${first!.name}: annotations, a comment, the job summary.`,
    `# Pushes to ${plan.mainBranch}: the release package is built once, deployed to ${order}.`,
    'name: databases',
    '',
    'on:',
    '  pull_request:',
    ...(plan.preview
      ? [
          '    # closed: the preview database of the pull request is dropped.',
          '    types: [opened, synchronize, reopened, closed]',
        ]
      : []),
    '  push:',
    `    branches: [${plan.mainBranch}]`,
    '    # A release only when the databases change: dbee.yaml or a database project.',
    '    paths:',
    ...plan.releasePaths.map((p) => `      - '${p}'`),
    '',
    'permissions:',
    '  # nrwl/nx-set-shas reads the workflow runs to find the last successful one.',
    '  actions: read',
    '  contents: read',
    "  # The review job comments on the pull request (the workflow's token, through gh).",
    '  pull-requests: write',
    '',
    'env:',
    "  NX_DAEMON: 'false'",
    "  NX_NO_CLOUD: 'true'",
    '  # Every task prints its output in full (by default Nx shows one line for each task that succeeded).',
    '  NX_DEFAULT_OUTPUT_STYLE: static',
    '',
    'jobs:',
    '  review:',
    `    name: review against ${first!.name}`,
    `    if: ${plan.preview ? OPEN_PULL_REQUEST : "github.event_name == 'pull_request'"}`,
    '    runs-on: ubuntu-latest',
    '    steps:',
    ...setupSteps(plan),
    '      - uses: nrwl/nx-set-shas@v4',
    '        with:',
    `          main-branch-name: ${plan.mainBranch}`,
    '      - name: Restore the Nx cache',
    '        uses: actions/cache/restore@v4',
    '        with:',
    '          path: .nx/cache',
    '          key: nx-${{ runner.os }}-${{ github.sha }}',
    '          restore-keys: nx-${{ runner.os }}-',
    `      - name: Diff the affected database projects against ${first!.name}`,
    '        run: npx nx affected -t diff -c markdown',
    ...environmentVariables(first!, []),
    `      - name: Annotate the pull request's files with the hazards and broken queries`,
    '        run: npx nx affected -t diff --format=github',
    ...environmentVariables(first!, []),
    '      - name: Write the review as the job summary',
    '        if: always()',
    '        run: |',
    ...reviewBodyScript().map((l) => `          ${l}`),
    '          cat dist/dbee-review.md >> "$GITHUB_STEP_SUMMARY"',
    '      - name: Comment the review on the pull request (one comment, updated on each push)',
    '        if: always()',
    '        run: |',
    ...commentScript().map((l) => `          ${l}`),
    '        env:',
    '          GH_TOKEN: ${{ github.token }}',
    '          PULL_REQUEST: ${{ github.event.pull_request.number }}',
    '      - name: Save the Nx cache',
    '        if: always()',
    '        uses: actions/cache/save@v4',
    '        with:',
    '          path: .nx/cache',
    '          key: nx-${{ runner.os }}-${{ github.sha }}',
    ...(plan.preview ? previewJobs(plan) : []),
  ];
  plan.environments.forEach((env, i) => {
    const previous = plan.environments[i - 1];
    const later = i < plan.environments.length - 1;
    lines.push(
      '',
      `  release-${env.name}:`,
      `    name: ${previous ? 'promote the release to' : 'build the release and deploy it to'} ${env.name}`,
      "    if: github.event_name == 'push'",
      ...(previous ? [`    needs: release-${previous.name}`] : []),
      '    runs-on: ubuntu-latest',
      `    # Its secrets and variables, and its protection rules (required reviewers): Settings > Environments > ${env.name}.`,
      `    environment: ${env.name}`,
      '    # One deployment to an environment at a time; a queued one waits instead of cancelling the running one.',
      '    concurrency:',
      `      group: dbee-release-${env.name}`,
      '      cancel-in-progress: false',
      '    steps:',
      ...setupSteps(plan),
      ...(previous
        ? [
            `      - name: Download the release package built by release-${plan.environments[0]!.name}`,
            '        uses: actions/download-artifact@v4',
            '        with:',
            `          name: ${ARTIFACT}`,
            `          path: ${RELEASE_FOLDER}`,
          ]
        : [
            '      - name: Build the release package',
            '        run: |',
            ...buildScript(plan, env).map((l) => `          ${l}`),
            ...environmentVariables(env, []),
          ]),
      `      - name: Deploy the release package to ${env.name}`,
      '        run: |',
      ...deployScript(plan, env, Boolean(previous)).map((l) => `          ${l}`),
      ...environmentVariables(env, env.promotionKeys),
      ...(env.ticket ? [`          ${TICKET_VARIABLE}: \${{ vars.${TICKET_VARIABLE} }}`] : []),
      ...(later
        ? [
            '      - name: Keep the package, with the promotion record of this deployment, for the next environment',
            '        uses: actions/upload-artifact@v4',
            '        with:',
            `          name: ${ARTIFACT}`,
            `          path: ${RELEASE_FOLDER}`,
            '          overwrite: true',
          ]
        : []),
    );
  });
  return `${lines.join('\n')}\n`;
}

/** A pull request event other than its closing. */
const OPEN_PULL_REQUEST = "github.event_name == 'pull_request' && github.event.action != 'closed'";

/** The preview's name: the pull request's number. */
const PREVIEW_NAME = 'pr-$PULL_REQUEST';

/**
 * With `preview:` in dbee.yaml (docs/preview.md): `preview` creates the pull request's preview database from the first
 * environment on its first push and deploys each next push to it; `preview-drop` drops it when the pull request closes
 * (and the orphans, when dbee.yaml sets limits). One run per pull request at a time.
 */
function previewJobs(plan: CiPlan): string[] {
  const first = plan.environments[0]!;
  const concurrency = [
    '    # One run per pull request at a time: a push waits for the run before it.',
    '    concurrency:',
    '      group: dbee-preview-${{ github.event.pull_request.number }}',
    '      cancel-in-progress: false',
  ];
  const number = '          PULL_REQUEST: ${{ github.event.pull_request.number }}';
  return [
    '',
    '  preview:',
    `    name: preview database of the pull request (from ${first.name})`,
    `    if: ${OPEN_PULL_REQUEST}`,
    '    runs-on: ubuntu-latest',
    ...concurrency,
    '    steps:',
    ...setupSteps(plan),
    '      - name: Create the preview database of this pull request, or deploy this push to it',
    '        run: |',
    ...previewCreateScript(plan, first, PREVIEW_NAME).map((l) => `          ${l}`),
    ...environmentVariables(first, []),
    number,
    '',
    '  preview-drop:',
    '    name: drop the preview database of the pull request',
    "    if: github.event_name == 'pull_request' && github.event.action == 'closed'",
    '    runs-on: ubuntu-latest',
    ...concurrency,
    '    steps:',
    '      - uses: actions/checkout@v4',
    '        with:',
    "          # A closed pull request's merge commit may be gone: the base branch has dbee.yaml and the projects.",
    '          ref: ${{ github.event.pull_request.base.ref }}',
    '      - uses: actions/setup-node@v4',
    '        with:',
    `          node-version: ${plan.nodeVersion}`,
    '          cache: npm',
    '      - run: npm ci',
    `      - name: Drop the preview database${plan.preview?.cleanup ? ', then the orphans of other pull requests' : ''}`,
    '        run: |',
    ...previewDropScript(plan, first, PREVIEW_NAME).map((l) => `          ${l}`),
    ...environmentVariables(first, []),
    number,
  ];
}

/**
 * Posts dist/dbee-review.md as the pull request's comment through GitHub's API (gh, with the workflow's token), or
 * updates the comment an earlier push made: the one whose body starts with the marker.
 */
function commentScript(): string[] {
  return [
    `id=$(gh api "repos/$GITHUB_REPOSITORY/issues/$PULL_REQUEST/comments" --paginate --jq '.[] | select(.body | startswith("${REVIEW_MARKER}")) | .id' | head -n 1)`,
    'if [ -n "$id" ]; then',
    '  gh api -X PATCH "repos/$GITHUB_REPOSITORY/issues/comments/$id" -F body=@dist/dbee-review.md > /dev/null',
    'else',
    '  gh api -X POST "repos/$GITHUB_REPOSITORY/issues/$PULL_REQUEST/comments" -F body=@dist/dbee-review.md > /dev/null',
    'fi',
  ];
}

/** Checkout with the whole history (a release's base is a commit of it), Node with npm's cache, npm ci. */
function setupSteps(plan: CiPlan): string[] {
  return [
    '      - uses: actions/checkout@v4',
    '        with:',
    '          fetch-depth: 0',
    '      - uses: actions/setup-node@v4',
    '        with:',
    `          node-version: ${plan.nodeVersion}`,
    '          cache: npm',
    '      - run: npm ci',
  ];
}

/** DBEE_ENV and the environment's connection variables and promotion keys, each from the secret of the same name. */
function environmentVariables(env: CiEnvironment, keys: string[]): string[] {
  return [
    '        env:',
    `          DBEE_ENV: ${env.name}`,
    ...[...new Set([...env.secrets, ...keys])].map((s) => `          ${s}: \${{ secrets.${s} }}`),
  ];
}
