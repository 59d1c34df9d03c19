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
  conflict?: {
    readonly before: readonly string[];
    readonly after: readonly string[];
    readonly build?: { statements(own: readonly string[], copyData: boolean): string[]; copyData: boolean };
  } | null,
): string[] {
  const own = step.statements.map((s) => expandPlaceholders(s, variables, step.source?.file ?? step.key).expanded);
  if (!conflict) return own;
  // Build aside, then swap: the engine makes the whole step from its own statements.
  if (conflict.build) return conflict.build.statements(own, conflict.build.copyData);
  // `after` (the copy of a renamed-aside table's rows, its dependents created again) goes right after the statement
  // that creates the object, so the step's later statements (COMMENT, COLLECT STATISTICS, GRANT) come after the rows:
  // statistics collected before the copy would describe an empty table. No creating statement: `after` ends the step.
  const at = own.findIndex((sql) => /^CREATE\b/i.test(sql.replace(/^(\s*(--[^\n]*\n|\/\*[\s\S]*?\*\/))*\s*/, '')));
  const split = at < 0 ? own.length : at + 1;
  return [...conflict.before, ...own.slice(0, split), ...conflict.after, ...own.slice(split)];
}
