/**
 * What the pipeline guarantees every command that changes a database (ARCHITECTURE.md, invariant 10): the cells of the
 * guarantee matrix, which `test/pipeline/guarantees.test.ts` checks for each row (each command, and each phase of each
 * strategy of the table). A row says why a cell does not apply to it (`StrategyPhase.notApplicable`); it never says
 * that a cell holds.
 *
 * - `ticket`: refused without the change ticket `gates.requireTicket` asks for (exit 1, nothing written);
 * - `window`, `window, dry run`: refused outside the maintenance windows, the dry run alike;
 * - `protected`, `protected, dry run`: refused on a protected environment without a confirmation, the dry run alike;
 * - `hand edit`, `hand edit, dry run`: an object changed by hand refuses the run (or is put back visibly), the dry run
 *   alike, never recorded as dbee's;
 * - `exit 0`, `ledger row with ticket`, `step rows`, `notifications`, `no drift after`: the run itself;
 * - `converged`: the run ends with the convergence check (diffing/converge.ts): the objects it touched, read from the
 *   target, equal the sources (it says `converged:`); a difference fails it (exit 2). A row without it says why.
 */
export const GUARANTEES = [
  'ticket',
  'window',
  'window, dry run',
  'protected',
  'protected, dry run',
  'hand edit',
  'hand edit, dry run',
  'exit 0',
  'ledger row with ticket',
  'step rows',
  'notifications',
  'no drift after',
  'converged',
] as const;

export type Guarantee = (typeof GUARANTEES)[number];
