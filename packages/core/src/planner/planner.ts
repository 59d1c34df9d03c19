import { DbeeAggregateError, DbeeError } from '../errors';
import type { Engine } from '../engine/engine';
import { formatKey, migrationKey, type ObjectKey } from '../model/object-key';
import { batchedHeader, parseBatchedUpdate } from './batched-update';
import { type BatchedMigration, PLAN_FORMAT_VERSION, type Plan, type PlanStep } from '../plan/plan';
import { checksumStatements } from '../sources/checksum';
import { buildGraph, type ObjectGraph } from './graph';
import { recordedFromBaseline, removedMigrationNeeded, removedMigrationStep, startsFromBaseline } from './baseline';
import type { ProjectModel } from './project-model';
import type { SourceObject } from './objects';
import type { DeferrableConstraint } from '../model/source';
import { namedByRename } from '../schema/renames';

/** What the target database's ledger says is deployed, per project. */
export interface DeployedState {
  /** Object key → checksum of its last deployed statements. */
  objects: ReadonlyMap<string, string>;
  /** Canonical migration version → checksum of the migration file. */
  migrations: ReadonlyMap<string, string>;
}

export const EMPTY_STATE: DeployedState = { objects: new Map(), migrations: new Map() };

export interface PlanInput {
  engine: Engine;
  /** Projects to plan, and their dependencies (for resolving references); any order. */
  models: readonly ProjectModel[];
  /** Names of the projects to plan. Their dependencies' objects are only used for resolution. */
  planned: readonly string[];
  /** Every schema owned anywhere in the workspace → owning project. */
  schemaOwners: ReadonlyMap<string, string>;
  /** Ledger state per planned project; missing means nothing deployed. */
  deployed?: ReadonlyMap<string, DeployedState>;
  sourceCommit?: string | null;
  /**
   * Projects whose objects are planned by a diff against the live database instead (their tables changed):
   * only their migrations are planned here.
   */
  diffProjects?: ReadonlySet<string>;
}

/** An object that changed since it was deployed and cannot be re-created in place (a table, sequence, type...). */
export interface ObjectNeedingDiff {
  /** Object key, e.g. `table:sales.orders`. */
  object: string;
  /** Why, with the file and line that defines it and what to do (`OBJECT_NEEDS_DIFF`): the refusal when no diff can plan it. */
  reason: DbeeError;
}

/** A plan from sources, and what it leaves to a diff against the live database. */
export interface SourcePlan {
  /**
   * The steps the sources plan. A project in `needsDiff` has only its migrations here: its objects are planned by a
   * diff of the live schema (or by the engine's `inPlace.planChange`), or refused (`refuseNeedsDiff`).
   */
  plan: Plan;
  /** Per project, in plan order, the objects that need a diff; empty when the plan covers every change. */
  needsDiff: ReadonlyMap<string, ObjectNeedingDiff[]>;
  /** The object graph the plan was made from (`objectStates` reads it again instead of building another). */
  graph?: ObjectGraph;
}

/**
 * `planSources`, and when a reference reaches into a project that is not a dependency, parse that project
 * (only then) and plan again, so the error can name the file that defines the referenced object.
 */
export async function planSourcesExplained(
  input: PlanInput,
  loadProject: (name: string) => Promise<ProjectModel>,
): Promise<SourcePlan> {
  try {
    return planSources(input);
  } catch (e) {
    const errors = e instanceof DbeeAggregateError ? e.errors : e instanceof DbeeError ? [e] : [];
    const owners = [
      ...new Set(errors.filter((x) => x.code === 'DEPENDENCY_UNDECLARED').map((x) => String(x.details.owner))),
    ];
    const known = new Set(input.models.map((m) => m.project.name));
    const missing = owners.filter((o) => !known.has(o));
    if (!missing.length) throw e;
    const extra = await Promise.all(missing.map(loadProject));
    // Planned with more models than given: its graph is not the one of `input` (no `graph` for `objectStates`).
    const { graph: _, ...explained } = planSources({ ...input, models: [...input.models, ...extra] });
    return explained;
  }
}

