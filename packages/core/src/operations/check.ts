import { Writable } from 'node:stream';
import { compatJson, formatCompatMarkdown, formatCompatText, type CompatReport } from '../check/compat';
import type { DbtResult } from '../check/dbt-run';
import { dbtJson } from '../check/dbt-report';
import { DbeeError, ExitCode, type ExitCodeValue } from '../errors';
import type { CheckOptions } from '../options';
// Not options/common.ts, which loads the option builders and zod.
import { HAZARD_KINDS } from '../config/kinds';
import { makeReporter, type OperationContext, engineFor } from '../context/operation-context';
import { querySourceKinds } from '../check/queries';
import { loadModels } from '../context/load';
import { parseKey } from '../model/object-key';
import { PLAN_FORMAT_VERSION, type Plan } from '../plan/plan';
import type { DeployReport } from '../runner/deploy-report';
import { compatDiagnostics, dbtDiagnostics } from '../report/diagnostic';
import { deploy } from './deploy';
import { dbtSettings, finishDbt, formatDbt, judgeDbt, prepareDbt } from './dbt';

/**
 * `dbee check`: the dry run of the deployment (the same plan, conflicts and scratch copy as `deploy --dry-run`), with
 * the compatibility check and the dbt check (`--dbt`, `check.dbt.manifest`) printed as asked; the plan itself is not
 * printed. Hazards are not refused here (they are the deployment's question, not the application's). An engine with no
 * scratch copy (Teradata) gets the dbt check at the object level, from the plan of a dry run that is not verified.
 * A check changes nothing: it reads the target without the deployment lock (`reader`), so two pull requests checked
 * against one environment do not wait for each other, nor for a deployment.
 */
export async function check(ctx: OperationContext, options: CheckOptions): Promise<ExitCodeValue> {
  // `--policies` judges the schema review policies instead (check-policies.ts).
  // It loads the policy catalogue (and zod, its rules' option schemas) when it judges them.
  return options.policies ? (await import('./check-policies')).checkPolicies(ctx, options) : checkQueries(ctx, options);
}

/** The application's queries and the dbt models against the dry run's scratch copy. */
async function checkQueries(ctx: OperationContext, options: CheckOptions): Promise<ExitCodeValue> {
  let report: CompatReport | null = null;
  let dbt: DbtResult | null = null;
  let steps: DeployReport['steps'] | null = null;
  // The dry run's plan is not printed, and what it says goes to stderr: stdout is the report (JSON for scripts).
  const quiet: OperationContext = {
    ...ctx,
    stdout: new Writable({ write: (_c, _e, done) => done() }),
    reporter: makeReporter(ctx.stderr, ctx.stderr),
    onDeployReport: (r) => {
      steps = r.steps;
      ctx.onDeployReport?.(r);
    },
  };
  const environment = ctx.workspace.environment(options.env, ctx.env);
  const withDbt = dbtSettings(ctx, options.project, options.dbt) !== null;
  if (!options.queries && !withDbt && (!environment.compat || environment.compat.mode === 'off')) {
    throw new DbeeError(`no query source for environment ${environment.name}, and no dbt manifest`, {
      code: 'COMPAT_NO_QUERIES',
      location: environment.declaredAt,
      hint: `give --queries <${querySourceKinds(engineFor(ctx, environment, []).querySources)}> (or set environments.${environment.name}.compat.queries in dbee.yaml), or --dbt <target/manifest.json> (or check.dbt.manifest)`,
    });
  }
  const projects = ctx.workspace.withDependencies(options.project);
  const engine = engineFor(ctx, environment, projects);
  // Without a scratch copy there is nothing to verify on: the dbt check then reads the dry run's plan (object level).
  const copy = Boolean(engine.diff);
  let failure: unknown = null;
  try {
    await deploy(
      quiet,
      {
        project: options.project,
        env: options.env,
        dryRun: true,
        verify: copy,
        testRollback: false,
        queries: options.queries,
        newQueries: options.newQueries,
        // Without a copy, the object level runs below, from the dry run's steps.
        dbt: copy ? options.dbt : undefined,
        package: options.package,
        withDependencies: options.withDependencies,
        waitForLock: options.waitForLock,
        now: options.now,
        assumeYes: true,
        allowHazards: [...HAZARD_KINDS], // check reports hazards, it refuses none
        // The environment's deploy.safeRewrites applies, as it does to the dry run.
        safe: false,
        continueOnError: false,
        prune: false,
        withNeeded: false,
      },
      { onCompat: (r) => (report = r), onDbt: (r) => (dbt = r), skipGates: true, reader: true },
    );
  } catch (e) {
    failure = e;
  }
  const planned = steps as DeployReport['steps'] | null;
  if (!copy && withDbt && planned && !failure) {
    const problems: DbeeError[] = [];
    const models = await loadModels(ctx, projects, environment, engine);
    const checked = prepareDbt(ctx, {
      engine,
      environment: environment.name,
      models,
      target: options.project,
      manifest: options.dbt,
      plan: reportPlan(engine.name, planned),
    });
    if (checked) {
      finishDbt(checked, reportPlan(engine.name, planned), null);
      judgeDbt(quiet, checked, (r) => (dbt = r), problems);
      if (problems.length) failure = problems[0];
    }
  }
  await print(ctx, options.format ?? 'text', report as CompatReport | null, dbt as DbtResult | null);
  if (failure) throw failure;
  return ExitCode.ok;
}

async function print(
  ctx: OperationContext,
  format: NonNullable<CheckOptions['format']>,
  report: CompatReport | null,
  dbt: DbtResult | null,
): Promise<void> {
  if (format !== 'text' && format !== 'json' && format !== 'markdown') {
    // A review format. Its module names the policy rules (their catalogue, zod with it): loaded for these formats only.
    const { formatDiagnostics } = await import('../report/formats');
    // The application queries at their file and line, then the dbt nodes that break or cannot be judged at theirs.
    const diagnostics = [
      ...(report ? compatDiagnostics(report) : []),
      ...(dbt ? dbtDiagnostics(dbt.report, dbt.drift) : []),
    ];
    ctx.stdout.write(formatDiagnostics(format, diagnostics, { version: ctx.toolVersion, command: 'check' }));
    return;
  }
  if (format === 'json') {
    if (report && dbt)
      ctx.stdout.write(JSON.stringify({ ...compatJson(report), dbt: dbtJson(dbt.report, dbt.drift) }, null, 2) + '\n');
    else if (report) ctx.stdout.write(JSON.stringify(compatJson(report), null, 2) + '\n');
    else if (dbt) ctx.stdout.write(formatDbt(dbt, 'json'));
    return;
  }
  if (report) ctx.stdout.write(format === 'markdown' ? formatCompatMarkdown(report) : formatCompatText(report));
  if (dbt) ctx.stdout.write((report && format === 'markdown' ? '\n' : '') + formatDbt(dbt, format));
}

/** The dry run's steps as a plan of their objects (what the object level of the dbt check reads). */
function reportPlan(engine: string, steps: DeployReport['steps']): Plan {
  return {
    formatVersion: PLAN_FORMAT_VERSION,
    engine,
    projects: [...new Set(steps.map((s) => s.project))],
    sourceCommit: null,
    baseFingerprint: null,
    steps: steps.map((s) => ({
      order: s.order,
      project: s.project,
      key: s.key,
      objectKey: parseKey(s.key),
      action: s.action as Plan['steps'][number]['action'],
      statements: [],
      reverse: null,
      transactional: true,
      hazards: [],
      source: null,
      checksum: '',
    })),
  };
}
