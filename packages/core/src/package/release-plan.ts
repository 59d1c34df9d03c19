import { renderMode } from '../plan/render-mode';
import { spawnSync } from 'node:child_process';
import { Workspace, type DbProject } from '../config/workspace';
import type { ResolvedEnvironment } from '../config/resolve';
import { DbeeError } from '../errors';
import type { Engine } from '../engine/engine';
import { desiredModel } from '../diffing/desired';
import { planChanges } from '../planner/plan-changes';
import { materializeRef } from '../diffing/git-ref';
import { engineFor, type OperationContext } from '../context/operation-context';
import { gitCommit } from '../context/origin';
import { loadModels, schemaOwners } from '../context/load';
import { PLAN_FORMAT_VERSION, type Plan, type PlanStep } from '../plan/plan';
import { planFromSources } from '../planner/planner';
import type { ProjectModel } from '../planner/project-model';
import { emptyModel, type SchemaModel } from '../schema/model';
import { placeholderNames } from '../sources/placeholders';
import { valuesHash, type Precondition, type ReleaseInfo } from './release';

/** The sources of the workspace at one ref (or the working tree), loaded for one environment's variables. */
interface Side {
  ref: string | null;
  commit: string | null;
  workspace: Workspace;
  environment: ResolvedEnvironment;
  engine: Engine;
  /** Every project's model that the planned projects need (they and their dependencies). */
  models: ProjectModel[];
  owners: ReadonlyMap<string, string>;
}

