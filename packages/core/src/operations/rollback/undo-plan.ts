/**
 * The compensating steps of recorded deployments (`prepareUndo`): which deployments and steps a rollback undoes
 * (`--to`, `--package`, `--objects`, the last deployment), each step's reverse (the ledger's, a migration's rollback
 * script, a DROP of what it created), and the problems that refuse it (no reverse, data lost, dependents).
 */
import type { SchemaModel } from '../../schema/model';
import type { SchemaScope } from '../../schema/managed-scope';
import type { Connection, Engine } from '../../engine/engine';
import { DbeeError } from '../../errors';
import type { Ledger, DeploymentRow, LedgerState, LedgerStep } from '../../ledger/ledger';
import { parseKey, type ObjectKey } from '../../model/object-key';
import type { LoadedPackage } from '../../package/package';
import type { Hazard, PlanStep, StepAction } from '../../plan/plan';
import type { ProjectSources } from '../../sources/discover';
import { inverseAction, viewFallback, type CompensatingStep } from '../../runner/undo';
import { dependentsOf, planRecreate } from '../../runner/recreate-dependents';
import { refuseUnmatched, selectsKey, type Selection } from '../../planner/selection';
import { InPlaceViews } from '../../runner/view-columns';
import { referencesOf, withBodyDependencies } from '../../schema/body-dependencies';
import { checksumStatements } from '../../sources/checksum';
import { expandPlaceholders } from '../../sources/placeholders';
import { packagedStep } from '../../package/package-keys';
import type { OperationContext } from '../../context/operation-context';
import type { RollbackOptions } from '../../options';

/** One deployment to undo, with the steps to undo (newest first) as compensating steps. */
export interface Unit {
  deployment: DeploymentRow;
  steps: CompensatingStep[];
  /** Every applied step of the deployment is undone: its whole ledger state before it is restored afterwards. */
  whole: boolean;
}

/** A rollback ready to run: what it undoes (or the diff to a ref), and why it would be refused. */
export interface Prepared {
  units: Unit[];
  /** `--to-ref`: the diff's steps, the ledger state of the ref's sources, and the ref. */
  toRef?: {
    steps: CompensatingStep[];
    state: LedgerState;
    ref: string;
    commit: string;
    /** What the diff went to (the ref's desired model), read in `scope`: what the convergence check compares with. */
    desired: SchemaModel;
    scope: SchemaScope;
    owners: boolean;
  };
  problems: DbeeError[];
  /** What `--force` accepted, recorded in the ledger. */
  forced: string[];
}

const UNDOABLE_KINDS = new Set(['deploy', 'rollback']);

const statesBefore = new WeakMap<Ledger, Map<number, Promise<LedgerState | null>>>();

/**
 * `ledger.ledgerBefore(id)`, read once per rollback (per `Ledger`): the state a deployment started from never changes
 * once recorded, and it holds every object of the project (planning the undo of a deployment read it three times).
 */
export function stateBefore(ledger: Ledger, deploymentId: number): Promise<LedgerState | null> {
  let states = statesBefore.get(ledger);
  if (!states) statesBefore.set(ledger, (states = new Map()));
  let state = states.get(deploymentId);
  if (!state) states.set(deploymentId, (state = ledger.deployments.ledgerBefore(deploymentId)));
  return state;
}

export interface UndoInput {
  ctx: OperationContext;
  engine: Engine;
  /** The target's session: its catalog is read to plan what must move with a view put back, and whether a table it would drop holds rows. */
  conn: Connection;
  ledger: Ledger;
  project: string;
  environment: string;
  history: DeploymentRow[];
  options: RollbackOptions;
  sources: ProjectSources | null;
  searchPath: string[];
  pkg: LoadedPackage | null;
  variables: Record<string, string>;
  /** Every schema of the workspace's projects: where objects standing on a view put back are looked for. */
  everySchema: string[];
  /** Views an earlier compensating step puts back (`formatKey` → its statements), filled as steps are planned. */
  putBack: Map<string, readonly string[]>;
  /** The live catalog of `everySchema`, read once for every view this plan puts back (`planRecreate`). */
  catalog?: { live?: Promise<SchemaModel>; withBodies?: Promise<SchemaModel> };
  /** Which views this plan can put back in place, asked of the server once per view (`InPlaceViews`). */
  views?: InPlaceViews;
  /** `--objects`: only the selected objects' steps are undone, each from the newest deployment that changed it. */
  selection?: Selection | null;
}

/** Where a `--to` goes back to: everything after step `order` of deployment `id` is undone. */
interface Cut {
  id: number;
  order: number;
}

/** Pick the deployments (and steps) to undo, newest first, and turn their steps into compensating steps. */
export async function prepareUndo(input: UndoInput): Promise<Prepared> {
  const problems: DbeeError[] = [];
  const forced: string[] = [];
  const picked = await pickDeployments(input, problems, forced);
  const units: Unit[] = [];
  try {
    for (const { deployment, keep } of picked) {
      const unit = await undoUnit(input, deployment, keep, problems, forced);
      if (unit) units.push(unit);
    }
  } finally {
    await input.views?.close();
  }
  return { units, problems, forced };
}

