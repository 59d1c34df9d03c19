import { Writable } from 'node:stream';
import type { ResolvedEnvironment } from '../config/resolve';
import { durationMs } from '../config/units';
import type { OperationContext } from '../context/operation-context';
import { convergence } from '../diffing/converge';
import type { Connection, Engine } from '../engine/engine';
import { DbeeError, ExitCode } from '../errors';
import type { Ledger } from '../ledger/ledger';
import { openLedger } from '../ledger/open-ledger';
import type { LoadedPackage } from '../package/package';
import { ROLLBACK_PROOF, writeRollbackProof } from '../package/rollback-proof';
import { parseKey, type ObjectKey } from '../model/object-key';
import type { Plan, PlanStep } from '../plan/plan';
import type { ProjectModel } from '../planner/project-model';
import { formatDuration, type Reporter } from '../runner/reporter';
import { runPlan, type TransactionScope } from '../runner/runner';
import type { StepConflict } from '../runner/step-conflict';
import { openCopy } from '../runner/verify';
import type { SchemaModel } from '../schema/model';
import { discoverSources } from '../sources/discover';
import { loadSmokeChecks, runSmokeChecks, smokeTimeoutMs } from '../smoke';
import { rollbackLastDeployment } from './rollback';

/** The rollback test's default bound on the rollback's duration on the copy (`verify.rollbackWithin`): 5 minutes. */
export const ROLLBACK_WITHIN_MS = 5 * 60_000;
/** The rows per table the copy holds from the target by default (`verify.sampleRows`). */
export const SAMPLE_ROWS = 1000;

/** The marker of a step its release does not mean to undo: `-- dbee:irreversible <reason>` in its source file. */
const IRREVERSIBLE = /^\s*--\s*dbee:irreversible\b[ \t]*(.*)$/m;

export interface RollbackTestInput {
  engine: Engine;
  /** The target's session: only read (its catalog, and up to `sampleRows` rows of the tables the release touches). */
  conn: Connection;
  environment: ResolvedEnvironment;
  models: readonly ProjectModel[];
  plan: Plan;
  conflicts: ReadonlyMap<number, StepConflict>;
  variables: ReadonlyMap<string, Record<string, string>>;
  planChecksum: string;
  scope: TransactionScope;
  /** Every schema of the environment's projects (where objects standing on a view put back are looked for). */
  everySchema: string[];
  /** Fails the test when the rollback takes longer on the copy (ms). */
  withinMs: number;
  /** Rows per table copied from the target into the copy and compared before and after (0: none read). */
  sampleRows: number;
  /** Rows of particular tables (`schema.name`), over `sampleRows` (`verify.sampleTables`; 0: the table is never read). */
  sampleTables?: Readonly<Record<string, number>>;
  /**
   * A rollback proven on the sample only is accepted (`verify.allowSampledRows`): without it, a release that writes
   * rows of a table holding more rows than the copy takes is refused ("not proven for rows outside the sample").
   */
  allowSampledRows?: boolean;
  /**
   * What the ledger records for each planned project before the release (its object keys): the copy then also holds
   * the other projects' views over what the release changes in place, and the comparison covers them (they must be
   * put back by the rollback too). Absent: only the projects' schemas.
   */
  deployed?: ReadonlyMap<string, { objects: ReadonlyMap<string, string> }>;
}

/** One step of the release as the test judged its undo. */
export interface RollbackTestStep {
  order: number;
  key: string;
  /** How long its undo took on the copy (ms; 0 when it had none). */
  durationMs: number;
  /** What its undo left different from the state before the release (statements that would put it back), or rows. */
  differences: string[];
  /** The reason given by `-- dbee:irreversible`, when the release declares it irreversible on purpose. */
  irreversible?: string;
}

export interface RollbackTestResult {
  /** True when the rollback ran on the copy and left no difference that was not declared. */
  proven: boolean;
  durationMs: number;
  withinMs: number;
  steps: RollbackTestStep[];
  /** Each refuses the dry run (exit 1). */
  problems: DbeeError[];
  /**
   * The tables the release writes rows of that hold more rows than the copy took (`bound`): the rollback is not proven
   * for their rows outside the sample (refused unless `allowSampledRows`).
   */
  unproven: { table: string; bound: number; step: number }[];
  /** The columns a touch trigger sets on every UPDATE, left out of the rows' comparison (the release never names them). */
  uncompared: { table: string; column: string; trigger: string }[];
  /** The smoke checks that fail on the copy before the release as after it, with the same message: not judged. */
  smokeUnjudged: string[];
}