/** `planSourcesExplained` for callers that take no diff: what needs one is refused (`refuseNeedsDiff`). */
export async function planExplained(
  input: PlanInput,
  loadProject: (name: string) => Promise<ProjectModel>,
): Promise<Plan> {
  return refuseNeedsDiff(await planSourcesExplained(input, loadProject));
}

/** The plan, or the refusal of the objects that need a diff (one error, or all of them together). */
export function refuseNeedsDiff(planned: SourcePlan): Plan {
  const reasons = [...planned.needsDiff.values()].flat().map((x) => x.reason);
  if (reasons.length === 1) throw reasons[0]!;
  if (reasons.length > 1) throw new DbeeAggregateError(`${reasons.length} objects cannot be planned`, reasons);
  return planned.plan;
}

/**
 * Plan a deployment from sources (`planSources`); an object that needs a diff is refused with `OBJECT_NEEDS_DIFF`.
 */
export function planFromSources(input: PlanInput): Plan {
  return refuseNeedsDiff(planSources(input));
}

/**
 * Plan a deployment from sources: every object whose checksum differs from the ledger's, in dependency order,
 * then pending migrations. An object that changed but cannot be re-created in place is returned in `needsDiff`
 * (its project is then planned as a `diffProjects` one); any other problem throws, with every problem found (those
 * needing a diff included). Pure: no I/O; the same inputs always give a byte-identical plan.
 */