/** The commit a ref names, or a GIT_REF error that says what to check. */
export function commitOf(root: string, ref: string): string {
  const r = spawnSync('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd: root });
  const sha = r.stdout?.toString().trim();
  if (r.status !== 0 || !sha) {
    throw new DbeeError(`"${ref}" is not a commit, branch or tag of this repository`, {
      code: 'GIT_REF',
      hint: 'fetch it first in a shallow CI clone (git fetch --tags, or fetch-depth: 0)',
    });
  }
  return sha;
}

async function readSide(
  ctx: OperationContext,
  ref: string | null,
  env: string | undefined,
  projects: readonly string[],
): Promise<Side> {
  const tree = ref ? materializeRef(ctx.workspace.root, ref) : null;
  try {
    const workspace = tree ? Workspace.load(tree.root) : ctx.workspace;
    const sub: OperationContext = { ...ctx, workspace };
    // Environments (connections, variables, gates) come from the working tree's dbee.yaml, whichever ref the sources are read at.
    const environment = ctx.workspace.environment(env, ctx.env);
    // A project that did not exist yet at this ref is simply absent from this side.
    const present = projects.filter((p) => workspace.projects.has(p));
    const all: DbProject[] = [];
    for (const p of present) for (const d of workspace.withDependencies(p)) if (!all.includes(d)) all.push(d);
    const engine = ctx.engine(environment.engine);
    if (all.length) engineFor(sub, environment, all);
    const models = await loadModels(sub, all, environment, engine);
    return {
      ref,
      commit: ref ? commitOf(ctx.workspace.root, ref) : await gitCommit(ctx.workspace.root),
      workspace,
      environment,
      engine,
      models,
      owners: schemaOwners(sub, environment),
    };
  } finally {
    await tree?.dispose();
  }
}

/** A project's models at a side: it and its dependencies. */
function modelsFor(side: Side, project: string): ProjectModel[] {
  const names = new Set(side.workspace.withDependencies(project).map((p) => p.name));
  return side.models.filter((m) => names.has(m.project.name));
}

/** The full plan of a project's own sources (nothing deployed): its objects (key → step) and migrations. */
function sourceSteps(side: Side, project: string): Map<string, PlanStep> {
  if (!side.workspace.projects.has(project)) return new Map();
  const plan = planFromSources({
    engine: side.engine,
    models: modelsFor(side, project),
    planned: [project],
    schemaOwners: side.owners,
  });
  return new Map(plan.steps.map((s) => [s.key, s]));
}

async function desiredAt(ctx: OperationContext, side: Side, project: string, useCache: boolean): Promise<SchemaModel> {
  if (!side.workspace.projects.has(project)) return emptyModel();
  const d = await desiredModel({
    engine: side.engine,
    environment: side.environment,
    // Cached under the real workspace: the key is the sources' hash, wherever they were read from.
    workspaceRoot: ctx.workspace.root,
    models: modelsFor(side, project),
    target: project,
    schemaOwners: side.owners,
    shadow: 'embedded',
    toolVersion: ctx.toolVersion,
    useCache,
  });
  return d.model;
}

export interface ReleasePlan {
  plan: Plan;
  release: ReleaseInfo;
  /** The models at head of the planned projects (smoke checks and source checksums of the package). */
  models: ProjectModel[];
}

/**
 * An incremental release: the change from the sources at `base` to the sources at `head` (the working tree when
 * null) of `project` and, with `withDependencies`, every project it depends on, in dependency order. No database:
 * each project's tables, views, routines... are changed by the diff of the two desired models (built in shadow
 * databases), and migrations new at head run after them. Each changed object becomes a precondition (see
 * `Precondition`), checked against the target's ledger before anything runs.
 */
export async function releasePlan(
  ctx: OperationContext,
  args: {
    project: string;
    env?: string;
    base: string;
    head?: string;
    withDependencies: boolean;
    useCache?: boolean;
    /** The safe rewrites whatever the settings say (`--safe`). */
    safe?: boolean;
  },
): Promise<ReleasePlan> {
  const headWs = args.head ? null : ctx.workspace;
  const names = (headWs ?? ctx.workspace).withDependencies(args.project).map((p) => p.name);
  // The project list comes from head (a project may be new there): read head first when it is a ref.
  const head = await readSide(ctx, args.head ?? null, args.env, args.withDependencies ? names : [args.project]);
  const planned = args.withDependencies
    ? head.workspace.withDependencies(args.project).map((p) => p.name)
    : [head.workspace.project(args.project).name];
  const base = await readSide(ctx, args.base, args.env, planned);
  const useCache = args.useCache !== false;
  const steps: PlanStep[] = [];
  const preconditions: Precondition[] = [];
  const variables: ReleaseInfo['variables'] = {};
  for (const project of planned) {
    const target = head.workspace.project(project);
    const settings = head.workspace.settings(target, head.environment);
    const [from, to] = [await desiredAt(ctx, base, project, useCache), await desiredAt(ctx, head, project, useCache)];
    const model = head.models.find((m) => m.project.name === project)!;
    const changes = planChanges(head.engine, from, to, {
      project,
      ...renderMode(settings.deploy, args.safe),
      renames: target.config.renames ?? [],
      owners: model.graph.manage?.owners,
    });
    steps.push(...changes.steps);
    // What the ledger records is the checksum of each object's source: compare the two sides object by object.
    const before = sourceSteps(base, project);
    const after = sourceSteps(head, project);
    for (const key of [...new Set([...before.keys(), ...after.keys()])].sort()) {
      const b = before.get(key);
      const a = after.get(key);
      if ((b ?? a)!.action === 'migrate') continue;
      if (b && a && b.checksum === a.checksum) continue;
      preconditions.push({ project, key, base: b ? b.statements : null, head: a ? a.statements : null });
    }
    // Migrations new at head run after the project's changes, in version order (as the sources plan them).
    steps.push(...[...after.values()].filter((s) => s.action === 'migrate' && !before.has(s.key)));
    const used = placeholderNames([...model.files, ...model.smoke].map((f) => f.text));
    variables[project] = {
      names: used,
      renderedWith: { environment: head.environment.name, valuesHash: valuesHash(used, model.variables) },
    };
  }
  steps.forEach((s, i) => (s.order = i + 1));
  const headModels = planned.map((p) => head.models.find((m) => m.project.name === p)!);
  const plan: Plan = {
    formatVersion: PLAN_FORMAT_VERSION,
    engine: head.engine.name,
    projects: planned,
    searchPaths: Object.fromEntries(headModels.map((m) => [m.project.name, m.graph.searchPathTemplate])),
    sourceCommit: head.commit,
    baseFingerprint: null,
    steps,
  };
  return {
    plan,
    release: {
      target: head.workspace.project(args.project).name,
      base: { ref: args.base, commit: base.commit! },
      head: { ref: args.head ?? null, commit: head.commit },
      variables,
      preconditions,
      dependsOn: Object.fromEntries(headModels.map((m) => [m.project.name, [...m.graph.dependsOn]])),
      smoke: {},
    },
    models: headModels,
  };
}