/**
 * Prove a release's rollback before it is needed (docs/rollback-readiness.md): on a scratch copy of the target's
 * schemas (with a ledger of its own, and a sample of the target's rows of the tables the release touches), deploy the
 * plan by the runner the real run uses, then roll each project's deployment back by the code `dbee rollback` uses
 * (`rollbackLastDeployment`), newest project first, and compare the copy with its state before the release: its
 * objects by the convergence check a dry run and a deployment end with (diffing/converge.ts, over the whole of the
 * projects' schemas, grants and comments included), and the sampled rows. Each step whose undo leaves a difference, each step `dbee rollback` would refuse (no reverse, or data lost
 * without a backup under the environment's settings) and a rollback slower than `withinMs` is a problem, unless the
 * step's source declares it irreversible (`-- dbee:irreversible <reason>`: then listed). The target is only read.
 */
export async function testRollback(ctx: OperationContext, input: RollbackTestInput): Promise<RollbackTestResult> {
  const { engine, plan, models } = input;
  const result: RollbackTestResult = {
    proven: false,
    durationMs: 0,
    withinMs: input.withinMs,
    steps: plan.steps.map((s) => ({ order: s.order, key: s.key, durationMs: 0, differences: [] })),
    problems: [],
    unproven: [],
    uncompared: [],
    smokeUnjudged: [],
  };
  const diff = engine.diff;
  if (!diff) {
    result.problems.push(untested(`the ${engine.name} engine has no scratch database to test it on`));
    return result;
  }
  const declared = irreversibleSteps(plan, models);
  for (const s of result.steps) if (declared.has(s.order)) s.irreversible = declared.get(s.order);
  const own = [...new Set(models.flatMap((m) => m.graph.schemas))];
  const opened = await openCopy({
    engine,
    conn: input.conn,
    environment: input.environment,
    workspaceRoot: ctx.workspace.root,
    plan,
    conflicts: input.conflicts,
    variables: input.variables,
    schemas: own,
    shadow: ctx.workspace.config.shadow ?? 'embedded',
    // The other projects' views over what the release changes in place are copied too: their rollback is tested.
    baseline: input.deployed
      ? models.map((model) => ({
          model,
          deployed: [...(input.deployed!.get(model.project.name)?.objects.keys() ?? [])],
          timeoutMs: 0, // nothing is compiled here: the baseline only widens the copy
        }))
      : undefined,
  });
  if ('skipped' in opened) {
    result.problems.push(untested(opened.skipped));
    return result;
  }
  const schemas = [...own, ...opened.widened];
  if (opened.widened.length)
    ctx.reporter.info(
      `rollback test: the copy holds the schemas of the views that stand on what the release changes (${opened.widened.join(', ')}): the rollback must put them back too`,
    );
  const copy = ownSession(opened.shadow.conn);
  try {
    const before = await diff.introspect(copy, { schemas });
    const sample = await sampleRows(engine, input, copy, before);
    if (sample instanceof DbeeError) return { ...result, problems: [sample] };
    const sampled = sample.tables;
    result.uncompared = await uncomparedColumns(engine, copy, sampled, plan);
    const rowsBefore = await readRows(engine, copy, sampled, result.uncompared);
    const ledger = openLedger(copy, engine.ledger);
    await ledger.tables.ensure();
    const quiet = quietContext(ctx);
    const smokeBefore = await smokeOnCopy(ctx, input, copy);
    const failed = notApplied(await applyOnCopy(ctx, input, copy, quiet));
    if (failed) return { ...result, problems: [untested(`the release does not apply on the copy (${failed})`)] };
    const smokeAfter = await smokeOnCopy(ctx, input, copy);
    result.problems.push(...judgeSmoke(input, smokeBefore, smokeAfter, result, touchedTables(before, plan)));
    await undoOnCopy(ctx, input, copy, ledger, quiet, declared, result);
    await leftOnCopy(ctx, input, copy, { schemas, model: before, rows: rowsBefore }, result);
    judge(result, plan, input.withinMs, rollbackScripts(plan, models));
    notProven(result, plan, sample.beyond, input);
    result.proven = !result.problems.length;
    return result;
  } finally {
    await opened.shadow.dispose().catch(() => {});
  }
}

