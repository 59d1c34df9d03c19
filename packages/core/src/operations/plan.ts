import { packagedExpand } from './strategies/expand-contract/plan-release';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DbeeAggregateError, DbeeError } from '../errors';
import { ExitCode, type ExitCodeValue } from '../errors';
import { writePackage } from '../package/package';
import { packagePlanFor, templateKeys } from '../package/package-keys';
import { releasePlan } from '../package/release-plan';
import { valuesHash, type ReleaseInfo } from '../package/release';
import { expandPlaceholders, placeholderNames } from '../sources/placeholders';
import type { ResolvedEnvironment } from '../config/resolve';
import type { HazardKind } from '../config/schema';
import type { RenameDeclaration } from '../schema/change';
import type { Plan } from '../plan/plan';
import type { ProjectModel } from '../planner/project-model';
import { planSourcesExplained, refuseNeedsDiff } from '../planner/planner';
import { diffPlan } from '../diffing/diff-plan';
import { STRATEGIES } from './strategies';
import { inFlightReader } from './strategies/in-flight';
import { serializePlan } from '../plan/serialize';
import { gitCommit } from '../context/origin';
import type { OperationContext } from '../context/operation-context';
import { loadTarget, modelLoader, schemaOwners, type LoadedTarget } from '../context/load';
import { printPlan } from './print';
import { schemasElsewhere, selectedPlan } from './selection';
import { checkSelection, readSelection } from '../planner/selection';
import { deploy } from './deploy';
import { ConflictRules } from './conflicts';
import { readPackage } from '../package/package';
import { gatesBeforeLock } from '../pipeline/pipeline';
import { checkStepPolicies, formatWindows, refuse } from '../pipeline/gates';
import type { StepConflict } from '../runner/step-conflict';
import type { PlanOptions } from '../options';
import { planDiagnostics, policyDiagnostics, sourceLocations } from '../report/diagnostic';
import { formatDiagnostics, isReviewFormat } from '../report/formats';
import { planPolicyProblems, type PlanPolicies } from './policy-judgment';

export type { PlanOptions };

/**
 * `plan`: the full plan of a project's sources (every object, every migration; with its dependencies unless
 * `--no-deps`), printed or frozen into a package. Needs no database: the runner skips what a target's ledger already
 * has when the package is deployed. With `--base`, an incremental release from one git ref to another (see
 * `releasePlan`); with `--diff`, `--against-env` or `--head` alone, a gap package bound to one database's state.
 */
export async function plan(ctx: OperationContext, options: PlanOptions): Promise<ExitCodeValue> {
  if (options.testRollback && !options.out)
    throw new DbeeError('--test-rollback records its proof in a package: give --out <folder>', {
      code: 'OPTIONS_INVALID',
      hint: 'dbee plan <project> --out <folder> --test-rollback --env <environment>; see docs/rollback-readiness.md',
    });
  const loaded = await loadTarget(ctx, options.project, options.env);
  if (options.format && !['text', 'json'].includes(options.format) && !isReviewFormat(options.format))
    return exportScripts(ctx, options, loaded);
  if (options.package || options.ticket || options.allowHazards?.length)
    throw new DbeeError(
      `--${options.package ? 'package' : options.ticket ? 'ticket' : 'allow-hazards'} is for a plan exported as scripts (--format bteq)`,
      {
        code: 'OPTIONS_INVALID',
        hint: 'deploy a package with dbee deploy --package <folder>; a deployment takes --ticket',
      },
    );
  const planned = await planOf(ctx, options, loaded);
  const policies = await judgePolicies(ctx, options, loaded, planned.plan);
  if (isReviewFormat(options.format) && !options.out) {
    const diagnostics = [
      ...planDiagnostics(planned.plan.steps, sourceLocations([...loaded.models, ...planned.packaged])),
      ...policyDiagnostics(policies?.findings ?? []),
    ];
    ctx.stdout.write(formatDiagnostics(options.format, diagnostics, { version: ctx.toolVersion, command: 'plan' }));
    refusePolicies(policies);
    return ExitCode.ok;
  }
  refusePolicies(policies);
  if (policies?.exceptions.size) planned.plan.policyExceptions = Object.fromEntries(policies.exceptions);
  const release = {
    ...(planned.release ?? (await sourcesRelease(ctx, loaded, planned))),
    toSources: planned.toSources,
  };
  if (options.out) return writePlanPackage(ctx, options, loaded, planned, release);
  if (options.format === 'json') ctx.stdout.write(serializePlan(planned.plan));
  else printPlan(ctx.stdout, planned.plan, loaded.models);
  return ExitCode.ok;
}

