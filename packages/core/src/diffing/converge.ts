import type { ResolvedEnvironment } from '../config/resolve';
import { hasExportedModels, loadModels } from '../context/load';
import type { OperationContext } from '../context/operation-context';
import type { Convergence, Divergence } from '../check/verify-result';
import type { Connection, Engine } from '../engine/engine';
import { DbeeError, ExitCode } from '../errors';
import { formatKey, type ObjectKey } from '../model/object-key';
import type { PlanStep } from '../plan/plan';
import { modelChanges } from '../planner/plan-changes';
import type { ProjectModel } from '../planner/project-model';
import { changeObjectKey, type Change } from '../schema/change';
import { projectScope, type SchemaScope } from '../schema/managed-scope';
import type { SchemaModel } from '../schema/model';
import { sha256 } from '../sources/checksum';
import { type DesiredModel, desiredModelFor, desiredModelKeyFor } from './desired';
import { NAMED, nameOf, narrowModel } from './narrow';

export type { Convergence, Divergence } from '../check/verify-result';

/** What `convergence` compares: a database once a plan's steps ran there, and the sources of the plan's projects. */
export interface ConvergeInput {
  engine: Engine;
  environment: ResolvedEnvironment;
  /** The planned projects' models and their dependencies' (as the plan was made from). */
  models: readonly ProjectModel[];
  /** The database the steps ran on: the scratch copy of a dry run, or the target of a real run. Only read. */
  conn: Connection;
  /**
   * A second session on the same database that only reads (the lock's own, `RunOptions.side`), once it is free of
   * what it reads before (the fingerprint the deployment records): the read of the touched objects is shared between
   * the two sessions. Absent: read on `conn` alone.
   */
  side?: Promise<Connection | undefined>;
  /** The steps that ran: what they touched is what is compared. */
  steps: readonly TouchedStep[];
  /** What the state must equal, when it is not the sources (a clone: the source environment). Absent: the sources. */
  against?: ConvergeAgainst;
  /**
   * With `against`: the whole of `against.scope` is read and compared, not the names the steps touched (a rollback
   * test: every object must be as before the release, and a migration's steps name none). Absent: narrowed.
   */
  whole?: boolean;
}

/** What the check reads of a step: its project, its object, and whether it creates it only when the name is free. */
export type TouchedStep = Pick<PlanStep, 'project' | 'key' | 'objectKey' | 'action' | 'statements'>;

/**
 * Another state than the sources that a run must reach: a clone's source environment, read live. Its model is cut to
 * the same names as the state reached, and both go through `sides` (the rule of what is compared) before the
 * comparison `diff` makes.
 */
export interface ConvergeAgainst {
  /** How the run names it: `staging`, `the state before the release`. */
  label: string;
  /** The scope the state reached is read in (a clone reads both sides whole: `environmentScope`). */
  scope: SchemaScope;
  /** The model of `project` the state must equal (read once: it is narrowed to the names the steps touched). */
  model(project: string): Promise<SchemaModel>;
  /** The two models as they are compared (a clone: `compareEnvironments`). Default: as they are. */
  sides?(reached: SchemaModel, wanted: SchemaModel): { reached: SchemaModel; wanted: SchemaModel };
  /** Whether owners are compared. */
  owners: boolean;
}

/**
 * Verified means converged (ARCHITECTURE invariant 14): the state a plan reached, compared with the state its sources
 * describe by the comparison `diff` makes (`modelChanges`), narrowed to what the plan touched. Per project, the
 * relations, routines and types its steps name (a table with its columns, constraints, indexes, triggers and
 * policies) are read from `conn` by name (`SchemaScope.names`: no whole-schema read) and compared with the same names
 * of the sources' model; each object that still differs is a `Divergence`, with the changes a diff would still plan.
 * The sources' model is the one planning left in the cache, or is built here (a project planned from its files alone).
 * One function for every caller: the dry run on its copy (runner/verify.ts), the real run on the target
 * (runner.ts, `RunOptions.converge`, through `convergedOnTarget`).
 */
