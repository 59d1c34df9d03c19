import type { BuildAside } from '../engine/engine';
import type { ObjectKey } from '../model/object-key';

/**
 * How a step's CREATE gets past an existing object that the ledger does not know, decided before the run (and
 * shown by a dry run). The statements run in the step's transaction, around the step's own.
 */
export interface StepConflict {
  /** `ignore`: nothing moves; the step runs as written over the existing object, and `reverse` restores it. */
  strategy: 'rename' | 'drop' | 'ignore';
  /** Where the strategy comes from, e.g. `db.yaml conflicts[0] "schema/legacy/**"`. */
  rule: string;
  /** Statements that move the existing object out of the way (rename it aside, or drop it). */
  before: string[];
  /** Statements after the step's own (copying rows from the backup). */
  after: string[];
  /** Statements that undo `before` once the new object is gone; null when impossible (a dropped table). */
  reverse: string[] | null;
  /**
   * `ignore`: the existing object's definition, read once when the conflict was decided; the step records it as its
   * previous definition instead of reading it again. Null when the engine cannot write it as a statement.
   */
  definition?: string | null;
  /** The renamed-aside object (strategy `rename`). */
  backup: ObjectKey | null;
  /**
   * Objects dropped at the start of `before` and created again at the end of `after` (see `SetAside.dependents`);
   * the step's reverse drops them first (they stand on the new object) and `reverse` ends by creating them again.
   */
  dependents?: { drop: string[]; create: string[] };
  /**
   * Build aside, then swap (see `SetAside.buildAside`): the step's statements come from here (`before` and `after` are
   * empty), and a failure is undone at once by `undoAt`.
   */
  build?: BuildAside & { copyData: boolean };
}
