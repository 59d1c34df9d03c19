import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ExitCode, type ExitCodeValue } from '../errors';
import { diffPlan, type DiffResult } from '../diffing/diff-plan';
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
  const result = await diffPlan(ctx, { ...options, noCache: options.cache === false });
  // The pull request's Markdown carries the compatibility check of an environment that names a query source,
  // whichever two sides the diff compares.
  const review = isReviewFormat(format) ? format : null;
  const compat = format === 'markdown' || review ? await diffCompat(ctx, options.env, result) : null;
  const colour =
    format === 'text' && !options.output && Boolean((ctx.stdout as NodeJS.WriteStream).isTTY) && !ctx.env.NO_COLOR;
  const text = review
    ? formatDiagnostics(review, reviewDiagnostics(result, compat?.outcome), {
        version: ctx.toolVersion,
        command: 'diff',
      })
    : format === 'json'
      ? formatDiffJson(result)
      : format === 'markdown'
        ? formatDiffMarkdown(result, graphCommand(ctx, options)) + (compat ? compatMarkdown(compat.outcome) : '')
        : formatDiffText(result, colour);
  ctx.stdout.write(text);
  if (file) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, format === 'text' ? formatDiffText(result, false) : text);
  }
  // As in the dry run (the Markdown is written first, so a job summary still shows why).
  const judged = compat ? compatVerdict(compat.outcome, compat.mode) : null;
  if (judged && 'refusal' in judged) throw judged.refusal;
  if (judged) ctx.reporter.warn(judged.warning);
  if (options.failOnDiff && result.plan.steps.length) {
    ctx.stderr.write(
      `error: ${result.plan.steps.length} difference(s) between ${result.from} and ${result.to} (--fail-on-diff)\n`,
    );
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

/** The plan's hazards, and the application queries it breaks or changes when the environment names a query source. */
function reviewDiagnostics(result: DiffResult, outcome: CompatOutcome | undefined): Diagnostic[] {
  const compat = outcome && !('notRun' in outcome) ? compatDiagnostics(outcome.report) : [];
  return [...planDiagnostics(result.plan.steps, sourceLocations(result.start?.loaded.models ?? [])), ...compat];
}

/** The compatibility section of the diff's Markdown. */
function compatMarkdown(outcome: CompatOutcome): string {
  if ('notRun' in outcome) return `\n### Application queries against this plan\n\nNot checked: ${outcome.notRun}\n`;
  return `\n${formatCompatMarkdown(outcome.report)}`;
}
