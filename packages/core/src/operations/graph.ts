import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DbeeError, ExitCode, type ExitCodeValue } from '../errors';
import { diffPlan } from '../diffing/diff-plan';
import { STRATEGIES } from './strategies';
import { inFlightReader } from './strategies/in-flight';
import { formatGraphDot, formatGraphJson } from '../graph-view/formats';
import { graphView, type GraphView } from '../graph-view/graph-data';
import { renderGraphPage } from '../graph-view/html';
import { applyImpact } from '../graph-view/impact';
import type { GraphOptions } from '../options';
import type { OperationContext } from '../context/operation-context';
import { loadTarget, schemaOwners } from '../context/load';

export type { GraphOptions };

/** Where `dbee graph <project>` writes its page when no `--out` is given (workspace-relative). */
export function defaultGraphFile(project: string): string {
  return `dist/dbee/graph/${project}.html`;
}

/**
 * The graph of a project as data: its objects and the planner's edges (with `withDeps`, its dependencies' objects
 * too), and with `env` (a live diff) or `base` (two git refs) the impact of the pending change.
 */
export async function graphViewFor(ctx: OperationContext, options: GraphOptions): Promise<GraphView> {
  if (options.head && !options.base) {
    throw new DbeeError('--head needs --base', {
      code: 'OPTIONS_INVALID',
      hint: 'draw what changed between two refs with --base <ref> [--head <ref>]',
    });
  }
  // Without --base, --env means "the impact on that environment"; the sources are parsed with its variables either way.
  const { environment, target, engine, models, all } = await loadTarget(ctx, options.project, options.env);
  const drawn = options.withDeps ? all.map((p) => p.name) : [target.name];
  let view = graphView({
    engine: engine.name,
    project: target.name,
    models,
    drawn,
    schemaOwners: schemaOwners(ctx, environment),
  });
  if (options.base || options.env) {
    const result = await diffPlan(
      ctx,
      { project: target.name, env: options.env, base: options.base, head: options.head },
      inFlightReader(STRATEGIES),
    );
    view = applyImpact(view, result.plan, { from: result.from, to: result.to });
  }
  return view;
}

/** `graph`: the objects of a project and their dependencies as a page, json or dot; nothing is applied. */
export async function graph(ctx: OperationContext, options: GraphOptions): Promise<ExitCodeValue> {
  const view = await graphViewFor(ctx, options);
  const text =
    options.format === 'json'
      ? formatGraphJson(view)
      : options.format === 'dot'
        ? formatGraphDot(view)
        : await renderGraphPage(view);
  const out = options.out ?? (options.format === 'html' ? defaultGraphFile(view.project) : undefined);
  if (!out) {
    ctx.stdout.write(text);
    return ExitCode.ok;
  }
  const file = ctx.workspace.commandLinePath(out);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  const impact = view.impact
    ? `; ${view.impact.from} -> ${view.impact.to}: ${
        Object.entries(view.impact.counts)
          .filter(([, n]) => n)
          .map(([k, n]) => `${n} ${k}`)
          .join(', ') || 'nothing changes'
      }`
    : '';
  ctx.reporter.info(`${view.project}: ${view.nodes.length} objects, ${view.edges.length} dependencies${impact}`);
  ctx.reporter.info(`graph written to ${relative(process.cwd(), file) || file} (open ${pathToFileURL(file).href})`);
  return ExitCode.ok;
}
