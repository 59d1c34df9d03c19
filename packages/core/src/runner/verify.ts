import type { ResolvedEnvironment } from '../config/resolve';
import { planChanges } from '../planner/plan-changes';
import { requireRole, type Connection, type Engine, type MissingRows } from '../engine/engine';
import { DbeeError, ExitCode } from '../errors';
import type { Plan, PlanStep } from '../plan/plan';
import { emptyModel, type SchemaModel } from '../schema/model';
import { rolesNamed } from '../schema/named-roles';
import { expandedSearchPath } from '../sources/key-name';
import { runStatements } from './batch';
import { otherDependentKeys } from './recreate-dependents';
import { stepStatements } from '../plan/step-statements';
import type { Convergence, VerifyProbe, VerifyResult } from '../check/verify-result';

export type { VerifyProbe, VerifyResult } from '../check/verify-result';
import type { StepConflict } from './step-conflict';
import { inBackground } from '../background';
import {
  closedModel,
  compileViewsOnCopy,
  dependentViewSchemas,
  schemasUsed,
  type VerifiedViews,
  type VerifyBaseline,
} from './verify-views';

/** What `verifyPlan` needs: the target (read only), the plan as it would run, and where to build the copy. */
export interface VerifyInput {
  engine: Engine;
  /** The target's session: only its catalog is read. Null with `from`. */
  conn: Connection | null;
  /**
   * The schema to copy instead of the target's catalog: the side a plan starts from when it is no database (a diff
   * of two git refs starts from the base's desired model).
   */
  from?: SchemaModel;
  environment: ResolvedEnvironment;
  workspaceRoot: string;
  plan: Plan;
  /** Conflict resolutions by step order: their statements run around the step's own, as in the real run. */
  conflicts: ReadonlyMap<number, StepConflict>;
  /** Variables per project for `{{name}}` in step statements. */
  variables: ReadonlyMap<string, Record<string, string>>;
  /** Every schema the plan may touch or read (the planned projects' and their dependencies'). */
  schemas: string[];
  /** Where the scratch database lives: `embedded` (PGlite) or `server` (a scratch database on the target's server). */
  shadow: 'embedded' | 'server';
  /**
   * Looks at the copy twice: once it holds the target's schemas (before any step) and once every step ran on it
   * (the compatibility check describes the application's queries there). Not called when the copy cannot be made.
   */
  probe?: VerifyProbe;
  /**
   * The smoke baselines the real run would run after this plan (deploy: each project whose smoke checks run after it
   * deploys). With them, the copy also holds the schemas of the other projects' views over what the plan changes in
   * place (found on the target, with every schema those schemas' objects need), and once every step applied there, the
   * views those baselines would compile are compiled on it: each that fails is a problem. Absent: no view compiled.
   */
  baseline?: readonly VerifyBaseline[];
  /**
   * Compares the copy, once every step applied on it, with the sources (`convergence` in diffing/converge.ts, given
   * the copy's session): the result's `convergence`. Not called when a step failed. Absent: not compared.
   */
  converge?: (copy: Connection) => Promise<Convergence>;
  /**
   * The schemas a schema's objects may read besides what the catalog read shows (`schemasNeeded`: its project's and its
   * dependencies'): a copy that takes a schema takes these too. Absent: the catalog's only.
   */
  needs?: (schema: string) => readonly string[];
  /**
   * Schemas copied besides `schemas` (with every schema their objects need), said as `widened`: a rollback's, those of
   * other projects' views over what its steps change or drop (operations/rollback/verify-undo.ts). Absent: none.
   */
  widen?: readonly string[];
  /**
   * Sends one step on the copy instead of its statements as a plan's step is sent: a rollback's compensating step, by
   * the sender the real rollback uses (its fallback included). It opens and ends the step's transaction and leaves
   * none open; `statement`: the one that failed. Absent: the step's statements, in one transaction when it has one.
   */
  send?: (copy: Connection, step: PlanStep) => Promise<{ error: Error | null; statement: string | null }>;
}

