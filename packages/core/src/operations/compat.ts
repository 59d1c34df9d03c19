import { isAbsolute, resolve } from 'node:path';
import { compareDescriptions, describeQueries, type CompatReport, type Descriptions } from '../check/compat';
import { parseQuerySource, readCsvLog, readQueryFiles, readStatStatements, type AppQuery } from '../check/queries';
import type { ResolvedEnvironment } from '../config/resolve';
import type { Connection, Engine } from '../engine/engine';
import { DbeeError, ExitCode } from '../errors';
import type { Plan } from '../plan/plan';
import type { ProjectModel } from '../planner/project-model';
import type { VerifyProbe } from '../runner/verify';
import { engineFor, type OperationContext } from '../context/operation-context';

/** What `deploy --dry-run` lets a caller see of its compatibility check (the `check` command prints it its own way). */
export interface DryRunHooks {
  /** Receives the compatibility report instead of the dry run printing it. */
  onCompat?(report: CompatReport): void;
  /** The check of queries only: the environment's gates (windows, protection) are not what is asked. */
  skipGates?: boolean;
}

/** A compatibility check in progress: the probe for the verified dry run, then the verdict. */
export interface CompatRun {
  probe: VerifyProbe;
  mode: 'fail' | 'warn';
  /** After the probe ran on both sides: the report. */
  report(plan: Plan): Promise<CompatReport>;
}

/**
 * The compatibility check of a dry run, when `--queries` or the environment's `compat.queries` names a source (and
 * `compat.mode` is not `off`): reads the application's queries (files and logs now; `pg_stat_statements` from the
 * target's session or another environment's), and returns the probe that describes them on the scratch copy before
 * and after the plan. Null when nothing asks for it.
 */
export async function prepareCompat(
  ctx: OperationContext,
  input: {
    engine: Engine;
    conn: Connection;
    environment: ResolvedEnvironment;
    models: ProjectModel[];
    target: string;
    queries?: string;
    /**
     * Schemas put before the queries' search path once the plan ran: the expand-contract strategy's old version
     * schemas, through which the running application reads and writes while a release is expanded.
     */
    afterSearchPathFirst?: string[];
  },
): Promise<CompatRun | null> {
  const settings = input.environment.compat;
  const specs = input.queries ? [input.queries] : settings && settings.mode !== 'off' ? [settings.queries].flat() : [];
  if (!specs.length) return null;
  const { engine, environment } = input;
  const model = input.models.find((m) => m.project.name === input.target);
  const searchPath = settings?.searchPath ?? model?.graph.searchPath ?? [];
  const queries: AppQuery[] = [];
  for (const spec of specs) {
    const source = parseQuerySource(spec);
    if (source.kind === 'pg_stat_statements') {
      if (!source.environment || source.environment === environment.name) {
        queries.push(...(await readStatStatements(input.conn, engine.parser, searchPath, environment.name)));
      } else {
        const other = ctx.workspace.environment(source.environment, ctx.env);
        const conn = await engineFor(ctx, other, []).connect(other, { workspaceRoot: ctx.workspace.root });
        try {
          queries.push(...(await readStatStatements(conn, engine.parser, searchPath, other.name)));
        } finally {
          await conn.close();
        }
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
  const path = engine.session.searchPath(searchPath);
  const afterPath = input.afterSearchPathFirst?.length
    ? engine.session.searchPath([...input.afterSearchPathFirst, ...searchPath])
    : path;
  let before: Descriptions = [];
  let after: Descriptions = [];
  let shadow: Connection | null = null;
  return {
    mode: settings?.mode === 'warn' ? 'warn' : 'fail',
    probe: {
      async before(conn) {
        before = await describeQueries(conn, queries, path);
      },
      async after(conn) {
        shadow = conn;
        after = await describeQueries(conn, queries, afterPath);
      },
    },
    async report(plan) {
      if (before.length !== queries.length || after.length !== queries.length) {
        throw new DbeeError(
          "the compatibility check could not run: the plan was not applied to a scratch copy of the target's schemas",
          {
            code: 'COMPAT_NOT_RUN',
            hint: 'the dry run says why the copy could not be made; the check needs it',
          },
        );
      }
      const ids = [...new Set([...before, ...after].flatMap((d) => (d.ok ? d.columns.map((c) => c.typeId) : [])))];
      const names =
        engine.smoke && shadow && ids.length
          ? await engine.smoke.typeNames(shadow, ids).catch(() => new Map<number, string>())
          : new Map<number, string>();
      return compareDescriptions(queries, before, after, plan.steps, names);
    },
  };
}

/** The refusal (or warning) a compatibility report leads to: null when no query breaks. */
export function compatProblem(report: CompatReport): DbeeError | null {
  // Nothing checked is not "nothing breaks": an empty source, or queries that all fail on today's schema already
  // (another database, a search path that is not the application's), answers nothing.
  if (report.checked === 0) {
    const first = report.unchecked[0];
    return new DbeeError(
      first
        ? `none of the ${report.unchecked.length} application quer${report.unchecked.length === 1 ? 'y' : 'ies'} could be checked: each fails on the current schema already (first: ${first.query.origin}: ${first.error})`
        : 'the query source holds no query to check',
      {
        code: 'COMPAT_NOTHING_CHECKED',
        hint: "point --queries (or compat.queries) at this application's queries, and set compat.searchPath to the search path it uses",
        exitCode: ExitCode.invalid,
      },
    );
  }
  if (!report.broken.length) return null;
  const first = report.broken[0]!;
  return new DbeeError(
    `${report.broken.length} of the application's ${report.checked} quer${report.checked === 1 ? 'y' : 'ies'} would fail after this deployment (first: ${first.query.origin}: ${first.error})`,
    {
      code: 'COMPAT_BROKEN',
      hint: "change the plan so the running application keeps working (expand/contract: add before you remove), or set the environment's compat.mode to warn",
      exitCode: ExitCode.invalid,
    },
  );
}