/**
 * The first project of the release that did not apply on the copy, said in a few words; null when all did. A project
 * the release leaves as it is (a dependency with nothing to deploy: `unchanged`) is not a failure.
 */
function notApplied(run: Awaited<ReturnType<typeof runPlan>>): string | null {
  const failed = run.projects.find((p) => p.status !== 'succeeded' && p.status !== 'unchanged');
  if (!failed) return null;
  return `${failed.project}: ${failed.status}${failed.error ? `: ${failed.error.message.split('\n')[0]}` : ''}`;
}

/**
 * What the rollback did not put back on the copy, given to the release step it concerns: the objects (as the
 * statements that would restore them) and the rows of the tables the copy holds (`before.rows`).
 */
async function leftOnCopy(
  ctx: OperationContext,
  input: RollbackTestInput,
  copy: Connection,
  before: { schemas: string[]; model: SchemaModel; rows: Map<string, string[]> },
  result: RollbackTestResult,
): Promise<void> {
  const { engine, plan } = input;
  // The check a dry run and a deployment end with (diffing/converge.ts), against the state before the release, over
  // the whole of the copied schemas: a migration's rollback script names no object, and must put back all it changed.
  const left = await convergence(ctx, {
    engine,
    environment: input.environment,
    models: input.models,
    conn: copy,
    steps: plan.steps,
    against: {
      label: 'the state before the release',
      scope: { schemas: before.schemas },
      model: async () => before.model,
      owners: false,
    },
    whole: true,
  });
  for (const d of left.divergences)
    stepOf(result, plan, parseKey(d.object)).differences.push(`${d.object}: ${d.what.join(', ')}`);
  const rowsAfter = await readRows(engine, copy, [...before.rows.keys()], result.uncompared);
  for (const [table, rows] of before.rows) {
    const left = rowDifference(rows, rowsAfter.get(table) ?? []);
    if (left) stepOf(result, plan, null, table).differences.push(left);
  }
}

/** The release deployed on the copy by the runner the real run uses, quietly, under an identity that names the test. */
function applyOnCopy(ctx: OperationContext, input: RollbackTestInput, copy: Connection, quiet: OperationContext) {
  const { engine, plan, models } = input;
  return runPlan({
    engine,
    conn: copy,
    plan,
    environment: input.environment.name,
    variables: input.variables,
    identity: {
      package: null,
      gitCommit: null,
      toolVersion: ctx.toolVersion,
      osUser: 'dbee',
      ciJob: null,
      host: 'rollback-test',
    },
    planChecksum: input.planChecksum,
    reporter: quiet.reporter,
    transaction: input.scope,
    conflicts: input.conflicts,
    schemas: new Map(models.map((m) => [m.project.name, m.graph.schemas])),
  });
}

