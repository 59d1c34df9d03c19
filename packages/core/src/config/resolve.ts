import type { ZodType } from 'zod';
import { DbeeError, type ErrorLocation } from '../errors';
import { envRefs, interpolateEnv } from './interpolate';
import { durationMs } from './units';
import type {
  BlueGreenSettings,
  CompatSettings,
  DeploySettings,
  EnvironmentConfig,
  Gates,
  ProjectConfig,
  VerifySettings,
} from './schema';
import { routerOf } from './router-of';
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
  /** What a dry run proves on the scratch copy (`verify:`: the rollback test), when the environment says. */
  verify?: VerifySettings;
  /**
   * `blueGreen:` (docs/blue-green.md). `routerSettings`: the settings of a router the engine drives, checked with the
   * engine's schema for them (`EngineRouter.settings`; a mistake refused at its file and line, as the YAML reader
   * refuses one) and their `${VAR}`s interpolated, so an unset variable only matters to a blue/green phase;
   * `routerDeclaredAt`: where that router is named.
   */
  blueGreen?: BlueGreenSettings & { routerSettings?<T>(schema: ZodType<T>): T; routerDeclaredAt?: ErrorLocation };
  /** Where it was declared, for messages. */
  declaredAt: { file: string; line?: number };
  /** How a session is opened (`connectTimeout`, `connectRetries`), when the environment says; else the engine's defaults. */
  connect?: { timeoutMs?: number; retries?: number };
  /**
   * The environment variables each connection key was interpolated from, e.g. `{ url: ['DATABASE_URL'] }`: named
   * (never their values) when the connection fails.
   */
  connectionVariables?: Record<string, string[]>;
  /**
   * Set when this is one database of a fleet (`name` is then `<fleet>/<target>`): the fleet's name, which project
   * overrides in db.yaml are keyed by, the target's name and its labels.
   */
  fleet?: { name: string; target: string; labels: Record<string, string> };
  /**
   * Set when this is a preview database (`dbee preview`; `name` is then the preview's name): the environment it was
   * made from, which project overrides in db.yaml are keyed by.
   */
  preview?: { base: string };
}

/** One database of a fleet environment, as declared or discovered (its connection not yet interpolated). */
export interface FleetTarget {
  /** Unique in the fleet; `--env <fleet>/<name>` addresses it. */
  name: string;
  /** Connection settings merged over the fleet's own `connection`; strings may hold `${VAR}` references. */
  connection: Record<string, string | number | boolean>;
  labels: Record<string, string>;
  /**
   * Where the target comes from, for messages: the YAML path of a static target, or a discovery's description
   * (`the query of environments.tenants.fleet.discover, row 3`).
   */
  origin: { path: (string | number)[] } | { discovered: string };
}

/** The separator of a fleet target's environment name: `tenants/acme`. */
export const FLEET_TARGET_SEPARATOR = '/';

/**
 * Resolve one environment of the workspace configuration. Only this environment's `${VAR}` references are
 * interpolated, so an unset production secret does not break local runs.
 *
 * A fleet's target is the environment `<fleet>/<target>`: the fleet's settings (engine, gates, deploy, variables)
 * with the target's connection merged over the fleet's. `discovered` holds the targets of fleets whose list comes
 * from a query or a command (fleet/targets.ts discovers them); a fleet's own name is refused here: it is many
 * databases, and only the fleet dispatch (fleet/dispatch.ts) runs a command on it.
 */
