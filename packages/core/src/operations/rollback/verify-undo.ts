/** A rollback's dry run proven on a scratch copy of the target's schemas, as a deployment's dry run is. */
import type { ResolvedEnvironment } from '../../config/resolve';
import type { OperationContext } from '../../context/operation-context';
import { schemaOwners, schemasNeeded } from '../../context/load';
import type { Connection, Engine } from '../../engine/engine';
import { DbeeError, ExitCode } from '../../errors';
import { formatKey, parseKey, type ObjectKey } from '../../model/object-key';
import { notVerified } from '../../pipeline/gates';
import { liveProjectPlan, type Plan, type PlanStep } from '../../plan/plan';
import type { SchemaScope } from '../../schema/managed-scope';
import { dependencyStarts } from '../../smoke/stale-views';
import { sendCompensating, type CompensatingStep } from '../../runner/undo';
import type { VerifyProbe } from '../../check/verify-result';
import { verifyPlan, type VerifyInput, type VerifyResult } from '../../runner/verify';
import type { Prepared } from './undo-plan';

/** One project's undo as the copy runs it: its compensating steps, and how the real rollback sends them. */
export interface ProjectUndo {
  project: string;
  /** The project's schemas and search path, as the real rollback sets them (`applyRollback`). */
  graph: { schemas: string[]; searchPath: string[] };
  manage?: SchemaScope['manage'];
  variables: Record<string, string>;
  prepared: Prepared;
  /** The keys the ledger records for the project: what a migration's undo may reach; the project's own views. */
  deployed: readonly string[];
}

/** A compensating step as the copy runs it, with the words that name it as the dry run printed it. */
interface Labelled {
  undo: ProjectUndo;
  step: CompensatingStep;
  /** e.g. `core: undo of deployment #3, step 1/1 (drop column:public.customers.region)`. */
  label: string;
}

/**
 * Stage `verify` of a rollback's dry run (`--no-verify` skips it): every project's compensating steps, in the order the
 * real rollback runs them, applied to a scratch copy of the target's schemas (`verifyPlan`: structure, no data) by the
 * sender the real rollback uses (`sendCompensating`: a view's fallback included), each step in a transaction of its
 * own so that one dry run names every step that fails. The copy also holds the schemas of other projects' views over
 * what the steps change or drop (a view of sales over the column core's undo drops), found on the target as the smoke
 * baseline finds them (`dependentViews`): the database refuses the undo there as it would on the target. Each step
 * that fails is a problem (exit 1) naming the step, the object, the server's message and what stands on the object in
 * other projects; the copy not made is one too. What it proves: the steps apply. Not that the copy then equals the
 * state the rollback goes back to: the real run compares its fingerprint with that state's (rolled-back-to.ts).
 */
export async function verifyUndo(
  ctx: OperationContext,
  target: { engine: Engine; environment: ResolvedEnvironment; conn: Connection },
  undos: readonly ProjectUndo[],
  /** Other projects' views the steps may rewrite in place, looked at on the copy (operations/rollback/rewrites.ts). */
  rewrites?: { probe: VerifyProbe; widen: readonly string[] } | null,
): Promise<DbeeError[]> {
  const { engine, environment, conn } = target;
  const labelled = undos.flatMap(labelledSteps);
  if (!labelled.length) return [];
  const plan: Plan = {
    ...liveProjectPlan(
      engine.name,
      undos[0]!.project,
      labelled.map((l, i) => ({ ...l.step.plan, order: i + 1 })),
    ),
    projects: undos.map((u) => u.project),
    searchPaths: Object.fromEntries(undos.map((u) => [u.project, u.graph.searchPath])),
  };
  const schemas = [...new Set(undos.flatMap((u) => u.graph.schemas))];
  const widen = [
    ...new Set([...(await otherViewSchemas(engine, conn, undos, labelled, schemas)), ...(rewrites?.widen ?? [])]),
  ];
  const failed = new Map<number, string | null>();
  const verdict = await verifyPlan({
    engine,
    conn,
    environment,
    workspaceRoot: ctx.workspace.root,
    plan,
    conflicts: new Map(),
    variables: new Map(undos.map((u) => [u.project, u.variables])),
    schemas,
    shadow: ctx.workspace.config.shadow ?? 'embedded',
    needs: schemasNeeded(ctx, environment),
    widen,
    send: sendOnCopy(engine, labelled, failed),
    ...(rewrites ? { probe: rewrites.probe } : {}),
  });
  if (!verdict.verified) return [notVerified(verdict.skipped ?? 'the copy could not be made')];
  const owners = schemaOwners(ctx, environment);
  say(ctx, verdict, { widened: widen.filter((s) => !schemas.includes(s)), owners, undos });
  const problems: DbeeError[] = [];
  for (const p of verdict.problems) {
    const order = Number(p.details.step);
    problems.push(await stepFailed(target, labelled[order - 1]!, failed.get(order) ?? null, p, owners));
  }
  return problems;
}

