import type { ResolvedEnvironment } from '../../../config/resolve';
import { requireRole, type Engine, type ExpandRole } from '../../../engine/engine';
import { DbeeError } from '../../../errors';
import { ExpandDeclarations } from '../../../expand/declarations';
import { planExpand, releaseSlug, type ExpandPlan } from '../../../expand/expand-plan';
import type { Ledger } from '../../../ledger/ledger';
import type { DeployOptions } from '../../../options';
import type { ProjectModel } from '../../../planner/project-model';
import { readPackage, type LoadedPackage } from '../../../package/package';
import { packageSmokeModels, packageVariableProblems } from '../../../package/package-deploy';
import type { PackagedExpand } from '../../../package/release';
import { migrationVersionOf } from '../../../model/object-key';
import { projectScope } from '../../../schema/managed-scope';
import { diffModels } from '../../../schema/diff';
import { loadSmokeChecks } from '../../../smoke';
import type { SmokeCheck } from '../../../smoke';
import { desiredModelFor } from '../../../diffing/desired';
import type { OperationContext } from '../../../context/operation-context';
import { refuse } from '../../../pipeline/gates';
import type { PipelineInputs } from '../../../pipeline/pipeline';
import { deployedStates, loadTarget, parseCacheOf, schemaOwners } from '../../../context/load';
import { planFromSources, planSources } from '../../../planner/planner';
import type { SchemaScope } from '../../../schema/managed-scope';
import type { Phases } from './settings';

/** What `deploy --strategy expand-contract` reads before it connects. */
export interface ExpandInputs extends PipelineInputs {
  pkg: LoadedPackage | null;
  packaged: PackagedExpand | undefined;
  loaded: Awaited<ReturnType<typeof loadTarget>>;
  /** The target's model (with a package's smoke checks when deploying one). */
  model: ProjectModel;
  expand: ExpandRole;
  diff: NonNullable<Engine['diff']>;
  /** The target and its dependencies' models (the desired model is built from them). */
  own: ProjectModel[];
  declarations: ExpandDeclarations;
  smoke: SmokeCheck[];
  renames: NonNullable<PackagedExpand['renames']>;
  allowed: Set<string>;
  /** `deploy` settings of the target in the environment. */
  settings: ReturnType<OperationContext['workspace']['settings']>['deploy'];
}

