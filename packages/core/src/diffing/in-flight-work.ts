import type { Connection, Engine } from '../engine/engine';
import type { DbeeError } from '../errors';
import type { Change } from '../schema/change';
import type { SchemaModel } from '../schema/model';

/**
 * dbee's own unfinished work in a database: what a strategy holds there between two of its phases (an expand-contract
 * release expanded and not yet completed or aborted). `status`, `diff`, drift, `clone` and the batch reads of a
 * deployment read it through one reader (`InFlightReader`, which asks every strategy of the table) and use only what
 * this says, so none of them names a strategy, and none takes the work for a difference or for drift.
 */
export interface InFlightWork {
  /** The strategy whose work it is, as `--strategy` names it (`expand-contract`). */
  strategy: string;
  project: string;
  /** What the strategy calls its work: `release`. */
  kind: string;
  /** The work as messages name it: `release 2`. */
  name: string;
  /** Its phase now, as the strategy names it: `expanded`. */
  phase: string;
  /** This work in this phase, for a cache key: a diff cached with other work in flight (or none) is not reused. */
  key: string;
  /** What it holds, as JSON output shows it (`diff --format json`'s `inFlight`, with the environment). */
  json: Record<string, unknown>;
  /**
   * One line for people: what it holds and the commands that end it. `where` is what those commands take after their
   * name (` sales --env prod`), or empty.
   */
  describe(where: string): string;
  /** The commands that end it, each with `where` after its name (`dbee complete sales --env prod`). */
  finish(where: string): string[];
  /** `model`, read from the database, as it was before the work: what undoing it would leave. */
  before(model: SchemaModel): SchemaModel;
  /**
   * `live`, read from the database, to be compared with the sources: without the work's scaffolding, and the changes
   * that finishing it makes (`skip`) left out of the plan.
   */
  againstSources(live: SchemaModel): { from: SchemaModel; skip: (c: Change) => boolean };
  /** The ledger's pending drops (deployed objects whose source is gone) less those the work records when it ends. */
  pendingDrops(drops: readonly string[]): string[];
  /** Why `what` (`sales cannot be deployed with the direct strategy`) cannot run on `environment` while it is here. */
  refusal(what: string, environment: string): DbeeError;
}

/**
 * The one reader of dbee's work in flight: the first work any strategy holds for one of `projects` on this database,
 * or null. Reads only (a ledger without the strategies' tables has none).
 */
export type InFlightReader = (
  conn: Connection,
  engine: Engine,
  projects: readonly string[],
) => Promise<InFlightWork | null>;

/** `live` against the sources with `work` in flight (or none): what diff and drift compare, by one rule. */
export function againstSources(
  live: SchemaModel,
  work: InFlightWork | null,
): { from: SchemaModel; skip?: (c: Change) => boolean } {
  return work ? work.againstSources(live) : { from: live };
}
