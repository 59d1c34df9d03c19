import type { Connection } from '../../../engine/engine';
import { DbeeError } from '../../../errors';
import { markDataLoss, verifyPlan, type VerifyResult } from '../../../runner/verify';
import { buildConvergenceSources, convergence, notConverged } from '../../../diffing/converge';
import type { OperationContext } from '../../../context/operation-context';
import { schemasNeeded } from '../../../context/load';
import { notVerified } from '../../../pipeline/gates';
import { printPlan } from '../../print';
import type { DryRunHooks } from '../../compat';
import type { VerifyProbe } from '../../../check/verify-result';
import type { DeployReport } from '../../../runner/deploy-report';
import { conflictOf } from './apply';
import { rewritesOnCopy } from '../../../pipeline/rewritten-elsewhere';
import { watchRewrites } from './rewrites';
import { packageSourcesElsewhere } from '../../../package/package-deploy';
import { type DeployInputs, type DeployRun, compatChecks } from './deploy-run';

export async function dryRun(
  ctx: OperationContext,
  input: DeployInputs,
  conn: Connection,
  run: DeployRun,
  report: DeployReport,
  hooks: DryRunHooks,
): Promise<void> {
  const { options, engine, environment, models } = input;
  const { plan, decisions, conflicts } = run;
  await markDataLoss(engine, conn, plan, conflicts);
  printPlan(ctx.stdout, plan, models, decisions);
  report.status = 'dry-run';
  report.steps = plan.steps.map((s) => ({
    order: s.order,
    project: s.project,
    key: s.key,
    action: s.action,
    status: 'not-run',
    durationMs: 0,
    ...conflictOf(decisions.get(s.order)),
  }));
  // The application's queries, described on the scratch copy before and after the plan (when a source is named).
  const compat =
    options.verify === false
      ? null
      : await (await compatChecks()).prepareCompat(ctx, {
          engine,
          conn,
          environment,
          models,
          target: input.target.name,
          queries: options.queries,
          newQueries: options.newQueries,
          // The dbt check (--dbt, check.dbt.manifest) rides on the same copy: it reads the nodes the plan touches.
          dbt: options.dbt,
          plan,
        });
  if (options.verify !== false && (plan.steps.length || compat))
    await verifyOnCopy(ctx, input, conn, run, report, compat, hooks);
}

/** The plan applied to a scratch copy of the target's schemas: a statement that would fail refuses the dry run. */
async function verifyOnCopy(
  ctx: OperationContext,
  input: DeployInputs,
  conn: Connection,
  run: DeployRun,
  report: DeployReport,
  compat: Awaited<ReturnType<typeof import('../../compat').prepareCompat>>,
  hooks: DryRunHooks,
): Promise<void> {
  const { engine, environment, models } = input;
  const { plan, decisions, problems } = run;
  const { reporter, workspace } = ctx;
  // Other projects' objects the steps may rewrite in place (found on the target), looked at on the copy before and
  // after the steps: their schemas are copied too.
  const watch = await watchRewrites(ctx, input, conn, run);
  const rewrites = watch ? rewritesOnCopy(ctx, input.engine, watch) : null;
  // A package carries its plan and the checksums of its sources: its copy is compared with the sources only when the
  // workspace's are those (package-deploy.ts).
  const elsewhere = input.pkg ? packageSourcesElsewhere(input.pkg, models) : null;
  // The sources' side of the convergence check before the copy is opened: one embedded shadow for both (converge.ts).
  if (!elsewhere) await buildConvergenceSources(ctx, { engine, environment, models, steps: plan.steps });
  const verdict = await verifyPlan({
    engine,
    conn,
    environment,
    workspaceRoot: workspace.root,
    plan,
    conflicts: run.conflicts,
    variables: run.variables,
    schemas: [...new Set(models.flatMap((m) => m.graph.schemas))],
    shadow: workspace.config.shadow ?? 'embedded',
    needs: schemasNeeded(ctx, environment),
    probe: probesInTurn([compat?.probe, rewrites?.probe]),
    ...(watch ? { widen: watch.scope.schemas } : {}),
    // The views the real run's smoke baselines would compile after the plan are compiled on the copy too.
    baseline: [...(run.smoke?.checks.keys() ?? [])].flatMap((project) => {
      const model = models.find((m) => m.project.name === project);
      const deployed = [...(run.deployed.get(project)?.objects.keys() ?? [])];
      return model ? [{ model, deployed, timeoutMs: run.smoke!.timeoutMs.get(project)! }] : [];
    }),
    ...(elsewhere
      ? {}
      : {
          converge: (copy: Connection) =>
            convergence(ctx, { engine, environment, models, conn: copy, steps: plan.steps }),
        }),
  });
  if (!verdict.verified) problems.push(notVerified(verdict.skipped ?? 'the copy could not be made'));
  else reporter.info(`dry run: ${verifiedLine(verdict, elsewhere)}`);
  const diverged = verdict.convergence?.divergences ?? [];
  if (diverged.length) problems.push(notConverged(null, diverged, 'copy'));
  for (const w of verdict.warnings) reporter.info(`dry run: ${w}`);
  rewrites?.tell(report);
  const views = verdict.views;
  if (views.compiled)
    reporter.info(
      `dry run: compiled ${views.compiled} view${views.compiled === 1 ? '' : 's'} the smoke baseline would compile, ${views.problems.length ? `${views.problems.length} failing` : 'all passed'}`,
    );
  problems.push(...views.problems);
  // A step already refused (a conflict) is not reported twice.
  const refused = new Set([...decisions].flatMap(([order, d]) => (d.problem ? [order] : [])));
  problems.push(
    ...verdict.problems.filter((p) => !refused.has(Number(p.details.step))).map((p) => afterRefused(p, refused)),
  );
  if (compat) (await compatChecks()).judgeCompat(ctx, compat, await compat.outcome(plan, verdict), hooks, problems);
  // The release's rollback, proven on a copy of its own once the plan applies (operations/rollback-test.ts).
  if ((input.options.testRollback || environment.verify?.rollback) && verdict.verified && !verdict.problems.length)
    await (await import('../../rollback-test')).proveRollback(
      ctx,
      { ...run, engine, conn, environment, models, scope: input.scope, owners: input.owners, pkg: input.pkg },
      problems,
    );
}

