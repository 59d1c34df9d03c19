import { DbeeError, ExitCode, type ExitCodeValue } from '../errors';
import { requireRole } from '../engine/engine';
import type { AuditOptions } from '../options';
import type { OperationContext } from '../context/operation-context';
import { sinceTime } from './extract';
import { withSession } from '../runner/session';
import { graphProject } from '../planner/project-model';

export type { AuditOptions };

/** `audit`: enable or disable the audit trail of an environment, or list what it recorded for the project's schemas. */
export async function audit(ctx: OperationContext, options: AuditOptions): Promise<ExitCodeValue> {
  const { workspace, reporter } = ctx;
  const environment = workspace.environment(options.env, ctx.env);
  const target = workspace.project(options.project);
  const engine = ctx.engine(environment.engine);
  const trail = requireRole(engine, 'audit', 'record who changed what');
  if (options.enable && options.disable)
    throw new DbeeError('--enable and --disable cannot be combined', { code: 'OPTIONS_INVALID' });
  const variables = workspace.settings(target, environment).variables;
  const schemas = graphProject(target, variables, workspace.projects, engine.capabilities.keyNames).schemas;
  return await withSession({ engine, environment, workspaceRoot: workspace.root, reporter }, async ({ conn }) => {
    if (options.enable) {
      try {
        await trail.enable(conn, options.now);
      } catch (e) {
        const err = engine.mapError(e, {});
        throw new DbeeError(`auditing could not be enabled on ${environment.name}: ${err.message.split('\n')[0]}`, {
          code: 'AUDIT_ENABLE_FAILED',
          hint: 'event triggers need a superuser: run it with a superuser connection',
          cause: e,
        });
      }
      reporter.info(
        `auditing enabled on ${environment.name} (${conn.description}): changes to objects are recorded in the ledger schema`,
      );
      return ExitCode.ok;
    }
    if (options.disable) {
      await trail.disable(conn);
      reporter.info(`auditing disabled on ${environment.name}; what it recorded is kept`);
      return ExitCode.ok;
    }
    const periods = await trail.periods(conn);
    const events = await trail.events(conn, {
      schemas,
      since: options.since ? sinceTime(options.since, options.now ?? new Date()) : undefined,
    });
    if (options.format === 'json') {
      ctx.stdout.write(JSON.stringify({ periods, events }, null, 2) + '\n');
      return ExitCode.ok;
    }
    ctx.stdout.write(
      periods.length
        ? `auditing: ${periods.map((p) => `${p.from.toISOString()} .. ${p.to ? p.to.toISOString() : 'now'}`).join(', ')}\n`
        : 'auditing: never enabled\n',
    );
    for (const e of events) ctx.stdout.write(`  ${e.at} ${e.role} ${e.command} ${e.objectType} ${e.identity}\n`);
    return ExitCode.ok;
  });
}
