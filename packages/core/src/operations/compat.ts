import { isAbsolute, resolve } from 'node:path';
import {
  checkNewQueries,
  compareDescriptions,
  describeQueries,
  formatCompatText,
  type CompatReport,
  type Descriptions,
} from '../check/compat';
import { parseQuerySource, readCsvLog, readLiveQueries, readQueryFiles, type AppQuery } from '../check/queries';
import type { ResolvedEnvironment } from '../config/resolve';
import { requireRole, type Connection, type Engine } from '../engine/engine';
import { compatVerdict, type CompatOutcome } from '../check/verdict';
import { DbeeError } from '../errors';
import type { Plan } from '../plan/plan';
import { keyName } from '../sources/key-name';
import type { ProjectModel } from '../planner/project-model';
import type { VerifyProbe, VerifyResult } from '../runner/verify';
import { engineFor, type OperationContext } from '../context/operation-context';
import type { DbtResult } from '../check/dbt-run';
import { finishDbt, judgeDbt, prepareDbt, type DbtCheck } from './dbt';

/** What `deploy --dry-run` lets a caller see of its compatibility check (the `check` command prints it its own way). */
export interface DryRunHooks {
  /** Receives the compatibility report instead of the dry run printing it. */
  onCompat?(report: CompatReport): void;
  /** The check of queries only: the environment's gates (windows, protection) are not what is asked. */
  skipGates?: boolean;
  /** Receives the dbt check's result instead of the dry run printing it. */
  onDbt?(result: DbtResult): void;
  /** `dbee check`: the target is read without the deployment lock where the engine allows (`LockOptions.reader`). */
  reader?: boolean;
}

/** A compatibility check in progress: the probe for the verified dry run, then what it came to. */
export interface CompatRun {
  probe: VerifyProbe;
  /** How the result is judged (`compatVerdict`): the environment's `compat.mode`, `fail` when it says `off`. */
  mode: 'fail' | 'warn';
  /** Whether a source of the new application's queries is named (they are described after the plan only). */
  withNewQueries: boolean;
  /** Whether a source of the running application's queries is named; false when only the dbt check runs. */
  queries: boolean;
  /** The dbt check (`--dbt`, `check.dbt.manifest`), run on the same copy; null when no manifest is named. */
  dbt: DbtCheck | null;
  /**
   * Once `verifyPlan` ran with the probe: the report, or why there is none (the copy not made, a step of the plan
   * failing on it: what the queries would meet after such a plan is not known).
   */
  outcome(plan: Plan, verified: VerifyResult): Promise<CompatOutcome>;
}

/**
 * The compatibility check of a dry run, when `--queries` or the environment's `compat.queries` names a source (and
 * `compat.mode` is not `off`): reads the application's queries (files and logs now; the engine's live source from the
 * target's session, or from a session of its own when `conn` is null, or another environment's), and returns the
 * probe that describes them on the scratch copy before and after the plan. The new application version's queries
 * (`--new-queries`, `compat.newQueries`) are described after the plan only. Null when nothing asks for it.
 */