/**
 * The schema review policies written for the planned projects (docs/policies.md), over the plan's change; null for a
 * plan of other sources than the working tree's (`--head`, `--against-env`), judged when it is deployed.
 */
async function judgePolicies(
  ctx: OperationContext,
  options: PlanOptions,
  loaded: LoadedTarget,
  plan: Plan,
): Promise<PlanPolicies | null> {
  if (options.head || options.againstEnv) return null;
  return planPolicyProblems(ctx, { ...loaded, planned: plan.projects }, plan);
}

/** An `error` finding refuses the plan (exit 1, no package written), as it refuses `deploy`. */
function refusePolicies(policies: PlanPolicies | null): void {
  const problems = policies?.problems ?? [];
  if (problems.length === 1) throw problems[0]!;
  if (problems.length)
    throw new DbeeAggregateError(
      `${problems.length} projects break their schema policies`,
      problems,
      'POLICY_VIOLATION',
    );
}

/** A plan and the models whose sources go into its package; a release plan (`--base`) brings its release too. */
interface PlanMade {
  plan: Plan;
  release?: ReleaseInfo;
  packaged: ProjectModel[];
  /** The plan leads to the packaged models' sources (`ReleaseInfo.toSources`). */
  toSources: boolean;
}

/**
 * The plan asked for: a release from `--base` to `--head` (see `releasePlan`), the diff of the selectors (a gap package
 * that brings one side to the other), or the full plan of the sources, which refuses a changed table with how to plan
 * it (`dbee diff`).
 */
async function planOf(ctx: OperationContext, options: PlanOptions, loaded: LoadedTarget): Promise<PlanMade> {
  const { environment, target, engine, models, all } = loaded;
  const withDeps = options.withDependencies ?? true;
  const planned = withDeps ? all.map((p) => p.name) : [target.name];
  const selection = readSelection(options, (p) => ctx.workspace.commandLinePath(p));
  if (selection && (options.diff || options.againstEnv || options.base || options.head))
    throw new DbeeError(
      '--objects selects from the plan of the sources: not with --diff, --against-env, --base or --head',
      {
        code: 'OPTIONS_INVALID',
        hint: 'deploy a selection from the sources with `dbee deploy --objects`, or package it with `dbee plan --objects ... --out`',
      },
    );
  if (selection) checkSelection(selection, models, planned, schemasElsewhere(ctx, environment, planned));
  if (options.base && !options.againstEnv && !options.diff) {
    const r = await releasePlan(ctx, {
      project: target.name,
      env: options.env,
      base: options.base,
      head: options.head,
      withDependencies: withDeps,
      safe: options.safe,
    });
    return { plan: r.plan, release: r.release, packaged: r.models, toSources: true };
  }
  if (options.diff || options.againstEnv || options.base || options.head) {
    const plan = (await diffPlan(ctx, { ...options, project: target.name }, inFlightReader(STRATEGIES))).plan;
    // `--diff` alone leads to the working tree's sources; `--against-env` to another environment's state, `--head` to
    // the sources at a ref (the package holds the working tree's checksums).
    const toSources = Boolean(options.diff) && !options.againstEnv && !options.head && !options.base;
    return { plan, packaged: models.filter((m) => m.project.name === target.name), toSources };
  }
  if (options.safe) {
    throw new DbeeError(
      '--safe rewrites what is planned against a database or between two git refs, not the full plan of the sources',
      {
        code: 'OPTIONS_INVALID',
        hint: 'plan a release with --base <ref> --safe, or a gap package with --diff --safe; deploy --safe rewrites a plan from the sources against the target',
      },
    );
  }
  const whole = refuseNeedsDiff(
    await planSourcesExplained(
      {
        engine,
        models,
        planned,
        schemaOwners: schemaOwners(ctx, environment),
        sourceCommit: await gitCommit(ctx.workspace.root),
      },
      modelLoader(ctx, environment, engine),
    ),
  );
  // A plan of the sources against no database: what a selection needs is named (the target may have it), not refused.
  const plan = selection
    ? selectedPlan(
        ctx,
        { selection, models, planned, owners: schemaOwners(ctx, environment) },
        whole,
        new Map(),
        null,
        false,
      )
    : whole;
  return { plan, packaged: models.filter((m) => planned.includes(m.project.name)), toSources: true };
}

