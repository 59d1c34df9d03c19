import { durationMs as toMs } from '../config/units';
import type { DeploySettings } from '../config/schema';
import {
  requireRole,
  type Connection,
  type DatabaseNotice,
  type Engine,
  type QueryResult,
  type SmokeDialect,
} from '../engine/engine';
import { DbeeError } from '../errors';
import { openLedger } from '../ledger/open-ledger';
import { formatKey, parseKey, type ObjectKey } from '../model/object-key';
import { compareColumns, compareRows } from './compare';
import { DEFAULT_SMOKE_TIMEOUT_MS, type SmokeCheck, type SmokeResult, type SmokeRun } from '../model/smoke-check';
import { loadSmokeChecks, type SmokeSources } from './smoke-file';
import { recordSmokeResults } from './smoke-ledger';
import { judgeDuration, type SmokeRegression } from './regression';
import { recentSmokeDurations } from './smoke-history';
import { dependencyStarts, nodeOf, referenceNodes, viewsToCompile, type AppliedChange } from './stale-views';
import type { Reference } from '../model/source';

export interface SmokeRunOptions {
  /** The environment's engine; it must have a smoke dialect (`engine.smoke`). */
  engine: Engine;
  /** An open connection, outside any transaction. The caller holds the deployment lock. */
  conn: Connection;
  /**
   * The project's model for this environment (a `ProjectModel`): smoke files, variables, search path; its objects'
   * references tell what its routines' bodies use (`viewsToCompile`).
   */
  model: SmokeSources & { project: { name: string }; objects?: readonly { key: ObjectKey; references: Reference[] }[] };
  /** Environment name, recorded with the results. */
  environment: string;
  /** The deployment the checks verify (recorded with the results); null when there is none. */
  deploymentId: number | null;
  /**
   * The keys of the objects the ledger records for the project (`Ledger.objectKeys`), when the caller knows them: a
   * deployment that has just applied its steps. Default: read from the ledger.
   */
  deployed?: readonly string[];
  /**
   * The project's checks from `loadSmokeChecks` (deploy loads them before applying, so that an invalid smoke file
   * refuses the deployment); default: loaded here.
   */
  checks?: SmokeCheck[];
  /** Time bound of checks that set none, in milliseconds; default 10 s (see `smokeTimeoutMs`). */
  timeoutMs?: number;
  /** Called after each check, in order, e.g. to print it (`formatSmokeResult`). */
  onResult?(result: SmokeResult): void;
  /** Store the results in the ledger's smoke_results when the ledger exists (default true). */
  record?: boolean;
  /**
   * The steps of the deployment being verified, in order (those of the projects deployed before it in the same run
   * included): the baseline then compiles only the views it can have broken (`viewsToCompile`), when the engine can
   * tell (`SmokeDialect.viewDependencies`). Absent (`dbee smoke-test`, a rollback): every view.
   */
  changes?: readonly AppliedChange[];
  /**
   * The environment's performance gate (`gates.smokeRegression`): a smoke file's check slower than its baseline from
   * the ledger (the median of its latest successful runs here) fails. Baseline checks are not compared.
   */
  regression?: SmokeRegression | null;
}

/** The default time bound of a project's checks on an environment: `deploy.smokeTimeout`, else 10 s. */
export function smokeTimeoutMs(settings: DeploySettings): number {
  return settings.smokeTimeout === undefined ? DEFAULT_SMOKE_TIMEOUT_MS : toMs(settings.smokeTimeout);
}

/** Compile checks of the smoke baseline sent in one request at most (`CheckRunner.allPass`). */
const COMPILES_PER_REQUEST = 100;

/**
 * Run a project's smoke checks on an open connection: first the baseline (every object the ledger records for
 * the project exists; every view and materialized view compiles, or after a deployment those it can have broken:
 * `changes`), then the checks of its smoke files. Each check
 * runs in its own transaction, which is always rolled back, under a statement timeout; a warning raised by the
 * database fails it. Results are stored in the ledger. Never throws for a failing check: see `passed`.
 */
