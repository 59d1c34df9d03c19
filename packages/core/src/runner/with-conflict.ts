import type { StepConflict } from './step-conflict';

/**
 * A step's statements with its conflict resolution around them: `before` first, then the step's own, with `after`
 * (the copy of the renamed-aside table's rows, its dependents created again) right after the statement that creates
 * the object, so that the step's later statements (COMMENT, COLLECT STATISTICS, GRANT) come after the rows: statistics
 * collected before the copy would describe an empty table (#39). When no statement creates the object, `after` ends
 * the step. The runner, the dry run and the verification all take the statements from here.
 */
export function withConflict(conflict: Pick<StepConflict, 'before' | 'after'> | null | undefined, own: string[]): string[] {
  if (!conflict) return own;
  const at = own.findIndex((sql) => /^CREATE\b/i.test(sql.replace(/^(\s*(--[^\n]*\n|\/\*[\s\S]*?\*\/))*\s*/, '')));
  const split = at < 0 ? own.length : at + 1;
  return [...conflict.before, ...own.slice(0, split), ...conflict.after, ...own.slice(split)];
}