/** The release of a plan that is not an incremental one: from nothing to the sources (or the gap's head). */
async function sourcesRelease(ctx: OperationContext, loaded: LoadedTarget, made: PlanMade): Promise<ReleaseInfo> {
  const { plan: result, packaged } = made;
  return {
    target: loaded.target.name,
    base: null,
    head: { ref: null, commit: result.sourceCommit ?? (await gitCommit(ctx.workspace.root)) },
    variables: Object.fromEntries(
      packaged.map((m) => {
        const names = placeholderNames([...m.files, ...m.smoke].map((f) => f.text));
        // A gap package's SQL comes from models built with this environment's values, like an incremental one's.
        return [
          m.project.name,
          {
            names,
            ...(result.baseFingerprint
              ? { renderedWith: { environment: loaded.environment.name, valuesHash: valuesHash(names, m.variables) } }
              : {}),
          },
        ];
      }),
    ),
    preconditions: [],
    dependsOn: Object.fromEntries(packaged.map((m) => [m.project.name, [...m.graph.dependsOn]])),
    smoke: {},
  };
}

/**
 * `--format <engine format> --out <folder>`: the plan exported as the engine's scripts (BTEQ), shaped by the target
 * environment's transaction mode, ledger and conflict rules.
 */
async function exportScripts(
  ctx: OperationContext,
  options: PlanOptions,
  loaded: LoadedTarget,
): Promise<ExitCodeValue> {
  const { workspace } = ctx;
  const { engine, environment, target } = loaded;
  const format = options.format!;
  const exporter = engine.export;
  if (!exporter?.formats.includes(format)) {
    throw new DbeeError(
      `--format ${format}: the ${engine.name} engine exports text, json${exporter?.formats.length ? ', ' + exporter.formats.join(', ') : ''}`,
      {
        code: 'OPTIONS_INVALID',
      },
    );
  }
  if (!options.out)
    throw new DbeeError(`--format ${format} writes files: give --out <folder>`, { code: 'OPTIONS_INVALID' });
  const dir = workspace.commandLinePath(options.out);
  const pkg = options.package ? readPackage(workspace.commandLinePath(options.package)) : null;
  // The scripts are a deployment run later by another tool: the pipeline's gates apply now, to what they will send.
  const ticket = await gatesBeforeLock(ctx, environment, pkg, {
    command: `plan --format ${format}`,
    options: { ticket: options.ticket, dryRun: false },
  });
  // A package's keys as this environment names its objects (package/package-keys.ts).
  const result = pkg
    ? packagePlanFor(
        pkg,
        environment.name,
        new Map(pkg.plan.projects.map((p) => [p, workspace.settings(workspace.project(p), environment).variables])),
        engine.capabilities.keyNames,
      )
    : (await planOf(ctx, options, loaded)).plan;
  const rules = new ConflictRules(workspace, environment, undefined);
  const variables = workspace.settings(target, environment).variables;
  // What the scripts cannot plan when they run (a changed table's ALTERs) is planned against the target now.
  const planned = exporter.prepare
    ? await exporter.prepare(result, format, {
        variables,
        environment,
        renames: declaredRenames(ctx, result, environment),
      })
    : result;
  refuseExport(ctx, loaded, planned, rules, options.allowHazards);
  mkdirSync(dir, { recursive: true });
  const files = await exporter.exportPlan(planned, format, {
    variables,
    environment,
    conflictStrategy: (step) => rules.ruleFor(step).strategy,
    copyData: (step) => rules.ruleFor(step).copyData,
    recorded: { ticket, package: pkg?.path ?? null, planChecksum: pkg?.manifest.planChecksum ?? null },
  });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  ctx.reporter.info(`${format} scripts written to ${dir}: ${Object.keys(files).join(', ')}`);
  return ExitCode.ok;
}

/**
 * The plan gates of the exported scripts, judged now (the scripts cannot judge them when they run): the step policies
 * (`gates.requireBackup`, `deploy.allowHazards`), taking every step the target's conflict rule would let drop an
 * existing object as dropping it. Maintenance windows and protection are the operator's when the scripts run: said.
 */