/** Each project's deployment on the copy rolled back by the code `dbee rollback` uses, timed; its refusals as problems. */
async function undoOnCopy(
  ctx: OperationContext,
  input: RollbackTestInput,
  copy: Connection,
  ledger: Ledger,
  quiet: OperationContext,
  declared: Map<number, string>,
  result: RollbackTestResult,
): Promise<void> {
  const { engine, plan, models } = input;
  // Each project's deployment rolled back, the last deployed first; each step's undo timed as it runs.
  const timed = new Map<string, number>();
  quiet.reporter.stepDone = (_i, _n, step, outcome) => timed.set(step.key, outcome.durationMs);
  const t0 = Date.now();
  for (const project of [...new Set(plan.steps.map((s) => s.project))].reverse()) {
    const model = models.find((m) => m.project.name === project);
    if (!model) continue;
    const undone = await rollbackLastDeployment(quiet, {
      engine,
      conn: copy,
      ledger,
      project,
      environment: input.environment.name,
      sources: model.files.length ? discoverSources(ctx.workspace.root, model.project) : null,
      searchPath: model.graph.searchPath,
      variables: model.variables,
      schemas: model.graph.schemas,
      everySchema: input.everySchema,
    });
    if (!undone) continue;
    for (const p of undone.problems) {
      const order = Number((p.details as { step?: unknown } | undefined)?.step);
      const step = plan.steps.find((s) => s.project === project && s.order === order);
      if (step && declared.has(step.order)) continue;
      result.problems.push(
        DbeeError.carrying(p.code, `rollback test: ${p.message.replace(/ of deployment #\d+/, '')}`, {
          location: step?.source ?? undefined,
          hint: `${p.hint ?? ''}${p.hint ? '; ' : ''}or declare the step irreversible on purpose: a line \`-- dbee:irreversible <reason>\` in its source file (docs/rollback-readiness.md)`,
          exitCode: ExitCode.invalid,
          details: p.details,
        }),
      );
    }
    if (undone.result.status === 'failed')
      result.problems.push(
        new DbeeError(
          `rollback test: the rollback of ${project} fails on the copy: ${undone.result.error?.message.split('\n')[0] ?? 'unknown error'}`,
          {
            code: 'ROLLBACK_TEST_FAILED',
            hint: "the rollback would fail in production too: fix the reverse (a migration's rollback script) and run the dry run again",
            exitCode: ExitCode.invalid,
          },
        ),
      );
  }
  result.durationMs = Date.now() - t0;
  for (const s of result.steps) s.durationMs = timed.get(s.key) ?? 0;
}

/** The failed smoke checks of each project, by project: each check's name, message and body (what it reads). */
type SmokeFailures = Map<string, { name: string; message: string; reads: string | null }[]>;

/**
 * The smoke checks of each project the release deploys, run on the copy as a deployment runs them (the baseline and
 * the smoke files; nothing recorded): the failed ones, by project. Run before the release and after it (judgeSmoke).
 */
async function smokeOnCopy(ctx: OperationContext, input: RollbackTestInput, copy: Connection): Promise<SmokeFailures> {
  const { engine, plan, models, environment } = input;
  const out: SmokeFailures = new Map();
  if (!engine.smoke) return out;
  for (const project of new Set(plan.steps.map((s) => s.project))) {
    const model = models.find((m) => m.project.name === project);
    const settings = model && ctx.workspace.settings(model.project, environment).deploy;
    if (!model || !settings || settings.smokeAfterDeploy === false) continue;
    const checks = await loadSmokeChecks(model, engine);
    const run = await runSmokeChecks({
      engine,
      conn: copy,
      model,
      environment: environment.name,
      deploymentId: null,
      checks,
      timeoutMs: smokeTimeoutMs(settings),
      record: false,
    });
    const bodies = new Map(checks.map((c) => [c.name, JSON.stringify(c.body)]));
    out.set(
      project,
      run.results
        .filter((r) => r.status === 'failed')
        .map((r) => ({ name: r.name, message: r.message ?? 'failed', reads: bodies.get(r.name) ?? null })),
    );
  }
  return out;
}

/**
 * The smoke checks that fail on the copy after the release, each a problem where the release can change what it reads:
 * a check of the smoke files that fails before the release with the same message and names nothing the release
 * changes (no object of its steps, no table it touches) reads what the copy lacks (it holds rows only of the tables the
 * release touches), so it is not judged here (listed as such; `dbee smoke-test` judges it on the target).
 */
