import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DbeeError, ExitCode, type ExitCodeValue } from '../errors';
import type { BaselineOptions } from '../options';
import type { OperationContext } from '../context/operation-context';
import { loadTarget } from '../context/load';
import { gitCommit } from '../context/origin';
import type { ProjectModel } from '../planner/project-model';
import { type BaselineMigration, baselineText } from '../sources/baseline';
import { checksumStatements } from '../sources/checksum';
import { BASELINE_FILE, canonicalVersion, compareVersions } from '../sources/discover';

/**
 * `baseline`: write `migrations/baseline.yaml`, the migrations up to `--through` (default the newest) that a new
 * environment records without running them (`planner/baseline.ts`). A baseline only moves forward; the entries of
 * folded migrations whose files were deleted since are kept. Reads no database.
 */
export async function baseline(ctx: OperationContext, options: BaselineOptions): Promise<ExitCodeValue> {
  const { model, target } = await loadTarget(ctx, options.project, options.env);
  const path = (target.relativeRoot ? `${target.relativeRoot}/` : '') + BASELINE_FILE;
  const folded = foldedMigrations(model, options.through, path);
  const previous = model.baseline ?? null;
  const last = folded[folded.length - 1]!;
  if (previous && previous.migrations.length === folded.length) {
    ctx.reporter.info(
      `${target.name}: the baseline (${path}) already folds every migration through V${last.version}: nothing to do`,
    );
    return ExitCode.ok;
  }
  const text = baselineText(target.name, {
    recorded: new Date().toISOString(),
    commit: await gitCommit(ctx.workspace.root),
    migrations: folded,
  });
  if (options.dryRun) {
    ctx.stdout.write(text);
    return ExitCode.ok;
  }
  const file = join(target.root, BASELINE_FILE);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  const newly = folded.length - (previous?.migrations.length ?? 0);
  ctx.reporter.info(
    `${target.name}: baseline through V${last.version} written to ${path} (${folded.length} migration${folded.length === 1 ? '' : 's'}${previous ? `, ${newly} more than before` : ''})`,
  );
  ctx.reporter.info(
    `  a new environment records ${folded.length === 1 ? 'it' : 'them'} without running ${folded.length === 1 ? 'it' : 'them'}; environments that have deployed ${target.name} are not affected. Review and commit the file.`,
  );
  return ExitCode.ok;
}

/**
 * The migrations the new baseline folds: the old baseline's (their files may be gone), then every migration file up to
 * `through`. Refused: no migration at all, a `through` that names no migration file, one older than the baseline.
 */
function foldedMigrations(model: ProjectModel, through: string | undefined, path: string): BaselineMigration[] {
  const project = model.project.name;
  const files = model.migrations.map((m) => m.file);
  const previous = model.baseline ?? null;
  if (!files.length && !previous) {
    throw new DbeeError(`${project} has no migrations: a new environment already builds from the sources alone`, {
      code: 'BASELINE_NOTHING',
      hint: 'a baseline folds migrations (migrations/V<version>__<description>.sql); there is nothing to record',
    });
  }
  const wanted = through ? canonicalVersion(through.replace(/^[Vv]/, '')) : null;
  if (wanted !== null && !/^\d+(\.\d+)*$/.test(wanted)) {
    throw new DbeeError(`--through ${through}: expected a migration version such as V12 or 1.2`, {
      code: 'OPTIONS_INVALID',
    });
  }
  const end = wanted ?? files[files.length - 1]?.versionParts.join('.') ?? previous!.through.version;
  const endParts = end.split('.').map(Number);
  const known =
    files.some((f) => f.versionParts.join('.') === end) || previous?.migrations.some((m) => m.version === end);
  if (!known) {
    throw new DbeeError(`--through ${through}: ${project} has no migration V${end}`, {
      code: 'OPTIONS_INVALID',
      hint: `name one of its migrations: ${files.map((f) => `V${f.version}`).join(', ') || 'none left'}`,
    });
  }
  if (previous && compareVersions(endParts, previous.through.versionParts) < 0) {
    throw new DbeeError(
      `--through ${through}: the baseline (${path}) already folds the migrations through V${previous.through.version}; it only moves forward`,
      {
        code: 'BASELINE_BACKWARDS',
        location: { file: path, line: 1 },
        hint: 'new environments may have been built from it already: to fold fewer migrations, edit the file by hand and review what those environments recorded',
      },
    );
  }
  const root = model.project.relativeRoot ? `${model.project.relativeRoot}/` : '';
  const out = new Map((previous?.migrations ?? []).map((m) => [m.version, m]));
  for (const f of files) {
    const version = f.versionParts.join('.');
    if (compareVersions(f.versionParts, endParts) > 0) break;
    out.set(version, {
      version,
      versionParts: f.versionParts,
      file: f.path.slice(root.length),
      checksum: checksumStatements([f.text], model.variables),
    });
  }
  return [...out.values()].sort((a, b) => compareVersions(a.versionParts, b.versionParts));
}
