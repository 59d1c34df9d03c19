import { Writable } from 'node:stream';
import { loadModels } from '../context/load';
import { engineFor, makeReporter, type OperationContext } from '../context/operation-context';
import { ExitCode, type ExitCodeValue } from '../errors';
import { HAZARD_KINDS } from '../options/common';
import type { CheckOptions } from '../options';
import type { PolicyFinding } from '../policies';
import { policyDiagnostics } from '../report/diagnostic';
import { formatDiagnostics, isReviewFormat } from '../report/formats';
import type { DeployReport } from '../runner/deploy-report';
import { deploy } from './deploy';
import { judgeProject, type ProjectJudgment } from './policy-judgment';

/**
 * `dbee check --policies`: the schema review policies of a project (docs/policies.md) over what the deployment to the
 * environment would change (the objects and migrations of its dry run's plan), or over the whole project with `--all`
 * (no database needed). Prints the findings in the chosen format; exit 1 when one is at level `error`.
 */
export async function checkPolicies(ctx: OperationContext, options: CheckOptions): Promise<ExitCodeValue> {
  const environment = ctx.workspace.environment(options.env, ctx.env);
  const project = ctx.workspace.project(options.project);
  const projects = ctx.workspace.withDependencies(project.name);
  const engine = engineFor(ctx, environment, projects);
  // Listing the exceptions with no environment named asks about the sources: every object, no database.
  const all = options.all || (options.exceptions === true && !options.env && !ctx.env.DBEE_ENV);
  const judged = all ? 'all' : await changedSteps(ctx, options);
  const models = await loadModels(ctx, projects, environment, engine);
  const result = await judgeProject(ctx, { project, environment, engine, models, judged, whenConfigured: false });
  printJudgment(ctx, { ...options, all }, result);
  return result?.judgment.findings.some((f) => f.level === 'error') ? ExitCode.invalid : ExitCode.ok;
}

/** The steps the deployment would run: its dry run's plan, not verified (the policies judge the sources, not a copy). */
async function changedSteps(ctx: OperationContext, options: CheckOptions): Promise<DeployReport['steps']> {
  let steps: DeployReport['steps'] = [];
  const quiet: OperationContext = {
    ...ctx,
    stdout: new Writable({ write: (_c, _e, done) => done() }),
    reporter: makeReporter(ctx.stderr, ctx.stderr),
    onDeployReport: (r) => {
      steps = r.steps;
    },
  };
  await deploy(
    quiet,
    {
      project: options.project,
      env: options.env,
      dryRun: true,
      verify: false,
      testRollback: false,
      package: options.package,
      withDependencies: options.withDependencies,
      waitForLock: options.waitForLock,
      now: options.now,
      assumeYes: true,
      allowHazards: [...HAZARD_KINDS],
      safe: false,
      continueOnError: false,
      prune: false,
      withNeeded: false,
    },
    { skipGates: true },
  );
  return steps;
}

function printJudgment(ctx: OperationContext, options: CheckOptions, result: ProjectJudgment | null): void {
  const format = options.format ?? 'text';
  const findings = result?.judgment.findings ?? [];
  if (isReviewFormat(format)) {
    ctx.stdout.write(
      formatDiagnostics(format, policyDiagnostics(findings), { version: ctx.toolVersion, command: 'check' }),
    );
    return;
  }
  if (format === 'json') {
    ctx.stdout.write(
      `${JSON.stringify(
        {
          project: options.project,
          rules: result?.judgment.rules ?? [],
          findings: findings.map(findingJson),
          exceptions: (result?.judgment.excused ?? []).map((e) => ({
            rule: e.rule,
            reason: e.reason,
            location: e.location,
            excused: e.findings.map(findingJson),
          })),
          unusedExceptions: result?.judgment.unused ?? [],
        },
        null,
        2,
      )}\n`,
    );
    return;
  }
  const md = format === 'markdown';
  const lines: string[] = [];
  if (md) lines.push(`### dbee: schema policies of ${options.project}`, '');
  for (const f of findings)
    lines.push(
      md
        ? `- **${f.level}** \`${f.rule}\` ${where(f)}: ${f.message}`
        : `${where(f)}: ${f.level}: ${f.message} [${f.rule}]`,
    );
  if (options.exceptions) {
    for (const e of result?.judgment.excused ?? [])
      lines.push(
        `${e.location.file}:${e.location.line}: allowed: ${e.rule} (${e.reason}), excuses ${e.findings.length} finding${e.findings.length === 1 ? '' : 's'}`,
      );
    for (const e of result?.judgment.unused ?? [])
      lines.push(`${e.location.file}:${e.location.line}: allowed: ${e.rule} (${e.reason}), excuses nothing: remove it`);
  }
  const errors = findings.filter((f) => f.level === 'error').length;
  const rules = result?.judgment.rules.length ?? 0;
  const excused = (result?.judgment.excused ?? []).reduce((n, e) => n + e.findings.length, 0);
  lines.push(
    `${md ? '\n' : ''}${options.project}: ${errors} error${errors === 1 ? '' : 's'}, ${findings.length - errors} warning${findings.length - errors === 1 ? '' : 's'} from ${rules} rule${rules === 1 ? '' : 's'}${excused ? `, ${excused} excused by dbee:allow` : ''}${options.all ? ' (every object)' : ' (what the deployment changes)'}`,
  );
  ctx.stdout.write(`${lines.join('\n')}\n`);
}

function where(f: PolicyFinding): string {
  return f.location ? `${f.location.file}:${f.location.line}` : 'dbee';
}

function findingJson(f: PolicyFinding) {
  return {
    rule: f.rule,
    level: f.level,
    message: f.message,
    file: f.location?.file ?? null,
    line: f.location?.line ?? null,
  };
}