export async function convergence(ctx: OperationContext, input: ConvergeInput): Promise<Convergence> {
  const { engine, steps } = input;
  if (input.whole && input.against) return wholeConvergence(input, input.against);
  const out: Convergence = { compared: [], divergences: [], notCompared: [] };
  const projects = [...new Set(steps.map((s) => s.project))];
  for (const project of projects) {
    const projectSteps = steps.filter((s) => s.project === project);
    // An object written `CREATE … IF NOT EXISTS` accepts whatever exists under its name: not compared, and said so.
    const accepting = projectSteps.filter(acceptsExisting);
    for (const s of accepting)
      out.notCompared.push({
        project,
        reason: `${s.key} is written CREATE … IF NOT EXISTS: what exists is kept as it is`,
      });
    const names = touchedNames(projectSteps.filter((s) => !accepting.includes(s)));
    if (!names.size) continue;
    if (!engine.diff) {
      out.notCompared.push({
        project,
        reason: `the ${engine.name} engine reads no model of a database to compare with ${input.against?.label ?? 'the sources'}`,
      });
      continue;
    }
    const sides = await (input.against
      ? againstOther(input, input.against, project, names)
      : againstSources(ctx, input, project, names));
    if ('reason' in sides) {
      out.notCompared.push({ project, reason: sides.reason });
      continue;
    }
    out.compared.push(...[...names].sort());
    out.divergences.push(...compare(ctx, engine, sides, names));
  }
  return out;
}

/**
 * The divergences of `sides` on `names` (`modelChanges`). A state reached that equals, to the last property, one that
 * an earlier target of the same fleet deployment found converged with the same wanted model (`Sides.key`) has
 * converged too: the comparison is a function of the two models and the owners' rule alone, so it is not made again.
 * Equal means the same JSON: any difference the read sees, whether or not the recorded fingerprint covers it (column
 * settings, partitioning, a sequence's owner), makes it another state, compared in full. Only converged states are
 * kept, each as a digest.
 */
function compare(
  ctx: OperationContext,
  engine: Engine,
  sides: ComparedSides,
  names: ReadonlySet<string>,
): Divergence[] {
  // Only in a fleet deployment: elsewhere no other target asks, and the state's digest would be work for nothing.
  const converged =
    ctx.plans && sides.key !== undefined
      ? {
          states: fleetShared(ctx, 'convergence: converged states', () => new Set<string>()),
          state: sha256(`${sides.key}\0${sides.owners}\0${JSON.stringify(sides.reached)}`),
        }
      : null;
  if (converged?.states.has(converged.state)) return [];
  const divergences = divergencesOf(modelChanges(engine, sides.reached, sides.wanted, { owners: sides.owners }), names);
  if (converged && !divergences.length) converged.states.add(converged.state);
  return divergences;
}

/**
 * The state reached and the one wanted, cut to `names`, and whether owners are compared; with `key`, what identifies
 * the wanted model (the sources' model's key and the names: `compare` may answer from an earlier equal state).
 */
interface ComparedSides {
  reached: SchemaModel;
  wanted: SchemaModel;
  owners: boolean;
  key?: string;
}

/** The two sides compared, or why not compared. */
type Sides = ComparedSides | { reason: string };

