import { isAbsolute, relative, resolve } from 'node:path';
import { RelationIndex } from '../check/dbt-check';
import { dbtDrift, type DbtDriftFinding } from '../check/dbt-drift';
import { readDbtManifest } from '../check/dbt-manifest';
import { dbtJson, dbtVerdict, formatDbtMarkdown, formatDbtText, type DbtPolicy } from '../check/dbt-report';
import { prepareDbtRun, type DbtResult, type DbtRun } from '../check/dbt-run';
import type { DbtCheckSettings } from '../config/schema';
import type { Connection, Engine } from '../engine/engine';
import { DbeeError } from '../errors';
import type { Plan } from '../plan/plan';
import type { ProjectModel } from '../planner/project-model';
import type { VerifyResult } from '../runner/verify';
import type { OperationContext } from '../context/operation-context';

/** The dbt check a dry run carries along: its probe for the copy, then its result, judged by the policy. */
export interface DbtCheck {
  run: DbtRun;
  policy: DbtPolicy;
  settings: DbtCheckSettings;
  result?: DbtResult;
}

/**
 * The dbt check's settings for a project: `check.dbt` of its db.yaml over dbee.yaml's, each `manifest` resolved from
 * the folder of the file that names it; `--dbt` (workspace-relative, or absolute) wins over both.
 */
export function dbtSettings(
  ctx: OperationContext,
  target: string,
  manifest: string | undefined,
): (DbtCheckSettings & { manifestPath?: string; shownAs?: string }) | null {
  const { workspace } = ctx;
  const project = workspace.project(target);
  const fromWorkspace = workspace.config.check?.dbt;
  const fromProject = project.config.check?.dbt;
  const settings: DbtCheckSettings = {
    ...fromWorkspace,
    ...fromProject,
    drift: { ...fromWorkspace?.drift, ...fromProject?.drift },
  };
  const path = manifest
    ? workspace.commandLinePath(manifest)
    : fromProject?.manifest
      ? resolve(project.root, fromProject.manifest)
      : fromWorkspace?.manifest
        ? resolve(workspace.root, fromWorkspace.manifest)
        : undefined;
  if (!path) return null;
  const shownAs = isAbsolute(path) ? relative(workspace.root, path) || path : path;
  return { ...settings, manifestPath: path, shownAs: shownAs.startsWith('..') ? path : shownAs };
}

/**
 * Prepares the dbt check of a release, when `--dbt` or `check.dbt.manifest` names a manifest: reads it (a bad or
 * unsupported manifest refuses, exit 1) and returns the check whose probe reads the scratch copy. Null otherwise.
 */
export function prepareDbt(
  ctx: OperationContext,
  input: {
    engine: Engine;
    environment: string;
    models: ProjectModel[];
    target: string;
    manifest?: string;
    plan: Plan;
    /** The expand-contract strategy's new version schemas (see `DbtProjects.newVersionSchemas`). */
    newVersionSchemas?: string[];
  },
): DbtCheck | null {
  const settings = dbtSettings(ctx, input.target, input.manifest);
  if (!settings?.manifestPath) return null;
  const manifest = readDbtManifest(settings.manifestPath, settings.shownAs);
  const { relations, objectFiles } = projectRelations(input.models);
  const target = input.models.find((m) => m.project.name === input.target);
  const run = prepareDbtRun(
    input.engine,
    manifest,
    {
      relations,
      schemas: [...new Set(input.models.flatMap((m) => m.graph.schemas))],
      searchPath: target?.graph.searchPath ?? [],
      objectFiles,
      environment: input.environment,
      newVersionSchemas: input.newVersionSchemas,
    },
    input.plan,
    settings.drift,
  );
  return { run, policy: { unknown: settings.unknown ?? 'warn' }, settings };
}

/**
 * `deploy --dbt` is a dry run's check on its scratch copy: without `--dry-run`, or with `--no-verify`, it would check
 * nothing, so it is refused rather than ignored.
 */
