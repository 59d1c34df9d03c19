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
  const environment = workspace.environment(options.env, ctx.env);
  const engine = engineFor(ctx, environment, [workspace.project(options.project)]);
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
      canonicalJson({ project: options.project, ...shown, ...(connection ? { connectionTest: connection } : {}) }),
    );
  } else {
    ctx.stdout.write(`${options.project} on ${environment.name} (${environment.engine})\n`);
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
