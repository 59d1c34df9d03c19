import { DbeeError, type ExitCodeValue } from '../errors';
import type { CommandName, CommandOptions } from '../options';
import type { OperationContext } from '../context/operation-context';
import type { SingleOperation } from './run-target';

/** A command's fleet form: it receives the single-environment operation and runs it per target. */
type FleetOperation<K extends CommandName> = (
  ctx: OperationContext,
  options: CommandOptions<K>,
  fleet: string,
  single: SingleOperation<CommandOptions<K>>,
) => Promise<ExitCodeValue>;

/**
 * The commands that run on a whole fleet and how. `deploy` in waves (fleet-deploy.ts), `status` summarised by
 * release; `rollback`, `diff` and `smoke-test` on every selected target, `--concurrency` at once (each-target.ts). Any other command on a fleet is refused by
 * the environment's resolution (config/resolve.ts): it runs on one target, named `<fleet>/<target>`.
 */
// Each loaded when a fleet runs it: a command on one database loads none of the fleet's modules.
const FLEET_OPERATIONS: { [K in CommandName]?: FleetOperation<K> } = {
  deploy: async (...args) => (await import('./fleet-deploy')).fleetDeploy(...args),
  status: async (...args) => (await import('./fleet-status')).fleetStatus(...args),
  rollback: async (...args) => (await import('./each-target')).eachTarget('rollback', ...args),
  diff: async (...args) => (await import('./each-target')).eachTarget('diff', ...args),
  'smoke-test': async (...args) => (await import('./each-target')).eachTarget('smoke-test', ...args),
};

/**
 * The commands without an `--env` of one database (`clone` names its two environments itself, `docs` reads a list of
 * them for its board): an operation reads this, not the option
 * schemas, which a command given valid options does not load (dispatch.test.ts checks it against them).
 */
export const COMMANDS_WITHOUT_ENV: ReadonlySet<CommandName> = new Set<CommandName>(['clone', 'docs']);

/**
 * The fleet an operation works with (its `--env`, else DBEE_ENV, else the default environment, as for one database);
 * null for a command without `--env` or an environment of one database, where the fleet's options are refused.
 */
export function fleetOf(ctx: OperationContext, command: CommandName, options: object): string | null {
  if (COMMANDS_WITHOUT_ENV.has(command)) return null;
  const given = 'env' in options && typeof options.env === 'string' ? options.env : undefined;
  const env = ctx.workspace.environmentName(given, ctx.env).name;
  if (Object.hasOwn(ctx.workspace.config.environments, env) && ctx.workspace.config.environments[env]!.fleet)
    return env;
  refuseFleetOptions(command, options, env);
  return null;
}

/** The fleet form of `command`, or null when the command runs on one database only. */
export function fleetOperation<K extends CommandName>(command: K): FleetOperation<K> | null {
  return (FLEET_OPERATIONS[command] as FleetOperation<K> | undefined) ?? null;
}

/** Options that only mean something on a fleet. */
const FLEET_ONLY_OPTIONS = ['canary', 'concurrency', 'maxFailures', 'labels', 'shard'] as const;

/** Refuse the fleet's options on an environment of one database: they would be ignored there, silently. */
export function refuseFleetOptions(command: CommandName, options: object, environment: string): void {
  const values = new Map(Object.entries(options));
  const given = FLEET_ONLY_OPTIONS.filter((k) => values.get(k) !== undefined);
  if (!given.length) return;
  const flags = given.map((k) => '--' + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase()));
  throw new DbeeError(
    `dbee ${command}: ${flags.join(', ')} ${given.length === 1 ? 'applies' : 'apply'} to fleet environments only, and "${environment}" is one database`,
    {
      code: 'OPTIONS_INVALID',
      hint: `drop ${flags.join(', ')}, or give --env a fleet (an environment with fleet: in dbee.yaml; see docs/fleets.md)`,
    },
  );
}

/** Refuse a command that has no fleet form on a fleet environment, naming what to do instead. */
export function refuseOnFleet(command: CommandName, fleet: string): never {
  throw new DbeeError(`dbee ${command} runs on one database, and environment "${fleet}" is a fleet`, {
    code: 'ENV_IS_FLEET',
    hint: `name one of its targets: --env ${fleet}/<target> (deploy, status, rollback, diff and smoke-test run on a whole fleet)`,
  });
}
