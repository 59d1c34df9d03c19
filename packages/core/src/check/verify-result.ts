import type { Connection } from '../engine/engine';
import type { DbeeError } from '../errors';
import type { SchemaModel } from '../schema/model';

/**
 * What a dry run's verification on a scratch copy says (`verifyPlan` in runner/verify.ts), as the checks of this
 * folder read it too (`dbee check --dbt` verifies its plan the same way).
 */
/** See `VerifyInput.probe` (runner/verify.ts). */
export interface VerifyProbe {
  /** `copied`: the schema the copy was made from (the target's, as its catalog was read), which the copy now holds. */
  before(conn: Connection, copied: SchemaModel): Promise<void>;
  after(conn: Connection): Promise<void>;
}

export interface VerifyResult {
  /** False when the copy could not be made (the engine has no shadow database, or dbee cannot copy what is there). */
  verified: boolean;
  /** Why it was not verified. */
  skipped?: string;
  /** Every step that fails on the copy: its error, at its source file and line. */
  problems: DbeeError[];
  /**
   * Steps that failed on the copy only for rows it lacks (the narrow list of `DiffRole.missingRows`: a foreign key's
   * referenced row that the target holds): said, naming the rows, not refused. Every other failure is a problem.
   */
  warnings: string[];
  /** Statements the copy of the target's schemas took, and the plan's steps that ran on it. */
  copied: number;
  ran: number;
  /** The views the smoke baselines would compile after the plan, compiled on the copy (`VerifyInput.baseline`). */
  views: VerifiedViews;
}

/** What the views compiled on the copy after the plan said. */
export interface VerifiedViews {
  /** How many views were compiled (each once, however many projects' baselines chose it). */
  compiled: number;
  /** Each view that failed: a refusal naming it (at its source file and line when it is a planned project's). */
  problems: DbeeError[];
}
