/** `rollback --to-ref`: the sources of a project at a git ref, and the diff from the live database to them. */
import { renderMode, type RenderMode } from '../../plan/render-mode';
import { execFileSync } from 'node:child_process';
import type { ResolvedEnvironment } from '../../config/resolve';
import { Workspace } from '../../config/workspace';
import { planChanges } from '../../planner/plan-changes';
import { desiredModel } from '../../diffing/desired';
import { materializeRef } from '../../diffing/git-ref';
import { requireRole, type Connection, type Engine } from '../../engine/engine';
import { DbeeError } from '../../errors';
import type { Ledger, LedgerState } from '../../ledger/ledger';
import { planFromSources } from '../../planner/planner';
import type { ProjectModel } from '../../planner/project-model';
import type { SchemaModel } from '../../schema/model';
import type { CompensatingStep } from '../../runner/undo';
import { withSchemas } from '../../runner/recreate-dependents';
import { checksumStatements } from '../../sources/checksum';
import type { OperationContext } from '../../context/operation-context';
import { loadModels, schemaOwners } from '../../context/load';
import type { Prepared } from './undo-plan';

export interface LoadedRef {
  ref: string;
  commit: string;
  model: ProjectModel;
  desired: SchemaModel;
  state: LedgerState;
  schemas: string[];
  mode: RenderMode;
  renames: NonNullable<ProjectModel['project']['config']['renames']>;
}

/**
 * The sources of a project at a git ref, read straight from git: their desired model (built in a shadow database,
 * cached like any other) and the ledger state a deployment of them would leave.
 */
export async function loadRef(
  ctx: OperationContext,
  engine: Engine,
  environment: ResolvedEnvironment,
  project: string,
  ref: string,
): Promise<LoadedRef> {
  if (!engine.diff) {
    throw new DbeeError(`--to-ref: the ${engine.name} engine cannot diff a database against sources`, {
      code: 'ENGINE_CAPABILITY',
      hint: 'roll back with the ledger: --to <deployment>',
    });
  }
  const tree = materializeRef(ctx.workspace.root, ref);
  try {
    const commit = execFileSync('git', ['rev-parse', '--verify', `${ref}^{commit}`], {
      cwd: ctx.workspace.root,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
    const workspace = Workspace.load(tree.root);
    if (!workspace.projects.has(project)) {
      throw new DbeeError(`--to-ref ${ref}: project ${project} does not exist at that ref`, {
        code: 'GIT_REF',
        hint: 'pick a ref where the project existed',
      });
    }
    const sub: OperationContext = { ...ctx, workspace };
    const all = workspace.withDependencies(project);
    const models = await loadModels(sub, all, environment, engine);
    const owners = schemaOwners(sub, environment);
    const desired = await desiredModel({
      engine,
      environment,
      workspaceRoot: ctx.workspace.root,
      models,
      target: project,
      schemaOwners: owners,
      shadow: ctx.workspace.config.shadow ?? 'embedded',
      toolVersion: ctx.toolVersion,
    });
    const model = models.find((m) => m.project.name === project)!;
    const plan = planFromSources({ engine, models, planned: [project], schemaOwners: owners });
    const objects = Object.fromEntries(
      plan.steps.filter((s) => s.action !== 'migrate').map((s) => [s.key, s.checksum]),
    );
    const migrations: LedgerState['migrations'] = {};
    for (const m of model.migrations)
      migrations[m.file.versionParts.join('.')] = {
        checksum: checksumStatements([m.file.text], model.variables),
        description: m.file.path,
      };
    const settings = workspace.settings(workspace.project(project), environment).deploy;
    return {
      ref,
      commit,
      model,
      desired: desired.model,
      state: { objects, migrations },
      schemas: model.graph.schemas,
      mode: renderMode(settings),
      renames: model.project.config.renames ?? [],
    };
  } finally {
    await tree.dispose();
  }
}

/**
 * `--to-ref`: the diff from the live database to the ref's sources, as compensating steps (with the renderer's
 * reverses and hazards). Steps that lose data are refused without `--force`. The ledger state becomes the ref's:
 * its objects at their checksums, and only those applied migrations that exist, unchanged, at the ref.
 */
export async function prepareToRef(
  engine: Engine,
  conn: Connection,
  ledger: Pick<Ledger, 'objects'>,
  project: string,
  schemas: string[],
  everySchema: string[],
  ref: LoadedRef,
  force: boolean,
): Promise<Prepared> {
  const scope = [...new Set([...schemas, ...ref.schemas])];
  const fp = engine.diff
    ? await engine.diff.fingerprint(conn, { schemas: scope, manage: ref.model.graph.manage })
    : null;
  // The other projects' schemas are read with the project's (so that the catalog's dependencies across them are
  // known) and stay as they are on both sides of the diff: what of theirs stands on an object the diff drops (a view
  // over a view that must be dropped to lose a column) is dropped and created again with it.
  const others = new Set(everySchema.filter((x) => !scope.includes(x)));
  const from = await requireRole(engine, 'diff', 'roll back to a git ref').introspect(conn, {
    schemas: [...scope, ...others],
    manage: ref.model.graph.manage,
  });
  const to = others.size ? withSchemas(ref.desired, from, others) : ref.desired;
  const plan = planChanges(engine, from, to, {
    project,
    ...ref.mode,
    baseFingerprint: fp,
    renames: ref.renames,
    owners: ref.model.graph.manage?.owners,
  });
  const now = await ledger.objects.state(project);
  const migrations: LedgerState['migrations'] = {};
  for (const [v, m] of Object.entries(now.migrations))
    if (ref.state.migrations[v]?.checksum === m.checksum) migrations[v] = m;
  const state: LedgerState = { objects: ref.state.objects, migrations };
  const problems: DbeeError[] = [];
  const forced: string[] = [];
  const steps: CompensatingStep[] = plan.steps.map((s) => {
    const loss = s.hazards.filter((h) => h.kind === 'data-loss');
    if (loss.length) {
      const message = `step ${s.order} (${s.action} ${s.key}) loses data: ${loss.map((h) => h.message).join('; ')}`;
      if (force) forced.push(message + ' (accepted with --force)');
      else
        problems.push(
          new DbeeError(message, {
            code: 'ROLLBACK_DATA_LOSS',
            hint: 'review it with --dry-run; pass --force to accept the loss',
          }),
        );
    }
    return { plan: s, ledgerAction: s.action };
  });
  const sameState =
    JSON.stringify(sortKeys(now.objects)) === JSON.stringify(sortKeys(state.objects)) &&
    Object.keys(now.migrations).length === Object.keys(migrations).length;
  if (!steps.length && sameState) return { units: [], problems, forced };
  const desired = { scope: { schemas: [...scope, ...others], manage: ref.model.graph.manage }, desired: to };
  const owners = ref.model.graph.manage?.owners ?? false;
  return { units: [], toRef: { steps, state, ref: ref.ref, commit: ref.commit, ...desired, owners }, problems, forced };
}

function sortKeys(o: Record<string, string>): [string, string][] {
  return Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