/** The state reached on `names` and the sources' model of `project` (the cached one, or built now). */
async function againstSources(
  ctx: OperationContext,
  input: ConvergeInput,
  project: string,
  names: ReadonlySet<string>,
): Promise<Sides> {
  const { engine, conn } = input;
  const sources = await sourcesOf(ctx, input, project);
  if (!sources) return { reason: 'its sources are not loaded in this run' };
  const { model, args } = sources;
  const ready = prebuilt.get(input.models)?.get(project);
  // Every object of the sources touched (a first deployment): the schemas read whole, cut to the names below as a
  // narrowed read is. The server filters each catalog row by name otherwise, which costs it more than the rows it
  // leaves out (all 1,005 objects of `npm run bench`'s project: 1.28x the whole read's server CPU).
  const scope = projectScope(model.graph);
  const whole = ready !== undefined && namesEvery(ready.model, names);
  const [desired, reached] = await Promise.all([
    ready ?? sharedDesiredModel(ctx, args),
    engine.diff!.introspect(conn, whole ? scope : { ...scope, names: [...names] }, input.side),
  ]);
  // The wanted side, cut once per sources' model and names: every target of a fleet compares the same one.
  const key = `${desired.key}\0${[...names].sort().join('\0')}`;
  const cut = fleetShared(ctx, 'convergence: wanted models', () => new Map<string, SchemaModel>());
  let wanted = cut.get(key);
  if (!wanted) cut.set(key, (wanted = narrowModel(desired.model, names)));
  return { reached: narrowModel(reached, names), wanted, owners: model.graph.manage?.owners ?? false, key };
}

/**
 * Whether `names` holds the name of every object of `model` that a narrowed read narrows (`nameOf`), a sequence owned by
 * a table named counted as named (the narrowed read takes it with its table).
 */
function namesEvery(model: SchemaModel, names: ReadonlySet<string>): boolean {
  const named = (key: ObjectKey) => {
    const name = nameOf(key);
    return !name || names.has(name);
  };
  return (
    [model.tables, model.views, model.routines, model.types, model.triggers, model.indexes].every((list) =>
      list.every((o) => named(o.key)),
    ) && model.sequences.every((q) => named(q.key) || (q.ownedBy !== null && named(q.ownedBy.table)))
  );
}

/**
 * A value the targets of one fleet deployment share (`FleetPlans.memo`, dropped when the fleet ends); computed afresh
 * by every check elsewhere (an Nx batch's tasks check different projects: nothing would be read twice, only kept).
 */
function fleetShared<T>(ctx: OperationContext, key: string, compute: () => T): T {
  return ctx.plans ? ctx.plans.memo(`${key}\0${ctx.workspace.root}`, compute) : compute();
}

/**
 * `desiredModelFor`, read (or built) once for every target of a fleet deployment that checks the same sources
 * (`fleetShared`, by `desiredModelKey`), not once per target; the model is only read (narrowed) by the
 * check. A read or build that fails is forgotten: the next target tries again, and reports its own error.
 */
function sharedDesiredModel(ctx: OperationContext, args: Parameters<typeof desiredModelFor>[1]): Promise<DesiredModel> {
  const shared = fleetShared(ctx, 'convergence: sources models', () => new Map<string, Promise<DesiredModel>>());
  const key = desiredModelKeyFor(ctx, args);
  let model = shared.get(key);
  if (!model) {
    shared.set(key, (model = desiredModelFor(ctx, args)));
    model.catch(() => shared.delete(key));
  }
  return model;
}

/** `project`'s model and what its desired model is built from: it with its dependencies; null when not loaded. */
async function sourcesOf(ctx: OperationContext, input: Omit<ConvergeInput, 'conn'>, project: string) {
  const { engine } = input;
  const model = input.models.find((m) => m.project.name === project);
  if (!model) return null;
  // The sources build with the projects they depend on, in the workspace's order (dependencies first). One the run
  // did not load, or planned from its exports alone (nothing of it to deploy), is parsed whole here.
  const needed = ctx.workspace.withDependencies(project);
  const whole = new Map(input.models.filter((m) => !hasExportedModels([m])).map((m) => [m.project.name, m]));
  const toLoad = needed.filter((p) => !whole.has(p.name));
  for (const m of toLoad.length ? await loadModels(ctx, toLoad, input.environment, engine) : [])
    whole.set(m.project.name, m);
  const own = needed.map((p) => whole.get(p.name)!);
  return { model, args: { engine, environment: input.environment, models: [...own], target: project } };
}