/**
 * What the dry run says of the copy: "verified" only when every step applied and the copy then equals the sources
 * on every object the plan touched (ARCHITECTURE invariant 14); otherwise what it did prove, and what it did not.
 */
export function verifiedLine(verdict: VerifyResult, notComparedBecause: string | null = null): string {
  const steps = `${verdict.ran} step${verdict.ran === 1 ? '' : 's'}`;
  if (verdict.problems.length)
    return `ran on a scratch copy of the target's schemas (${steps}, ${verdict.problems.length} failing)`;
  const c = verdict.convergence;
  const also = c?.notCompared.length
    ? `; not compared with the sources: ${c.notCompared.map((n) => `${n.project} (${n.reason})`).join(', ')}`
    : '';
  if (c?.divergences.length)
    return `not verified: applied on a scratch copy of the target's schemas (${steps}, all applied), but ${c.divergences.length} object${c.divergences.length === 1 ? '' : 's'} then differ${c.divergences.length === 1 ? 's' : ''} from the sources${also}`;
  if (c?.compared.length)
    return `verified on a scratch copy of the target's schemas (${steps}, all applied) and converged: ${c.compared.length === 1 ? 'the object they touch equals' : `the ${c.compared.length} objects they touch equal`} the sources${also}`;
  const why = notComparedBecause
    ? notComparedBecause
    : c?.notCompared.length
      ? also.slice(2)
      : 'no step touches an object a comparison reads';
  return `applied on a scratch copy of the target's schemas (${steps}, all applied), not verified against the sources: ${why}`;
}

/**
 * A step that fails on the copy after a refused one (a conflict): still a problem, said with the refusal, since the
 * copy ran it with the refused step's object as the target holds it (which is what `ifExists: skip` would leave).
 */
function afterRefused(problem: DbeeError, refused: ReadonlySet<number>): DbeeError {
  const step = Number(problem.details.step);
  const before = [...refused].filter((o) => o < step).sort((a, b) => a - b);
  if (!before.length) return problem;
  const which = `step${before.length === 1 ? '' : 's'} ${before.join(', ')}`;
  return DbeeError.carrying(problem.code, problem.message, {
    location: problem.location,
    hint: `it ran on the copy after ${which}, refused above, so against ${before.length === 1 ? "that step's object" : "those steps' objects"} as the target holds ${before.length === 1 ? 'it' : 'them'}: the real run would fail here too if ${before.length === 1 ? 'it stays' : 'they stay'} (ifExists: skip, exit 2); resolve the conflict and run the dry run again`,
    exitCode: problem.exitCode,
    details: problem.details,
    cause: problem.cause,
  });
}

/**
 * One probe that runs each of `probes` given, in turn; undefined when none is. Here, not beside `VerifyProbe` in check/: a direct
 * deployment loads this file, and nothing of check/ (packages/cli/src/start-up.test.ts).
 */
function probesInTurn(probes: readonly (VerifyProbe | undefined)[]): VerifyProbe | undefined {
  const list = probes.filter((p): p is VerifyProbe => p !== undefined);
  if (!list.length) return undefined;
  return {
    async before(conn, copied) {
      for (const p of list) await p.before(conn, copied);
    },
    async after(conn) {
      for (const p of list) await p.after(conn);
    },
  };
}