/** A deployment to undo, and which of its applied steps. */
interface Picked {
  deployment: DeploymentRow;
  keep: (s: LedgerStep) => boolean;
}

/** A deployment that can be undone: of a kind that applies steps, finished, with steps applied. */
export function undoable(d: DeploymentRow): boolean {
  return UNDOABLE_KINDS.has(d.kind) && d.status !== 'running' && d.steps_applied > 0;
}

/**
 * The deployments to undo, newest first: those that applied `--package`, everything after `--to` (a deployment id or
 * a migration version), else the last deployment with steps still applied.
 */
async function pickDeployments(input: UndoInput, problems: DbeeError[], forced: string[]): Promise<Picked[]> {
  const { ledger, history, options, project, environment } = input;
  if (input.selection) return pickObjects(input, input.selection, problems);
  if (options.package) return pickPackage(input, problems, forced);
  if (options.to !== undefined && options.to !== '') {
    const cut = await cutOf(ledger, history, project, environment, String(options.to));
    const after = (id: number, order: number | null) =>
      id > cut.id || (id === cut.id && (order ?? Number.MAX_SAFE_INTEGER) > cut.order);
    const picked: Picked[] = [];
    for (const d of history) {
      if (d.id < cut.id || !undoable(d)) continue;
      // The deployment of the cut keeps its steps up to the cut, whatever its kind.
      if (d.id === cut.id) picked.push({ deployment: d, keep: (s) => s.order > cut.order });
      else if (d.kind === 'deploy' || d.reverts === null) picked.push({ deployment: d, keep: () => true });
      // A rollback step is undone when the step it undid belongs before the cut (it must come back); when that step
      // is after the cut, it is already where the cut wants it.
      else picked.push({ deployment: d, keep: (s) => !after(d.reverts!, s.revertsStep) });
    }
    return picked;
  }
  const last = history.find(undoable);
  if (!last) {
    throw new DbeeError(
      `nothing to roll back: no deployment of ${project} on ${environment} has steps that are still applied`,
      { code: 'NOTHING_TO_ROLL_BACK', hint: 'dbee status shows the deployments' },
    );
  }
  return [{ deployment: last, keep: () => true }];
}

/**
 * `--objects`: each selected object goes back to its state before the newest deployment with a step of it still
 * applied, whichever deployment that was; only the selected objects' steps of it are undone, the objects deployed with
 * them keep their new state. An entry that matches no object with a step still applied is refused (nothing runs). An
 * object cannot be rolled back alone (a problem, naming what to select too, `blockersOf`) when an object of the
 * project that changed in that deployment or a later one stands on it (it was made for the new version), or when the
 * undo drops it (it had no earlier version) and anything stands on it; `--with-dependents` takes those along instead.
 */
async function pickObjects(input: UndoInput, selection: Selection, problems: DbeeError[]): Promise<Picked[]> {
  const { ledger, history, project, environment } = input;
  /** Object key → the newest deployment with a step of it still applied, and that step. */
  const newest = new Map<string, Newest>();
  for (const d of history) {
    if (!undoable(d)) continue;
    for (const s of await ledger.steps.of(d.id))
      if (s.status === 'applied' && !newest.has(s.objectKey))
        newest.set(s.objectKey, { id: d.id, action: s.action, step: s });
  }
  const recorded = [...newest.keys()]
    .filter((k) => !k.startsWith('migration:'))
    .map((text) => ({ text, key: safeParseKey(text) }));
  refuseUnmatched(
    selection,
    recorded.map((r) => r.key),
    `that a deployment of ${project} on ${environment} changed with a step still applied (dbee log shows them)`,
  );
  // An index, trigger or constraint selected through its table (`table:pl.film`) goes back with the table only where
  // the table's newest deployment changed it too: one the release never touched stays (selected by its own key, it goes).
  const tables = new Map(recorded.filter((r) => !r.key.parent).map((r) => [`${r.key.schema}.${r.key.name}`, r.text]));
  const withTable = (r: { text: string; key: ObjectKey }) => {
    if (!r.key.parent) return true;
    const { parent: _, ...own } = r.key;
    if (selectsKey(selection, own)) return true;
    const table = tables.get(r.key.parent);
    return !table || newest.get(table)!.id === newest.get(r.text)!.id;
  };
  const chosen = new Set(recorded.filter((r) => selectsKey(selection, r.key) && withTable(r)).map((r) => r.text));
  const selected = [...chosen];
  let blocked = await blockersOf(input, chosen, newest);
  // `--with-dependents`: what stands on a selected object (and what stands on that) goes back with it, while the
  // ledger records a step of it to undo; an object it does not record (another project's) stays a refusal.
  while (input.options.withDependents && blocked.some((b) => b.dependents.some((k) => newest.has(k)))) {
    for (const b of blocked) for (const k of b.dependents) if (newest.has(k)) chosen.add(k);
    blocked = await blockersOf(input, chosen, newest);
  }
  for (const b of blocked) problems.push(cannotGoAlone(b));
  problems.push(...(await earlierOnDropped(input, chosen, newest)));
  const taken = [...chosen].filter((k) => !selected.includes(k)).sort();
  input.ctx.reporter.info(`rolling back only: ${selected.sort().join(', ')}`);
  if (taken.length) input.ctx.reporter.info(`  with what stands on them (--with-dependents): ${taken.join(', ')}`);
  const byDeployment = new Map<number, Set<string>>();
  for (const text of chosen) {
    const id = newest.get(text)!.id;
    byDeployment.set(id, (byDeployment.get(id) ?? new Set()).add(text));
  }
  return history
    .filter((d) => byDeployment.has(d.id))
    .map((d) => ({ deployment: d, keep: (s) => byDeployment.get(d.id)!.has(s.objectKey) }));
}

