/** The environment variable that picks the environment when a command is given none (`--env`). */
export const ENVIRONMENT_VARIABLE = 'DBEE_ENV';

/** Which environment a command works with, and what chose it (for messages). */
export interface EnvironmentChoice {
  name: string;
  /** `option`: the command's `--env`; `variable`: DBEE_ENV; `default`: dbee.yaml's `defaultEnvironment`. */
  from: 'option' | 'variable' | 'default';
}

/**
 * The one rule for the environment a command works with, shared by the CLI, the Nx executors and the Nx diff
 * target's fingerprint: the given name (`--env`), else the DBEE_ENV variable when it is set and not empty, else
 * dbee.yaml's `defaultEnvironment`.
 */
export function chooseEnvironment(
  given: string | undefined,
  defaultEnvironment: string,
  env: NodeJS.ProcessEnv,
): EnvironmentChoice {
  if (given !== undefined) return { name: given, from: 'option' };
  const variable = env[ENVIRONMENT_VARIABLE];
  if (variable) return { name: variable, from: 'variable' };
  return { name: defaultEnvironment, from: 'default' };
}
