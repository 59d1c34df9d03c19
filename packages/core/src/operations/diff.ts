import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ExitCode, type ExitCodeValue } from '../errors';
import { diffPlan } from '../diffing/diff-plan';
import { formatDiffJson, formatDiffMarkdown, formatDiffText } from '../diffing/format';
import type { OperationContext } from './context';
import type { DiffOptions } from '../options';

export type { DiffOptions };

/** `diff`: what would change, with hazards; nothing is applied. */
export async function diff(ctx: OperationContext, options: DiffOptions): Promise<ExitCodeValue> {
  const format = options.format;
  const file = options.output ? ctx.workspace.commandLinePath(options.output) : null;
  const result = await diffPlan(ctx, { ...options, noCache: options.cache === false });
  const colour =
    format === 'text' && !options.output && Boolean((ctx.stdout as NodeJS.WriteStream).isTTY) && !ctx.env.NO_COLOR;
  const text =
    format === 'json'
      ? formatDiffJson(result)
      : format === 'markdown'
        ? formatDiffMarkdown(result, graphCommand(ctx, options))
        : formatDiffText(result, colour);
  ctx.stdout.write(text);
  if (file) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, format === 'text' ? formatDiffText(result, false) : text);
  }
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