/** The newest deployment with a step of an object still applied, and that step. */
interface Newest {
  id: number;
  action: string;
  step: LedgerStep;
}

const dropsIt = (n: Newest) => planAction(inverseAction(n.action), safeParseKey(n.step.objectKey)) === 'drop';

/**
 * Objects the rollback puts back to an earlier definition (the one the ledger captured before their newest
 * deployment) that reads or calls an object the same rollback drops: put back, it would be broken.
 */
async function earlierOnDropped(
  input: UndoInput,
  chosen: ReadonlySet<string>,
  newest: ReadonlyMap<string, Newest>,
): Promise<DbeeError[]> {
  const dropped = [...chosen].filter((k) => dropsIt(newest.get(k)!)).map((k) => ({ k, key: safeParseKey(k) }));
  if (!dropped.length) return [];
  const out: DbeeError[] = [];
  for (const object of chosen) {
    const { id, step } = newest.get(object)!;
    const earlier = step.previousDefinition ?? step.reverse?.join(';\n');
    if (dropsIt(newest.get(object)!) || !earlier) continue;
    const refs = (await referencesOf(input.engine.parser, earlier, object, input.searchPath)).flatMap((r) => r.names);
    const on = dropped.filter((d) => refs.includes(`${d.key.schema}.${d.key.name}`.toLowerCase())).map((d) => d.k);
    if (on.length)
      out.push(
        new DbeeError(
          `${object} goes back to its definition before deployment #${id}, which stands on ${on.join(', ')}: the same rollback drops ${on.length === 1 ? 'it' : 'them'} (${on.length === 1 ? 'it had' : 'they had'} no earlier version), so it would be left broken`,
          {
            code: 'ROLLBACK_DEPENDENTS',
            hint: `roll back the deployments that made them with --to, or leave ${on.length === 1 ? 'it' : 'them'} out of the selection`,
            details: { object, deployment: id, dependents: on },
          },
        ),
      );
  }
  return out;
}

/** A selected object that cannot go back alone: what stands on it, and whether the undo drops it. */
interface Blocked {
  object: string;
  deployment: number;
  drops: boolean;
  dependents: string[];
}

/**
 * The selected objects that cannot go back alone, from the live catalog's dependencies and what the routines' bodies
 * read and call (`withBodyDependencies`: the catalog records none of a function calling another): what stands on an
 * object the undo drops, or on one it puts back and that changed in that deployment or later for its new version.
 */
async function blockersOf(
  input: UndoInput,
  chosen: ReadonlySet<string>,
  newest: ReadonlyMap<string, Newest>,
): Promise<Blocked[]> {
  const { engine, conn } = input;
  const diff = engine.diff;
  if (!diff) return [];
  // The catalog read once, for this and for the views a step puts back (`planRecreate`, the same scope).
  input.catalog ??= {};
  input.catalog.live ??= diff.introspect(conn, { schemas: input.everySchema });
  input.catalog.withBodies ??= input.catalog.live.then((m) => withBodyDependencies(m, engine.parser, input.searchPath));
  const live = await input.catalog.withBodies;
  const out: Blocked[] = [];
  for (const object of chosen) {
    const since = newest.get(object)!;
    const drops = dropsIt(since);
    const dependents = [...dependentsOf(live, safeParseKey(object))]
      .filter((k) => !chosen.has(k) && (drops || (newest.get(k)?.id ?? 0) >= since.id))
      .sort();
    if (dependents.length) out.push({ object, deployment: since.id, drops, dependents });
  }
  return out;
}

function cannotGoAlone({ object, deployment, drops, dependents }: Blocked): DbeeError {
  const one = dependents.length === 1;
  const why = drops
    ? `would lose it (the undo drops it: it had no earlier version)`
    : `${one ? 'was' : 'were'} changed by deployment #${deployment} or a later one, for its new version`;
  return new DbeeError(
    `${object} cannot be rolled back alone: ${dependents.join(', ')} ${one ? 'stands' : 'stand'} on it and ${why}`,
    {
      code: 'ROLLBACK_DEPENDENTS',
      hint: `select ${one ? 'it' : 'them'} too (${dependents.map((k) => `--objects '${k.replace(/\(.*\)$/, '')}'`).join(' ')}) or add --with-dependents to roll ${one ? 'it' : 'them'} back with it, or roll back the whole deployment with --to`,
      details: { object, deployment, dependents },
    },
  );
}

/**
 * `--package`: the deployments that applied the package. Deployments after them still applied are a problem (undoing
 * the package under them may break them) unless `--force`.
 */
