import { expandPlaceholders } from '../sources/placeholders';
import type { PlanStep } from './plan';

/**
 * The statements one step of a plan sends to the database, in order: a conflict resolution's statements around the
 * step's own (moving an existing object aside, putting dependents back), `{{name}}` placeholders expanded with the
 * project's variables. The one rendering of a step: the real run sends these, and the dry run prints and verifies
 * exactly these (invariant 9).
 */
export function stepStatements(
  step: PlanStep,
  variables: Record<string, string>,
  conflict?: { readonly before: readonly string[]; readonly after: readonly string[] } | null,
): string[] {
  const own = step.statements.map((s) => expandPlaceholders(s, variables, step.source?.file ?? step.key).expanded);
  return [...(conflict?.before ?? []), ...own, ...(conflict?.after ?? [])];
}