/**
 * The copy's sender (`VerifyInput.send`): a labelled step by `sendCompensating`, in a transaction of its own where it
 * has one, with the project's schemas for a view's fallback as the real run gives them; the statement that failed is
 * kept in `failed` by the step's order.
 */
function sendOnCopy(
  engine: Engine,
  labelled: readonly Labelled[],
  failed: Map<number, string | null>,
): NonNullable<VerifyInput['send']> {
  return async (copy, step) => {
    const { undo, step: s } = labelled[step.order - 1]!;
    const inTransaction = step.transactional && engine.capabilities.transactionalDdl;
    let last: string | null = null;
    try {
      if (inTransaction) await copy.execute('BEGIN');
      await sendCompensating(copy, engine, s, {
        inTransaction,
        scope: { schemas: undo.graph.schemas, ...(undo.manage ? { manage: undo.manage } : {}) },
        onStatement: (sql) => (last = sql),
      });
      if (inTransaction) await copy.execute('COMMIT');
      return { error: null, statement: null };
    } catch (e) {
      if (inTransaction) await copy.execute('ROLLBACK').catch(() => {});
      failed.set(step.order, last);
      return { error: e as Error, statement: last };
    }
  };
}

/** What the copy proved, said: the schemas it took besides, rows it lacked, and the steps that ran (and failed). */
function say(
  ctx: OperationContext,
  verdict: VerifyResult,
  what: { widened: string[]; owners: ReadonlyMap<string, string>; undos: readonly ProjectUndo[] },
): void {
  const { reporter } = ctx;
  const { widened, owners } = what;
  if (widened.length)
    reporter.info(
      `dry run: the copy also holds ${widened.map((s) => `schema ${s} (${owners.has(s) ? `project ${owners.get(s)}` : 'no project'})`).join(', ')}: views there stand on what the rollback changes`,
    );
  for (const w of verdict.warnings) reporter.info(`dry run: ${w}`);
  const steps = `${verdict.ran} step${verdict.ran === 1 ? '' : 's'}`;
  const left = what.undos.flatMap((u) => stepsOf(u.prepared)).filter((s) => s.skip).length;
  const also = left ? `; ${left} left as ${left === 1 ? 'it is' : 'they are'} (--force), not run` : '';
  const ran = "dry run: the rollback ran on a scratch copy of the target's schemas";
  if (verdict.problems.length) reporter.info(`${ran} (${steps}, ${verdict.problems.length} failing${also})`);
  else
    reporter.info(
      `${ran} (${steps}, all applied${also}); ` +
        "the copy is not compared with the state it goes back to: the real run's check compares that (docs/rollback.md)",
    );
}

/** Every compensating step of a project's undo, in the order the real rollback runs them (`undoAll`). */
function stepsOf(p: Prepared): CompensatingStep[] {
  return [...p.units.flatMap((u) => u.steps), ...(p.toRef?.steps ?? [])];
}

/** The steps of a project's undo that run (not those `--force` leaves as they are), named as the dry run printed them. */
function labelledSteps(undo: ProjectUndo): Labelled[] {
  const named = (steps: CompensatingStep[], what: string) =>
    steps
      .filter((s) => !s.skip)
      .map((step) => ({
        undo,
        step,
        label: `${undo.project}: ${what}, step ${step.plan.order}/${steps.length} (${step.plan.action} ${step.plan.key})`,
      }));
  const { units, toRef } = undo.prepared;
  return [
    ...units.flatMap((u) => named(u.steps, `undo of deployment #${u.deployment.id}`)),
    ...(toRef ? named(toRef.steps, `going back to ${toRef.ref}`) : []),
  ];
}

/**
 * The schemas outside `schemas` of the views that stand, on the target, on what the steps change or drop (a drop
 * too: the database refuses it while a view stands on it, and the copy must refuse it as the target would), with
 * the query the smoke baseline uses (`SmokeDialect.dependentViews`). Empty when the engine cannot tell.
 */
