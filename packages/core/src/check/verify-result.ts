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
  /**
   * The copy compared with the sources once every step applied (`VerifyInput.converge`): null when it was not (a step
   * failed, or no comparison was asked for).
   */
  convergence?: Convergence | null;
}

/** What the views compiled on the copy after the plan said. */
export interface VerifiedViews {
  /** How many views were compiled (each once, however many projects' baselines chose it). */
  compiled: number;
  /** Each view that failed: a refusal naming it (at its source file and line when it is a planned project's). */
  problems: DbeeError[];
}

/**
 * One object that differs, after a plan, from what the sources describe (the comparison `diff` makes, narrowed to
 * the objects the plan touched): what a diff would still do to it.
 */
export interface Divergence {
  /** The object's key, e.g. `table:sales.orders`. */
  object: string;
  /** What differs, as the changes a diff would still plan, e.g. `add-constraint orders_code_key`. */
  what: string[];
}

/** What the convergence check said (`diffing/converge.ts`). */
export interface Convergence {
  /** The relations, routines and types compared (`schema.name`); empty when the plan touched none. */
  compared: string[];
  /** Each object that differs from the sources; empty when the state reached is the desired one. */
  divergences: Divergence[];
  /** Projects not compared, each with why (an engine that cannot compare, no sources to compare with). */
  notCompared: { project: string; reason: string }[];
}