export async function runSmokeChecks(options: SmokeRunOptions): Promise<SmokeRun> {
  const { engine, conn, model } = options;
  const smoke = requireRole(engine, 'smoke', 'run smoke checks');
  const project = model.project.name;
  const fileChecks = options.checks ?? (await loadSmokeChecks(model, engine));
  const ledger = openLedger(conn, engine.ledger);
  const deployed = (options.deployed ? [...options.deployed] : await ledger.objects.objectKeys(project))
    .sort()
    .map(parseKey);
  const runner = new CheckRunner(
    conn,
    engine,
    smoke,
    options.timeoutMs ?? DEFAULT_SMOKE_TIMEOUT_MS,
    model.graph.searchPath,
  );
  const results: SmokeResult[] = [];
  const report = (r: SmokeResult) => {
    results.push(r);
    options.onResult?.(r);
  };

  let missing: ObjectKey[] = [];
  if (deployed.length > 0) {
    const r = await runner.run({ name: 'baseline: deployed objects exist', body: { kind: 'exists', keys: deployed } });
    missing = r.missing;
    report(r.result);
  }
  const gone = new Set(missing.map(formatKey));
  const compilable = deployed.filter((key) => smoke.compileStatement(key) !== null && !gone.has(formatKey(key)));
  const views = await baselineViews(conn, smoke, options, deployed, compilable);
  await compileViews(runner, smoke, views, (_, r) => report(r));
  const gate = options.regression ?? null;
  const baseline =
    gate && (await ledger.tables.exists())
      ? await recentSmokeDurations(conn, engine.ledger, { project, environment: options.environment, runs: gate.runs })
      : null;
  for (const check of fileChecks) {
    const { result } = await runner.run(check);
    report(gate && baseline ? judgeDuration(result, baseline.get(check.name), gate, options.environment) : result);
  }

  const run: SmokeRun = { project, passed: results.every((r) => r.status === 'passed'), results };
  if (options.record !== false && (await ledger.tables.exists())) {
    await recordSmokeResults(conn, engine.ledger, {
      project,
      environment: options.environment,
      deploymentId: options.deploymentId,
      results,
    });
  }
  return run;
}

/** What the baseline's choice of views reads (`baselineViews`): a `SmokeRunOptions` is one. */
export interface BaselineSelection {
  /** The project: its name, search path, and its objects' references (what its routines' bodies use). */
  model: {
    project: { name: string };
    graph: { searchPath: string[] };
    objects?: readonly { key: ObjectKey; references: Reference[] }[];
  };
  /** See `SmokeRunOptions.changes`: absent, every view of the project and no other. */
  changes?: readonly AppliedChange[];
}

/** A view the smoke baseline compiles; `dependent`: another project's (or no project's) over what this one changed. */
export interface BaselineView {
  key: ObjectKey;
  dependent: boolean;
}

/**
 * The views and materialized views the smoke baseline of a project compiles: of `compilable` (its objects found in the
 * database that compile: `SmokeDialect.compileStatement`), every one, or after a deployment (`selection.changes`) those
 * it can have broken (`viewsToCheck`); then the views of other projects over what it changed in place
 * (`dependentViews`). `deployed`: the keys the ledger records for the project. The verified dry run asks the same on
 * its copy after the plan (runner/verify-views.ts).
 */
export async function baselineViews(
  conn: Connection,
  smoke: SmokeDialect,
  selection: BaselineSelection,
  deployed: readonly ObjectKey[],
  compilable: readonly ObjectKey[],
): Promise<BaselineView[]> {
  const compiled = await viewsToCheck(conn, smoke, selection, compilable);
  return [
    ...compilable.filter((key) => !compiled || compiled.has(formatKey(key))).map((key) => ({ key, dependent: false })),
    ...(await dependentViews(conn, smoke, selection, deployed, compilable)).map((key) => ({ key, dependent: true })),
  ];
}

/** The smoke check compiling a view of the baseline, named as the results show it. */
function compileCheck(smoke: SmokeDialect, view: BaselineView): SmokeCheck | null {
  const sql = smoke.compileStatement(view.key);
  if (!sql) return null;
  const what = view.dependent ? `dependent ${view.key.kind}` : view.key.kind;
  return {
    name: `baseline: ${what} ${view.key.schema}.${view.key.name} compiles`,
    body: { kind: 'statement', sql, params: [] },
  };
}

