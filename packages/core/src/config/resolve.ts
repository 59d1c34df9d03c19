import { DbeeError } from '../errors';
import { envRefs, interpolateEnv } from './interpolate';
import type { CompatSettings, DeploySettings, EnvironmentConfig, Gates, ProjectConfig } from './schema';
import type { YamlFile } from './yaml-file';

/** An environment ready to connect to: `${VAR}` references replaced, deploy settings merged. */
export interface ResolvedEnvironment {
  name: string;
  engine: EnvironmentConfig['engine'];
  /** Connection settings with `${VAR}` interpolated (on first read: an unset variable throws there). Contains secrets: never print it. */
  connection: Record<string, string | number | boolean>;
  variables: Record<string, string>;
  gates: Gates;
  deploy: DeploySettings;
  /** The compatibility check's settings (`compat:`), when the environment names a query source. */
  compat?: CompatSettings;
  /** Where it was declared, for messages. */
  declaredAt: { file: string; line?: number };
  /**
   * The environment variables each connection key was interpolated from, e.g. `{ url: ['DATABASE_URL'] }`: named
   * (never their values) when the connection fails.
   */
  connectionVariables?: Record<string, string[]>;
}

/**
 * Resolve one environment of the workspace configuration. Only this environment's `${VAR}` references are
 * interpolated, so an unset production secret does not break local runs.
 */
export function resolveEnvironment(
  file: YamlFile,
  environments: Record<string, EnvironmentConfig>,
  workspaceDeploy: DeploySettings | undefined,
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedEnvironment {
  const config = environments[name];
  if (!config) {
    const known = Object.keys(environments).sort();
    throw new DbeeError(`unknown environment "${name}"`, {
      code: 'ENV_UNKNOWN',
      location: file.locate(['environments']),
      hint: `use one of: ${known.join(', ')} (declared under "environments" in ${file.displayPath})`,
      details: { environment: name, known },
    });
  }
  const interpolate = (value: unknown, path: (string | number)[]): unknown =>
    typeof value === 'string'
      ? interpolateEnv(value, env, () => ({ ...file.locate(path), key: path.join('.') }))
      : value;
  const connectionVariables: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(config.connection)) {
    if (typeof v === 'string' && envRefs(v).length) connectionVariables[k] = envRefs(v);
  }
  // Interpolated when first read, i.e. when something connects: `plan --base/--head` and other work that reads no
  // database runs without the environment's secrets set, and an unset variable is still an error where it matters.
  let connection: Record<string, string | number | boolean> | undefined;
  const connect = () => {
    if (connection) return connection;
    const c: Record<string, string | number | boolean> = {};
    for (const [k, v] of Object.entries(config.connection)) c[k] = interpolate(v, ['environments', name, 'connection', k]) as string | number | boolean;
    return (connection = c);
  };
  const variables: Record<string, string> = { env: name };
  for (const [k, v] of Object.entries(config.variables ?? {})) {
    variables[k] = String(interpolate(v, ['environments', name, 'variables', k]));
  }
  const resolved: ResolvedEnvironment = {
    name,
    engine: config.engine,
    connection: {},
    variables,
    gates: config.gates ?? {},
    deploy: { ...workspaceDeploy, ...config.deploy },
    ...(config.compat ? { compat: config.compat } : {}),
    declaredAt: file.locate(['environments', name]),
    connectionVariables,
  };
  Object.defineProperty(resolved, 'connection', { get: connect, enumerable: true });
  return resolved;
}

/** Variables and deploy settings for one project on one environment: workspace, then project, then project-per-env. */
export function projectSettings(
  project: ProjectConfig,
  environment: ResolvedEnvironment,
): { variables: Record<string, string>; deploy: DeploySettings } {
  const perEnv = project.environments?.[environment.name];
  const variables: Record<string, string> = { ...environment.variables, project: project.name };
  for (const [k, v] of Object.entries({ ...project.variables, ...perEnv?.variables })) variables[k] = String(v);
  return { variables, deploy: { ...environment.deploy, ...project.deploy, ...perEnv?.deploy } };
}