function judgeSmoke(
  input: RollbackTestInput,
  before: SmokeFailures,
  after: SmokeFailures,
  result: RollbackTestResult,
  touched: readonly string[],
): DbeeError[] {
  const problems: DbeeError[] = [];
  const changed = [
    ...new Set([
      ...input.plan.steps.filter((s) => s.action !== 'migrate').map((s) => s.objectKey.name),
      ...touched.map((t) => t.slice(t.indexOf('.') + 1)),
    ]),
  ];
  const readsChanged = (text: string) =>
    changed.some((n) => new RegExp(`(^|[^A-Za-z0-9_$])"?${escape(n)}"?($|[^A-Za-z0-9_$])`, 'i').test(text));
  for (const [project, failed] of after) {
    const same = (f: { name: string; message: string; reads: string | null }) =>
      f.reads !== null &&
      !readsChanged(f.reads) &&
      (before.get(project) ?? []).some((b) => b.name === f.name && b.message === f.message);
    result.smokeUnjudged.push(...failed.filter(same).map((f) => `${project}: ${f.name} (${f.message})`));
    const bad = failed.filter((f) => !same(f));
    if (bad.length)
      problems.push(
        new DbeeError(
          `rollback test: ${bad.length} smoke check${bad.length === 1 ? '' : 's'} of ${project} fail${bad.length === 1 ? 's' : ''} on the copy after the release: ${bad.map((r) => `${r.name} (${r.message})`).join('; ')}`,
          {
            code: 'ROLLBACK_TEST_SMOKE',
            hint: `the release changes what they read, or their outcome on the copy; the copy holds up to verify.sampleRows (${input.sampleRows}) rows of each table the release touches and no rows of the others: run \`dbee smoke-test\` on the target to see them there`,
            exitCode: ExitCode.invalid,
          },
        ),
      );
  }
  return problems;
}

/**
 * Each step whose undo left a difference (not declared irreversible), and a rollback slower than allowed, as problems.
 * A migration's is its rollback script's, named by file (`scripts`: step order → the script's path).
 */
function judge(result: RollbackTestResult, plan: Plan, withinMs: number, scripts: ReadonlyMap<number, string>): void {
  for (const s of result.steps.filter((x) => x.differences.length && !x.irreversible)) {
    const step = plan.steps.find((p) => p.order === s.order);
    const script = scripts.get(s.order);
    const what = script
      ? `its rollback script ${script} leaves its change on the copy`
      : 'its rollback leaves a difference on the copy';
    result.problems.push(
      new DbeeError(
        `rollback test: ${s.order ? `step ${s.order} (${step?.action ?? ''} ${s.key})` : 'the release'}: ${what}:\n${s.differences.map((d) => `  ${d}`).join('\n')}`,
        {
          code: 'ROLLBACK_INCOMPLETE',
          location: script ? { file: script, line: 1 } : (step?.source ?? undefined),
          hint: "the rollback would not put this back: fix the step's reverse (a migration's rollback script), or declare it irreversible on purpose with a line `-- dbee:irreversible <reason>` in its source file",
          exitCode: ExitCode.invalid,
          details: { step: s.order },
        },
      ),
    );
  }
  if (result.durationMs > withinMs)
    result.problems.push(
      new DbeeError(
        `rollback test: the rollback took ${formatDuration(result.durationMs)} on the copy, more than the ${formatDuration(withinMs)} allowed (verify.rollbackWithin)`,
        {
          code: 'ROLLBACK_TOO_SLOW',
          hint: "make the slow steps cheaper to undo (see each step's share above), or raise verify.rollbackWithin",
          exitCode: ExitCode.invalid,
        },
      ),
    );
}

/**
 * The tables the release writes rows of (a migration's statements, or a step's DML, naming them) that hold more rows
 * than the copy took: the rollback is not proven for their rows outside the sample. A problem of the step that writes
 * them (exit 1), unless the step is declared irreversible or `allowSampledRows` accepts a verdict on the sample.
 */
function notProven(
  result: RollbackTestResult,
  plan: Plan,
  beyond: ReadonlyMap<string, number>,
  input: RollbackTestInput,
): void {
  for (const [table, bound] of beyond) {
    const step = [...plan.steps].reverse().find((s) => writesRows(s, table));
    if (!step || result.steps.find((s) => s.order === step.order)?.irreversible !== undefined) continue;
    result.unproven.push({ table, bound, step: step.order });
    if (input.allowSampledRows) continue;
    result.problems.push(
      new DbeeError(
        `rollback test: step ${step.order} (${step.action} ${step.key}) writes rows of ${table}, which holds more rows than the copy takes (${bound}): its rollback is not proven for rows outside the sample`,
        {
          code: 'ROLLBACK_NOT_PROVEN',
          location: step.source ?? undefined,
          hint: `give ${table} a bound above its row count in verify.sampleTables (the copy then holds it whole), or accept a verdict on the sample with verify.allowSampledRows: true (docs/rollback-readiness.md)`,
          exitCode: ExitCode.invalid,
          details: { step: step.order, table },
        },
      ),
    );
  }
}