export function refuseDbtUnverified(options: { dbt?: string; dryRun?: boolean; verify?: boolean }): void {
  if (options.dbt && (!options.dryRun || options.verify === false))
    throw new DbeeError(
      '--dbt checks the dbt models on the verified dry run: it needs --dry-run, and not --no-verify',
      {
        code: 'OPTIONS_INVALID',
        hint: 'run dbee deploy --dry-run --dbt <manifest.json>, or dbee check --dbt <manifest.json>',
      },
    );
}

/** The projects' tables and views (`schema.name`) and where each is defined (`file:line`). */
function projectRelations(models: ProjectModel[]): { relations: Set<string>; objectFiles: Map<string, string> } {
  const relations = new Set<string>();
  const objectFiles = new Map<string, string>();
  for (const m of models)
    for (const o of m.objects) {
      if (!['table', 'view', 'materialized-view'].includes(o.key.kind)) continue;
      const key = `${o.key.schema}.${o.key.name}`;
      relations.add(key);
      objectFiles.set(key, `${o.location.file}:${o.location.line}`);
    }
  return { relations, objectFiles };
}

/**
 * The drift rules of `dbee status` (when `check.dbt.manifest` names a manifest): the sources' declared columns against
 * the environment's live schema, read on `conn`. Null when no manifest is named; without the engine's catalog reads
 * (no diff role), only the relations are compared.
 */
export async function dbtLiveDrift(
  ctx: OperationContext,
  input: { engine: Engine; conn: Connection; models: ProjectModel[]; target: string; environment: string },
): Promise<DbtDriftFinding[] | null> {
  const settings = dbtSettings(ctx, input.target, undefined);
  if (!settings?.manifestPath) return null;
  const manifest = readDbtManifest(settings.manifestPath, settings.shownAs);
  const schemas = [...new Set(input.models.flatMap((m) => m.graph.schemas))];
  const { relations, objectFiles } = projectRelations(input.models);
  const live = input.engine.diff ? await input.engine.diff.introspect(input.conn, { schemas }) : null;
  for (const r of live ? [...live.tables, ...live.views] : []) relations.add(`${r.key.schema}.${r.key.name}`);
  const target = input.models.find((m) => m.project.name === input.target);
  return dbtDrift({
    manifest,
    index: new RelationIndex(relations, target?.graph.searchPath ?? []),
    schemas,
    objectFiles,
    sides: live ? [{ label: `environment ${input.environment}`, model: live }] : [],
    facts: input.engine.diff?.facts ?? null,
    settings: settings.drift,
  });
}

/** Once the copy was read (or could not be): the dbt check's result. */
export function finishDbt(check: DbtCheck, plan: Plan, verified: VerifyResult | null): DbtResult {
  check.result = check.run.result(plan, verified);
  return check.result;
}

/** The result printed (or handed to `onDbt`), then judged: a refusal joins `problems`, a warning is said. */
export function judgeDbt(
  ctx: OperationContext,
  check: DbtCheck,
  onDbt: ((result: DbtResult) => void) | undefined,
  problems: DbeeError[],
): void {
  const result = check.result;
  if (!result) return;
  if (onDbt) onDbt(result);
  else ctx.stdout.write(formatDbtText(result.report, result.drift));
  const { refusal, warnings } = dbtVerdict(result.report, result.drift, check.policy);
  for (const w of warnings) ctx.reporter.warn(w);
  if (refusal) problems.push(refusal);
}

/** The result in the format asked (`dbee check --format`). */
export function formatDbt(result: DbtResult, format: 'text' | 'json' | 'markdown'): string {
  if (format === 'json') return JSON.stringify(dbtJson(result.report, result.drift), null, 2) + '\n';
  if (format === 'markdown') return formatDbtMarkdown(result.report, result.drift);
  return formatDbtText(result.report, result.drift);
}
