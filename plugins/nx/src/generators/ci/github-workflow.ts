import { deployCommand, type CiEnvironment, type CiPlan } from './ci-plan';

/** Where `nx g @dbee/nx:ci --provider=github` writes the workflow. */
export const GITHUB_WORKFLOW_FILE = '.github/workflows/dbee.yml';

/**
 * A GitHub Actions workflow for a dbee workspace (docs/ci.md explains each job):
 * - on pull requests, `diff`: what each affected database project would change on the first environment, written as
 *   the job summary (Markdown), with the Nx cache folder restored and saved;
 * - on pushes to the main branch, one `deploy-<env>` job per environment, each after the previous one, running
 *   `nx affected -t deploy --excludeTaskDependencies` with DBEE_ENV and the environment's connection variables from
 *   secrets, inside a GitHub environment of the same name (give `prod` required reviewers in the repository's settings).
 * Every job checks out the whole history (affected compares with a base commit) and sets the base and head with
 * nrwl/nx-set-shas: on a push, the last commit this workflow ran successfully on.
 */
export function githubWorkflow(plan: CiPlan): string {
  const [first] = plan.environments;
  const order = plan.environments.map((e) => e.name).join(', then ');
  const lines = [
    `# Database CI/CD with dbee, written by \`nx g @dbee/nx:ci --provider=github\` (see dbee's docs/ci.md).`,
    `# Pull requests: what each affected database project would change on ${first!.name}, as the job summary.`,
    `# Pushes to ${plan.mainBranch}: the affected database projects are deployed to ${order}.`,
    'name: databases',
    '',
    'on:',
    '  pull_request:',
    '  push:',
    `    branches: [${plan.mainBranch}]`,
    '',
    'permissions:',
    '  # nrwl/nx-set-shas reads the workflow runs to find the last successful one.',
    '  actions: read',
    '  contents: read',
    '',
    'env:',
    "  NX_DAEMON: 'false'",
    "  NX_NO_CLOUD: 'true'",
    '  # Every task prints its output in full (by default Nx shows one line for each task that succeeded).',
    '  NX_DEFAULT_OUTPUT_STYLE: static',
    '',
    'jobs:',
    '  diff:',
    `    name: diff against ${first!.name}`,
    "    if: github.event_name == 'pull_request'",
    '    runs-on: ubuntu-latest',
    '    steps:',
    ...setupSteps(plan),
    '      - name: Restore the Nx cache',
    '        uses: actions/cache/restore@v4',
    '        with:',
    '          path: .nx/cache',
    '          key: nx-${{ runner.os }}-${{ github.sha }}',
    '          restore-keys: nx-${{ runner.os }}-',
    `      - name: Diff the affected database projects against ${first!.name}`,
    '        run: npx nx affected -t diff -c markdown',
    ...environmentVariables(first!),
    '      - name: Write the diff as the job summary',
    '        if: always()',
    '        run: |',
    '          if ls dist/dbee/*/diff/diff.md > /dev/null 2>&1; then',
    '            cat dist/dbee/*/diff/diff.md >> "$GITHUB_STEP_SUMMARY"',
    '          else',
    '            echo "No database project is affected by this pull request." >> "$GITHUB_STEP_SUMMARY"',
    '          fi',
    '      - name: Save the Nx cache',
    '        if: always()',
    '        uses: actions/cache/save@v4',
    '        with:',
    '          path: .nx/cache',
    '          key: nx-${{ runner.os }}-${{ github.sha }}',
  ];
  plan.environments.forEach((env, i) => {
    const previous = plan.environments[i - 1];
    lines.push(
      '',
      `  deploy-${env.name}:`,
      `    name: deploy to ${env.name}`,
      "    if: github.event_name == 'push'",
      ...(previous ? [`    needs: deploy-${previous.name}`] : []),
      '    runs-on: ubuntu-latest',
      `    # Its secrets, and its protection rules (required reviewers for prod): Settings > Environments > ${env.name}.`,
      `    environment: ${env.name}`,
      '    # One deployment to an environment at a time; a queued one waits instead of cancelling the running one.',
      '    concurrency:',
      `      group: dbee-deploy-${env.name}`,
      '      cancel-in-progress: false',
      '    steps:',
      ...setupSteps(plan),
      `      - name: Deploy the affected database projects to ${env.name}`,
      `        run: ${deployCommand(env)}`,
      ...environmentVariables(env),
    );
  });
  return `${lines.join('\n')}\n`;
}

/** Checkout with the whole history, Node with npm's cache, npm ci, and the base and head of `nx affected`. */
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
    '      - uses: nrwl/nx-set-shas@v4',
    '        with:',
    `          main-branch-name: ${plan.mainBranch}`,
  ];
}

/** DBEE_ENV and the environment's connection variables, each from the secret of the same name. */
function environmentVariables(env: CiEnvironment): string[] {
  return [
    '        env:',
    `          DBEE_ENV: ${env.name}`,
    ...env.secrets.map((s) => `          ${s}: \${{ secrets.${s} }}`),
  ];
}