export function resolveEnvironment(
  file: YamlFile,
  environments: Record<string, EnvironmentConfig>,
  workspaceDeploy: DeploySettings | undefined,
  name: string,
  env: NodeJS.ProcessEnv = process.env,
  discovered: ReadonlyMap<string, readonly FleetTarget[]> = new Map(),
): ResolvedEnvironment {
  const [envName, targetName] = splitTargetName(name);
  const config = environments[envName];
  if (!config) {
    const known = Object.keys(environments).sort();
    throw new DbeeError(`unknown environment "${envName}"`, {
      code: 'ENV_UNKNOWN',
      location: file.locate(['environments']),
      hint: `use one of: ${known.join(', ')} (declared under "environments" in ${file.displayPath})`,
      details: { environment: envName, known },
    });
  }
  const interpolate = (value: unknown, path: (string | number)[], key = path.join('.')): unknown =>
    typeof value === 'string' ? interpolateEnv(value, env, () => ({ ...file.locate(path), key })) : value;
  // Each connection key with the YAML path (and the name shown in messages) its value comes from.
  const sources = new Map<string, { value: string | number | boolean; path: (string | number)[]; key?: string }>();
  for (const [k, v] of Object.entries(config.connection ?? {}))
    sources.set(k, { value: v, path: ['environments', envName, 'connection', k] });
  let fleet: ResolvedEnvironment['fleet'];
  if (config.fleet) {
    if (targetName === undefined) {
      throw new DbeeError(`environment "${envName}" is a fleet of databases; this command runs on one of them`, {
        code: 'ENV_IS_FLEET',
        location: file.locate(['environments', envName, 'fleet']),
        hint: `deploy, status, rollback, diff and smoke-test run on a whole fleet; for another command name one target: --env ${envName}${FLEET_TARGET_SEPARATOR}<target>`,
        details: { environment: envName },
      });
    }
    const targets = config.fleet.targets
      ? config.fleet.targets.map(
          (t, i): FleetTarget => ({ ...t, origin: { path: ['environments', envName, 'fleet', 'targets', i] } }),
        )
      : discovered.get(envName);
    if (!targets) {
      throw new DbeeError(
        `the targets of fleet "${envName}" are discovered (a query or a command); this command cannot address one by name`,
        {
          code: 'FLEET_TARGETS_UNKNOWN',
          location: file.locate(['environments', envName, 'fleet', 'discover']),
          hint: `run deploy, status, rollback, diff or smoke-test on the fleet (--env ${envName} --labels ...), or declare the targets under fleet.targets`,
        },
      );
    }
    const target = targets.find((t) => t.name === targetName);
    if (!target) {
      const known = targets.map((t) => t.name);
      throw new DbeeError(`fleet "${envName}" has no target "${targetName}"`, {
        code: 'ENV_UNKNOWN',
        location: file.locate(['environments', envName, 'fleet']),
        hint: `targets: ${known.slice(0, 20).join(', ')}${known.length > 20 ? `, ... (${known.length} in all)` : ''}`,
        details: { environment: name, known },
      });
    }
    for (const [k, v] of Object.entries(target.connection)) {
      sources.set(
        k,
        'path' in target.origin
          ? { value: v, path: [...target.origin.path, 'connection', k] }
          : {
              value: v,
              path: ['environments', envName, 'fleet', 'discover'],
              key: `${target.origin.discovered}, column ${k}`,
            },
      );
    }
    fleet = { name: envName, target: target.name, labels: target.labels };
  } else if (targetName !== undefined) {
    throw new DbeeError(`environment "${envName}" is not a fleet: "${name}" names no database`, {
      code: 'ENV_UNKNOWN',
      location: file.locate(['environments', envName]),
      hint: `use --env ${envName}`,
    });
  }
  const connectionVariables: Record<string, string[]> = {};
  for (const [k, { value }] of sources) {
    if (typeof value === 'string' && envRefs(value).length) connectionVariables[k] = envRefs(value);
  }
  // Interpolated when first read, i.e. when something connects: `plan --base/--head` and other work that reads no
  // database runs without the environment's secrets set, and an unset variable is still an error where it matters.
  let connection: Record<string, string | number | boolean> | undefined;
  const connect = () => {
    if (connection) return connection;
    const c: Record<string, string | number | boolean> = {};
    for (const [k, { value, path, key }] of sources) c[k] = interpolate(value, path, key) as string | number | boolean;
    return (connection = c);
  };
  const variables: Record<string, string> = { env: envName, ...(fleet ? { target: fleet.target } : {}) };
  for (const [k, v] of Object.entries(config.variables ?? {})) {
    variables[k] = String(interpolate(v, ['environments', envName, 'variables', k]));
  }
  const resolved: ResolvedEnvironment = {
    name,
    engine: config.engine,
    connection: {},
    variables,
    gates: config.gates ?? {},
    deploy: { ...workspaceDeploy, ...config.deploy },
    ...(config.compat ? { compat: config.compat } : {}),
    ...(config.verify ? { verify: config.verify } : {}),
    ...blueGreenOf(config, envName, interpolate, file),
    declaredAt: { file: file.displayPath },
    ...connectSettings(config),
    connectionVariables,
    ...(fleet ? { fleet } : {}),
  };
  Object.defineProperty(resolved, 'connection', { get: connect, enumerable: true });
  // Its line is looked up when an error names it: finding it parses the file when its value came from the cache.
  let declaredAt: ResolvedEnvironment['declaredAt'] | undefined;
  Object.defineProperty(resolved, 'declaredAt', {
    get: () => (declaredAt ??= file.locate(['environments', envName])),
    enumerable: true,
  });
  return resolved;
}

