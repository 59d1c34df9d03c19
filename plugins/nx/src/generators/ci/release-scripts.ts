import type { CiEnvironment, CiPlan } from './ci-plan';

/** Where the release jobs write the packages (one folder per release project), the artifact passed between jobs. */
export const RELEASE_FOLDER = 'dist/release';

/** The CI variable whose value the ticket comes from, for environments that require one (`gates.requireTicket`). */
export const TICKET_VARIABLE = 'DBEE_TICKET';

/**
 * Reads `dbee log --format json` on stdin and prints the commit of the newest successful deployment (not a rollback),
 * or nothing when there is none: the state the environment's ledger says the project is at.
 */
const LAST_COMMIT =
  `const l = JSON.parse(require("fs").readFileSync(0, "utf8")); ` +
  `const d = l.deployments.find((d) => d.kind === "deploy" && d.result === "succeeded" && d.commit); ` +
  `process.stdout.write(d ? d.commit.replace(/-dirty$/, "") : "")`;

/** Prints the commit a package starts at (its release.json's `base`), or nothing for a full-state package. */
const BASE_OF =
  `const r = JSON.parse(require("fs").readFileSync(process.argv[1] + "/release.json", "utf8")); ` +
  `process.stdout.write(r.base && r.base.commit ? r.base.commit : "")`;

/**
 * The shell lines that build the release package once, in the first environment's job: for each release project, an
 * incremental package from the commit of its last deployment on that environment (read from the ledger with `dbee
 * log`) to the checked-out commit, or the full state of the sources when it has none yet. Each later job deploys the
 * same folder; dbee checks there that every object it changes is at the package's base.
 */
export function buildScript(plan: CiPlan, env: CiEnvironment): string[] {
  return [
    `# The release starts where ${env.name} is: the commit of each project's last deployment there (none: the full state).`,
    `for project in ${plan.projects.join(' ')}; do`,
    `  log=$(npx dbee log "$project" --env ${env.name} --format json)`,
    `  base=$(printf '%s' "$log" | node -e '${LAST_COMMIT}')`,
    `  npx dbee plan "$project" --env ${env.name} \${base:+--base "$base"} --out "${RELEASE_FOLDER}/$project"`,
    'done',
  ];
}

/**
 * The shell lines that deploy the release packages to an environment, each project's folder as it was built, with
 * what the environment's gates ask: the ticket from the CI variable (`requireTicket`; missing, dbee refuses) and
 * `--assume-yes` where it is protected (the approval of the CI system stands for the typed confirmation). A `promoted`
 * environment (not the one the package was built on) is first checked to be at the package's base, by the commit of
 * each project's last deployment in its ledger: an incremental package holds only what changed since its base, so
 * deployed over an older state it would leave the releases in between out.
 */
export function deployScript(plan: CiPlan, env: CiEnvironment, promoted: boolean): string[] {
  const ticket = env.ticket ? ` \${${TICKET_VARIABLE}:+--ticket "$${TICKET_VARIABLE}"}` : '';
  const yes = env.protected ? ' --assume-yes' : '';
  return [
    ...(promoted
      ? [
          `# The package must start where ${env.name} is: a release it missed is not in this package.`,
          `for project in ${plan.projects.join(' ')}; do`,
          `  log=$(npx dbee log "$project" --env ${env.name} --format json)`,
          `  at=$(printf '%s' "$log" | node -e '${LAST_COMMIT}')`,
          `  base=$(node -e '${BASE_OF}' "${RELEASE_FOLDER}/$project")`,
          '  if [ "$at" != "$base" ]; then',
          `    echo "${env.name} is at \${at:-no release} for $project; the package starts at \${base:-an empty database}: deploy the release ${env.name} missed first (see docs/ci.md)" >&2`,
          '    exit 1',
          '  fi',
          'done',
        ]
      : []),
    `for project in ${plan.projects.join(' ')}; do`,
    `  npx dbee deploy "$project" --env ${env.name} --package "${RELEASE_FOLDER}/$project"${ticket}${yes}`,
    'done',
  ];
}