/** The package, target, roles, settings and declarations of an expand-contract deployment, read before connecting. */
export async function expandInputs(ctx: OperationContext, options: DeployOptions): Promise<ExpandInputs> {
  const pkg = options.package ? readPackage(ctx.workspace.commandLinePath(options.package)) : null;
  const packaged = pkg?.release?.expand;
  if (pkg && packaged?.project !== options.project)
    throw new DbeeError(
      `package ${pkg.path} has no expand-contract part for ${options.project}${packaged ? ` (it has ${packaged.project}'s)` : ''}`,
      {
        code: 'PACKAGE_MISMATCH',
        hint: `write it with dbee plan ${options.project} --out <folder> --strategy expand-contract (or deploy.strategy: expand-contract in the project's db.yaml)`,
      },
    );
  const loaded = await loadTarget(ctx, options.project, options.env);
  const { environment, target, engine, models } = loaded;
  if (pkg) {
    // A package's release was made with one environment's values: refused (exit 1) where they differ.
    const problems = packageVariableProblems(
      pkg,
      environment,
      new Map(models.map((m) => [m.project.name, m.variables])),
    );
    if (problems.length) refuse(problems, options.dryRun ?? false);
  }
  const model = pkg ? packageSmokeModels(pkg, [loaded.model])[0]! : loaded.model;
  const expand = requireRole(
    engine,
    'expand',
    'deploy with the expand-contract strategy',
    'deploy with the direct strategy',
  );
  const diff = requireRole(engine, 'diff', 'deploy with the expand-contract strategy');
  const settings = ctx.workspace.settings(target, environment).deploy;
  return {
    environment,
    planned: [target.name],
    session: { engine, environment, deploy: settings },
    pkg,
    packaged,
    loaded,
    model,
    expand,
    diff,
    own: models.filter((m) => ctx.workspace.withDependencies(target.name).some((p) => p.name === m.project.name)),
    declarations: packaged
      ? ExpandDeclarations.of(packaged.declarations)
      : ExpandDeclarations.read(ctx.workspace.root, model.objects),
    smoke: engine.smoke ? await loadSmokeChecks(model, engine, parseCacheOf(ctx, engine)) : [],
    renames: packaged ? packaged.renames : (target.config.renames ?? []),
    allowed: new Set([...(settings.allowHazards ?? []), ...(options.allowHazards ?? [])]),
    settings,
  };
}

/**
 * The next release's expand plan, from the live tables and the desired model (the sources', or the package's), with
 * its smoke checks, scope and object states; null when nothing changes. Refuses an `up`/`down` that does not compile.
 */
export async function planRelease(p: Phases, inputs: ExpandInputs, options: DeployOptions): Promise<ExpandPlan | null> {
  const { ctx, engine, environment, conn, expand } = p;
  const { pkg, packaged, model, own, declarations, diff } = inputs;
  const target = inputs.loaded.target;
  const desired = packaged
    ? { model: packaged.desired }
    : await desiredModelFor(ctx, { engine, environment, models: own, target: target.name });
  const live = await diff.introspect(conn, projectScope(model.graph));
  const changes = diffModels(live, desired.model, {
    renames: inputs.renames,
    sameDefinition: diff.sameDefinition,
    facts: diff.facts,
  });
  if (changes.length === 0) {
    ctx.stdout.write(`${target.name}: nothing to change on ${environment.name}\n`);
    return null;
  }
  const previous = (await p.ledger.lastDone(target.name))?.release ?? '0';
  const release = options.release ?? nextRelease(previous);
  if (releaseSlug(release) === releaseSlug(previous) || !/[a-z0-9]/i.test(release))
    throw new DbeeError(
      `release ${JSON.stringify(release)} cannot follow release ${previous}: it names the same version schema`,
      { code: 'EXPAND_RELEASE', hint: 'pass another --release' },
    );
  const plan = await planExpand({
    project: target.name,
    release,
    previous,
    schemas: model.graph.schemas,
    live,
    desired: desired.model,
    changes,
    declarations,
    projectFile: target.file.displayPath,
    castExists: (from, to) => expand.castExists(conn, from, to),
  });
  plan.smoke = JSON.parse(JSON.stringify(inputs.smoke)) as SmokeCheck[];
  plan.scope = JSON.parse(JSON.stringify(projectScope(model.graph))) as SchemaScope;
  const steps = pkg
    ? pkg.plan.steps.filter((s) => s.project === target.name)
    : planFromSources({
        engine,
        models: own,
        planned: [target.name],
        schemaOwners: schemaOwners(ctx, environment),
      }).steps;
  plan.objectStates = Object.fromEntries(steps.filter((s) => s.action !== 'migrate').map((s) => [s.key, s.checksum]));
  const bad = await expand.checkExpressions(conn, plan);
  if (bad) {
    const decl = declarations.table(...(bad.table.split('.') as [string, string]));
    throw new DbeeError(`${bad.table}.${bad.column}: the ${bad.which} expression does not compile: ${bad.error}`, {
      code: 'EXPAND_EXPRESSION',
      location: decl?.columns[bad.column]?.location ?? decl?.location,
      hint: `${bad.which === 'up' ? 'an up expression reads the old columns' : 'a down expression reads the new columns'} by name and gives a value of the column's type`,
    });
  }
  return plan;
}

/** The expand-contract part of a package (`dbee plan --out --strategy expand-contract`): the release's table model. */
export async function packagedExpand(
  ctx: OperationContext,
  args: { engine: Engine; environment: ResolvedEnvironment; models: ProjectModel[]; target: string },
): Promise<PackagedExpand> {
  requireRole(args.engine, 'expand', 'write an expand-contract package');
  const own = args.models.filter((m) =>
    ctx.workspace.withDependencies(args.target).some((p) => p.name === m.project.name),
  );
  const model = own.find((m) => m.project.name === args.target)!;
  const desired = await desiredModelFor(ctx, { ...args, models: own });
  return {
    project: args.target,
    desired: JSON.parse(JSON.stringify(desired.model)) as PackagedExpand['desired'],
    renames: model.project.config.renames ?? [],
    declarations: ExpandDeclarations.read(ctx.workspace.root, model.objects).toJSON(),
  };
}

export async function refusePendingMigrations(
  ledger: Pick<Ledger, 'objects'>,
  model: ProjectModel,
  pkg: LoadedPackage | null,
): Promise<void> {
  const applied = (await ledger.objects.deployedState(model.project.name)).migrations;
  const versions = pkg
    ? pkg.plan.steps
        .filter((s) => s.project === model.project.name && s.action === 'migrate')
        .map((s) => migrationVersionOf(s.key))
    : model.migrations.map((m) => m.file.versionParts.join('.'));
  const pending = versions.filter((v) => !applied.has(v));
  if (pending.length)
    throw new DbeeError(
      `${model.project.name} has migrations not yet applied (${pending.join(', ')}): the expand-contract strategy deploys table changes only`,
      {
        code: 'EXPAND_UNSUPPORTED',
        hint: 'deploy them with the direct strategy first (dbee deploy --strategy direct)',
      },
    );
}

/**
 * The refusal of a release whose target's dependencies have changes their environment has not deployed: the strategy
 * expands the target alone and never deploys a dependency, so `deploy sales --strategy expand-contract` after a change
 * of core only said "sales: nothing to change" and exited 0, core's change left out (issue 89, found by the verdict
 * matrix). A package carries its own release: its dependencies are the package's question.
 */
export async function refusePendingDependencies(
  ctx: OperationContext,
  ledger: Pick<Ledger, 'objects'>,
  engine: Engine,
  inputs: ExpandInputs,
): Promise<void> {
  const target = inputs.loaded.target.name;
  const dependencies = inputs.own.map((m) => m.project.name).filter((n) => n !== target);
  if (inputs.pkg || !dependencies.length) return;
  const deployed = await deployedStates(ctx, ledger, inputs.environment, dependencies);
  const planned = planSources({
    engine,
    models: inputs.own,
    planned: dependencies,
    deployed,
    schemaOwners: schemaOwners(ctx, inputs.environment),
  });
  const pending = new Map<string, string[]>();
  const add = (project: string, key: string) => pending.set(project, [...(pending.get(project) ?? []), key]);
  for (const s of planned.plan.steps) add(s.project, s.key);
  for (const [project, objects] of planned.needsDiff) for (const o of objects) add(project, o.object);
  if (!pending.size) return;
  const env = inputs.environment.name;
  const first = [...pending.keys()][0]!;
  throw new DbeeError(
    `${target} depends on ${[...pending].map(([p, keys]) => `${p} (${keys.join(', ')})`).join(', ')}, whose sources differ from what ${env} has deployed: the expand-contract strategy deploys ${target} alone, never its dependencies`,
    {
      code: 'EXPAND_UNSUPPORTED',
      hint: `deploy ${first} first (dbee deploy ${first} --env ${env}, with --strategy expand-contract for its table changes), then ${target}`,
    },
  );
}

/**
 * The refusal of version schemas whose views cannot be `security_invoker` (PostgreSQL before 15): they would read the
 * tables with their owner's rights, and the tables' row-level security would not apply to applications using them.
 */
export function rlsBypass(env: string): DbeeError {
  return new DbeeError(
    `this server cannot make views security_invoker (PostgreSQL 15 and later can): the version schemas' views would read the tables with their owner's rights, so row-level security policies would not apply to applications reading through them (hazard rls-bypass, which environment ${env} does not allow)`,
    {
      code: 'GATE_HAZARD_REFUSED',
      hint: 'upgrade the server to PostgreSQL 15 or later; or, when no application relies on row-level security of these tables, accept it with --allow-hazards rls-bypass (or deploy.allowHazards: [rls-bypass]); or deploy with --strategy direct',
      details: { hazards: ['rls-bypass'] },
    },
  );
}

/** `1` after `0`, `8` after `7`; otherwise the label must be given. */
export function nextRelease(previous: string): string {
  if (/^\d+$/.test(previous)) return String(Number(previous) + 1);
  throw new DbeeError(`the last release was ${previous}: dbee cannot number the next one`, {
    code: 'EXPAND_RELEASE',
    hint: 'pass --release <label>',
  });
}
