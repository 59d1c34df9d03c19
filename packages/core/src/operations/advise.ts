import {
  DEFAULT_THRESHOLDS,
  eligible,
  candidates,
  provenIndexes,
  type AdviseThresholds,
  type CostedQuery,
  type IndexAdvice,
} from '../advise/missing-indexes';
import { freeName, partitionIndexes } from '../advise/partition-indexes';
import { tableFilter } from '../advise/table-filter';
import { redundantIndexes, unusedIndexes } from '../advise/existing-indexes';
import { factsOf, releaseAdvice } from '../advise/release';
import type { AdviseReport } from '../advise/report';
import { formatAdviseText } from '../advise/report';
import { extendedStatistics, staleTables, type ExtendedStatisticsAdvice } from '../advise/statistics';
import { writeAdvice, writeStatisticsAdvice } from '../advise/write-advice';
import { formatStatisticsText, statisticsAdvice, type StatisticsReport } from '../advise/collect-statistics';
import { querySourceKinds, type AppQuery } from '../check/queries';
import type { OperationContext } from '../context/operation-context';
import { deployedStates, loadTarget, schemaOwners, type LoadedTarget } from '../context/load';
import type { AdviseRole, AdviseTable } from '../engine/advise-role';
import { requireRole, type Connection } from '../engine/engine';
import { DbeeError, ExitCode, type ExitCodeValue } from '../errors';
import { openLedger } from '../ledger/open-ledger';
import type { AdviseOptions } from '../options';
import { backupStamp } from '../plan/backup-stamp';
import type { Plan } from '../plan/plan';
import { withSession } from '../runner/session';
import { applicationSearchPath, querySpecs, readQuerySources } from './compat';
import { SMALL_TABLE_ROWS } from './size-hazards';
import { planSources } from './source-plan';

/**
 * `dbee advise`: index and statistics advice for a project on an environment. Reads the workload (the compatibility
 * check's query sources) and the plan `deploy` would make, then, on the target's session (reads only: hypothetical
 * indexes live in the session): the workload's generic plans, missing indexes proven with hypothetical ones, redundant
 * and unused indexes, what the release changes, and statistics. Prints the report; `--write` writes the advice as
 * sources. Exit 1 when the index advice could not be proven (no hypothetical indexes on the target).
 */
export async function advise(ctx: OperationContext, options: AdviseOptions): Promise<ExitCodeValue> {
  const loaded = await loadTarget(ctx, options.project, options.env);
  const { environment, engine } = loaded;
  const { specs } = querySpecs({ environment, queries: options.queries });
  if (!specs.length)
    throw new DbeeError(`no query source for environment ${environment.name}`, {
      code: 'COMPAT_NO_QUERIES',
      location: environment.declaredAt,
      hint: `give --queries <${querySourceKinds(engine.querySources)}>, or set environments.${environment.name}.compat.queries in dbee.yaml`,
    });
  // An engine whose optimizer recommends statistics itself, with no hypothetical indexes: statistics advice only.
  if (!engine.advise && engine.statisticsAdvice) return adviseStatistics(ctx, loaded, options, specs);
  const role = requireRole(engine, 'advise', 'advise indexes and statistics');
  const thresholds: AdviseThresholds = {
    minCost: options.minCost ?? DEFAULT_THRESHOLDS.minCost,
    minSavingsPct: options.minSavings ?? DEFAULT_THRESHOLDS.minSavingsPct,
    minCalls: options.minCalls ?? DEFAULT_THRESHOLDS.minCalls,
  };
  const report = await withSession(
    {
      engine,
      environment,
      workspaceRoot: ctx.workspace.root,
      reporter: ctx.reporter,
      ...(options.waitForLock !== undefined ? { waitMs: options.waitForLock * 1000 } : {}),
    },
    async ({ conn }) => {
      const plan = await releasePlan(ctx, loaded, conn);
      const searchPath = applicationSearchPath(environment, engine, loaded.model);
      const queries = await readQuerySources(ctx, { engine, conn, environment, searchPath }, specs);
      try {
        return await gather(role, conn, {
          loaded,
          plan,
          queries,
          searchPath,
          thresholds,
          include: options.includeTables,
          exclude: options.skipTables,
        });
      } finally {
        // Hypothetical indexes live until the session ends; a pooled session (an Nx batch) goes on.
        await role.hypothetical.reset(conn).catch(() => {});
      }
    },
  );
  ctx.stdout.write(options.format === 'json' ? JSON.stringify(report, null, 2) + '\n' : formatAdviseText(report));
  if (!report.proof.hypothetical) {
    throw new DbeeError(`the index advice for ${environment.name} is not proven: ${report.proof.reason}`, {
      code: 'ADVICE_UNPROVEN',
      hint: 'the report above lists the candidates unproven; with HypoPG on the target each is costed by the planner (nothing is created: hypothetical indexes live in one session)',
    });
  }
  if (options.write) {
    const { written, kept } = writeAdvice(report, loaded.target, ctx.workspace.root, environment.name);
    for (const f of written) ctx.stderr.write(`wrote ${f}\n`);
    for (const f of kept) ctx.stderr.write(`kept ${f} (it exists)\n`);
    if (!written.length && !kept.length) ctx.stderr.write('nothing to write\n');
  }
  return ExitCode.ok;
}