function pickPackage(input: UndoInput, problems: DbeeError[], forced: string[]): Picked[] {
  const { history, options, project, environment } = input;
  const checksum = input.pkg!.manifest.planChecksum;
  const applied = history.filter((d) => d.kind === 'deploy' && d.plan_checksum === checksum && undoable(d));
  if (!applied.length) {
    throw new DbeeError(
      `no deployment of ${project} on ${environment} applied package ${options.package} (plan ${checksum.slice(0, 19)}...) with steps still applied`,
      {
        code: 'NOTHING_TO_ROLL_BACK',
        hint: 'dbee status shows the deployments; roll back by deployment id with --to',
      },
    );
  }
  const first = applied[applied.length - 1]!.id;
  const later = history.filter((d) => d.id > first && !applied.includes(d) && undoable(d));
  if (later.length) {
    const what = `deployment${later.length > 1 ? 's' : ''} ${later.map((d) => '#' + d.id).join(', ')} came after the package's and ${later.length > 1 ? 'are' : 'is'} still applied`;
    if (options.force) forced.push(`${what}; the package was undone under ${later.length > 1 ? 'them' : 'it'}`);
    else
      problems.push(
        new DbeeError(
          `${what}: undoing the package under ${later.length > 1 ? 'them' : 'it'} may break ${later.length > 1 ? 'them' : 'it'}`,
          {
            code: 'ROLLBACK_NOT_LAST',
            hint: `roll back to before the package with --to ${history.find((d) => d.id < first)?.id ?? 0}, or pass --force`,
          },
        ),
      );
  }
  return applied.map((d) => ({ deployment: d, keep: () => true }));
}

/**
 * The compensating steps of one picked deployment, newest step first (null when none of its applied steps is
 * kept); a whole deployment also puts back what it dropped. A step that cannot be undone safely is a problem, or
 * with `--force` a line of the summary.
 */
async function undoUnit(
  input: UndoInput,
  deployment: DeploymentRow,
  keep: (s: LedgerStep) => boolean,
  problems: DbeeError[],
  forced: string[],
): Promise<Unit | null> {
  const { ledger, options } = input;
  const all = await ledger.steps.of(deployment.id);
  const applied = all.filter((s) => s.status === 'applied');
  const chosen = applied.filter(keep).reverse();
  if (!chosen.length) return null;
  const backups = await ledger.backups.of(deployment.id);
  const steps: CompensatingStep[] = [];
  for (const s of chosen) {
    const backup = backups.find((b) => b.object_key === s.objectKey && !b.dropped_at)?.backup_name ?? null;
    const c = await compensate(
      input,
      deployment,
      s,
      backups.some((b) => b.object_key === s.objectKey),
      steps.length + 1,
      backup,
      // The rollback scripts of migrations run before this step: one may empty a table it drops.
      steps.flatMap((c) => (c.plan.key.startsWith('migration:') ? c.plan.statements : [])).join('\n'),
    );
    if (c.problem) {
      if (options.force) forced.push(c.problem.message + ' (accepted with --force)');
      else problems.push(c.problem);
    }
    steps.push(c.step);
  }
  if (chosen.length === applied.length) {
    for (const p of await restoreVanished(input, deployment, all, steps)) {
      if (options.force) forced.push(p.message + ' (accepted with --force)');
      else problems.push(p);
    }
  }
  return { deployment, steps, whole: chosen.length === applied.length && !steps.some((s) => s.skip) };
}

/**
 * Objects the ledger recorded before deployment `d` that went away with it without a step of their own (the indexes
 * and triggers of a table it dropped) come back when all of `d` is undone: created again, right after their parent,
 * from the step that created them at the checksum the ledger recorded. `steps` (the unit's compensating steps) gets
 * them, renumbered; returns the problems of those that cannot come back (they are then left out, with --force).
 */
async function restoreVanished(
  input: UndoInput,
  d: DeploymentRow,
  all: LedgerStep[],
  steps: CompensatingStep[],
): Promise<DbeeError[]> {
  const { ledger, history, project, engine } = input;
  // A dry run may read a ledger not yet upgraded, without ledger_before.
  if ((await ledger.tables.version()) < 2) return [];
  const before = await stateBefore(ledger, d.id);
  if (!before) return [];
  // The state right after `d`: what the next deployment found, or the ledger now when `d` is the last.
  const next = history.filter((h) => h.id > d.id).sort((a, b) => a.id - b.id)[0];
  const after = (next ? await stateBefore(ledger, next.id) : null) ?? (await ledger.objects.state(project));
  const stepped = new Set(all.map((s) => s.objectKey));
  const problems: DbeeError[] = [];
  const vanished = Object.entries(before.objects)
    .filter(([key]) => !(key in after.objects) && !stepped.has(key))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [key, checksum] of vanished) {
    const objectKey = safeParseKey(key);
    const source = await ledger.steps.stepThatApplied(project, key, checksum, d.id);
    const what = `${key} went away with deployment #${d.id} without a step of its own`;
    const step: CompensatingStep = {
      plan: {
        order: 0,
        project,
        key,
        objectKey,
        action: 'create',
        statements: source?.statements ?? [],
        reverse: [engine.catalog?.renderDrop(objectKey)].filter((x): x is string => Boolean(x)),
        transactional: source?.transactional ?? true,
        hazards: [],
        source: null,
        checksum,
      },
      ledgerAction: 'create',
    };
    if (!source || (source.action !== 'create' && source.action !== 'replace')) {
      step.skip = `${what}, and no step of an earlier deployment created it whole; it stays missing (--force)`;
      problems.push(
        new DbeeError(
          `${what}, and no step of an earlier deployment created it whole: the rollback cannot bring it back`,
          {
            code: 'ROLLBACK_IRREVERSIBLE',
            hint: 'create it by hand afterwards, or pass --force to undo everything else and leave it missing',
            details: { deployment: d.id, object: key },
          },
        ),
      );
    }
    // Right after the step that brings its parent back (a table's indexes and triggers), else at the end.
    const parent = objectKey.parent;
    const at = parent
      ? steps.findIndex(
          (s) =>
            s.plan.objectKey.kind !== 'index' &&
            `${s.plan.objectKey.schema}.${s.plan.objectKey.name}` === parent &&
            !s.plan.objectKey.parent,
        )
      : -1;
    if (at >= 0) steps.splice(at + 1, 0, step);
    else steps.push(step);
  }
  steps.forEach((s, i) => (s.plan.order = i + 1));
  return problems;
}

