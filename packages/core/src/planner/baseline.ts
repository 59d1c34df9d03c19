import { DbeeError } from '../errors';
import { formatKey, migrationKey } from '../model/object-key';
import type { PlanStep } from '../plan/plan';
import type { BaselineMigration } from '../sources/baseline';

/**
 * Whether a target starts from the project's baseline: its ledger has nothing of the project (no object, no
 * migration). Such a database is new; one that has deployed the project keeps its history and is not affected.
 */
export function startsFromBaseline(
  state: { objects: ReadonlyMap<string, unknown>; migrations: ReadonlyMap<string, unknown> } | undefined,
): boolean {
  return !state || (state.objects.size === 0 && state.migrations.size === 0);
}

/**
 * A folded migration's step as a new environment takes it: recorded in the ledger as applied (with its checksum), its
 * statements not run, since the sources already describe the schema it led to. Undoing it runs nothing either.
 */
export function recordedFromBaseline(step: PlanStep): PlanStep {
  if (!step.baseline || step.baseline.recorded) return step;
  const { batched: _, ...rest } = step;
  return {
    ...rest,
    statements: [],
    reverse: [],
    transactional: true,
    hazards: [],
    baseline: { ...step.baseline, recorded: true },
    notes: [
      ...(step.notes ?? []),
      `in the baseline (${step.baseline.file}): recorded as applied, not run (a new environment starts from the sources)`,
    ],
  };
}

/** The step of a folded migration whose file was deleted: nothing to run, only the record a new environment keeps. */
export function removedMigrationStep(
  project: string,
  projectPath: string,
  baselineFile: string,
  m: BaselineMigration,
): PlanStep {
  const key = migrationKey(project, m.version);
  return {
    order: 0,
    project,
    key: formatKey(key),
    objectKey: key,
    action: 'migrate',
    statements: [],
    reverse: [],
    transactional: true,
    hazards: [],
    source: { file: projectPath + m.file, line: 1 },
    checksum: m.checksum,
    baseline: { file: baselineFile, removed: true },
  };
}

/**
 * The refusal of a folded migration whose file was deleted, on a target that has deployed the project without running
 * it: that database still needs it, and only the file can say what it does.
 */
export function removedMigrationNeeded(step: PlanStep, target: string): DbeeError {
  const baselineFile = step.baseline?.file ?? 'migrations/baseline.yaml';
  const version = step.key.slice(step.key.lastIndexOf('/V') + 2);
  return new DbeeError(
    `migration V${version} of ${step.project} is in the baseline but was never applied on ${target}, and its file ${step.source?.file ?? ''} is gone`,
    {
      code: 'MIGRATION_BASELINE_REMOVED',
      location: { file: baselineFile, line: 1 },
      hint: `restore the file from git (it is listed in ${baselineFile}) and deploy ${target}: only new environments skip the migrations of a baseline, and a folded migration's file may be deleted once every existing environment has run it`,
      details: { project: step.project, migration: version },
    },
  );
}
