import { requireRole, type Engine } from '../engine/engine';
import { PLAN_FORMAT_VERSION, type Plan, type PlanStep } from '../plan/plan';
import type { RenderMode } from '../plan/render-mode';
import type { Change, RenameDeclaration } from '../schema/change';
import { diffModels } from '../schema/diff';
import type { SchemaModel } from '../schema/model';
import { checksumStatements } from '../sources/checksum';

/** How `planChanges` plans: the project the steps belong to, and what the diff and its rendering take into account. */
export interface PlanChangesSettings {
  /** The project the steps are recorded under. */
  project: string;
  /** Indexes built CONCURRENTLY outside transactions (`deploy.online`). */
  online?: boolean;
  /** The safe rewrites (`deploy.safeRewrites`, `--safe`; see `RenderMode`). */
  safe?: RenderMode['safe'];
  /** A dropped column's values kept in a backup (`deploy.keepDroppedColumns`; see `RenderMode`). */
  keepDroppedColumns?: RenderMode['keepDroppedColumns'];
  /** The fingerprint of the live side the plan was made from (checked again before a package deploys). */
  baseFingerprint?: string | null;
  /** Renames declared in db.yaml (`renames:`), so a rename is not a drop and a create. */
  renames?: RenameDeclaration[];
  /** Compare owners too (`manage: { owners: true }`). */
  owners?: boolean;
  /** Changes left out of the plan: those a release in flight makes at complete (`releaseMakes`). */
  skip?: (change: Change) => boolean;
}

/** Typed changes from `from` to `to` rendered into a plan (no source files: these steps come from comparing two models). */
export function planChanges(engine: Engine, from: SchemaModel, to: SchemaModel, settings: PlanChangesSettings): Plan {
  const {
    project,
    online = false,
    safe,
    keepDroppedColumns,
    baseFingerprint = null,
    renames = [],
    owners = false,
    skip,
  } = settings;
  const diff = requireRole(engine, 'diff', 'compute a diff');
  to = forServer(to, from.serverVersion, diff.facts.privilegesSince);
  const changes = modelChanges(engine, from, to, { renames, owners, ...(skip ? { skip } : {}) });
  const rendered = diff.renderChanges(changes, {
    from,
    to,
    online,
    ...(safe ? { safe } : {}),
    ...(keepDroppedColumns ? { keepDroppedColumns } : {}),
  });
  const steps: PlanStep[] = rendered.map((r, i) => ({
    ...r,
    order: i + 1,
    project,
    source: null,
    checksum: checksumStatements(r.statements),
  }));
  return {
    formatVersion: PLAN_FORMAT_VERSION,
    engine: engine.name,
    projects: [project],
    sourceCommit: null,
    baseFingerprint,
    steps,
  };
}

/**
 * The typed changes from `from` to `to`, as `planChanges` plans them (and `diff` shows them): the one comparison of two
 * models, which the convergence check (diffing/converge.ts) makes too. `to` as `forServer` leaves it for `from`.
 */
export function modelChanges(
  engine: Engine,
  from: SchemaModel,
  to: SchemaModel,
  settings: Pick<PlanChangesSettings, 'renames' | 'owners' | 'skip'> = {},
): Change[] {
  const diff = requireRole(engine, 'diff', 'compute a diff');
  const all = diffModels(from, forServer(to, from.serverVersion, diff.facts.privilegesSince), {
    renames: settings.renames ?? [],
    owners: settings.owners ?? false,
    sameDefinition: diff.sameDefinition,
    facts: diff.facts,
  });
  return settings.skip ? all.filter((c) => !settings.skip!(c)) : all;
}

/**
 * `model` without the privileges a server of `version` does not know (`EngineFacts.privilegesSince`): the desired
 * side may be built on a newer server (an embedded shadow) than the target it is planned for.
 */
export function forServer(
  model: SchemaModel,
  version: number | undefined,
  since: Readonly<Record<string, number>> | undefined,
): SchemaModel {
  if (version === undefined || !since) return model;
  const unknown = new Set(Object.keys(since).filter((p) => since[p]! > version));
  if (!unknown.size) return model;
  const known = (list: string[]) => list.filter((p) => !unknown.has(p));
  const defaults: SchemaModel['defaultPrivileges'] = {};
  for (const [kind, grants] of Object.entries(model.defaultPrivileges))
    defaults[kind as keyof typeof defaults] = grants!.map((g) => ({ ...g, privileges: known(g.privileges) }));
  return {
    ...model,
    privileges: model.privileges
      .map((p) => ({ ...p, privileges: known(p.privileges), grantable: known(p.grantable) }))
      .filter((p) => p.privileges.length > 0),
    defaultPrivileges: defaults,
  };
}