export function planSources(input: PlanInput, built?: ObjectGraph): SourcePlan {
  const { engine, models } = input;
  const planned = new Set(input.planned);
  const byName = new Map(models.map((m) => [m.project.name, m]));
  const projectOrder = orderProjects(models, planned);
  const graph = built ?? graphOf(input);
  const steps: PlanStep[] = [];
  const errors: DbeeError[] = [];
  const deferredSteps: PlanStep[] = [];
  for (const project of projectOrder) {
    const model = byName.get(project)!;
    const state = input.deployed?.get(project) ?? { objects: new Map(), migrations: new Map() };
    if (!input.diffProjects?.has(project)) steps.push(...schemaSteps(engine, model, state));
    for (const object of graph.order.filter((o) => o.project === project && !input.diffProjects?.has(project))) {
      const deferred = graph.deferredForeignKeys.get(object.id);
      const built = objectStep(engine, object, model.variables, state, deferred);
      if (built instanceof DbeeError) errors.push(built);
      else if (built) {
        steps.push(built.step);
        deferredSteps.push(...built.constraints);
      }
    }
    if (!input.diffProjects?.has(project)) errors.push(...pendingRenames(model, state, graph));
    // Foreign keys split out of their tables come after every table of the project.
    steps.push(...deferredSteps.splice(0));
    // A target whose ledger has nothing of the project starts from its baseline (planner/baseline.ts); a plan against
    // no target (a package's) keeps the folded migrations whole, for the targets that have deployed the project.
    const fresh = input.deployed !== undefined && startsFromBaseline(state);
    const folded = new Set(model.baseline?.migrations.map((b) => b.version));
    steps.push(...removedMigrations(model, state, input.deployed === undefined || fresh, errors));
    for (const m of model.migrations) {
      const version = m.file.versionParts.join('.');
      const checksum = checksumStatements([m.file.text], model.variables);
      const applied = state.migrations.get(version);
      if (applied !== undefined) {
        if (applied !== checksum) {
          errors.push(
            new DbeeError(`migration ${m.file.version} was changed after it was applied`, {
              code: 'MIGRATION_CHANGED',
              location: { file: m.file.path, line: 1 },
              hint: 'migrations run once: restore the applied text and add a new migration for the change',
            }),
          );
        }
        continue;
      }
      const key = migrationKey(project, version);
      let batched: BatchedMigration | null = null;
      try {
        batched = batchedHeader(m.file.text, m.file.path);
        if (batched && !engine.backfill) {
          throw new DbeeError(`migration ${m.file.version} is batched, which the ${engine.name} engine cannot run`, {
            code: 'MIGRATION_BATCHED_UNSUPPORTED',
            location: { file: m.file.path, line: 1 },
            hint: 'remove the -- dbee:batched line and write the batches in the migration yourself',
          });
        }
        for (const s of batched ? m.statements : []) parseBatchedUpdate(s.template, s.location);
      } catch (e) {
        if (!(e instanceof DbeeError)) throw e;
        errors.push(e);
        continue;
      }
      const step: PlanStep = {
        order: 0,
        project,
        key: formatKey(key),
        objectKey: key,
        action: 'migrate',
        statements: m.statements.map((s) => s.template),
        reverse: m.rollback.map((s) => s.template),
        // A batched migration commits batch by batch: it is never part of a transaction.
        transactional: !batched && m.statements.every((s) => s.transactional),
        hazards: [],
        source: { file: m.file.path, line: 1 },
        checksum,
        ...(batched ? { batched } : {}),
        ...(folded.has(version) ? { baseline: { file: model.baseline!.path } } : {}),
      };
      steps.push(fresh ? recordedFromBaseline(step) : step);
    }
  }
  if (errors.length && errors.every((e) => e.code === 'OBJECT_NEEDS_DIFF')) {
    const needsDiff = new Map<string, ObjectNeedingDiff[]>();
    for (const e of errors) {
      const project = String(e.details.project);
      needsDiff.set(project, [...(needsDiff.get(project) ?? []), { object: String(e.details.object), reason: e }]);
    }
    const diffProjects = new Set([...(input.diffProjects ?? []), ...needsDiff.keys()]);
    return { plan: planSources({ ...input, diffProjects }, graph).plan, needsDiff, graph };
  }
  if (errors.length === 1) throw errors[0]!;
  if (errors.length > 1) throw new DbeeAggregateError(`${errors.length} objects cannot be planned`, errors);
  steps.forEach((s, i) => (s.order = i + 1));
  const plan: Plan = {
    formatVersion: PLAN_FORMAT_VERSION,
    engine: engine.name,
    projects: projectOrder,
    searchPaths: Object.fromEntries(projectOrder.map((p) => [p, byName.get(p)!.graph.searchPathTemplate])),
    sourceCommit: input.sourceCommit ?? null,
    baseFingerprint: null,
    steps,
  };
  return { plan, needsDiff: new Map(), graph };
}

/**
 * The steps of the folded migrations whose files were deleted and that the target has not applied: records, where the
 * target starts from the baseline (or for a package, which decides per target); refusals on a target that has deployed
 * the project (pushed to `errors`).
 */
function removedMigrations(
  model: ProjectModel,
  state: DeployedState,
  recordable: boolean,
  errors: DbeeError[],
): PlanStep[] {
  const baseline = model.baseline;
  if (!baseline) return [];
  const files = new Set(model.migrations.map((m) => m.file.versionParts.join('.')));
  const project = model.project.name;
  const root = model.project.relativeRoot ? `${model.project.relativeRoot}/` : '';
  const steps: PlanStep[] = [];
  for (const m of baseline.migrations) {
    if (files.has(m.version) || state.migrations.has(m.version)) continue;
    const step = removedMigrationStep(project, root, baseline.path, m);
    if (recordable) steps.push(recordedFromBaseline(step));
    else errors.push(removedMigrationNeeded(step, 'this environment'));
  }
  return steps;
}

/**
 * The object graph `planSources` plans `input` from. It depends on the models and the planned projects only: planning
 * again with `diffProjects` reuses it.
 */
function graphOf(input: PlanInput): ObjectGraph {
  const projects = new Map(input.models.map((m) => [m.project.name, m.graph]));
  return buildGraph(
    input.models.flatMap((m) => m.objects),
    projects,
    new Set(input.planned),
    input.schemaOwners,
  );
}

