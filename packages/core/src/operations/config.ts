import type { ResolvedEnvironment } from '../config/resolve';
import { DbeeError, ExitCode, type ExitCodeValue } from '../errors';
import type { ConfigOptions } from '../options';
import { canonicalJson } from '../plan/serialize';
import { engineFor, type OperationContext } from '../context/operation-context';

export type { ConfigOptions };

/** Connection keys whose values are secrets: printed as `***`. */
const SECRET_KEY = /pass|pwd|secret|token|key|credential|auth/i;

/** A connection value with its secrets masked: a secret key's value, and the password of a URL (`user:***@host`). */
export function maskSecret(key: string, value: string | number | boolean): string | number | boolean {
  if (SECRET_KEY.test(key)) return '***';
  if (typeof value !== 'string') return value;
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):[^@\s]*@/i, '$1:***@');
}

/** The effective configuration of an environment, its secrets masked (what `dbee config` prints). */
export function effectiveConfiguration(environment: ResolvedEnvironment): Record<string, unknown> {
  const connection: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(environment.connection)) connection[k] = maskSecret(k, v);
  return {
    environment: environment.name,
    engine: environment.engine,
    declaredAt: environment.declaredAt,
    connection,
    ...(environment.connectionVariables ? { connectionVariables: environment.connectionVariables } : {}),
    variables: environment.variables,
    gates: environment.gates,
    deploy: environment.deploy,
    ...(environment.fleet ? { fleet: environment.fleet } : {}),
  };
}

/**
 * `config`: print an environment's effective configuration for a project, secrets masked; with `--test-connection`,
 * connect through the engine and run `SELECT 1` (every engine dbee has answers it): a failure is exit 1 with the
 * driver's message as the engine maps it (no secret: connections never put one in messages).
 */
export async function config(ctx: OperationContext, options: ConfigOptions): Promise<ExitCodeValue> {
  const { workspace, reporter } = ctx;
  if (options.list) return listEnvironments(ctx, options);
  // Without a project: the environment as dbee.yaml gives it (a connection test needs no project).
  const environment = workspace.environment(options.env, ctx.env);
  const engine = engineFor(ctx, environment, options.project ? [workspace.project(options.project)] : []);
  const shown = effectiveConfiguration(environment);
  let connection: { ok: boolean; database?: string; error?: string } | undefined;
  if (options.testConnection) {
    try {
      const conn = await engine.connect(environment, { workspaceRoot: workspace.root });
      try {
        await conn.query('SELECT 1 AS ok');
        connection = { ok: true, database: conn.description };
      } finally {
        await conn.close();
      }
    } catch (e) {
      connection = { ok: false, error: e instanceof Error ? e.message : String(e) };
    }
  }
  if (options.format === 'json') {
    ctx.stdout.write(
      canonicalJson({
        project: options.project ?? null,
        ...shown,
        ...(connection ? { connectionTest: connection } : {}),
      }),
    );
  } else {
    ctx.stdout.write(
      `${options.project ?? 'environment'} ${options.project ? 'on ' : ''}${environment.name} (${environment.engine})\n`,
    );
    for (const [k, v] of Object.entries(shown)) {
      if (k === 'environment' || k === 'engine') continue;
      ctx.stdout.write(`${k}: ${JSON.stringify(v)}\n`);
    }
  }
  if (!connection) return ExitCode.ok;
  if (connection.ok) {
    // JSON output is one document: the test's result is in it.
    if (options.format !== 'json') reporter.info(`connection test: ${connection.database} answered`);
    return ExitCode.ok;
  }
  throw new DbeeError(`connection test: ${environment.name} did not answer: ${connection.error}`, {
    code: 'CONNECTION_FAILED',
    location: environment.declaredAt,
    hint: 'check the connection settings printed above (and the environment variables they come from), the network and the credentials',
  });
}

/** One environment as `dbee config --list` shows it. */
interface ListedEnvironment {
  name: string;
  engine: string;
  default: boolean;
  declaredAt: { file: string; line?: number };
  /** Its connection settings, secrets masked; absent when a variable it needs is not set (`unresolved` says which). */
  connection?: Record<string, unknown>;
  unresolved?: string;
}

/**
 * `config --list`: every environment of dbee.yaml with its engine and where it points, secrets masked as `dbee config`
 * masks them. An environment whose `${VAR}` is not set is listed with the message naming the variable (the others
 * are still listed: listing is how one finds out). No project, no connection.
 */
function listEnvironments(ctx: OperationContext, options: ConfigOptions): ExitCodeValue {
  const given = [options.project && '<project>', options.env && '--env', options.testConnection && '--test-connection'];
  const extra = given.filter((g): g is string => !!g);
  if (extra.length)
    throw new DbeeError(`dbee config --list lists every environment: ${extra.join(', ')} does not apply`, {
      code: 'OPTIONS_INVALID',
      hint: 'drop it, or leave out --list to show one environment for a project',
    });
  const { workspace } = ctx;
  const listed: ListedEnvironment[] = Object.keys(workspace.config.environments).map((name) => {
    const environment = workspace.environment(name, ctx.env);
    const entry = {
      name,
      engine: environment.engine,
      default: name === workspace.config.defaultEnvironment,
      declaredAt: environment.declaredAt,
    };
    try {
      return { ...entry, connection: effectiveConfiguration(environment).connection as Record<string, unknown> };
    } catch (e) {
      if (!(e instanceof DbeeError)) throw e;
      return { ...entry, unresolved: e.message };
    }
  });
  if (options.format === 'json') {
    ctx.stdout.write(canonicalJson({ defaultEnvironment: workspace.config.defaultEnvironment, environments: listed }));
    return ExitCode.ok;
  }
  const width = Math.max(...listed.map((e) => e.name.length + (e.default ? 10 : 0)));
  for (const e of listed) {
    const where = e.connection
      ? Object.entries(e.connection)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ')
      : `(${e.unresolved})`;
    ctx.stdout.write(`${`${e.name}${e.default ? ' (default)' : ''}`.padEnd(width)}  ${e.engine.padEnd(8)}  ${where}\n`);
  }
  return ExitCode.ok;
}
