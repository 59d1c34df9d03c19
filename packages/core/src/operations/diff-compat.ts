import type { CompatOutcome } from '../check/verdict';
import type { Connection } from '../engine/engine';
import type { DiffResult } from '../diffing/diff-plan';
import { verifyPlan } from '../runner/verify';
import { withSession } from '../runner/session';
import { prepareCompat, type CompatRun } from './compat';
import type { OperationContext } from '../context/operation-context';

/** The compatibility check of a diff's Markdown: what it came to, and how the environment judges it. */
export interface DiffCompat {
  outcome: CompatOutcome;
  mode: CompatRun['mode'];
}

/**
 * The compatibility check of `diff --format markdown`, when the environment (`--env`) names a query source
 * (`compat.queries`, mode not `off`): the diff's plan applied to a scratch copy of the side it starts from, the
 * application's queries described there before and after, as `deploy --dry-run` does. The side the plan starts from
 * is the environment's live schema (against the sources, `--head`, or `--against-env`), or for two git refs
 * (`--base`/`--head`) the base's desired model, built in an embedded scratch database (no database of the
 * environment is read, unless a live source names one, `<name>:<env>`). Null when the environment names no source.
 */
export async function diffCompat(
  ctx: OperationContext,
  env: string | undefined,
  result: DiffResult,
): Promise<DiffCompat | null> {
  const environment = ctx.workspace.environment(env, ctx.env);
  const settings = environment.compat;
  if (!settings || settings.mode === 'off') return null;
  const mode = settings.mode === 'warn' ? 'warn' : 'fail';
  if (!result.start)
    return {
      outcome: { notRun: 'this engine compares objects one by one, with no scratch copy to describe the queries on' },
      mode,
    };
  const { engine, models } = result.start.loaded;
  const from = result.start.from;
  const check = async (conn: Connection | null): Promise<DiffCompat | null> => {
    const compat = await prepareCompat(ctx, { engine, conn, environment, models, target: result.project });
    if (!compat) return null;
    const verified = await verifyPlan({
      engine,
      conn,
      ...(from ? { from } : {}),
      environment,
      workspaceRoot: ctx.workspace.root,
      plan: result.plan,
      conflicts: new Map(),
      variables: new Map(models.map((m) => [m.project.name, m.variables])),
      schemas: [...new Set(models.flatMap((m) => m.graph.schemas))],
      // Two refs: no database is the plan's start, so the copy is embedded too.
      shadow: from ? 'embedded' : (ctx.workspace.config.shadow ?? 'embedded'),
      probe: compat.probe,
    });
    return { outcome: await compat.outcome(result.plan, verified), mode: compat.mode };
  };
  if (from) return check(null);
  return withSession({ engine, environment, workspaceRoot: ctx.workspace.root, reporter: ctx.reporter }, ({ conn }) =>
    check(conn),
  );
}