/** `dbee advise` through the `statisticsAdvice` role: the optimizer's recommended statistics, missing and stale. */
async function adviseStatistics(
  ctx: OperationContext,
  loaded: LoadedTarget,
  options: AdviseOptions,
  specs: string[],
): Promise<ExitCodeValue> {
  const { environment, engine } = loaded;
  const role = requireRole(engine, 'statisticsAdvice', 'advise statistics');
  const searchPath = applicationSearchPath(environment, engine, loaded.model);
  const advice = await withSession(
    { engine, environment, workspaceRoot: ctx.workspace.root, reporter: ctx.reporter },
    async ({ conn }) => {
      const queries = await readQuerySources(ctx, { engine, conn, environment, searchPath }, specs);
      return statisticsAdvice(role, conn, {
        queries,
        schemas: loaded.model.graph.schemas,
        searchPath,
        now: new Date(),
      });
    },
  );
  const report: StatisticsReport = { project: loaded.target.name, environment: environment.name, ...advice };
  ctx.stdout.write(options.format === 'json' ? JSON.stringify(report, null, 2) + '\n' : formatStatisticsText(report));
  if (options.write) {
    const written = writeStatisticsAdvice(report, loaded.target, ctx.workspace.root, environment.name);
    for (const f of written) ctx.stderr.write(`wrote ${f}\n`);
    if (!written.length) ctx.stderr.write('nothing to write\n');
  }
  return ExitCode.ok;
}

/**
 * The plan `deploy` would make of the project's sources on this target (as `status` reads its pending steps), its
 * dependencies' pending changes first: `dbee deploy <project>` deploys them too (and under Nx their own deploy tasks
 * run before), and the project's queries read their tables.
 */
async function releasePlan(ctx: OperationContext, loaded: LoadedTarget, conn: Connection): Promise<Plan> {
  const quiet: OperationContext = { ...ctx, reporter: { info: () => {}, warn: () => {}, step: () => {} } };
  const ledger = openLedger(conn, loaded.engine.ledger);
  const planned = loaded.all.map((p) => p.name);
  const deployed = await deployedStates(ctx, ledger, loaded.environment, planned);
  return planSources(
    quiet,
    {
      engine: loaded.engine,
      models: loaded.models,
      planned,
      schemaOwners: schemaOwners(ctx, loaded.environment),
      deployed,
      sourceCommit: null,
    },
    loaded.environment,
    conn,
    backupStamp(new Date()),
  );
}

/** Every section of the report, in the order the method needs: the workload costed first, then each question. */
async function gather(
  role: AdviseRole,
  conn: Connection,
  input: {
    loaded: LoadedTarget;
    plan: Plan;
    queries: AppQuery[];
    searchPath: string[];
    thresholds: AdviseThresholds;
    include?: string[];
    exclude?: string[];
  },
): Promise<AdviseReport> {
  const { loaded, plan, searchPath, thresholds } = input;
  const schemas = loaded.model.graph.schemas;
  const proof = await role.hypothetical.available(conn);
  const allTables = await role.tables(conn, schemas);
  const chosen = tableFilter(allTables, input.include, input.exclude);
  const tables = allTables.filter((t) => chosen(t));
  const mine = input.queries.filter((q) => namesATable(q, schemas, allTables));
  const workload = await costWorkload(role, conn, mine, searchPath);
  const considered = eligible(workload, thresholds);
  // The indexes of every project the release deploys (what it may drop), read once; the project's own are advised on.
  const releaseIndexes = await role.indexes(conn, [...new Set(loaded.models.flatMap((m) => m.graph.schemas))]);
  const [indexes, foreignKeys, extended, statsSince] = [
    releaseIndexes.filter((i) => schemas.includes(i.schema) && chosen(i)),
    (await role.foreignKeys(conn, schemas)).filter(chosen),
    await role.extendedStatistics(conn, schemas),
    await role.statsSince(conn),
  ];
  const owned = (c: { schema: string; name: string }) => schemas.includes(c.schema) && chosen(c);
  const inScope = considered.map((q) => ({ ...q, columns: q.columns.filter(owned) }));
  const facts = factsOf(role, plan.steps);
  const baseline = facts.createdIndexes.map((c) => c.index);
  const scoped = workload.map((q) => ({ ...q, columns: q.columns.filter(owned) }));
  const extendedAdvice = await extendedStatistics(role, conn, scoped, tables, extended);
  const dependent = extendedAdvice.map((e) => ({
    schema: e.statistics.schema,
    table: e.statistics.table,
    columns: [e.statistics.columns[0]!, e.statistics.columns[1]!] as [string, string],
  }));
  const missing = proof.ok
    ? await provenIndexes(role, conn, searchPath, inScope, indexes, baseline, thresholds, dependent)
    : [];
  const redundant = redundantIndexes(indexes);
  const release = await releaseAdvice(role, conn, {
    searchPath,
    steps: plan.steps.length,
    facts,
    // Every query planned (past the calls floor): one an index the release drops serves is cheap today.
    workload: workload.filter((q) => q.query.calls === undefined || q.query.calls >= thresholds.minCalls),
    indexes,
    releaseIndexes,
    foreignKeys,
    advised: missing.map((m) => m.index),
    canHide: proof.ok && proof.hide,
    hypothetical: proof.ok,
  });
  return {
    project: loaded.target.name,
    environment: loaded.environment.name,
    thresholds,
    workload: {
      queries: workload.length,
      others: input.queries.length - mine.length,
      considered: considered.length,
      skipped: workload.flatMap((q) => (q.skipped ? [{ origin: q.query.origin, reason: q.skipped }] : [])),
    },
    proof: proof.ok ? { hypothetical: true } : { hypothetical: false, reason: proof.reason },
    missingIndexes: await withStatements(role, conn, missing, tables),
    unprovenCandidates: proof.ok ? [] : candidates(inScope, indexes).singles,
    redundantIndexes: redundant,
    // Every query of the workload, the cheap ones too: an index a cheap query's plan scans is not unused.
    unusedIndexes: unusedIndexes(indexes, foreignKeys, redundant, workload),
    statsSince,
    release,
    statistics: statisticsSection(role, tables, extendedAdvice),
  };
}