export async function prepareCompat(
  ctx: OperationContext,
  input: {
    engine: Engine;
    /** The target's session; null when the plan does not start from it (a diff of two git refs). */
    conn: Connection | null;
    environment: ResolvedEnvironment;
    models: ProjectModel[];
    target: string;
    queries?: string;
    newQueries?: string;
    /**
     * Schemas put before the queries' search path once the plan ran: the expand-contract strategy's old version
     * schemas, through which the running application reads and writes while a release is expanded.
     */
    afterSearchPathFirst?: string[];
    /** The same for the new application's queries: the expand-contract strategy's new version schemas. */
    newSearchPathFirst?: string[];
    /** The dbt manifest (`--dbt`); default the project's or workspace's `check.dbt.manifest`. */
    dbt?: string;
    /** The plan checked: with it, the dbt check runs when a manifest is named (it reads the nodes the plan touches). */
    plan?: Plan;
  },
): Promise<CompatRun | null> {
  const dbt = input.plan
    ? prepareDbt(ctx, {
        engine: input.engine,
        environment: input.environment.name,
        models: input.models,
        target: input.target,
        manifest: input.dbt,
        plan: input.plan,
        newVersionSchemas: input.newSearchPathFirst,
      })
    : null;
  const queries = await prepareQueries(ctx, input);
  if (!dbt) return queries;
  const probes = [queries?.probe, dbt.run.probe].filter((p) => p !== undefined);
  return {
    mode: queries?.mode ?? 'fail',
    withNewQueries: queries?.withNewQueries ?? false,
    queries: queries !== null,
    dbt,
    probe: {
      async before(conn, copied) {
        for (const p of probes) await p.before(conn, copied);
      },
      async after(conn) {
        for (const p of probes) await p.after(conn);
      },
    },
    async outcome(plan, verified) {
      finishDbt(dbt, plan, verified);
      return queries ? queries.outcome(plan, verified) : { notRun: 'no query source' };
    },
  };
}

/**
 * The search path the application's queries resolve with: `compat.searchPath`, read as db.yaml's names are (each an
 * identifier: `Sales` is sales on PostgreSQL), else the project's.
 */
export function applicationSearchPath(
  environment: ResolvedEnvironment,
  engine: Engine,
  model: ProjectModel | undefined,
): string[] {
  const set = environment.compat?.searchPath;
  return set ? set.map((s) => keyName(s, engine.capabilities.keyNames)) : (model?.graph.searchPath ?? []);
}

/** The check of the application's queries alone (see `prepareCompat`). */
async function prepareQueries(
  ctx: OperationContext,
  input: Parameters<typeof prepareCompat>[1],
): Promise<CompatRun | null> {
  const settings = input.environment.compat;
  const { specs, newSpecs } = querySpecs(input);
  if (!specs.length) return null;
  const { engine } = input;
  const model = input.models.find((m) => m.project.name === input.target);
  const searchPath = applicationSearchPath(input.environment, engine, model);
  const queries = await readQuerySources(ctx, { ...input, searchPath }, specs);
  const newQueries = await readQuerySources(ctx, { ...input, searchPath }, newSpecs);
  const withFirst = (first: string[] | undefined) =>
    engine.session.searchPath(first?.length ? [...first, ...searchPath] : searchPath);
  const path = engine.session.searchPath(searchPath);
  const afterPath = withFirst(input.afterSearchPathFirst);
  const newPath = withFirst(input.newSearchPathFirst);
  let before: Descriptions = [];
  let after: Descriptions = [];
  let afterNew: Descriptions = [];
  let shadow: Connection | null = null;
  return {
    mode: settings?.mode === 'warn' ? 'warn' : 'fail',
    withNewQueries: newSpecs.length > 0,
    queries: true,
    dbt: null,
    probe: {
      async before(conn) {
        before = await describeQueries(conn, queries, path);
      },
      async after(conn) {
        shadow = conn;
        after = await describeQueries(conn, queries, afterPath);
        if (newSpecs.length) afterNew = await describeQueries(conn, newQueries, newPath);
      },
    },
    async outcome(plan, verified) {
      if (!verified.verified)
        return { notRun: verified.skipped ?? "the copy of the target's schemas could not be made" };
      if (verified.problems.length)
        return {
          notRun: `the plan fails on a copy of the target's schemas: ${verified.problems[0]!.message.split('\n')[0]}`,
        };
      if (before.length !== queries.length || after.length !== queries.length || afterNew.length !== newQueries.length)
        return { notRun: "the plan was not applied to a scratch copy of the target's schemas" };
      const ids = [...new Set([...before, ...after].flatMap((d) => (d.ok ? d.columns.map((c) => c.typeId) : [])))];
      const names =
        engine.smoke && shadow && ids.length
          ? await engine.smoke.typeNames(shadow, ids).catch(() => new Map<number, string>())
          : new Map<number, string>();
      const report = compareDescriptions(queries, before, after, plan.steps, names);
      return {
        report: newSpecs.length ? { ...report, next: checkNewQueries(newQueries, afterNew, plan.steps) } : report,
      };
    },
  };
}