/** `--to 12` (a deployment of the project, or 0) or `--to V3` (the step that applied migration 3). */
async function cutOf(
  ledger: Pick<Ledger, 'steps'>,
  history: DeploymentRow[],
  project: string,
  environment: string,
  to: string,
): Promise<Cut> {
  if (/^\d+$/.test(to)) {
    const id = Number(to);
    if (id !== 0 && !history.some((d) => d.id === id)) {
      throw new DbeeError(`--to ${to}: deployment ${to} is not a deployment of ${project} on ${environment}`, {
        code: 'OPTIONS_INVALID',
        hint: `its deployments: ${
          history
            .slice(0, 10)
            .map((d) => `#${d.id} ${d.kind} ${d.status}`)
            .join(', ') || 'none'
        }${history.length > 10 ? ', ...' : ''} (--to 0 undoes them all)`,
      });
    }
    return { id, order: Number.MAX_SAFE_INTEGER };
  }
  const m = /^[vV](\d+(?:[._]\d+)*)$/.exec(to);
  if (!m)
    throw new DbeeError(`--to ${to}: expected a deployment id (12) or a migration version (V3)`, {
      code: 'OPTIONS_INVALID',
    });
  const version = m[1]!.split(/[._]/).map(Number).join('.');
  const step = await ledger.steps.appliedStep(project, environment, `migration:${project}/V${version}`);
  if (!step)
    throw new DbeeError(`--to ${to}: migration ${version} of ${project} is not applied on ${environment}`, {
      code: 'OPTIONS_INVALID',
      hint: 'dbee status shows what is deployed',
    });
  return { id: step.deploymentId, order: step.order };
}

/**
 * The step that undoes recorded step `s`, and why it cannot be undone when that is so. Its statements come from
 * the ledger's reverse, else the migration's rollback script (sources, then package), else a DROP of what the step
 * created. A step of a deployment that destroyed data (a data-loss hazard, or a statement that drops a table or
 * a column, or truncates) without a backup is undone only with `--force`: its structure comes back, its data not.
 */
async function compensate(
  input: UndoInput,
  d: DeploymentRow,
  s: LedgerStep,
  hasBackup: boolean,
  order: number,
  backup: string | null = null,
  afterScripts = '',
): Promise<{ step: CompensatingStep; problem?: DbeeError }> {
  const { engine, pkg, variables, project } = input;
  const expand = (sql: string) => expandPlaceholders(sql, variables, s.objectKey).expanded;
  const key: ObjectKey = s.objectKey.startsWith('migration:')
    ? { kind: 'migration', schema: '', name: s.objectKey.slice('migration:'.length) }
    : safeParseKey(s.objectKey);
  const packaged = pkg
    ? packagedStep(pkg.plan, s.objectKey, project, variables, engine.capabilities.keyNames)
    : undefined;
  const reverse = await reverseOf(input, d, s, key, packaged, expand);
  const what = `step ${s.order} (${s.action} ${s.objectKey}) of deployment #${d.id}`;
  const action = inverseAction(s.action);
  const plan: PlanStep = {
    order,
    project,
    key: s.objectKey,
    objectKey: key,
    action: planAction(action, key),
    statements: reverse ?? [],
    reverse: s.statements,
    transactional: s.transactional,
    hazards: reverse ? reverseHazards(reverse, d) : [],
    source: null,
    checksum: checksumStatements(reverse ?? []),
  };
  const step: CompensatingStep = { plan, ledgerAction: action, undoes: { step: s, deployment: d } };
  // A view whose replacement added columns cannot be replaced back by its old definition: it is dropped and created,
  // with what stands on it in any project dropped before and created after. Planned here, from what the server says of
  // both column lists, so that the dry run prints what the real run sends. Where the columns are the same it is
  // replaced back in place, and what stands on it is left alone (its grants, owner and comments with it); should the
  // server still refuse, the step drops and creates it with its dependents as above (`fallback`).
  const fallback = reverse ? viewFallback(engine, key, reverse) : null;
  input.views ??= new InPlaceViews(input.conn, engine, input.searchPath);
  if (fallback && reverse && (await input.views.replaces(key, reverse))) {
    step.fallback = fallback;
    input.putBack.set(s.objectKey, reverse);
  } else if (fallback && reverse) {
    plan.statements = await planRecreate(
      input.conn,
      engine,
      { schemas: input.everySchema },
      key,
      fallback,
      input.putBack,
      (input.catalog ??= {}),
    );
    input.putBack.set(s.objectKey, reverse);
  }
  if (reverse === null) {
    step.skip = `${what} has no reverse; it stays applied (--force)`;
    return {
      step,
      problem: new DbeeError(`${what} cannot be undone: the ledger records no reverse for it`, {
        code: 'ROLLBACK_IRREVERSIBLE',
        hint: 'write the reverse by hand, or pass --force to undo everything else and leave this step applied',
        details: { deployment: d.id, step: s.order, object: s.objectKey },
      }),
    };
  }
  const problem = await dataLossProblem(input, d, s, key, reverse, {
    hasBackup,
    backup,
    packaged,
    expand,
    what,
    afterScripts,
  });
  return problem ? { step, problem } : { step };
}

/**
 * The statements that undo recorded step `s`: the ledger's reverse, else the migration's rollback script (sources,
 * then package), else a DROP of what the step created; null when none is known.
 */
async function reverseOf(
  input: UndoInput,
  d: DeploymentRow,
  s: LedgerStep,
  key: ObjectKey,
  packaged: PlanStep | undefined,
  expand: (sql: string) => string,
): Promise<string[] | null> {
  const { engine, sources, project } = input;
  const isMigration = s.objectKey.startsWith('migration:');
  let reverse = s.reverse;
  if (s.action === 'create' && s.previousChecksum !== null && s.previousDefinition === null) {
    // A package plans every object as a create (it cannot know the target), so a CREATE OR REPLACE of an object the
    // ledger already had records a DROP as its reverse. Undoing it must bring back the version it replaced instead:
    // the statements of the step that deployed that version.
    const before = await input.ledger.steps.stepThatApplied(project, s.objectKey, s.previousChecksum, d.id);
    reverse = before ? before.statements : null;
  }
  if (reverse === null && isMigration && sources) {
    const m = sources.migrations.find((x) => `migration:${project}/V${x.versionParts.join('.')}` === s.objectKey);
    if (m) {
      const text = expand(m.rollback.text);
      reverse = (await engine.parser.parse(text, m.rollback.path, { searchPath: input.searchPath })).map(
        (st) => st.sql,
      );
    }
  }
  if (reverse === null && packaged?.reverse) reverse = packaged.reverse.map(expand);
  if (reverse === null && s.action === 'drop' && s.previousDefinition !== null && !isMigration) {
    // A dropped table (or sequence) has no reverse, as its rows cannot come back; its structure can, from the
    // definition captured before the drop. Undoing it still loses data: refused without --force (see `dataLoss`).
    reverse = [s.previousDefinition];
  }
  if (reverse === null && (s.action === 'create' || s.action === 'add-constraint') && s.previousDefinition === null) {
    const drop = engine.catalog?.renderDrop(key);
    if (drop) reverse = [drop];
  }
  return reverse;
}

/**
 * Why undoing step `s` of a deployment would lose data, or null: rows written since into a table the deployment
 * replaced (its old table renamed aside as `backup`), or a step that destroyed data (a data-loss hazard, or a
 * statement that drops a table or a column, or truncates) without a backup: its structure comes back, its data not.
 * Either is undone only with `--force`.
 */
async function dataLossProblem(
  input: UndoInput,
  d: DeploymentRow,
  s: LedgerStep,
  key: ObjectKey,
  reverse: string[],
  context: {
    hasBackup: boolean;
    backup: string | null;
    packaged: PlanStep | undefined;
    expand: (sql: string) => string;
    what: string;
    /**
     * The rollback scripts of migrations that run before this step: a table it drops that they name may be emptied by
     * them, and its rows are not counted.
     */
    afterScripts: string;
  },
): Promise<DbeeError | null> {
  const { hasBackup, backup, packaged, expand, what } = context;
  const loss = d.kind === 'deploy' && !hasBackup ? dataLoss(s, packaged?.hazards ?? []) : null;
  const since =
    d.kind === 'deploy' && backup && key.kind === 'table' ? await rowsSince(input, s, key, reverse, backup, expand) : 0;
  const details = { deployment: d.id, step: s.order, object: s.objectKey, backup };
  if (typeof since === 'string')
    return new DbeeError(`${what} cannot be checked for rows written since the deployment: ${since}`, {
      code: 'ROLLBACK_DATA_LOSS',
      hint: 'compare the table with its backup by hand, then pass --force to accept dropping the new table',
      details,
    });
  if (typeof since === 'number' && since > 0) {
    return new DbeeError(
      `${what} cannot be undone without losing data: ${expand(s.objectKey)} holds ${since} row${since === 1 ? '' : 's'} more than the table the deployment renamed aside, ` +
        'and putting that table back drops them (rows written since the deployment)',
      {
        code: 'ROLLBACK_DATA_LOSS',
        hint: 'move the rows you need into the backup table first, then pass --force to accept dropping the new table',
        details,
      },
    );
  }
  if (typeof since === 'object') {
    return new DbeeError(
      `${what} cannot be undone without losing data: since the deployment, ${expand(s.objectKey)} received ${since.written} row${since.written === 1 ? '' : 's'} its backup does not hold (loaded or changed) ` +
        `and lost ${since.deleted} row${since.deleted === 1 ? '' : 's'} its backup holds (deleted or changed): putting the backup back drops the first and brings back the second`,
      {
        code: 'ROLLBACK_DATA_LOSS',
        hint: 'move the rows you need into the backup table first (and delete there what was deleted since), then pass --force to accept dropping the new table',
        details: { ...details, written: since.written, deleted: since.deleted },
      },
    );
  }
  if (loss) {
    return new DbeeError(
      `${what} cannot be undone without losing data: it ${loss}, and no backup was kept; undoing it brings the structure back, not the data`,
      {
        code: 'ROLLBACK_DATA_LOSS',
        hint: 'restore the data from a database backup, or pass --force to accept the loss',
        details: { deployment: d.id, step: s.order, object: s.objectKey },
      },
    );
  }
  return createdTableProblem(input, d, s, key, reverse, context);
}

/**
 * Undoing step `s` drops a table the deployment created (its reverse is a DROP TABLE, no backup was kept) that holds
 * rows: they were written since, and go with it. Refused (`--force` accepts), unless a rollback script run first names
 * the table (it may empty it).
 */
async function createdTableProblem(
  input: UndoInput,
  d: DeploymentRow,
  s: LedgerStep,
  key: ObjectKey,
  reverse: string[],
  context: { backup: string | null; expand: (sql: string) => string; what: string; afterScripts: string },
): Promise<DbeeError | null> {
  const { backup, expand, what } = context;
  const details = { deployment: d.id, step: s.order, object: s.objectKey, backup };
  const table: ObjectKey = { ...key, schema: key.schema && expand(key.schema), name: expand(key.name) };
  const created =
    d.kind === 'deploy' &&
    !backup &&
    key.kind === 'table' &&
    !context.afterScripts.toLowerCase().includes(table.name.toLowerCase());
  const written = created ? await rowsInCreated(input, table, reverse) : 0;
  if (written) {
    const name = `${table.schema}.${table.name}`;
    return new DbeeError(
      `${what} cannot be undone without losing data: undoing it drops ${name}, which the deployment created and which holds ${written > ROWS_SEEN ? `more than ${ROWS_SEEN.toLocaleString('en-US')}` : written} row${written === 1 ? '' : 's'} written since`,
      {
        code: 'ROLLBACK_DATA_LOSS',
        hint: `copy the rows you need out of ${name} first, then pass --force to accept dropping it with its rows`,
        details: { ...details, rows: written },
      },
    );
  }
  return null;
}

export function safeParseKey(text: string): ObjectKey {
  try {
    return parseKey(text);
  } catch {
    return { kind: 'migration', schema: '', name: text };
  }
}

/**
 * The plan action that shows a compensating step: undoing a create drops, undoing a drop creates. Undoing a constraint
 * added to a table drops the constraint: a `drop` of a constraint's own key (one split out of a foreign-key cycle), an
 * `alter` of a table's (a CHECK the sources added to an existing table), which is not dropped.
 */
function planAction(ledgerAction: string, key: ObjectKey): StepAction {
  switch (ledgerAction) {
    case 'undo-add-constraint':
      return key.kind === 'constraint' ? 'drop' : 'alter';
    case 'undo-create':
    case 'drop':
      return 'drop';
    case 'undo-drop':
    case 'create':
      return 'create';
    case 'replace':
    case 'undo-replace':
      return 'replace';
    case 'migrate':
    case 'undo-migrate':
      return 'migrate';
    case 'enable':
    case 'disable':
      return 'alter';
    default:
      return 'restore';
  }
}

const COMMENTS = /^(\s*(--[^\n]*\n|\/\*[\s\S]*?\*\/))*\s*/;

/**
 * Rows a rollback would lose by dropping the table step `s` created to put back `backup`, the table the deployment
 * renamed aside (#39): the new table's rows, less the backup's when the step copied them over (`copyData`: an
 * `INSERT ... SELECT ... FROM <backup>` among its statements). The engine's own comparison when it has one
 * (`ObjectCatalog.rowsChangedSince`: rows written, changed and deleted since; or why it refuses to compare, a string);
 * else counted, so rows the copy brought are not taken for new ones, and a copied row changed in place since is not
 * seen (the count stays). 0 when the reverse drops no table.
 */
async function rowsSince(
  input: UndoInput,
  s: LedgerStep,
  key: ObjectKey,
  reverse: string[] | null,
  backup: string,
  expand: (sql: string) => string,
): Promise<number | string | { written: number; deleted: number }> {
  const catalog = input.engine.catalog;
  const [schema, ...rest] = backup.split('.');
  // A reverse that drops the backup once it restored from it (a kept column: deploy.keepDroppedColumns) drops no rows.
  const dropsTable = (sql: string) =>
    /^DROP\s+TABLE\b/i.test(sql.replace(COMMENTS, '')) && !sql.includes(rest.join('.') || backup);
  if (!catalog || !reverse?.some(dropsTable)) return 0;
  const table: ObjectKey = { ...key, schema: key.schema && expand(key.schema), name: expand(key.name) };
  const backupKey: ObjectKey = rest.length
    ? { kind: 'table', schema: schema!, name: rest.join('.') }
    : { kind: 'table', schema: table.schema, name: backup };
  const copied = s.statements.some(
    (sql) =>
      /^INSERT\s+INTO\b/i.test(sql.replace(COMMENTS, '')) && sql.toUpperCase().includes(backupKey.name.toUpperCase()),
  );
  try {
    // The engine's own comparison (by key and row hash on Teradata), deletes included.
    if (catalog.rowsChangedSince) {
      const changed = await catalog.rowsChangedSince(input.conn, table, backupKey, { copied });
      if ('refused' in changed) return changed.refused;
      return changed.written || changed.deleted ? changed : 0;
    }
    const live = await catalog.rowCount(input.conn, table);
    return live && copied ? live - (await catalog.rowCount(input.conn, backupKey)) : live;
  } catch {
    // The table or its backup is gone: the reverse itself fails and says so; nothing to count here.
    return 0;
  }
}

/** How many rows of a table the rollback would drop it counts at most (a bounded read, whatever the table's size). */
const ROWS_SEEN = 1000;

/**
 * The rows of table `key`, which the undone deployment created, when the undo drops it: rows written since the
 * deployment, which go with it (counted up to `ROWS_SEEN` + 1: `rowsUpTo`, a bounded read). 0 when the undo drops no
 * table, the table is gone (`rowsUpTo` says null; the undo itself then fails and says so), or the engine has no
 * bounded count (Teradata: its rollback drops such a table as before).
 */
async function rowsInCreated(input: UndoInput, key: ObjectKey, reverse: string[]): Promise<number> {
  const rowsUpTo = input.engine.catalog?.rowsUpTo;
  if (!rowsUpTo || !reverse.some((sql) => /^DROP\s+TABLE\b/i.test(sql.replace(COMMENTS, '')))) return 0;
  // A read that fails fails the rollback's planning: it never drops rows it could not count.
  return (await rowsUpTo(input.conn, key, ROWS_SEEN + 1)) ?? 0;
}

/**
 * What a recorded step did to data that no statement can bring back, from its hazards and its statements. A dropped
 * generated column loses nothing: its recorded reverse adds it back GENERATED, and its values are its expression's.
 */
function dataLoss(s: LedgerStep, packaged: readonly Hazard[]): string | null {
  const hazard = [...s.hazards, ...packaged].find((h) => h.kind === 'data-loss');
  if (hazard) return hazard.message.replace(/^./, (c) => c.toLowerCase());
  const regenerated =
    !!s.reverse?.length && /\bADD\s+COLUMN\b[\s\S]*\bGENERATED\s+ALWAYS\s+AS\s*\(/i.test(s.reverse[0]!);
  for (const raw of s.statements) {
    if (regenerated) break;
    const sql = raw.replace(COMMENTS, '');
    if (/^DROP\s+TABLE\b/i.test(sql)) return `drops a table (${firstLine(sql)})`;
    if (/^TRUNCATE\b/i.test(sql)) return `truncates a table (${firstLine(sql)})`;
    if (
      /^ALTER\s+TABLE\b[\s\S]*?\bDROP\s+(?:COLUMN\s+)?(?!\s)(?!CONSTRAINT\b|DEFAULT\b|NOT\s+NULL\b|IDENTITY\b|EXPRESSION\b)/i.test(
        sql,
      )
    )
      return `drops a column (${firstLine(sql)})`;
  }
  return null;
}

/**
 * Hazards of the statements a rollback runs, for review: what they drop goes with the rows written since deployment
 * `d`. Recorded with the undo's row, by `dbee rollback` and by a BTEQ rollback script alike.
 */
export function reverseHazards(statements: readonly string[], d: Pick<DeploymentRow, 'id'>): Hazard[] {
  const out: Hazard[] = [];
  for (const raw of statements) {
    const sql = raw.replace(COMMENTS, '');
    if (
      /^DROP\s+TABLE\b/i.test(sql) ||
      /^ALTER\s+TABLE\b[\s\S]*?\bDROP\s+(?:COLUMN\s+)?(?!\s)(?!CONSTRAINT\b|DEFAULT\b|NOT\s+NULL\b|IDENTITY\b|EXPRESSION\b)/i.test(
        sql,
      )
    ) {
      out.push({
        kind: 'data-loss',
        message: `${firstLine(sql)}: the data written there since deployment #${d.id} is lost`,
      });
    }
  }
  return out;
}

function firstLine(sql: string): string {
  const line = sql.split('\n')[0]!.trim();
  return line.length > 100 ? line.slice(0, 97) + '...' : line;
}