/**
 * Compile `views` as the smoke baseline does: many in one request when they all pass (the common case: hundreds of
 * views, a few round trips); otherwise each of that request's checks in its own transaction, which names the one that
 * failed or warned. Requests of a bounded number of checks: one request's time is held against the bound of one check,
 * and a request that fails or takes longer sends only its own checks again, one by one (a deep chain of views over
 * views costs more per view the deeper it goes: thousands of them in one request outgrew the bound on a loaded
 * server). `onResult`: each view's result, in order.
 */
async function compileViews(
  runner: CheckRunner,
  smoke: SmokeDialect,
  views: readonly BaselineView[],
  onResult: (view: BaselineView, result: SmokeResult) => void,
): Promise<void> {
  const compiles = views.flatMap((view) => {
    const check = compileCheck(smoke, view);
    return check ? [{ view, check }] : [];
  });
  const together = new Map<SmokeCheck, SmokeResult>();
  for (let i = 0; i < compiles.length; i += COMPILES_PER_REQUEST) {
    const passed = await runner.allPass(compiles.slice(i, i + COMPILES_PER_REQUEST).map((c) => c.check));
    for (const [check, result] of passed ?? []) together.set(check, result);
  }
  for (const { view, check } of compiles) onResult(view, together.get(check) ?? (await runner.run(check)).result);
}

/**
 * Compile `views` on `conn` as a project's smoke baseline does (each in a transaction that is rolled back, under the
 * time bound `timeoutMs` and the project's `searchPath`; a warning fails it), without recording anything: the
 * verified dry run on its copy. One result per view that compiles at all, in order.
 */
export async function compileBaselineViews(
  conn: Connection,
  engine: Engine,
  views: readonly BaselineView[],
  options: { timeoutMs: number; searchPath: string[] },
): Promise<{ view: BaselineView; result: SmokeResult }[]> {
  const smoke = requireRole(engine, 'smoke', 'compile views');
  const runner = new CheckRunner(conn, engine, smoke, options.timeoutMs, options.searchPath);
  const results: { view: BaselineView; result: SmokeResult }[] = [];
  await compileViews(runner, smoke, views, (view, result) => results.push({ view, result }));
  return results;
}

/**
 * A deployment that created every view of the project and changed nothing that existed (a first deployment) compiles
 * each of them when they are this few: compiling them costs the server less than the catalog query that tells which
 * ones stand on which (which would compile only the views no other one stands on). Measured on new sessions, the
 * generated projects of the benchmarks: 8 views 7 ms against 17 ms, 22 views 20 against 26, 44 views 49 against 30.
 */
const FEW_NEW_VIEWS = 16;

/** Whether every change is a `create` and every one of `views` was created by one. */
function allCreated(changes: readonly AppliedChange[], views: readonly ObjectKey[]): boolean {
  if (changes.some((c) => c.action !== 'create')) return false;
  const created = new Set(changes.map((c) => formatKey(c.key)));
  return views.every((v) => created.has(formatKey(v)));
}

/** Of `compilable`, the keys to compile after the deployment `options.changes`; null: every one. */
async function viewsToCheck(
  conn: Connection,
  smoke: SmokeDialect,
  options: BaselineSelection,
  compilable: readonly ObjectKey[],
): Promise<Set<string> | null> {
  if (!options.changes || !smoke.viewDependencies) return null;
  const views = compilable.filter((k) => k.kind === 'view' || k.kind === 'materialized-view');
  if (views.length <= FEW_NEW_VIEWS && allCreated(options.changes, views)) return null;
  const dependencies = await smoke.viewDependencies(conn, views);
  const bodies = new Map<string, string[]>();
  for (const o of options.model.objects ?? []) {
    const node = nodeOf(o.key);
    if (!node?.startsWith('routine:')) continue;
    const used = o.references.flatMap((r) => referenceNodes(r, options.model.graph.searchPath));
    bodies.set(node, [...(bodies.get(node) ?? []), ...used]);
  }
  return new Set(viewsToCompile(compilable, options.changes, dependencies, bodies).map(formatKey));
}