/**
 * Prove a plan before a dry run says it would apply: copy the target's schemas (their structure, no data) into a
 * shadow database, from the live model read from the target's catalog, then apply every step of the plan there, in
 * order, as the real run would (conflict statements, search paths, migrations included). Every step that fails is
 * a problem located at its source file and line; the later steps still run, so one dry run names them all. The one
 * exception is a failure that can come only from rows the copy lacks (`DiffRole.missingRows`: a foreign key whose
 * referenced row the target holds): said, naming the table and the rows, not refused; `already exists`, `does not
 * exist` and type errors never are (ARCHITECTURE invariant 12). With `baseline`, the views the real
 * run's smoke baselines would compile after the plan are compiled there too (runner/verify-views.ts). The
 * target is only read. What cannot be verified this way: anything that depends on rows (a migration's data, a
 * constraint that existing rows break) and objects outside the copied schemas other than roles.
 */
export async function verifyPlan(input: VerifyInput): Promise<VerifyResult> {
  const { engine, plan } = input;
  const none = (skipped: string): VerifyResult => ({
    verified: false,
    skipped,
    problems: [],
    warnings: [],
    copied: 0,
    ran: 0,
    views: { compiled: 0, problems: [] },
  });
  if (!engine.diff) return none(`the ${engine.name} engine has no shadow database to apply the plan to`);
  if (!plan.steps.length && !input.probe)
    return { verified: true, problems: [], warnings: [], copied: 0, ran: 0, views: { compiled: 0, problems: [] } };
  const opened = await openCopy(input);
  if ('skipped' in opened) return none(opened.skipped);
  const { shadow, copied, live } = opened;
  const sent = (step: PlanStep) =>
    stepStatements(step, input.variables.get(step.project) ?? {}, input.conflicts.get(step.order));
  try {
    const conn = shadow.conn;
    await input.probe?.before(conn, live);
    const problems: DbeeError[] = [];
    const warnings: string[] = [];
    let path: string | null = null;
    for (const step of plan.steps) {
      const variables = input.variables.get(step.project) ?? {};
      const searchPath = expandedSearchPath(
        plan.searchPaths?.[step.project],
        variables,
        engine.capabilities.keyNames,
        `search path of ${step.project}`,
      );
      const set = searchPath.length ? engine.session.searchPath(searchPath) : null;
      if (set && set !== path) {
        await conn.execute(set);
        path = set;
      }
      const transactional = step.transactional && engine.capabilities.transactionalDdl;
      const result = input.send ? await input.send(conn, step) : await sendOnCopy(conn, sent(step), transactional);
      if (!result.error) continue;
      // A SET in the rolled-back transaction is undone with it.
      if (transactional) path = null;
      const problem = problemOf(engine, step, result.statement, result.error);
      // Only an error that can come solely from rows the copy lacks, and that the target holds, is not the step's.
      // With no target to ask (a copy made from a model) nothing shows the rows exist: the failure stands.
      const lacking = await engine.diff.missingRows?.(result.error, conn, input.conn);
      if (lacking?.onTarget === true) warnings.push(lackingRows(problem, lacking));
      else problems.push(problem);
    }
    // The smoke baselines' views, once every step applied (after a failed step the copy is not the plan's outcome).
    const views =
      input.baseline && !problems.length
        ? await compileViewsOnCopy(engine, conn, plan, input.baseline)
        : { compiled: 0, problems: [] };
    // Verified means converged: the copy, once every step applied, compared with the sources.
    const convergence = input.converge && !problems.length ? await input.converge(conn) : null;
    await input.probe?.after(conn);
    return { verified: true, problems, warnings, copied, ran: plan.steps.length, views, convergence };
  } finally {
    // Dropped while the dry run reports (runOperation waits for it at the end).
    inBackground(shadow.dispose());
  }
}

/** A plan step's statements on the copy, in one transaction when it has one (rolled back when one fails). */
async function sendOnCopy(
  conn: Connection,
  statements: readonly string[],
  transactional: boolean,
): Promise<{ error: Error | null; statement: string | null }> {
  const result = await runStatements(conn, transactional ? ['BEGIN', ...statements, 'COMMIT'] : statements);
  if (!result.error) return { error: null, statement: null };
  if (transactional) await conn.execute('ROLLBACK').catch(() => {});
  const statement = transactional ? statements[result.completed - 1] : statements[result.completed];
  return { error: result.error, statement: statement ?? null };
}