/**
 * Object key → checksum of every step but migrations that a first deployment of `model`'s project plans from the
 * graph of a `planSources` that planned it (its schemas, its objects in order, then the foreign keys split out of
 * their tables): the same as `planFromSources` of the project with nothing deployed, without building the graph again.
 */
export function objectStates(engine: Engine, model: ProjectModel, graph: ObjectGraph): Record<string, string> {
  const project = model.project.name;
  const steps = schemaSteps(engine, model, EMPTY_STATE);
  const constraints: PlanStep[] = [];
  for (const object of graph.order) {
    if (object.project !== project) continue;
    const built = objectStep(engine, object, model.variables, EMPTY_STATE, graph.deferredForeignKeys.get(object.id));
    if (built instanceof DbeeError) throw built;
    if (built) steps.push(built.step), constraints.push(...built.constraints);
  }
  return Object.fromEntries([...steps, ...constraints].map((s) => [s.key, s.checksum]));
}

/**
 * The checksum of an object's statements as `objectStep` plans them, computed once per object for the same statements
 * and variables: a project planned by a diff hashes every object to find what changed, then again for the ledger
 * states it records (`objectStates`), a thousand objects of normalised text each time. The statements are compared
 * one by one (the same strings of the object's, not a copy: a comparison of references).
 */
const checksums = new WeakMap<
  SourceObject,
  { statements: readonly string[]; variables: Readonly<Record<string, string>>; checksum: string }
>();

function objectChecksum(
  object: SourceObject,
  statements: readonly string[],
  variables: Readonly<Record<string, string>>,
): string {
  const known = checksums.get(object);
  if (
    known &&
    known.variables === variables &&
    known.statements.length === statements.length &&
    known.statements.every((s, i) => s === statements[i])
  )
    return known.checksum;
  const checksum = checksumStatements(statements, variables);
  checksums.set(object, { statements, variables, checksum });
  return checksum;
}