/**
 * The views of other projects (any view of the database the project's ledger does not record) over what the project's
 * own steps among `options.changes` changed in place: compiled after the deployment too, since it is what broke them
 * (a function's body changed under a view that calls it; a column type changed under a view reading it). Without
 * `changes` (`dbee smoke-test`), or without an engine that can tell, none. `existing`: the project's objects found in
 * the database.
 */
async function dependentViews(
  conn: Connection,
  smoke: SmokeDialect,
  options: BaselineSelection,
  deployed: readonly ObjectKey[],
  existing: readonly ObjectKey[],
): Promise<ObjectKey[]> {
  if (!options.changes || !smoke.dependentViews) return [];
  const starts = dependencyStarts(options.changes, options.model.project.name, deployed);
  if (starts.length === 0) return [];
  const own = new Set(deployed.map(formatKey));
  return (await smoke.dependentViews(conn, starts, existing)).filter((key) => !own.has(formatKey(key)));
}

/** Thrown inside a check's transaction so that it always rolls back. */
const ROLLBACK = Symbol('rollback');

class CheckRunner {
  private readonly typeNames = new Map<number, string>();

  constructor(
    private readonly conn: Connection,
    private readonly engine: Engine,
    private readonly smoke: SmokeDialect,
    private readonly defaultTimeoutMs: number,
    private readonly searchPath: string[],
  ) {}

  async run(check: SmokeCheck): Promise<{ result: SmokeResult; missing: ObjectKey[] }> {
    const timeoutMs = check.timeoutMs ?? this.defaultTimeoutMs;
    const warnings: DatabaseNotice[] = [];
    const stopListening = this.conn.onNotice?.((n) => {
      if (n.warning) warnings.push(n);
    });
    let durationMs = 0;
    let error: unknown;
    let missing: ObjectKey[] = [];
    let result: QueryResult | undefined;
    const bound = this.smoke.timeoutStatement(timeoutMs);
    const setPath = this.searchPath.length ? this.engine.session.searchPath(this.searchPath) : null;
    const setup = [bound, setPath].filter((x): x is string => Boolean(x));
    const body = async (tx: Connection, bound?: number) => {
      const started = performance.now();
      try {
        if (check.body.kind === 'exists') missing = await this.smoke.missingObjects(tx, check.body.keys, bound);
        else result = await tx.query(check.body.sql, check.body.params);
      } catch (e) {
        error = e;
      } finally {
        durationMs = Math.round(performance.now() - started);
      }
    };
    try {
      // An existence check is one catalog query that changes nothing: where the engine bounds that query by itself,
      // it is one request, with no transaction to open and roll back around it.
      if (check.body.kind === 'exists' && this.smoke.boundsOneQuery?.(this.conn)) await body(this.conn, timeoutMs);
      else await this.rolledBack(setup, (tx) => body(tx));
    } catch (e) {
      error ??= e;
    } finally {
      stopListening?.();
    }

    const problems: string[] = [];
    if (error !== undefined) problems.push(describeError(error, timeoutMs));
    else if (durationMs > timeoutMs) problems.push(`took ${durationMs} ms, over its bound of ${timeoutMs} ms`);
    if (missing.length) problems.push(`missing: ${missing.map(formatKey).join(', ')}`);
    if (warnings.length) {
      problems.push(
        `raised ${warnings.length === 1 ? 'a warning' : `${warnings.length} warnings`}: ${warnings.map((w) => w.message).join(' | ')}`,
      );
    }
    if (error === undefined && result && check.body.kind === 'statement')
      problems.push(...(await this.compareResult(check.body, result)));
    return {
      missing,
      result: {
        name: check.name,
        source: check.source ? `${check.source.file}${check.source.line ? ':' + check.source.line : ''}` : 'baseline',
        status: problems.length ? 'failed' : 'passed',
        durationMs,
        message: problems.length ? problems.join('; ') : null,
      },
    };
  }

