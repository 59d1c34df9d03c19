import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { requireRole } from '../engine/engine';
import { DbeeError, ExitCode, type ExitCodeValue } from '../errors';
import type { DetagOptions } from '../options';
import { engineFor, type OperationContext } from '../context/operation-context';
import { sourceNames } from './extract';

export type { DetagOptions };

/** The `.sql` files under `dir`, sorted, skipping dot folders and node_modules. */
function sqlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.') || e.name === 'node_modules') continue;
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...sqlFiles(path));
    else if (e.name.toLowerCase().endsWith('.sql')) out.push(path);
  }
  return out.sort();
}

/**
 * `detag`: a project's source files with the environment's schema names written back as their placeholders, in place
 * (the engine's `extract.restoreNames`, what `extract` writes files with). Reads no database.
 */
export async function detag(ctx: OperationContext, options: DetagOptions): Promise<ExitCodeValue> {
  const { workspace, reporter } = ctx;
  const environment = workspace.environment(options.env, ctx.env);
  const project = workspace.project(options.project);
  const engine = engineFor(ctx, environment, [project]);
  const restore = requireRole(engine, 'extract', 'detag source files').restoreNames;
  if (!restore)
    throw new DbeeError(`${environment.engine} cannot detag source files`, {
      code: 'ENGINE_CAPABILITY',
      hint: 'write the placeholders by hand, or extract the objects again (`dbee extract` writes them)',
    });
  const names = sourceNames(ctx, environment);
  if (!Object.keys(names).length) {
    reporter.info(`${project.name}: no schema of ${environment.name} is written with placeholders; nothing to detag`);
    return ExitCode.ok;
  }
  let changed = 0;
  for (const file of sqlFiles(project.root)) {
    const text = readFileSync(file, 'utf8');
    const out = restore(text, names);
    if (out === text) continue;
    changed++;
    reporter.info(`${options.dryRun ? 'would detag' : 'detag'} ${relative(workspace.root, file)}`);
    if (!options.dryRun) writeFileSync(file, out);
  }
  reporter.info(
    `${project.name}: ${changed} file${changed === 1 ? '' : 's'} ${options.dryRun ? 'would change' : 'changed'} (${Object.entries(
      names,
    )
      .map(([live, source]) => `${live} → ${source}`)
      .join(', ')})`,
  );
  return ExitCode.ok;
}