/**
 * The query sources of the running application (`--queries`, else `compat.queries` unless `compat.mode` is `off`) and
 * of the new one (`--new-queries`, `compat.newQueries`); the new ones alone are refused.
 */
export function querySpecs(input: { environment: ResolvedEnvironment; queries?: string; newQueries?: string }): {
  specs: string[];
  newSpecs: string[];
} {
  const settings = input.environment.compat;
  const on = Boolean(settings && settings.mode !== 'off');
  const specs = input.queries ? [input.queries] : on ? [settings!.queries].flat() : [];
  const newSpecs = input.newQueries
    ? [input.newQueries]
    : on && settings!.newQueries
      ? [settings!.newQueries].flat()
      : [];
  if (!specs.length && newSpecs.length)
    throw new DbeeError("--new-queries needs the running application's queries too", {
      code: 'COMPAT_NO_QUERIES',
      location: input.environment.declaredAt,
      hint: `give --queries <source>, or set environments.${input.environment.name}.compat.queries in dbee.yaml: the check compares the running application's queries before and after the plan, and adds the new application's after it`,
    });
  return { specs, newSpecs };
}

/**
 * The end of a dry run's check: the report printed (or handed to `hooks.onCompat`), then the one verdict rule
 * (`compatVerdict`): a refusal joins the dry run's `problems`, a warning is said.
 */
export function judgeCompat(
  ctx: OperationContext,
  run: CompatRun,
  outcome: CompatOutcome,
  hooks: DryRunHooks,
  problems: DbeeError[],
): void {
  if (run.dbt) judgeDbt(ctx, run.dbt, hooks.onDbt, problems);
  if (!run.queries) return;
  if ('report' in outcome) {
    if (hooks.onCompat) hooks.onCompat(outcome.report);
    else ctx.stdout.write(formatCompatText(outcome.report));
  }
  const judged = compatVerdict(outcome, run.mode);
  if (judged && 'refusal' in judged) problems.push(judged.refusal);
  else if (judged) ctx.reporter.warn(judged.warning);
}

/** The queries of every source named (in order), with the objects each names, read with `searchPath`. */
export async function readQuerySources(
  ctx: OperationContext,
  input: {
    engine: Engine;
    conn: Connection | null;
    environment: ResolvedEnvironment;
    searchPath: string[];
  },
  specs: string[],
): Promise<AppQuery[]> {
  const { engine, environment, searchPath } = input;
  const queries: AppQuery[] = [];
  for (const spec of specs) {
    const source = parseQuerySource(spec, engine.querySources?.names);
    if (source.kind === 'live') {
      const own = !source.environment || source.environment === environment.name;
      if (own && input.conn) {
        const role = requireRole(engine, 'querySources', `read ${source.name}`);
        queries.push(
          ...(await readLiveQueries(role, input.conn, source.name, engine.parser, searchPath, environment.name)),
        );
        continue;
      }
      const other = own ? environment : ctx.workspace.environment(source.environment!, ctx.env);
      const otherEngine = engineFor(ctx, other, []);
      const role = requireRole(otherEngine, 'querySources', `read ${source.name}`);
      const conn = await otherEngine.connect(other, { workspaceRoot: ctx.workspace.root });
      try {
        queries.push(...(await readLiveQueries(role, conn, source.name, engine.parser, searchPath, other.name)));
      } finally {
        await conn.close();
      }
      continue;
    }
    const path = isAbsolute(source.path) ? source.path : resolve(ctx.workspace.root, source.path);
    queries.push(
      ...(source.kind === 'csv-log'
        ? await readCsvLog(path, ctx.workspace.root, engine.parser, searchPath)
        : await readQueryFiles(path, ctx.workspace.root, engine.parser, searchPath)),
    );
  }
  return queries;
}