/** `tenants/acme` → `['tenants', 'acme']`; `prod` → `['prod', undefined]`. */
export function splitTargetName(name: string): [string, string | undefined] {
  const at = name.indexOf(FLEET_TARGET_SEPARATOR);
  return at < 0 ? [name, undefined] : [name.slice(0, at), name.slice(at + 1)];
}

/** The name db.yaml's per-environment overrides are keyed by: a fleet's or a preview's base environment, else its own. */
export function environmentKey(environment: ResolvedEnvironment): string {
  return environment.fleet?.name ?? environment.preview?.base ?? environment.name;
}

/** Variables and deploy settings for one project on one environment: workspace, then project, then project-per-env. */
export function projectSettings(
  project: ProjectConfig,
  environment: ResolvedEnvironment,
): { variables: Record<string, string>; deploy: DeploySettings } {
  const perEnv = project.environments?.[environmentKey(environment)];
  const variables: Record<string, string> = { ...environment.variables, project: project.name };
  for (const [k, v] of Object.entries({ ...project.variables, ...perEnv?.variables })) variables[k] = String(v);
  return { variables, deploy: { ...environment.deploy, ...project.deploy, ...perEnv?.deploy } };
}

/** `connect` of a resolved environment from its `connectTimeout` and `connectRetries`, when it sets either. */
function connectSettings(config: EnvironmentConfig): Pick<ResolvedEnvironment, 'connect'> {
  if (config.connectTimeout === undefined && config.connectRetries === undefined) return {};
  return {
    connect: {
      ...(config.connectTimeout !== undefined ? { timeoutMs: durationMs(config.connectTimeout) } : {}),
      ...(config.connectRetries !== undefined ? { retries: config.connectRetries } : {}),
    },
  };
}

/**
 * `blueGreen` of a resolved environment. The settings of a router the engine drives are checked by `routerSettings`
 * with the engine's schema for them, as the YAML reader checks the rest (every mistake at its file and line); their
 * strings are interpolated then (an admin URL may hold a password), so an unset variable only matters to a blue/green
 * phase.
 */
function blueGreenOf(
  config: EnvironmentConfig,
  envName: string,
  interpolate: (value: unknown, path: (string | number)[]) => unknown,
  file: YamlFile,
): Pick<ResolvedEnvironment, 'blueGreen'> {
  const settings = config.blueGreen;
  if (!settings) return {};
  const router = routerOf(settings.router);
  if ('commands' in router) return { blueGreen: settings };
  const at = ['environments', envName, 'blueGreen', 'router', router.engine];
  const routerSettings = <T>(schema: ZodType<T>): T => {
    // Checked as written (a message never shows an interpolated secret), then made with the variables' values.
    file.validate(schema, router.settings, at);
    const values = Object.entries(router.settings).map(([k, v]) => [
      k,
      typeof v === 'string' ? interpolate(v, [...at, k]) : v,
    ]);
    return schema.parse(Object.fromEntries(values));
  };
  const blueGreen = { ...settings, routerSettings };
  // Looked up when an error names it (finding it parses the file when the value came from the cache).
  Object.defineProperty(blueGreen, 'routerDeclaredAt', { get: () => file.locate(at), enumerable: false });
  return { blueGreen };
}
