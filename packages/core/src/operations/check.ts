import { Writable } from 'node:stream';
import { compatJson, formatCompatMarkdown, formatCompatText, type CompatReport } from '../check/compat';
import { DbeeError, ExitCode, type ExitCodeValue } from '../errors';
import type { CheckOptions } from '../options';
import { HAZARD_KINDS } from '../options/common';
import { makeReporter, type OperationContext } from '../context/operation-context';
import { compatDiagnostics } from '../report/diagnostic';
import { formatDiagnostics, isReviewFormat } from '../report/formats';
import { deploy } from './deploy';

/**
 * `dbee check`: the dry run of the deployment (the same plan, conflicts and scratch copy as `deploy --dry-run`), with
 * the compatibility check required and printed as asked; the plan itself is not printed. Hazards are not refused here
 * (they are the deployment's question, not the application's).
 */
export async function check(ctx: OperationContext, options: CheckOptions): Promise<ExitCodeValue> {
  let report: CompatReport | null = null;
  // The dry run's plan is not printed, and what it says goes to stderr: stdout is the report (JSON for scripts).
  const quiet: OperationContext = {
    ...ctx,
    stdout: new Writable({ write: (_c, _e, done) => done() }),
    reporter: makeReporter(ctx.stderr, ctx.stderr),
  };
  const environment = ctx.workspace.environment(options.env, ctx.env);
  if (!options.queries && (!environment.compat || environment.compat.mode === 'off')) {
    throw new DbeeError(`no query source for environment ${environment.name}`, {
      code: 'COMPAT_NO_QUERIES',
      location: environment.declaredAt,
      hint: `give --queries <file|folder|log.csv|pg_stat_statements>, or set environments.${environment.name}.compat.queries in dbee.yaml`,
    });
  }
  let failure: unknown = null;
  try {
    await deploy(
      quiet,
      {
        project: options.project,
        env: options.env,
        dryRun: true,
        verify: true,
        queries: options.queries,
        newQueries: options.newQueries,
        package: options.package,
        withDependencies: options.withDependencies,
        waitForLock: options.waitForLock,
        now: options.now,
        assumeYes: true,
        allowHazards: [...HAZARD_KINDS],
        // The environment's deploy.safeRewrites applies, as it does to the dry run.
        safe: false,
        continueOnError: false,
        prune: false,
      },
      { onCompat: (r) => (report = r), skipGates: true },
    );
  } catch (e) {
    failure = e;
  }
  const done = report as CompatReport | null;
  if (done) {
    if (options.format === 'json') ctx.stdout.write(JSON.stringify(compatJson(done), null, 2) + '\n');
    else if (options.format === 'markdown') ctx.stdout.write(formatCompatMarkdown(done));
    else if (isReviewFormat(options.format))
      ctx.stdout.write(
        formatDiagnostics(options.format, compatDiagnostics(done), { version: ctx.toolVersion, command: 'check' }),
      );
    else ctx.stdout.write(formatCompatText(done));
  }
  if (failure) throw failure;
  return ExitCode.ok;
}
