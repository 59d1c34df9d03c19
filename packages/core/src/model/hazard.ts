import type { HazardKind } from '../config/schema';

/** A risk a step carries; `deploy` refuses steps whose hazards the environment does not allow. */
export interface Hazard {
  kind: HazardKind;
  /** Human explanation, e.g. `drops column sales.orders.note and its data`. */
  message: string;
  /**
   * The lint rule it comes from (`schema/lint-rules.ts`, docs/lint-rules.md): the lock, how long, the safe rewrite.
   * Absent in plans written before rules had names, and for hazards a conflict strategy adds.
   */
  rule?: string;
}
