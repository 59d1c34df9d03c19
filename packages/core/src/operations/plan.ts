import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DbeeError } from '../errors';
import { ExitCode, type ExitCodeValue } from '../errors';
import { writePackage } from '../package/package';
import { planExplained } from '../planner/planner';
import { diffPlan } from '../diffing/diff-plan';
import { serializePlan } from '../plan/serialize';
import { gitCommit, type OperationContext } from './context';
import { loadTarget, modelLoader, schemaOwners } from './load';
import { printPlan } from './print';
import type { PlanOptions } from '../options';

export type { PlanOptions };

/**
 * `plan`: the full plan of a project's sources (every object, every migration), printed or frozen into a
 * package. Needs no database: the runner skips what a target's ledger already has when the package is deployed.
 */
export async function plan(ctx: OperationContext, options: PlanOptions): Promise<ExitCodeValue> {
  const { workspace } = ctx;
  const { environment, target, engine, models } = await loadTarget(ctx, options.project, options.env);
  // With diff selectors, the plan is the diff: a gap package that brings one side to the other.
  const fromDiff = options.diff || options.againstEnv || options.base;
  const result = fromDiff
    ? (await diffPlan(ctx, { ...options, project: target.name })).plan
    : await planExplained(
        { engine, models, planned: [target.name], schemaOwners: schemaOwners(ctx, environment), sourceCommit: gitCommit(workspace.root) },
        modelLoader(ctx, environment, engine),
      );
  if (options.format && !['text', 'json'].includes(options.format)) {
    if (!engine.exportPlan || !engine.exportFormats?.includes(options.format)) {
      throw new DbeeError(`--format ${options.format}: the ${engine.name} engine exports text, json${engine.exportFormats?.length ? ', ' + engine.exportFormats.join(', ') : ''}`, {
        code: 'OPTIONS_INVALID',
      });
    }
    if (!options.out) throw new DbeeError(`--format ${options.format} writes files: give --out <folder>`, { code: 'OPTIONS_INVALID' });
    const dir = workspace.inside(options.out, '--out');
    mkdirSync(dir, { recursive: true });
    const files = engine.exportPlan(result, options.format, { variables: workspace.settings(target, environment).variables });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    ctx.reporter.info(`${options.format} scripts written to ${dir}: ${Object.keys(files).join(', ')}`);
    return ExitCode.ok;
  }
  if (options.out) {
    const dir = workspace.inside(options.out, '--out');
    const model = models.find((m) => m.project.name === target.name)!;
    const manifest = writePackage(dir, result, { toolVersion: ctx.toolVersion, sources: model.files });
    ctx.reporter.info(`package written to ${dir}: ${manifest.steps.length} steps, ${Object.keys(manifest.files).length} files, ${manifest.planChecksum}`);
    return ExitCode.ok;
  }
  if (options.format === 'json') ctx.stdout.write(serializePlan(result));
  else printPlan(ctx.stdout, result, models);
  return ExitCode.ok;
}
