import type { Plan, PlanStep } from '../plan/plan';
import type { ProjectModel } from '../planner/project-model';

/**
 * Which earlier steps each step depends on, for `--continue-on-error`: a step runs only when all of them applied.
 * Deliberately generous, since running a step whose dependency failed is worse than skipping one that would have
 * worked: a reference counts against every earlier step whose object has that name (in its schema when the
 * reference names one), an object depends on its schema's step and its table's, and migrations, split-out
 * constraints and steps whose object the sources do not describe (packages) depend on every earlier step of their
 * project and of the projects before it.
 */
export function stepDependencies(plan: Plan, models: readonly ProjectModel[]): Map<number, Set<number>> {
  const objects = new Map(models.flatMap((m) => m.objects.map((o) => [`${m.project.name} ${o.id}`, o] as const)));
  const byName = new Map<string, PlanStep[]>();
  for (const s of plan.steps) {
    const name = s.objectKey.name.toLowerCase();
    byName.set(name, [...(byName.get(name) ?? []), s]);
  }
  const projectIndex = new Map(plan.projects.map((p, i) => [p, i]));
  const deps = new Map<number, Set<number>>();
  for (const step of plan.steps) {
    const set = new Set<number>();
    deps.set(step.order, set);
    const earlier = (s: PlanStep) => s.order < step.order;
    const object = objects.get(`${step.project} ${step.key}`);
    if (!object || step.action === 'migrate' || step.action === 'add-constraint') {
      const mine = projectIndex.get(step.project) ?? 0;
      for (const s of plan.steps) if (earlier(s) && (projectIndex.get(s.project) ?? 0) <= mine) set.add(s.order);
      continue;
    }
    const named = (schema: string | undefined, name: string) =>
      (byName.get(name.toLowerCase()) ?? []).filter(
        (s) => earlier(s) && (schema === undefined || s.objectKey.schema.toLowerCase() === schema.toLowerCase()),
      );
    for (const ref of object.references) for (const s of named(ref.schema, ref.name)) set.add(s.order);
    if (step.objectKey.parent) {
      const [schema, ...rest] = step.objectKey.parent.split('.');
      for (const s of named(rest.length ? schema : undefined, rest.length ? rest.join('.') : schema!)) set.add(s.order);
    }
    for (const s of plan.steps)
      if (earlier(s) && s.objectKey.kind === 'schema' && s.objectKey.name === step.objectKey.schema) set.add(s.order);
  }
  return deps;
}