/**
 * The sources' models `convergence` will compare with, built now and kept for it (issue 90). A dry run calls it
 * before it opens its copy: the embedded shadow they are built in is then the one the copy reuses (embedded-shadow.ts
 * keeps one per process), where building them beside the open copy started a second PGlite. Only a warm-up: what
 * fails to build here is built again, and fails, where `convergence` builds it.
 */
export async function buildConvergenceSources(
  ctx: OperationContext,
  input: Omit<ConvergeInput, 'conn'>,
): Promise<void> {
  if (input.against || !input.engine.diff) return;
  for (const project of new Set(input.steps.map((s) => s.project))) {
    const steps = input.steps.filter((s) => s.project === project && !acceptsExisting(s));
    if (!touchedNames(steps).size) continue;
    const sources = await sourcesOf(ctx, input, project).catch(() => null);
    const desired = sources && (await sharedDesiredModel(ctx, sources.args).catch(() => null));
    if (!desired) continue;
    const built = prebuilt.get(input.models) ?? new Map<string, DesiredModel>();
    prebuilt.set(input.models, built.set(project, desired));
  }
}

/** What `buildConvergenceSources` built, by the run's models (the same array `convergence` is given) and project. */
const prebuilt = new WeakMap<readonly ProjectModel[], Map<string, DesiredModel>>();

/** The state reached on `names` and another state (`ConvergeAgainst`), through its rule of what is compared. */
async function againstOther(
  input: ConvergeInput,
  against: ConvergeAgainst,
  project: string,
  names: ReadonlySet<string>,
): Promise<Sides> {
  const [wanted, reached] = await Promise.all([
    against.model(project),
    input.engine.diff!.introspect(input.conn, { ...against.scope, names: [...names] }),
  ]);
  const cut = { reached: narrowModel(reached, names), wanted: narrowModel(wanted, names) };
  return { ...(against.sides?.(cut.reached, cut.wanted) ?? cut), owners: against.owners };
}

/**
 * `convergence` over the whole of `against.scope` (`ConvergeInput.whole`): the state reached read whole, compared
 * with `against`'s model (of the first project the steps name: the same state for every project) by the same
 * comparison, every object that differs a `Divergence`.
 */
async function wholeConvergence(input: ConvergeInput, against: ConvergeAgainst): Promise<Convergence> {
  const { engine } = input;
  const project = input.steps[0]?.project;
  if (!engine.diff || project === undefined)
    return {
      compared: [],
      divergences: [],
      notCompared: project === undefined ? [] : [{ project, reason: `the ${engine.name} engine reads no model` }],
    };
  const [wanted, reached] = await Promise.all([
    against.model(project),
    engine.diff.introspect(input.conn, against.scope),
  ]);
  const sides = against.sides?.(reached, wanted) ?? { reached, wanted };
  const changes = modelChanges(engine, sides.reached, sides.wanted, { owners: against.owners });
  const byObject = new Map<string, string[]>();
  for (const c of changes) {
    const object = formatKey(changeObjectKey(c));
    byObject.set(object, [...(byObject.get(object) ?? []), describe(c)]);
  }
  return {
    compared: [...against.scope.schemas],
    divergences: [...byObject].map(([object, what]) => ({ object, what })),
    notCompared: [],
  };
}

/** A step that creates its object only when the name is free (`CREATE TABLE IF NOT EXISTS …`). */
function acceptsExisting(step: TouchedStep): boolean {
  return step.statements.some((sql) => /^\s*CREATE\s+(?:UNLOGGED\s+)?\w+(?:\s+\w+)?\s+IF\s+NOT\s+EXISTS\b/i.test(sql));
}

/**
 * The names (`schema.name`) a convergence check reads for `steps`: each step's object, by the name a narrowed read
 * finds it (an index, trigger, constraint or policy by its table's); a migration, or an object no read finds by name
 * (a schema, an extension, an aggregate, a role), names none.
 */
