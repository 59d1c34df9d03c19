import type { CommandName } from './run-command';

/** One command-line option: the CLI parses it, `--help` prints it, executors accept it under the camelCase name. */
export interface OptionSpec {
  /** Kebab-case flag name, e.g. `dry-run`. */
  flag: string;
  type: 'string' | 'boolean';
  description: string;
  /** Placeholder shown in help, e.g. `<env>`. */
  value?: string;
  short?: string;
  multiple?: boolean;
}

const env: OptionSpec = { flag: 'env', short: 'e', type: 'string', value: '<name>', description: 'environment from dbee.yaml (default: defaultEnvironment)' };
const assumeYes: OptionSpec = { flag: 'assume-yes', short: 'y', type: 'boolean', description: 'confirm protected environments without a prompt (needed in CI)' };
const dryRun: OptionSpec = { flag: 'dry-run', type: 'boolean', description: 'print the exact SQL that would run; change nothing' };
const format = (values: string): OptionSpec => ({ flag: 'format', type: 'string', value: `<${values}>`, description: `output format: ${values.split('|').join(', ')}` });

export interface CommandSpec {
  summary: string;
  /** Issue that brings the machinery, for commands that are not implemented yet. */
  pendingIssue?: number;
  /** Name of a second positional argument after `<project>` (`disable <project> <object>`), passed as that option. */
  positional?: string;
  options: OptionSpec[];
}

/** Every command and its options: the single source for parsing and `--help`. */
export const COMMAND_SPECS: Record<CommandName, CommandSpec> = {
  deploy: {
    summary: 'Deploy a project (and, outside Nx, its dependencies first) to an environment',
    options: [
      env,
      dryRun,
      assumeYes,
      { flag: 'wait-for-lock', type: 'string', value: '<seconds>', description: 'how long to wait for another deployment to finish (default 60)' },
      { flag: 'no-deps', type: 'boolean', description: 'deploy only this project, not its dependencies' },
      { flag: 'package', short: 'p', type: 'string', value: '<folder>', description: 'apply a package built by `dbee plan --out` instead of the sources' },
      { flag: 'if-exists', type: 'string', value: '<raise|rename|drop>', description: 'when an object to create exists but the ledger does not know it: fail, keep it as a backup, or drop it (overrides the configuration)' },
      { flag: 'allow-hazards', type: 'string', value: '<kinds>', description: 'accept steps with these hazards, comma-separated (data-loss, table-rewrite, long-lock, backward-incompatible, index-build)' },
      { flag: 'continue-on-error', type: 'boolean', description: 'after a failed step, go on with the steps that do not depend on it' },
      { flag: 'countdown-from', type: 'string', value: '<seconds>', description: 'countdown before a protected deployment starts (default gates.countdown, else 3)' },
      { flag: 'report', type: 'string', value: '<file>', description: 'write a JSON report of the deployment to this file' },
    ],
  },
  plan: {
    summary: 'Plan a deployment and print it, or write it as a package folder (--out)',
    options: [
      env,
      { flag: 'out', short: 'o', type: 'string', value: '<folder>', description: 'write a package (manifest, step scripts, rollback scripts, summary) to this folder' },
      format('text|json|bteq'),
      { flag: 'diff', type: 'boolean', description: 'plan the diff between the environment and the sources (a gap package)' },
      { flag: 'against-env', type: 'string', value: '<name>', description: 'plan the diff from --env to this environment (align one with the other)' },
      { flag: 'base', type: 'string', value: '<ref>', description: 'plan what changed between two git refs: from <ref>' },
      { flag: 'head', type: 'string', value: '<ref>', description: '... to <ref> (default: the working tree)' },
    ],
  },
  status: {
    summary: 'Show the last deployment, pending changes and ledger metrics of a project on an environment',
    options: [env, format('text|json')],
  },
  build: {
    summary: 'Build the desired schema model from the sources in a shadow database (cacheable)',
    options: [env, { flag: 'output-path', type: 'string', value: '<folder>', description: 'also write model.json to this folder' }],
  },
  diff: {
    summary: 'Compare an environment with the sources, another environment, or two git refs',
    options: [
      env,
      { flag: 'against-env', type: 'string', value: '<name>', description: 'compare with this environment instead of the sources' },
      { flag: 'base', type: 'string', value: '<ref>', description: 'compare the sources at two git refs (no database): from <ref>' },
      { flag: 'head', type: 'string', value: '<ref>', description: '... to <ref> (default: the working tree)' },
      format('text|json|markdown'),
      { flag: 'fail-on-diff', type: 'boolean', description: 'exit 1 when anything differs (drift check)' },
      { flag: 'output', type: 'string', value: '<file>', description: 'also write the output to a file' },
      { flag: 'no-cache', type: 'boolean', description: 'recompute even if a cached model or diff matches' },
    ],
  },
  'smoke-test': {
    summary: 'Run the smoke checks of a project against an environment (each in a transaction that is rolled back)',
    options: [env, format('text|json')],
  },
  rollback: {
    summary: 'Undo the last deployment of a project on an environment, or go back to a deployment, a migration, a package or a git ref',
    options: [
      env,
      dryRun,
      assumeYes,
      { flag: 'to', type: 'string', value: '<id|Vversion>', description: 'go back to this deployment (undo every later one, newest first; 0 undoes all) or migration version (V3)' },
      { flag: 'to-ref', type: 'string', value: '<ref>', description: 'go back to the sources at this git ref (the diff from the database to them)' },
      { flag: 'package', short: 'p', type: 'string', value: '<folder>', description: 'undo the deployment that applied this package' },
      { flag: 'force', type: 'boolean', description: 'accept what cannot be undone (steps without a reverse stay applied, lost data stays lost) and drift' },
      { flag: 'emergency', type: 'boolean', description: 'no smoke checks, no countdown, maintenance windows bypassed (still the lock, the ledger and --assume-yes)' },
    ],
  },
  disable: {
    summary: 'Make a routine uncallable fast: revoke EXECUTE from PUBLIC and every role but its owner (or rename it aside)',
    positional: 'object',
    options: [env, dryRun, assumeYes, { flag: 'rename', type: 'boolean', description: 'rename the routine aside instead of revoking EXECUTE' }],
  },
  enable: {
    summary: 'Undo `dbee disable` of a routine: give back exactly the grants it revoked (or rename it back)',
    positional: 'object',
    options: [env, dryRun, assumeYes],
  },
};

export function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}