  /**
   * Run `body` in a transaction opened with the `setup` statements (the check's time bound, the search path), which is
   * always rolled back. Where the connection sends several statements in one request, the transaction opens with its
   * setup in one round trip.
   */
  private async rolledBack(setup: readonly string[], body: (tx: Connection) => Promise<void>): Promise<void> {
    if (!this.conn.executeBatch) {
      await this.conn
        .transaction(async (tx) => {
          for (const sql of setup) await tx.execute(sql);
          await body(tx);
          throw ROLLBACK;
        })
        .catch((e: unknown) => {
          if (e !== ROLLBACK) throw e;
        });
      return;
    }
    try {
      await this.conn.execute(['BEGIN', ...setup].join(';\n'));
      await body(this.conn);
    } finally {
      await this.conn.execute('ROLLBACK').catch(() => {});
    }
  }

  /**
   * Run parameterless checks that expect nothing but to run (the baseline's compile checks) in one request, in one
   * transaction that is rolled back: their results when every one ran without error or warning, within the bound of
   * the whole request; null otherwise (or without `executeBatch`), and the caller runs them one by one.
   */
  async allPass(checks: SmokeCheck[]): Promise<Map<SmokeCheck, SmokeResult> | null> {
    if (!this.conn.executeBatch || checks.length === 0) return null;
    if (
      checks.some(
        (c) =>
          c.body.kind !== 'statement' ||
          c.body.params.length ||
          c.body.columns ||
          c.body.rows ||
          c.timeoutMs !== undefined,
      )
    )
      return null;
    const bound = this.smoke.timeoutStatement(this.defaultTimeoutMs);
    const setPath = this.searchPath.length ? this.engine.session.searchPath(this.searchPath) : null;
    let warned = false;
    const stopListening = this.conn.onNotice?.((n) => {
      if (n.warning) warned = true;
    });
    const started = performance.now();
    try {
      const statements = [
        'BEGIN',
        ...(bound ? [bound] : []),
        ...(setPath ? [setPath] : []),
        ...checks.map((c) => (c.body as { sql: string }).sql),
        'ROLLBACK',
      ];
      const r = await this.conn.executeBatch(statements);
      if (r.error) {
        await this.conn.execute('ROLLBACK').catch(() => {});
        return null;
      }
    } finally {
      stopListening?.();
    }
    const total = performance.now() - started;
    if (warned || total > this.defaultTimeoutMs) return null;
    const each = Math.round(total / checks.length);
    return new Map(
      checks.map((c) => [
        c,
        { name: c.name, source: 'baseline', status: 'passed' as const, durationMs: each, message: null },
      ]),
    );
  }

  private async compareResult(
    expected: { columns?: [string, string][]; rows?: Record<string, unknown>[] },
    result: QueryResult,
  ): Promise<string[]> {
    const problems: string[] = [];
    if (expected.columns) {
      if (!result.fields) return ['this connection does not report result columns, so their types cannot be checked'];
      const unknown = result.fields.map((f) => f.typeId).filter((id) => !this.typeNames.has(id));
      if (unknown.length)
        for (const [id, name] of await this.smoke.typeNames(this.conn, unknown)) this.typeNames.set(id, name);
      const actual = result.fields.map((f): [string, string] => [
        f.name,
        this.typeNames.get(f.typeId) ?? `type ${f.typeId}`,
      ]);
      const diff = compareColumns(expected.columns, actual);
      if (diff.length) problems.push(`columns differ: ${diff.join(', ')}`);
    }
    if (expected.rows) {
      const diff = compareRows(expected.rows, result.rows);
      if (diff) problems.push(`rows differ: ${diff}`);
    }
    return problems;
  }
}

function describeError(error: unknown, timeoutMs: number): string {
  if (error instanceof DbeeError && error.code === 'STATEMENT_TIMEOUT')
    return `did not complete within ${timeoutMs} ms (cancelled)`;
  // Driver errors mapped by the engine end with the statement, which the output already identifies.
  const message = error instanceof Error ? error.message.split('\n  statement:')[0]! : String(error);
  return `failed: ${message.replace(/\n\s*/g, '; ')}`;
}

/** One result as a line (and, when it failed, a second line with the reason), for text output. */
export function formatSmokeResult(r: SmokeResult): string {
  const head = `  ${r.status === 'passed' ? 'pass' : 'FAIL'}  ${r.name} (${r.durationMs} ms)`;
  if (r.status === 'passed') return head;
  return `${head}${r.source === 'baseline' ? '' : ` at ${r.source}`}\n        ${r.message}`;
}