/** The tables (`schema.name`) of the model that a step of the plan touches. */
function touchedTables(model: SchemaModel, plan: Plan): string[] {
  return model.tables.map((t) => `${t.key.schema}.${t.key.name}`).filter((t) => plan.steps.some((s) => touches(s, t)));
}

/** Whether a step writes rows of table `schema.name`: a migration naming it, or a data statement of a step naming it. */
function writesRows(step: PlanStep, table: string): boolean {
  if (!touches(step, table)) return false;
  return step.action === 'migrate' || step.statements.some((x) => /\b(UPDATE|DELETE|INSERT|MERGE|TRUNCATE)\b/i.test(x));
}

/**
 * The rollback test of a dry run's verify stage (`--test-rollback`, `verify.rollback`): run, printed (the rollback's
 * time, each step's share, the steps declared irreversible), its problems added to the dry run's (exit 1).
 */
export async function proveRollback(
  ctx: OperationContext,
  run: Omit<RollbackTestInput, 'everySchema' | 'withinMs' | 'sampleRows' | 'sampleTables' | 'allowSampledRows'> & {
    owners: ReadonlyMap<string, string>;
    /** A package's dry run: the package records the proof when the rollback is proven (`rollback-proof.json`). */
    pkg: LoadedPackage | null;
  },
  problems: DbeeError[],
): Promise<RollbackTestResult> {
  const verify = run.environment.verify ?? {};
  const result = await testRollback(ctx, {
    ...run,
    everySchema: [...run.owners.keys()],
    withinMs: verify.rollbackWithin !== undefined ? durationMs(verify.rollbackWithin) : ROLLBACK_WITHIN_MS,
    sampleRows: verify.sampleRows ?? SAMPLE_ROWS,
    sampleTables: verify.sampleTables,
    allowSampledRows: verify.allowSampledRows,
  });
  if (result.durationMs || result.proven) for (const line of rollbackTestLines(result)) ctx.reporter.info(line);
  problems.push(...result.problems);
  if (run.pkg && result.proven) {
    writeRollbackProof(run.pkg.path, {
      planChecksum: run.pkg.manifest.planChecksum,
      environment: run.environment.name,
      testedAt: new Date().toISOString(),
      durationMs: result.durationMs,
      irreversible: result.steps.flatMap((s) =>
        s.irreversible !== undefined ? [{ key: s.key, reason: s.irreversible }] : [],
      ),
    });
    ctx.reporter.info(`rollback test: recorded in ${run.pkg.path}/${ROLLBACK_PROOF}`);
  }
  return result;
}

/** The report's lines: the rollback's time and each step's share, the declared irreversible steps. */
export function rollbackTestLines(r: RollbackTestResult): string[] {
  const lines = [
    `rollback test: the rollback took ${formatDuration(r.durationMs)} on the copy (bound ${formatDuration(r.withinMs)})${r.proven ? `, and left the copy as it was before the release${r.unproven.length ? ' (on the sample)' : ''}` : ''}`,
  ];
  for (const u of r.unproven)
    lines.push(
      `  ${u.table}: not proven for rows outside the sample (the copy took ${u.bound} of its rows; step ${u.step} writes rows of it)${r.proven ? ', accepted by verify.allowSampledRows' : ''}`,
    );
  for (const c of r.uncompared)
    lines.push(
      `  ${c.table}.${c.column}: set by trigger ${c.trigger} on every UPDATE, and named by no step of the release: not compared`,
    );
  for (const s of r.smokeUnjudged)
    lines.push(
      `  smoke check ${s}: fails on the copy before the release too (it reads rows the copy lacks): not judged`,
    );
  const total = r.durationMs || 1;
  for (const s of r.steps.filter((x) => x.order > 0))
    lines.push(
      `  step ${s.order} ${s.key}: ${formatDuration(s.durationMs)} (${Math.round((100 * s.durationMs) / total)}%)${s.irreversible !== undefined ? ` irreversible on purpose: ${s.irreversible || '(no reason given)'}` : ''}${s.differences.length ? ' NOT RESTORED' : ''}`,
    );
  return lines;
}