export function touchedNames(steps: readonly TouchedStep[]): Set<string> {
  const out = new Set<string>();
  for (const s of steps) {
    if (s.action === 'migrate' || !s.objectKey || !NAMED.has(s.objectKey.kind)) continue;
    const name = nameOf(s.objectKey);
    if (name) out.add(name);
  }
  return out;
}

/** The changes on the compared names, by object, each said as the change a diff would still plan. */
function divergencesOf(changes: readonly Change[], names: ReadonlySet<string>): Divergence[] {
  const byObject = new Map<string, string[]>();
  for (const c of changes) {
    const key = changeObjectKey(c);
    const name = nameOf(key);
    if (!name || !names.has(name)) continue;
    const object = formatKey(key);
    byObject.set(object, [...(byObject.get(object) ?? []), describe(c)]);
  }
  return [...byObject].map(([object, what]) => ({ object, what }));
}

/** A change in a few words: its kind and the part of the object it is about (a column, a constraint, an index). */
function describe(c: Change): string {
  const part =
    'constraint' in c && c.constraint && typeof c.constraint === 'object'
      ? c.constraint.name
      : 'column' in c && c.column
        ? typeof c.column === 'string'
          ? c.column
          : c.column.name
        : '';
  return part ? `${c.kind} ${part}` : c.kind;
}

/**
 * The refusal of a state that does not converge: on the copy (`copy`: a dry run, exit 1, nothing applied) or on the
 * target (`target`: a real run, exit 2, recorded as failed and not converged), naming each object and what differs.
 */
export function notConverged(
  project: string | null,
  divergences: readonly Divergence[],
  where: 'copy' | 'target',
  against = 'the sources',
): DbeeError {
  const list = divergences.map((d) => `\n  ${d.object}: ${d.what.join(', ')}`).join('');
  const who = project ? `${project}: ` : '';
  if (where === 'copy')
    return new DbeeError(
      `${who}the plan applies on a copy of the target's schemas, but the copy then differs from ${against} (${divergences.length} object${divergences.length === 1 ? '' : 's'}; what a diff would still do):${list}`,
      {
        code: 'DRY_RUN_NOT_CONVERGED',
        hint: 'the real run would leave the target different from its sources: this is a planning gap of dbee (please report it with the objects above); write the missing change as a versioned migration meanwhile',
        exitCode: ExitCode.invalid,
        details: { objects: divergences.map((d) => d.object) },
      },
    );
  return new DbeeError(
    `${who}every step applied, but the objects the deployment touched differ from ${against} (${divergences.length} object${divergences.length === 1 ? '' : 's'}; what a diff would still do):${list}`,
    {
      code: 'NOT_CONVERGED',
      hint: '`dbee diff` shows the difference; deploy again to plan it, or write it as a versioned migration',
      exitCode: ExitCode.applyFailed,
      details: { objects: divergences.map((d) => d.object) },
    },
  );
}

/**
 * What a real run does with a `Convergence` (`RunOptions.converge`'s answer): a difference fails the deployment
 * (`NOT_CONVERGED`, exit 2, the objects recorded in the ledger's summary); otherwise the line it says.
 */
export function convergedOnTarget(
  project: string,
  c: Convergence,
  against = 'the sources',
): { error: DbeeError | null; objects: string[]; said: string | null } {
  if (c.divergences.length)
    return {
      error: notConverged(project, c.divergences, 'target', against),
      objects: c.divergences.map((d) => d.object),
      said: null,
    };
  const why = c.notCompared.map((n) => n.reason).join('; ');
  return {
    error: null,
    objects: [],
    said: c.compared.length
      ? `${project}: converged: ${c.compared.length === 1 ? 'the object the deployment touched equals' : `the ${c.compared.length} objects the deployment touched equal`} ${against}`
      : why
        ? `${project}: not compared with ${against} after deploying (${why})`
        : null,
  };
}