function objectStep(
  engine: Engine,
  object: SourceObject,
  variables: Record<string, string>,
  state: DeployedState,
  deferredTargets: Set<string> | undefined,
): { step: PlanStep; constraints: PlanStep[] } | DbeeError | null {
  let statements = object.statements.map((s) => s.template);
  const constraints: PlanStep[] = [];
  if (deferredTargets?.size) {
    const chosen = object.deferrable.filter((d) =>
      [...deferredTargets].some((t) => t.endsWith(`:${d.target.schema ?? object.key.schema}.${d.target.name}`)),
    );
    // A foreign key written as its own ALTER TABLE statement moves as it is; one inside CREATE TABLE is cut out of it.
    const standalone = chosen.filter((d) => d.standalone);
    const split = chosen.filter((d) => !d.standalone);
    // What validates a moved constraint (`ADD ... NOT VALID`, then `VALIDATE CONSTRAINT`) moves with it: left in the
    // table's step, it ran before the constraint existed.
    const validations = new Map<string, string[]>();
    if (standalone.length) {
      const moved = new Set(standalone.map((d) => d.addStatement));
      const names = new Set(chosen.map((d) => constraintName(d.addStatement)));
      statements = statements.filter((_, i) => {
        const sql = object.statements[i]!.sql;
        const validated = validatedConstraint(sql);
        if (validated !== null && names.has(validated)) {
          validations.set(validated, [...(validations.get(validated) ?? []), object.statements[i]!.template]);
          return false;
        }
        return !moved.has(sql);
      });
    }
    if (split.length > 1 && !engine.parser.removeConstraints) {
      return new DbeeError(
        `${object.id} has ${split.length} foreign keys in a cycle; this engine can only split one per table`,
        {
          code: 'DEPENDENCY_CYCLE',
          location: object.location,
        },
      );
    }
    if (split.length) {
      const without =
        split.length === 1
          ? split[0]!.statementWithout
          : engine.parser.removeConstraints!(object.statements[0]!.sql, split);
      statements = [without, ...statements.slice(1)];
    }
    for (const d of chosen) {
      const key = deferredConstraintKey(object.key, d);
      const added = [d.addStatement, ...(validations.get(key.name) ?? [])];
      constraints.push({
        order: 0,
        project: object.project,
        key: formatKey(key),
        objectKey: key,
        action: 'add-constraint',
        statements: added,
        reverse: null,
        transactional: true,
        hazards: [],
        source: { file: object.location.file, line: object.location.line },
        checksum: checksumStatements(added, variables),
      });
    }
  }
  // A schema the sources only grant on or comment on is still created by its project (see `schemaSteps`).
  const ensured =
    object.key.kind === 'schema' && !object.statements.some((s) => s.action === 'create')
      ? engine.catalog?.ensureSchema(object.key.name)
      : null;
  if (ensured) statements = [...ensured.statements, ...statements];
  const checksum = objectChecksum(object, statements, variables);
  const deployed = state.objects.get(object.id);
  if (deployed === checksum) return null;
  const creates = object.statements[0]?.action;
  let action: PlanStep['action'];
  if (deployed === undefined) action = 'create';
  else if (object.statements.every((s) => s.action !== 'create')) action = 'replace';
  else {
    // Tables, sequences, types... cannot be re-created in place: that needs a diff against the live schema.
    return new DbeeError(`${object.id} changed since it was deployed, and it cannot be replaced in place`, {
      code: 'OBJECT_NEEDS_DIFF',
      location: object.location,
      hint: 'run `dbee diff` to see the ALTER statements, deploy with the diff-based plan, or write a versioned migration',
      details: { object: object.id, project: object.project },
    });
  }
  const drop = action === 'create' && creates !== undefined ? (engine.catalog?.renderDrop(object.key) ?? null) : null;
  return {
    step: {
      order: 0,
      project: object.project,
      key: object.id,
      objectKey: object.key,
      action,
      statements,
      // An object every database has (PostgreSQL's `public`) was there before: undoing the step drops nothing.
      reverse: engine.catalog?.inEveryDatabase?.(object.key) ? [] : drop ? [drop] : null,
      transactional: object.statements.every((s) => s.transactional),
      hazards: [],
      source: { file: object.location.file, line: object.location.line },
      checksum,
    },
    constraints,
  };
}

/**
 * Steps that create the project's owned schemas that no source file creates (`schemas:` in db.yaml), so that a
 * project needs no hand-written CREATE SCHEMA. `IF NOT EXISTS`: a schema made by a DBA beforehand is kept. Recorded
 * in the ledger like any object (`schema:<name>`), so it is planned once.
 */
function schemaSteps(engine: Engine, model: ProjectModel, state: DeployedState): PlanStep[] {
  const catalog = engine.catalog;
  if (!catalog) return [];
  const defined = new Set(
    model.objects
      .filter((o) => o.key.kind === 'schema' || o.key.kind === 'database')
      .map((o) => o.key.name.toLowerCase()),
  );
  const steps: PlanStep[] = [];
  model.graph.schemas.forEach((schema, i) => {
    if (defined.has(schema.toLowerCase())) return;
    const key: ObjectKey = { kind: 'schema', schema: '', name: schema };
    const ensured = catalog.ensureSchema(schema);
    // The engine does not make schemas (Teradata): owned ones must exist beforehand.
    if (!ensured) return;
    const { statements, reverse } = ensured;
    const checksum = checksumStatements(statements, model.variables);
    const id = formatKey(key);
    if (state.objects.get(id) === checksum) return;
    steps.push({
      order: 0,
      project: model.project.name,
      key: id,
      objectKey: key,
      action: 'create',
      statements,
      reverse,
      transactional: true,
      hazards: [],
      source: { file: model.graph.configFile, line: model.project.file?.locate?.(['schemas', i]).line ?? 1 },
      checksum,
    });
  });
  return steps;
}

