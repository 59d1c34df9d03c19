import type { CompatReport } from '../check/compat';
import type { Plan } from '../plan/plan';
import { verifyPlan } from '../runner/verify';
import { withSession } from '../runner/session';
import { prepareCompat } from './compat';
import type { OperationContext } from '../context/operation-context';
import { loadTarget } from '../context/load';

/** The compatibility check of a diff's Markdown: its report, or why it could not run. */
export type DiffCompat = { report: CompatReport } | { notRun: string };

/**
 * The compatibility check of `diff --format markdown` of an environment against the sources, when the environment
 * names a query source (`compat.queries`, mode not `off`): the plan of the diff applied to a scratch copy of the
 * environment's schemas, the application's queries described there before and after, as `deploy --dry-run` does.
 * Null when the environment names no source.
 */
export async function diffCompat(
  ctx: OperationContext,
  project: string,
  env: string | undefined,
  plan: Plan,
): Promise<DiffCompat | null> {
  const environment = ctx.workspace.environment(env, ctx.env);
  const settings = environment.compat;
  if (!settings || settings.mode === 'off') return null;
  const { engine, models } = await loadTarget(ctx, project, env);
  return withSession(
    { engine, environment, workspaceRoot: ctx.workspace.root, reporter: ctx.reporter },
    async ({ conn }) => {
      const compat = await prepareCompat(ctx, { engine, conn, environment, models, target: project });
      if (!compat) return null;
      const verdict = await verifyPlan({
        engine,
        conn,
        environment,
        workspaceRoot: ctx.workspace.root,
        plan,
        conflicts: new Map(),
        variables: new Map(models.map((m) => [m.project.name, m.variables])),
        schemas: [...new Set(models.flatMap((m) => m.graph.schemas))],
        shadow: ctx.workspace.config.shadow ?? 'embedded',
        probe: compat.probe,
      });
      if (!verdict.verified) return { notRun: verdict.skipped ?? "the copy of the target's schemas could not be made" };
      if (verdict.problems.length)
        return {
          notRun: `the plan fails on a copy of the target's schemas: ${verdict.problems[0]!.message.split('\n')[0]}`,
        };
      return { report: await compat.report(plan) };
    },
  );
}
