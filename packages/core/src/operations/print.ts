import type { Plan } from '../plan/plan';
import type { ProjectModel } from '../planner/project-model';
import { expandPlaceholders } from '../sources/placeholders';

/** Print a plan as the exact SQL that would run, in order, with hazards. */
export function printPlan(out: NodeJS.WritableStream, plan: Plan, models: readonly ProjectModel[]): void {
  const vars = new Map(models.map((m) => [m.project.name, m.variables]));
  if (plan.steps.length === 0) {
    out.write('-- nothing to do: the database is up to date\n');
    return;
  }
  for (const step of plan.steps) {
    const where = step.source ? `  (${step.source.file}:${step.source.line})` : '';
    out.write(`-- step ${step.order}/${plan.steps.length}: ${step.action} ${step.key}${where}${step.transactional ? '' : '  [outside a transaction]'}\n`);
    for (const h of step.hazards) out.write(`--   hazard ${h.kind}: ${h.message}\n`);
    for (const s of step.statements) out.write(expandPlaceholders(s, vars.get(step.project) ?? {}, step.key).expanded.trim() + ';\n');
    out.write('\n');
  }
}
