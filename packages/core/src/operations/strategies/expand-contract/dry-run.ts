import type { ResolvedEnvironment } from '../../../config/resolve';
import type { Connection, Engine, ExpandStatement } from '../../../engine/engine';
import type { DbeeError } from '../../../errors';
import { BACKFILL_DEFAULTS } from '../../../expand/backfill';
import { needsBackfill, versionSchema, type ExpandPlan } from '../../../expand/expand-plan';
import { completeStatements } from '../../../expand/phase-statements';
import type { DeployOptions } from '../../../options';
import type { ProjectModel } from '../../../planner/project-model';
import type { OperationContext } from '../../../context/operation-context';
import { notVerified } from '../../../pipeline/gates';
import { statementsPlan } from '../../../runner/phase-run';
import { judgeCompat, prepareCompat, type DryRunHooks } from '../../compat';
import { verifyPlan } from '../../../runner/verify';
import { type Phases, names, strategyBackfill } from './settings';

/** Bytes as the dry run prints them: `64 kB`, `24 MB` (units of 1,024). */
export const kB = (bytes: number) =>
  bytes >= 1024 ** 2 && bytes % 1024 ** 2 === 0 ? `${bytes / 1024 ** 2} MB` : `${Math.round(bytes / 1024)} kB`;

/** What a dry run prints of the release: the expand's statements, each backfill with its pace, the contract. */
export function printExpandDryRun(p: Phases, project: string, plan: ExpandPlan, statements: ExpandStatement[]): void {
  const { ctx, expand } = p;
  ctx.stdout.write(`-- expand (each statement under lock_timeout ${p.lockTimeoutMs} ms, retried):\n`);
  for (const s of statements)
    ctx.stdout.write(
      `-- ${s.what}\n${s.clear ? `-- before each attempt:\n${s.clear};\n` : ''}${s.sql};\n${s.check ? `-- then checked:\n${s.check};\n` : ''}`,
    );
  const pace = strategyBackfill(ctx, project, p.environment);
  const paceText = [
    `first batch ${(pace.batchSize ?? BACKFILL_DEFAULTS.batchSize).toLocaleString('en-US')} rows`,
    pace.targetBatchMs
      ? `size adapted toward ${pace.targetBatchMs} ms per batch${pace.walBytesPerBatch ? ` and ${kB(pace.walBytesPerBatch)} of WAL` : ''}`
      : 'fixed size',
    ...(pace.walBytesPerSecond ? [`at most ${kB(pace.walBytesPerSecond)} of WAL per second`] : []),
    ...(pace.pauseMs ? [`${pace.pauseMs} ms pause between batches`] : []),
  ].join(', ');
  for (const t of plan.tables.filter(needsBackfill))
    ctx.stdout.write(
      `-- backfill ${t.schema}.${t.name} in keyset batches (${paceText}): SET ${expand.backfillSet(t)}\n`,
    );
  ctx.stdout.write(
    `-- complete:\n${completeStatements(expand, plan)
      .map((s) => `${s.sql};\n`)
      .join('')}`,
  );
}

/**
 * The strategy's dry run, verified as a direct one is: the expand's statements applied to a scratch copy of the
 * target's schemas (structure, no data), every failing statement a refusal (exit 1), a copy that cannot be made a
 * refusal too unless `--no-verify`. The running application's queries (`--queries`, `compat.queries`) are described
 * there before and after, with the old version schemas first in their search path after: the old application reads
 * through them while the release is expanded, so a rename made this way breaks none of its queries. The new
 * application's queries (`--new-queries`, `compat.newQueries`) are described after, through the new version schemas.
 */
export async function verifyExpand(
  ctx: OperationContext,
  options: DeployOptions,
  input: {
    engine: Engine;
    conn: Connection;
    environment: ResolvedEnvironment;
    models: ProjectModel[];
    target: string;
    plan: ExpandPlan;
    statements: ExpandStatement[];
  },
  hooks: DryRunHooks,
  problems: DbeeError[],
): Promise<void> {
  const { engine, conn, environment, models, plan } = input;
  if (options.verify === false) {
    ctx.reporter.info('dry run: not verified (--no-verify): the statements above were not applied to a copy');
    return;
  }
  const old = plan.schemas.map((schema) => versionSchema(schema, plan.previous));
  const compat = await prepareCompat(ctx, {
    engine,
    conn,
    environment,
    models,
    target: input.target,
    queries: options.queries,
    newQueries: options.newQueries,
    afterSearchPathFirst: old,
    newSearchPathFirst: plan.schemas.map((schema) => versionSchema(schema, plan.release)),
    // dbt's models read the tables (old columns kept by the expand) or the old version schema: checked after the expand.
    dbt: options.dbt,
    plan: statementsPlan(engine, input.target, input.statements),
  });
  const ensureLedgerSchema = ledgerSchemaOnCopy(engine);
  const verdict = await verifyPlan({
    engine,
    conn,
    environment,
    workspaceRoot: ctx.workspace.root,
    plan: statementsPlan(engine, input.target, [ensureLedgerSchema, ...input.statements]),
    conflicts: new Map(),
    variables: new Map(),
    schemas: [...new Set(models.flatMap((m) => m.graph.schemas))],
    shadow: ctx.workspace.config.shadow ?? 'embedded',
    probe: compat?.probe,
  });
  if (!verdict.verified) problems.push(notVerified(verdict.skipped ?? 'the copy could not be made'));
  else
    ctx.reporter.info(
      // Never "verified" (issue 88): an expanded release is, by design, a shape the sources do not describe.
      `dry run: ${verdict.problems.length ? 'ran' : 'applied'} on a scratch copy of the target's schemas (${verdict.ran} statement${verdict.ran === 1 ? '' : 's'} of the expand${verdict.problems.length ? `, ${verdict.problems.length} failing` : ', all applied'}); not compared with the sources: an expanded release holds a shape they do not describe`,
    );
  problems.push(...verdict.problems);
  if (compat) {
    if (verdict.verified)
      ctx.reporter.info(
        `dry run: the application's queries after the expand, through the old version (${old.join(', ')}, ...)${compat.withNewQueries ? `; the new application's through the new version (${names(plan, plan.release)}, ...)` : ''}`,
      );
    const outcome = await compat.outcome(statementsPlan(engine, input.target, input.statements), verdict);
    judgeCompat(ctx, compat, outcome, hooks, problems);
  }
}

/** The sync triggers' functions live in the ledger's schema, which the copy of the project's schemas does not hold. */
export function ledgerSchemaOnCopy(engine: Engine): ExpandStatement {
  return {
    what: `schema ${engine.ledger.schema} (the sync triggers' functions)`,
    sql: `CREATE SCHEMA IF NOT EXISTS ${engine.ledger.schema}`,
    transactional: true,
  };
}