/**
 * A scratch database holding a copy of the target's schemas (structure, no data; `modelToCopy`), with the roles the
 * copy and the plan's statements name; `skipped` says why it could not be made. `widened`: the schemas of other
 * projects' views over what the plan changes, copied with them (`VerifyInput.baseline`). The caller disposes of it.
 */
export async function openCopy(
  input: VerifyInput,
): Promise<
  | { shadow: { conn: Connection; dispose(): Promise<void> }; copied: number; widened: string[]; live: SchemaModel }
  | { skipped: string }
> {
  const { engine, plan } = input;
  const diff = requireRole(engine, 'diff', 'copy the target into a scratch database');
  const { live, widened } = await modelToCopy(input);
  const copy = planChanges(engine, diff.newDatabase?.(live) ?? emptyModel(), live, {
    project: 'verify',
    online: false,
  }).steps;
  // Each step's statements as the real run sends them (the runner renders them by the same function).
  const sent = (step: PlanStep) =>
    stepStatements(step, input.variables.get(step.project) ?? {}, input.conflicts.get(step.order));
  const roles = rolesNamed(
    [...copy.flatMap((s) => s.statements), ...plan.steps.flatMap(sent)],
    diff.facts.builtInRoles,
  );
  const shadow = await diff.openShadow(input.shadow, input.environment, { workspaceRoot: input.workspaceRoot, roles });
  const conn = shadow.conn;
  // The settings the target database gives its sessions (the real run's): what the copy compiles may read them.
  const settings = input.conn && diff.targetSettings ? await diff.targetSettings(input.conn) : [];
  const copyStatements = copy.flatMap((s) => s.statements);
  // The copy is made in the dependency order the catalog records; what it does not record (a SQL function's body
  // reading a view) is not checked while copying (the target holds it already), and is checked again for the plan.
  const relax = diff.copySettings?.relax ?? [];
  const restore = diff.copySettings?.restore ?? [];
  const before = [...settings, ...relax];
  const built = await runStatements(conn, [...before, 'BEGIN', ...copyStatements, 'COMMIT']);
  if (built.error) {
    await conn.execute('ROLLBACK').catch(() => {});
    inBackground(shadow.dispose());
    const failed = copyStatements[built.completed - before.length - 1] ?? '';
    const also = widened.length
      ? `, with the schemas of the views that stand on what the plan changes: ${widened.join(', ')}`
      : '';
    return {
      skipped: `dbee could not copy the target's schemas${also} into a scratch database (${built.error.message.split('\n')[0]}${failed ? ` on: ${failed.replace(/\s+/g, ' ').slice(0, 120)}` : ''})`,
    };
  }
  for (const sql of restore) await conn.execute(sql);
  return { shadow, copied: copyStatements.length, widened, live };
}

/**
 * The schema to copy: `from`, or the target's schemas read from its catalog, widened (`widened`: the schemas added)
 * with those of the other projects' views over what the plan changes in place and every schema they need.
 */
