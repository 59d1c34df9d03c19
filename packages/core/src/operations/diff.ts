import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ExitCode, type ExitCodeValue } from '../errors';
import { diffPlan, type DiffResult } from '../diffing/diff-plan';
import { STRATEGIES } from './strategies';
import { inFlightReader } from './strategies/in-flight';
import { formatDiffJson, formatDiffMarkdown, formatDiffText } from '../diffing/format';
import type { OperationContext } from '../context/operation-context';
import { diffCompat } from './diff-compat';
import { formatCompatMarkdown } from '../check/compat';
import { compatVerdict, type CompatOutcome } from '../check/verdict';
import type { DiffOptions } from '../options';
import { compatDiagnostics, planDiagnostics, sourceLocations, type Diagnostic } from '../report/diagnostic';
import { formatDiagnostics, isReviewFormat } from '../report/formats';

export type { DiffOptions };

/** `diff`: what would change, with hazards; nothing is applied. */
export async function diff(ctx: OperationContext, options: DiffOptions): Promise<ExitCodeValue> {
  const format = options.format;
  const file = options.output ? ctx.workspace.commandLinePath(options.output) : null;
  const result = await diffPlan(ctx, { ...options, noCache: options.cache === false }, inFlightReader(STRATEGIES));
  if (options.base) result.dependencies = await dependencyChanges(ctx, options);
  const results = [result, ...(result.dependencies ?? [])];
  // The pull request's Markdown carries the compatibility check of an environment that names a query source,
  // whichever two sides the diff compares.
  const review = isReviewFormat(format) ? format : null;
  const compat = format === 'markdown' || review ? await diffCompat(ctx, options.env, result) : null;
  const colour =
    format === 'text' && !options.output && Boolean((ctx.stdout as NodeJS.WriteStream).isTTY) && !ctx.env.NO_COLOR;
  const text = review
    ? formatDiagnostics(review, reviewDiagnostics(results, compat?.outcome), {
        version: ctx.toolVersion,
        command: 'diff',
      })
    : format === 'json'
      ? formatDiffJson(result)
      : format === 'markdown'
        ? results.map((r, i) => formatDiffMarkdown(r, i ? undefined : graphCommand(ctx, options))).join('\n') +
          (compat ? compatMarkdown(compat.outcome) : '')
        : results.map((r) => formatDiffText(r, colour)).join('\n');
  ctx.stdout.write(text);
  if (file) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, format === 'text' ? results.map((r) => formatDiffText(r, false)).join('\n') : text);
  }
  // As in the dry run (the Markdown is written first, so a job summary still shows why).
  const judged = compat ? compatVerdict(compat.outcome, compat.mode) : null;
  if (judged && 'refusal' in judged) throw judged.refusal;
  if (judged) ctx.reporter.warn(judged.warning);
  const differences = results.reduce((n, r) => n + r.plan.steps.length, 0);
  if (options.failOnDiff && differences) {
    ctx.stderr.write(`error: ${differences} difference(s) between ${result.from} and ${result.to} (--fail-on-diff)\n`);
    return ExitCode.invalid;
  }
  return ExitCode.ok;
}

/** The `dbee graph` command that shows the same change (`--against-env` has no graph). */
function graphCommand(ctx: OperationContext, options: DiffOptions): string | undefined {
  if (options.againstEnv || (options.head && !options.base)) return undefined;
  const sides = options.base
    ? ` --base ${options.base}${options.head ? ` --head ${options.head}` : ''}`
    : ` --env ${ctx.workspace.environment(options.env, ctx.env).name}`;
  return `npx dbee graph ${options.project}${sides}`;
}

/**
 * Between two refs, the changes of the project's dependencies too (those that changed): its release package
 * (`plan --base --head --out`) carries them, so the review shows them. Empty for the other comparisons.
 */
async function dependencyChanges(ctx: OperationContext, options: DiffOptions): Promise<DiffResult[]> {
  if (!options.base) return [];
  const deps = ctx.workspace.withDependencies(options.project).filter((p) => p.name !== options.project);
  const out: DiffResult[] = [];
  for (const dep of deps) {
    const r = await diffPlan(
      ctx,
      { ...options, project: dep.name, noCache: options.cache === false },
      inFlightReader(STRATEGIES),
    );
    if (r.plan.steps.length) out.push({ ...r, dependencyOf: options.project });
  }
  return out;
}

/** The plans' hazards, and the application queries it breaks or changes when the environment names a query source. */
function reviewDiagnostics(results: DiffResult[], outcome: CompatOutcome | undefined): Diagnostic[] {
  const compat = outcome && !('notRun' in outcome) ? compatDiagnostics(outcome.report) : [];
  return [
    ...results.flatMap((r) => planDiagnostics(r.plan.steps, sourceLocations(r.start?.loaded.models ?? []))),
    ...compat,
  ];
}

/** The compatibility section of the diff's Markdown. */
function compatMarkdown(outcome: CompatOutcome): string {
  if ('notRun' in outcome) return `\n### Application queries against this plan\n\nNot checked: ${outcome.notRun}\n`;
  return `\n${formatCompatMarkdown(outcome.report)}`;
}