function refuseExport(
  ctx: OperationContext,
  { environment, target }: LoadedTarget,
  plan: Plan,
  rules: ConflictRules,
  allowHazards: readonly HazardKind[] | undefined,
): void {
  const { workspace } = ctx;
  const conflicts = new Map<number, StepConflict>();
  for (const step of plan.steps) {
    const rule = rules.ruleFor(step);
    if (rule.strategy === 'drop' && (step.action === 'create' || step.action === 'replace'))
      conflicts.set(step.order, {
        strategy: 'drop',
        rule: rule.source,
        before: [],
        after: [],
        reverse: null,
        backup: null,
      });
  }
  const problems = checkStepPolicies(environment, plan, {
    conflicts,
    settings: (p) => workspace.settings(workspace.project(p), environment).deploy,
    allowHazards,
  });
  if (problems.length) refuse(problems, false);
  const { gates } = environment;
  const windows = gates.maintenanceWindows?.length ? formatWindows(gates.maintenanceWindows) : '';
  if (windows || gates.protected)
    ctx.reporter.warn(
      `environment ${environment.name}${gates.protected ? ' is protected' : ''}${windows ? `${gates.protected ? ' and' : ''} deploys inside its maintenance windows (${windows})` : ''}: dbee cannot check that when BTEQ runs the scripts of ${target.name}; run them inside the change window`,
    );
}

/** The declared renames (db.yaml `renames:`) of the plan's projects, with each project's placeholders expanded. */
function declaredRenames(ctx: OperationContext, plan: Plan, environment: ResolvedEnvironment): RenameDeclaration[] {
  const { workspace } = ctx;
  return plan.projects.flatMap((name) => {
    const project = workspace.project(name);
    const { variables } = workspace.settings(project, environment);
    const expand = (s: string) => expandPlaceholders(s, variables, `${project.relativeRoot}/db.yaml`).expanded;
    return (project.config.renames ?? []).map((r) =>
      r.kind === 'column'
        ? { ...r, schema: expand(r.schema), table: expand(r.table) }
        : { ...r, schema: expand(r.schema) },
    );
  });
}

/** `--out <folder>`: the plan frozen into a package (with the expand of `--strategy expand-contract`). */
async function writePlanPackage(
  ctx: OperationContext,
  options: PlanOptions,
  loaded: LoadedTarget,
  made: PlanMade,
  release: ReleaseInfo,
): Promise<ExitCodeValue> {
  const { workspace } = ctx;
  const { engine, environment, target, models } = loaded;
  const { plan: result, packaged } = made;
  const dir = workspace.commandLinePath(options.out!);
  const strategy = options.strategy ?? workspace.settings(target, environment).deploy.strategy;
  if (strategy === 'expand-contract') {
    if (options.head || options.diff || options.againstEnv)
      throw new DbeeError('--strategy expand-contract packages are made from the working tree (or --base with it)', {
        code: 'OPTIONS_INVALID',
        hint: 'check out the release and run dbee plan from there, without --head, --diff or --against-env',
      });
    release.expand = await packagedExpand(ctx, { engine, environment, models, target: target.name });
    // Its table model and names come from models built with this environment's values: bound to them, as an
    // incremental package's SQL is (another environment with other values is refused, never given these names).
    for (const m of models) {
      const v = release.variables[m.project.name];
      if (v?.names.length)
        v.renderedWith = { environment: environment.name, valuesHash: valuesHash(v.names, m.variables) };
    }
  }
  // Names made from placeholders stay templates: each environment the package deploys to makes its own keys.
  const keyed = templateKeys(result, release, {
    environment: environment.name,
    variables: new Map(models.map((m) => [m.project.name, m.variables])),
    rules: engine.capabilities.keyNames,
  });
  const manifest = writePackage(dir, keyed.plan, {
    toolVersion: ctx.toolVersion,
    sources: packaged.flatMap((m) => m.files),
    release: keyed.release,
    smoke: new Map(packaged.map((m) => [m.project.name, m.smoke])),
  });
  const from = release.base
    ? ` from ${release.base.ref} to ${release.head.ref ?? 'the working tree'}, ${release.preconditions.length} precondition${release.preconditions.length === 1 ? '' : 's'}`
    : '';
  ctx.reporter.info(
    `package of ${result.projects.join(', ')} written to ${dir}${from}: ${manifest.steps.length} steps, ${Object.keys(manifest.files).length} files, ${manifest.planChecksum}`,
  );
  if (!options.testRollback) return ExitCode.ok;
  // Its rollback proven on a copy of the environment's target by the package's own dry run, which records the proof.
  return deploy(ctx, {
    project: target.name,
    env: environment.name,
    dryRun: true,
    package: dir,
    testRollback: true,
    withNeeded: false,
    assumeYes: true,
    safe: false,
    continueOnError: false,
    prune: false,
  });
}