async function otherViewSchemas(
  engine: Engine,
  conn: Connection,
  undos: readonly ProjectUndo[],
  labelled: readonly Labelled[],
  schemas: readonly string[],
): Promise<string[]> {
  const found = new Set<string>();
  for (const undo of undos) {
    const steps = labelled.filter((l) => l.undo === undo).map((l) => l.step.plan);
    for (const view of await viewsOver(engine, conn, undo, steps))
      if (!schemas.includes(view.schema)) found.add(view.schema);
  }
  return [...found].sort();
}

/** The views of the whole database that stand on the objects `steps` change or drop (the project's own left out). */
async function viewsOver(
  engine: Engine,
  conn: Connection,
  undo: ProjectUndo,
  steps: readonly PlanStep[],
): Promise<ObjectKey[]> {
  if (!engine.smoke?.dependentViews || !steps.length) return [];
  const deployed = undo.deployed.map(parseKey);
  // Every step changes its object in place as the baseline reads it: a drop as much as an ALTER.
  const starts = dependencyStarts(
    steps.map((s) => ({ key: s.objectKey, order: s.order, action: 'alter', project: undo.project })),
    undo.project,
    deployed,
  );
  if (!starts.length) return [];
  const own = new Set(deployed.map(formatKey));
  return (await engine.smoke.dependentViews(conn, starts, deployed)).filter((v) => !own.has(formatKey(v)));
}

/**
 * A step that fails on the copy, as a refusal a database engineer can act on: the step as the dry run printed it, the
 * server's message and detail, the statement, and what to do: when views of other projects stand on its object, roll
 * those projects back first (or change those views); else fix the reverse, or undo less.
 */
async function stepFailed(
  target: { engine: Engine; environment: ResolvedEnvironment; conn: Connection },
  failing: Labelled,
  statement: string | null,
  problem: DbeeError,
  owners: ReadonlyMap<string, string>,
): Promise<DbeeError> {
  const { engine, environment, conn } = target;
  const cause = problem.cause ?? problem;
  const mapped = cause instanceof DbeeError ? cause : engine.mapError(cause, { statement: statement ?? undefined });
  const server = mapped.message.replace(/\s+$/, '');
  const standing = await viewsOver(engine, conn, failing.undo, [failing.step.plan]);
  const projects = [...new Set(standing.map((v) => owners.get(v.schema)).filter((p): p is string => !!p))];
  const unowned = standing.filter((v) => !owners.has(v.schema));
  const views = standing.map((v) => `${v.schema}.${v.name}${owners.has(v.schema) ? ` (${owners.get(v.schema)})` : ''}`);
  const fails = 'the real rollback would fail at this step (exit 2)';
  const hint = standing.length
    ? `${views.join(', ')} ${standing.length === 1 ? 'stands' : 'stand'} on ${failing.step.plan.key} in the target: ${fails}. ` +
      (projects.length
        ? `Roll back ${projects.join(' and ')} first: ${projects.map((p) => rollbackOf(p, standing, owners, environment.name)).join('; ')}${unowned.length ? '; and' : ''} `
        : '') +
      (unowned.length
        ? `drop or change ${unowned.map((v) => `${v.schema}.${v.name}`).join(', ')} (no project owns ${unowned.length === 1 ? 'its schema' : 'their schemas'}) `
        : projects.length
          ? 'or change those views so they no longer need it, '
          : '') +
      'then run this dry run again'
    : `${fails}: fix what the server says (the step's reverse is recorded in the ledger; a migration's is its rollback script), or undo less (--to, --objects); then run this dry run again (--no-verify skips this check)`;
  return new DbeeError(`${failing.label} fails on a scratch copy of the target's schemas: ${server}`, {
    code: 'DRY_RUN_FAILED',
    hint,
    exitCode: ExitCode.invalid,
    details: {
      project: failing.undo.project,
      step: failing.step.plan.order,
      object: failing.step.plan.key,
      ...(failing.step.undoes ? { deployment: failing.step.undoes.deployment.id } : {}),
      ...(standing.length ? { dependents: standing.map(formatKey) } : {}),
    },
    cause,
  });
}

/** The rollback of `project` that takes away its views among `standing`: the last deployment, or only those views. */
function rollbackOf(
  project: string,
  standing: readonly ObjectKey[],
  owners: ReadonlyMap<string, string>,
  env: string,
): string {
  const views = standing.filter((v) => owners.get(v.schema) === project).map((v) => `--objects ${formatKey(v)}`);
  return `dbee rollback ${project} --env ${env} (or only what stands on it: ${views.join(' ')})`;
}