async function modelToCopy(input: VerifyInput): Promise<{ live: SchemaModel; widened: string[] }> {
  const { engine } = input;
  if (input.from) return { live: input.from, widened: [] };
  if (!input.conn) throw new Error('verifyPlan needs the target (conn) or the model to copy (from)');
  const baselineSchemas = await dependentViewSchemas(
    engine,
    input.conn,
    input.plan,
    input.baseline ?? [],
    input.schemas,
  );
  // The schemas of objects the plan's steps drop and create again outside the planned projects' (other projects'
  // views over a view whose columns change): the copy must hold them for the steps to run there as on the target.
  const stepSchemas = input.plan.steps
    .flatMap((s) => [s.objectKey, ...otherDependentKeys(s.notes)])
    .map((k) => (k.kind === 'schema' ? k.name : k.schema))
    .filter((s): s is string => !!s && !input.schemas.includes(s));
  const widen = (input.widen ?? []).filter((s) => !input.schemas.includes(s));
  const extra = [...new Set([...baselineSchemas, ...stepSchemas, ...widen])];
  const diff = requireRole(engine, 'diff', 'verify a plan on a copy of the target');
  // With the aggregates, which the differ does not compare but the copy's views and routines call.
  if (!extra.length) {
    const live = await diff.introspect(input.conn, { schemas: input.schemas, aggregates: true });
    // With the schemas its objects need besides (the types of an extension in a schema of its own, PostGIS in
    // `postgis`; the functions of an expanded table's sync triggers, in the ledger's schema), and what they need.
    const system = diff.facts.systemSchemas;
    const used = [
      ...schemasUsed(live),
      ...((await diff.extensionSchemas?.(input.conn, input.schemas)) ?? []),
      ...input.schemas.flatMap((s) => input.needs?.(s) ?? []),
    ];
    const needed = [...new Set(used)].filter((s) => !input.schemas.includes(s) && !system?.test(s));
    if (!needed.length) return { live, widened: [] };
    const closed = await closedModel(engine, input.conn, [...input.schemas, ...needed], input.needs);
    return { live: closed.live, widened: [] };
  }
  const closed = await closedModel(engine, input.conn, [...input.schemas, ...extra], input.needs);
  return { live: closed.live, widened: closed.schemas.filter((s) => !input.schemas.includes(s)).sort() };
}

/** A step's failure that only rows the copy lacks explain, said with those rows (`VerifyResult.warnings`). */
function lackingRows(problem: DbeeError, lacking: MissingRows): string {
  const where = problem.location ? `${problem.location.file}:${problem.location.line}: ` : '';
  return `${where}${problem.message.split('\n')[0]} (not refused: it needs the row ${lacking.rows} of ${lacking.table}; the target holds it, the copy holds none of the target's rows)`;
}

/** A step that fails on the copy, as a refusal at its source file and line, with the failing statement. */
function problemOf(engine: Engine, step: PlanStep, statement: string | null, error: Error): DbeeError {
  const mapped = error instanceof DbeeError ? error : engine.mapError(error, { statement: statement ?? undefined });
  const first = mapped.message.split('\n')[0];
  const sql = statement ? `\n  statement: ${statement.replace(/\s+/g, ' ').trim().slice(0, 200)}` : '';
  // What the step also does, with where those objects are defined (other projects' views it drops and creates again).
  const notes = (step.notes ?? [])
    .filter((n) => n.startsWith('with: '))
    .map((n) => `\n  ${n}`)
    .join('');
  return new DbeeError(
    `step ${step.order} (${step.action} ${step.key}) fails on a copy of the target's schemas: ${first}${sql}${notes}`,
    {
      code: 'DRY_RUN_FAILED',
      location: step.source ? { file: step.source.file, line: step.source.line } : undefined,
      hint: 'the real run would fail at this step (exit 2); fix the source and run the dry run again (--no-verify skips this check)',
      exitCode: ExitCode.invalid,
      details: { step: step.order },
      cause: error,
    },
  );
}

/**
 * Steps that drop a table holding rows (a plan step, or the `drop` conflict strategy) get a `data-loss` hazard, read
 * from the target (one `SELECT ... LIMIT 1` per such table). For engines with a `diff` role (they read a catalog).
 */
export async function markDataLoss(
  engine: Engine,
  conn: Connection,
  plan: Plan,
  conflicts: ReadonlyMap<number, StepConflict>,
): Promise<void> {
  if (!engine.diff) return;
  for (const step of plan.steps) {
    if (step.objectKey.kind !== 'table' || step.hazards.some((h) => h.kind === 'data-loss')) continue;
    const dropsIt = step.action === 'drop' || conflicts.get(step.order)?.strategy === 'drop';
    if (!dropsIt || !step.objectKey.schema) continue;
    const name = `${quote(step.objectKey.schema)}.${quote(step.objectKey.name)}`;
    const rows = await conn.query(`SELECT 1 AS present FROM ${name} LIMIT 1`).then(
      (r) => r.rows.length > 0,
      () => false,
    );
    if (rows)
      step.hazards = [
        ...step.hazards,
        { kind: 'data-loss', message: `drops table ${step.objectKey.schema}.${step.objectKey.name}, which holds rows` },
      ];
  }
}

function quote(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}
