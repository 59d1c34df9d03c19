import type { Plan } from '../plan/plan';
import type { ProjectModel } from '../planner/project-model';
import { stepStatements } from '../plan/step-statements';
import { hazardLine } from '../schema/lint-rules';
import type { ConflictDecision } from './conflicts';

/**
 * Print a plan as the exact SQL that would run, in order, with hazards. With `decisions` (deploy --dry-run), each
 * step that creates an object also says which conflict rule applies to it, whether the object already exists, and
 * the statements that would move it aside.
 */
export function printPlan(
  out: NodeJS.WritableStream,
  plan: Plan,
  models: readonly ProjectModel[],
  decisions?: ReadonlyMap<number, ConflictDecision>,
): void {
  const vars = new Map(models.map((m) => [m.project.name, m.variables]));
  if (plan.steps.length === 0) {
    out.write('-- nothing to do: the database is up to date\n');
    return;
  }
  for (const step of plan.steps) {
    const where = step.source ? `  (${step.source.file}:${step.source.line})` : '';
    out.write(
      `-- step ${step.order}/${plan.steps.length}: ${step.action} ${step.key}${where}${step.transactional ? '' : '  [outside a transaction]'}\n`,
    );
    for (const h of step.hazards) out.write(`--   hazard ${hazardLine(h)}\n`);
    for (const note of step.notes ?? []) out.write(`--   ${note}\n`);
    if (step.batched)
      out.write(
        `--   batched: each UPDATE runs in keyset batches of one transaction each${
          Object.keys(step.batched).length
            ? ` (${Object.entries(step.batched)
                .map(([k, v]) => `${k} ${v}`)
                .join(', ')})`
            : ''
        }, resumable\n`,
      );
    const d = decisions?.get(step.order);
    const rule = d
      ? `${d.rule.strategy}${d.rule.strategy === 'rename' && d.rule.copyData ? ' with copyData' : ''} (${d.rule.source})`
      : '';
    if (d && !d.exists) out.write(`--   if it exists: ${rule}; it does not\n`);
    if (d?.exists) {
      const backup = d.resolution?.backup
        ? `, kept as ${d.resolution.backup.schema ? d.resolution.backup.schema + '.' : ''}${d.resolution.backup.name}`
        : '';
      const outcome = d.movedWith
        ? `moved with schema ${d.movedWith.schema}, kept as ${d.movedWith.backup.schema}.${d.movedWith.backup.name}`
        : d.problem
          ? `REFUSED: ${d.problem.message}`
          : d.skipped
            ? 'skipped: left as it is, the step does not run'
            : d.rule.strategy === 'ignore'
              ? 'ignored: the step runs as written over it'
              : `${d.rule.strategy}${backup}`;
      out.write(`--   exists in the database, unknown to the ledger: ${rule} -> ${outcome}\n`);
    }
    // What the real run sends for this step (runner.ts renders it by the same function).
    const statements = stepStatements(step, vars.get(step.project) ?? {}, d?.resolution);
    for (const s of statements) out.write(s.trim() + ';\n');
    out.write('\n');
  }
}