function untested(why: string): DbeeError {
  return new DbeeError(`rollback test: the rollback could not be tested: ${why}`, {
    code: 'ROLLBACK_UNTESTED',
    hint: 'a release whose rollback is not proven is refused where it is asked for (--test-rollback, verify.rollback)',
    exitCode: ExitCode.invalid,
  });
}

/** Steps whose source file declares them irreversible (`-- dbee:irreversible <reason>`), with the reason. */
function irreversibleSteps(plan: Plan, models: readonly ProjectModel[]): Map<number, string> {
  const files = new Map(models.flatMap((m) => m.files.map((f) => [f.path, f.text] as const)));
  const out = new Map<number, string>();
  for (const step of plan.steps) {
    const text = step.source ? files.get(step.source.file) : undefined;
    const m = text ? IRREVERSIBLE.exec(text) : null;
    if (m) out.set(step.order, m[1]!.trim());
  }
  return out;
}

/** The rollback script of each migration step (step order → its path), from the projects' sources. */
function rollbackScripts(plan: Plan, models: readonly ProjectModel[]): Map<number, string> {
  const scripts = new Map(models.flatMap((m) => m.migrations.map((x) => [x.file.path, x.file.rollback.path] as const)));
  const out = new Map<number, string>();
  for (const step of plan.steps) {
    const script = step.action === 'migrate' && step.source ? scripts.get(step.source.file) : undefined;
    if (script) out.set(step.order, script);
  }
  return out;
}

/** The release step a difference concerns: its object's (or its object's table's, or a migration naming the table). */
function stepOf(result: RollbackTestResult, plan: Plan, key: ObjectKey | null, table?: string): RollbackTestStep {
  const same = (a: ObjectKey, b: ObjectKey) =>
    (a.schema === b.schema && a.name === b.name) ||
    `${a.schema}.${a.name}` === b.parent ||
    `${b.schema}.${b.name}` === a.parent;
  const step = key
    ? (plan.steps.find((s) => s.objectKey.kind === key.kind && same(s.objectKey, key)) ??
      plan.steps.find((s) => same(s.objectKey, key)))
    : ([...plan.steps].reverse().find((s) => s.action === 'migrate' && touches(s, table!)) ??
      plan.steps.find((s) => touches(s, table!)));
  const found = step ? result.steps.find((s) => s.order === step.order) : undefined;
  if (found) return found;
  let whole = result.steps.find((s) => s.order === 0);
  if (!whole) result.steps.push((whole = { order: 0, key: 'release', durationMs: 0, differences: [] }));
  return whole;
}