/**
 * The key under which a foreign key split out of its table to break a cycle is planned and recorded
 * (`constraint:schema.name@schema.table`): part of the table's sources, never an object removed from them.
 */
export function deferredConstraintKey(table: ObjectKey, d: DeferrableConstraint): ObjectKey {
  return {
    kind: 'constraint',
    schema: table.schema,
    name: constraintName(d.addStatement),
    parent: `${table.schema}.${table.name}`,
  };
}

/** The constraint an `ALTER TABLE ... VALIDATE CONSTRAINT name` statement validates; null for any other statement. */
function validatedConstraint(sql: string): string | null {
  const m = /^\s*ALTER\s+TABLE\b[^;]*?\bVALIDATE\s+CONSTRAINT\s+("(?:[^"]|"")+"|[^\s;]+)\s*;?\s*$/i.exec(sql);
  return m ? m[1]!.replace(/^"|"$/g, '').replace(/""/g, '"') : null;
}

function constraintName(addStatement: string): string {
  return /ADD\s+CONSTRAINT\s+("(?:[^"]|"")+"|\S+)/i.exec(addStatement)?.[1]?.replace(/^"|"$/g, '') ?? 'fkey';
}

/** Planned projects in dependency order, ties by name. */
export function orderProjects(models: readonly ProjectModel[], planned: ReadonlySet<string>): string[] {
  const out: string[] = [];
  const done = new Set<string>();
  const byName = new Map(models.map((m) => [m.project.name, m]));
  const visit = (name: string) => {
    if (done.has(name)) return;
    done.add(name);
    for (const d of [...(byName.get(name)?.graph.dependsOn ?? [])].sort()) visit(d);
    if (planned.has(name)) out.push(name);
  };
  for (const name of [...planned].sort()) visit(name);
  return out;
}

/**
 * A table, view or routine rename declared in db.yaml (`renames:`) that the target has yet to run: the ledger holds the old name and not
 * the new one, which the sources define. Planned by a diff, which applies the declaration (`ALTER TABLE ... RENAME`,
 * the rows kept); planned from the objects, the new name would be a new, empty table beside the old one. A column
 * rename changes its table's file, which the diff plans already.
 */
function pendingRenames(model: ProjectModel, state: DeployedState, graph: ObjectGraph): DbeeError[] {
  const errors: DbeeError[] = [];
  const deployed = [...state.objects.keys()];
  for (const r of model.project.config.renames ?? []) {
    if (r.kind === 'column') continue;
    const named = (name: string) => (id: string) => namedByRename(r, id, name);
    const from = deployed.find(named(r.from));
    if (!from || deployed.some(named(r.to))) continue;
    const object = graph.order.find((o) => named(r.to)(o.id) && o.project === model.project.name);
    if (!object) continue;
    const to = object.id;
    errors.push(
      new DbeeError(
        `${to} is ${from} renamed (renames: in ${model.project.relativeRoot}/db.yaml), which the target has yet to run`,
        {
          code: 'OBJECT_NEEDS_DIFF',
          location: object.location,
          hint: `deploy with the diff-based plan, which renames the ${r.kind} (a table keeps its rows)`,
          details: { object: to, project: object.project },
        },
      ),
    );
  }
  return errors;
}

/**
 * The projects named by a planning error made only of `OBJECT_NEEDS_DIFF` errors (a changed table, sequence or
 * type: only a diff against the live database can plan them); null for any other error.
 */
export function projectsNeedingDiff(error: unknown): Set<string> | null {
  const errors = error instanceof DbeeAggregateError ? error.errors : error instanceof DbeeError ? [error] : null;
  if (!errors || errors.some((x) => x.code !== 'OBJECT_NEEDS_DIFF')) return null;
  return new Set(errors.map((x) => String(x.details.project)));
}
