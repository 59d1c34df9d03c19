import type { DeploymentRow, LedgerStep } from '../ledger/ledger';
import type { PlanStep } from '../plan/plan';

// The steps an undo works from, in a file of their own so that the step journal and the deployment can name them
// without depending on the undo itself.

/** A step that committed during this run, with what it takes to undo it. */
export interface AppliedStep {
  step: PlanStep;
  deploymentId: number;
  /** The statements that ran (conflict statements included). */
  statements: string[];
  /** The statements recorded as its reverse; null when it cannot be undone automatically. */
  reverse: string[] | null;
  /** The object's checksum in the ledger before the step, restored when it is undone. */
  previousChecksum: string | null;
  /** Backup it kept (qualified name), renamed back when it is undone. */
  backup: string | null;
}

/**
 * What a step that failed outside a transaction committed before it failed: `ran` of its statements, undone by
 * `reverse` (null: dbee knows none), which also renames `backup` back.
 */
export interface PartialUndo {
  step: PlanStep;
  deploymentId: number;
  ran: number;
  reverse: string[] | null;
  backup: string | null;
}

/** A step of a compensating deployment (a `rollback` or an `enable`): what runs, and what the ledger records. */
export interface CompensatingStep {
  /**
   * The step as the reporter and a dry run show it: `order` (its position in this deployment), key, a plan action,
   * the statements that run, their reverse (recorded as the step's reverse), transactionality and hazards.
   */
  plan: PlanStep;
  /** Action recorded in the ledger, e.g. `undo-create` (undoing that gives `create` again), `enable`. */
  ledgerAction: string;
  /** The recorded step this one undoes, and its deployment; absent for steps of a diff (a rollback to a git ref). */
  undoes?: {
    step: LedgerStep;
    deployment: Pick<DeploymentRow, 'id' | 'kind' | 'reverts'>;
    /**
     * The object's state before `step` is not known to the caller (a BTEQ rollback script, written before the step it
     * undoes ran): it is put back from `step`'s own row as the write runs (`ObjectStore.stateBeforeStepWrites`), not
     * from `step.previousChecksum`. Default false.
     */
    previousFromRow?: boolean;
  };
  /** Not run: recorded `skipped` with this reason (an irreversible step that `--force` leaves applied). */
  skip?: string;
  /**
   * Statements to run instead when `plan.statements` fail inside a transaction (tried under a savepoint): a view
   * replaced by one with more columns cannot be replaced back, it is dropped and created.
   */
  fallback?: string[];
}