/** Whether a step names table `schema.name` (its object, its object's table, or in its statements). */
function touches(step: PlanStep, table: string): boolean {
  const [schema, name] = table.split('.') as [string, string];
  const k = step.objectKey;
  if ((k.schema === schema && k.name === name) || k.parent === table) return true;
  const word = new RegExp(`(^|[^A-Za-z0-9_$])"?${escape(name)}"?($|[^A-Za-z0-9_$])`, 'i');
  return step.statements.some((s) => word.test(s));
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The target's rows copied into the copy (`DiffRole.copySample`): up to `sampleRows` rows (or the table's own number
 * in `sampleTables`) of each table the release touches (a step's object or its object's table, or named in a step's
 * statements, as a migration's UPDATE does), with every row they reference through foreign keys. Returns the tables
 * that hold rows on the copy, all compared before and after the rollback, and the touched tables that hold more rows
 * than their bound (with the bound), or the sample's `ROLLBACK_TEST_SAMPLE` error.
 */
async function sampleRows(
  engine: Engine,
  input: RollbackTestInput,
  copy: Connection,
  live: SchemaModel,
): Promise<{ tables: string[]; beyond: Map<string, number> } | DbeeError> {
  const diff = engine.diff;
  const own = input.sampleTables ?? {};
  if (!diff?.copySample || (!input.sampleRows && !Object.values(own).some((n) => n > 0)))
    return { tables: [], beyond: new Map() };
  const touched = live.tables
    .map((t) => `${t.key.schema}.${t.key.name}`)
    .filter((t) => input.plan.steps.some((s) => touches(s, t)));
  const tables = [...new Set([...touched, ...Object.keys(own)])].map((t) => {
    const [schema, name] = t.split('.') as [string, string];
    return { schema, name, limit: own[t] ?? (touched.includes(t) ? input.sampleRows : 0) };
  });
  try {
    const copied = await diff.copySample(input.conn, copy, tables);
    const limits = new Map(tables.map((t) => [`${t.schema}.${t.name}`, t.limit]));
    return {
      tables: [...copied].flatMap(([t, n]) => (n > 0 ? [t] : [])),
      beyond: new Map([...(copied.beyond ?? [])].map((t) => [t, limits.get(t) ?? 0])),
    };
  } catch (e) {
    if (e instanceof DbeeError && e.code === 'ROLLBACK_TEST_SAMPLE') return e;
    throw e;
  }
}

/**
 * The columns of the tables the release writes rows of that a touch trigger sets on every UPDATE
 * (`DiffRole.maintainedColumns`) and that no step of the release names: the undo's UPDATE sets them again, and the release cannot have meant their values, so they are
 * left out of the rows' comparison. A column a step names (`SET updated_at = ...`) is compared.
 */
async function uncomparedColumns(
  engine: Engine,
  copy: Connection,
  tables: string[],
  plan: Plan,
): Promise<RollbackTestResult['uncompared']> {
  const written = tables.filter((t) => plan.steps.some((s) => writesRows(s, t)));
  const found = (await engine.diff?.maintainedColumns?.(copy, written)) ?? [];
  return found.filter(
    (c) =>
      !plan.steps.some(
        (s) =>
          touches(s, c.table) &&
          s.statements.some((x) =>
            new RegExp(`(^|[^A-Za-z0-9_$])"?${escape(c.column)}"?($|[^A-Za-z0-9_$])`, 'i').test(x),
          ),
      ),
  );
}

async function readRows(
  engine: Engine,
  conn: Connection,
  tables: string[],
  uncompared: RollbackTestResult['uncompared'],
): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const t of tables) {
    const [schema, name] = t.split('.') as [string, string];
    const leave = uncompared.filter((c) => c.table === t).map((c) => c.column);
    const rows = (await engine.diff!.readRows?.(conn, { schema, name })) ?? [];
    out.set(t, leave.length ? rows.map((r) => without(r, leave)) : rows);
  }
  return out;
}

/** A row's canonical text (a JSON object) without some of its columns. */
function without(row: string, columns: string[]): string {
  const value = JSON.parse(row) as Record<string, unknown>;
  for (const c of columns) delete value[c];
  return JSON.stringify(value);
}

/** The rows of a sampled table the rollback did not put back, said in a line; null when it put them all back. */
function rowDifference(before: readonly string[], after: readonly string[]): string | null {
  const left = new Map<string, number>();
  for (const r of before) left.set(r, (left.get(r) ?? 0) + 1);
  const extra: string[] = [];
  for (const r of after) {
    const n = left.get(r) ?? 0;
    if (n) left.set(r, n - 1);
    else extra.push(r);
  }
  const missing = [...left].flatMap(([r, n]) => Array<string>(n).fill(r));
  if (!missing.length && !extra.length) return null;
  const show = (rows: string[]) =>
    rows.slice(0, 3).join(', ') + (rows.length > 3 ? `, ... (${rows.length} in all)` : '');
  return `rows not restored: ${missing.length} row${missing.length === 1 ? '' : 's'} of before the release missing${missing.length ? ` (${show(missing)})` : ''}, ${extra.length} row${extra.length === 1 ? '' : 's'} not there before${extra.length ? ` (${show(extra)})` : ''}`;
}

/**
 * The copy's session as an object of its own: what the ledger remembers of a session (its tables, their version) is
 * kept by session, and a scratch database may be one used before and emptied since (the embedded shadow is shared).
 */
function ownSession(conn: Connection): Connection {
  return new Proxy(conn, {
    get(target, prop) {
      if (typeof prop === 'symbol') return undefined;
      const value: unknown = Reflect.get(target, prop);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** The context the copy's deployment and rollback run in: their progress and messages are not the dry run's. */
function quietContext(ctx: OperationContext): OperationContext & { reporter: Reporter } {
  return {
    ...ctx,
    stdout: new Writable({ write: (_c, _e, done) => done() }),
    reporter: { info: () => {}, warn: () => {}, step: () => {} },
  };
}
