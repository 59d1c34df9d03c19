import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ExitCode, type ExitCodeValue } from '../errors';
import { desiredModelFor } from '../diffing/desired';
import { canonicalJson } from '../plan/serialize';
import type { OperationContext } from '../context/operation-context';
import { loadTarget } from '../context/load';
import type { BuildOptions } from '../options';

export type { BuildOptions };

/**
 * `build`: the desired schema model of a project, from its sources alone (a shadow database, no target).
 * A pure function of the sources, so Nx caches it; `diff` reuses the same model through dbee's own cache.
 */
export async function build(ctx: OperationContext, options: BuildOptions): Promise<ExitCodeValue> {
  const { workspace } = ctx;
  const { environment, target, engine, models } = await loadTarget(ctx, options.project, options.env);
  const started = Date.now();
  const d = await desiredModelFor(ctx, { engine, environment, models, target: target.name });
  const objects = Object.values(d.model).reduce<number>((n, v) => n + (Array.isArray(v) ? v.length : 0), 0);
  if (options.outputPath) {
    const dir = resolve(workspace.root, options.outputPath);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'model.json'), canonicalJson({ key: d.key, model: d.model }));
  }
  // In a batch, the dependencies' objects are usually in the shared shadow already: say how many projects were applied.
  const applied = d.applied && d.applied.of > 1 ? `, ${d.applied.projects} of ${d.applied.of} projects applied` : '';
  ctx.reporter.info(
    `${target.name}: desired model ${d.key.slice(0, 12)} (${objects} objects) ${d.cached ? 'from cache' : `built in ${Date.now() - started} ms${applied}`}`,
  );
  return ExitCode.ok;
}