/**
 * The advised indexes with their statements: `CONCURRENTLY` on a table over the small-table limit; on a partitioned
 * one, `ON ONLY` the parent with each partition's built `CONCURRENTLY` (or the one it has already) and attached (the
 * parent refuses `CONCURRENTLY`). Every name built is one no relation of its schema has (numbered as PostgreSQL does).
 */
async function withStatements(
  role: AdviseRole,
  conn: Connection,
  advice: IndexAdvice[],
  tables: AdviseTable[],
): Promise<(IndexAdvice & { statement: string; tableRows: number })[]> {
  if (!advice.length) return [];
  const tableOf = (m: IndexAdvice) => tables.find((t) => t.schema === m.index.schema && t.name === m.index.table);
  const schemas = [
    ...new Set(advice.flatMap((m) => [m.index.schema, ...(tableOf(m)?.partitions ?? []).map((p) => p.schema)])),
  ];
  const taken = await role.relationNames(conn, schemas);
  const existing = await role.indexes(conn, schemas);
  return advice.map((m) => {
    const table = tableOf(m);
    const rows = table?.rows ?? 0;
    const index = { ...m.index, name: freeName(taken, m.index.schema, m.index.name) };
    const partitions = partitionIndexes(index, table?.partitions ?? [], existing, taken);
    return {
      ...m,
      index,
      tableRows: rows,
      statement: role.render.createIndex(index, rows > SMALL_TABLE_ROWS, partitions),
    };
  });
}

/** The statistics section: stale tables with their ANALYZE, extended statistics with their statements. */
function statisticsSection(
  role: AdviseRole,
  tables: AdviseTable[],
  extended: ExtendedStatisticsAdvice[],
): AdviseReport['statistics'] {
  return {
    stale: staleTables(tables).map((s) => ({ ...s, statement: role.render.analyze(s.table) })),
    extended: extended.map((e) => ({
      ...e,
      statement: role.render.createStatistics(e.statistics),
      rollback: role.render.dropStatistics(e.statistics),
      analyze: role.render.analyze({ schema: e.statistics.schema, name: e.statistics.table }),
    })),
  };
}

/**
 * Whether a query names a table of the project's schemas (qualified, or unqualified with the name of one of them): the
 * rest of a statistics source (other applications' queries, dbee's own catalog reads) is not this project's workload.
 * A query whose objects the parser could not read is kept (it is then planned, or listed as not planned).
 */
function namesATable(q: AppQuery, schemas: string[], tables: AdviseTable[]): boolean {
  const relations = q.references.filter((r) => r.kind === 'relation');
  if (!q.references.length) return true;
  return relations.some((r) =>
    r.schema
      ? schemas.includes(r.schema) && tables.some((t) => t.schema === r.schema && t.name === r.name)
      : tables.some((t) => t.name === r.name),
  );
}

/** Each query's generic plan on the target now, and the columns it filters, joins and sorts on. */
async function costWorkload(
  role: AdviseRole,
  conn: Connection,
  queries: AppQuery[],
  searchPath: string[],
): Promise<CostedQuery[]> {
  const out: CostedQuery[] = [];
  for (const query of queries) {
    const columns = (await role.queryColumns(conn, query.text, searchPath)) ?? [];
    try {
      const planned = await role.cost(conn, query.text, searchPath);
      out.push({ query, cost: planned.cost, indexes: planned.indexes, columns });
    } catch (e) {
      out.push({ query, cost: null, indexes: [], columns, skipped: (e as Error).message.split('\n')[0]! });
    }
  }
  return out;
}
