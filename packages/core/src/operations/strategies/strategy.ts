import type { OperationContext } from '../../context/operation-context';
import type { InFlightReader } from '../../diffing/in-flight-work';
import type { Connection, Engine, EngineRole } from '../../engine/engine';
import type { BackfillState } from '../../expand/backfill';
import type { AbortOptions, CompleteOptions, DeployOptions } from '../../options';
import type { Guarantee } from '../../pipeline/guarantees';
import type { PipelineCommand, PipelineInputs, PipelinePlan } from '../../pipeline/pipeline';
import type { ChangeKind } from '../../schema/change';
import type { DryRunHooks } from '../compat';

/**
 * A strategy: how a plan reaches a live database (ARCHITECTURE.md, "strategy"), one entry of the table `STRATEGIES`
 * (strategies/index.ts). It says what it accepts, gives its phases as commands of the one pipeline (never a pipeline
 * of its own: the gates, the drift stage, the ledger rows, the notifications and the report are the pipeline's), says
 * what it holds in a database between its phases, and has its row in the guarantee matrix. `deploy` (the dispatcher,
 * operations/deploy.ts), `status`, `diff`, drift, `clone` and the batch reads work through this interface and never
 * name a strategy; adding one is its module and one line of the table.
 */
export interface Strategy {
  /** What `--strategy` and `deploy.strategy` name it: `direct`, `expand-contract`, `blue-green`. */
  name: string;
  /** One line for people: what it does. */
  summary: string;
  accepts: StrategyAccepts;
  /** The phase that starts it: `dbee deploy --strategy <name>`. */
  deploy: StrategyPhase<DeployOptions>;
  /**
   * The phases that go on from what `deploy` left in flight, by the command that runs each (`complete`, `abort`; for
   * blue/green, `switch`, `fallback`, `finish`). Absent: `deploy` finishes what it starts (`direct`).
   */
  phases?: Readonly<Record<string, StrategyPhase<PhaseOptions>>>;
  /**
   * What it holds in a database between its phases, for `projects` (the first it finds), or null. Absent: nothing
   * outlives its runs. Every strategy's is read by one reader (`inFlightReader`, strategies/in-flight.ts).
   */
  inFlight?: InFlightReader;
  /** What `dbee status` shows of it for a project (its key in the JSON output, and its lines in the text). */
  status?: StrategyStatus;
}

/** What a strategy accepts: each checked before it runs, with a refusal that says what to do instead. */
export interface StrategyAccepts {
  /**
   * The options of `deploy` that belong to it, each with what it does (`objects`: `deploys a selection of the plan`):
   * given with another strategy, `deploy` refuses them (exit 1) before anything is read.
   */
  options: Readonly<Partial<Record<keyof DeployOptions, string>>>;
  /**
   * The kinds of typed change it can carry, or `every` (a plan's steps as they are). Its plan stage refuses the others,
   * each named (expand-contract: the kinds of `EXPAND_RULES`, whose keys this is).
   */
  changes: 'every' | readonly ChangeKind[];
  /** The engine roles it needs: an engine without one is refused before anything is read (`requireRole`). */
  roles: readonly EngineRole[];
}

/** The options of a phase after `deploy` (`dbee complete`, `dbee abort`): the project, the environment, the gates'. */
export type PhaseOptions = CompleteOptions & AbortOptions & { force?: boolean };

/** What the dispatcher gives a phase: the one reader of every strategy's work in flight, and a dry run's hooks. */
export interface PhaseRun {
  /** The work in flight of every strategy of the table (a direct deployment refuses to run over one). */
  inFlight: InFlightReader;
  /** `dbee check` and the compatibility check read a deployment's dry run through these. */
  hooks: DryRunHooks;
}

/** A phase's command for the pipeline (`runPipeline` runs it, with the package deployed, if any). */
export type PhaseCommand<O> = (
  ctx: OperationContext,
  options: O,
  run: PhaseRun,
) => PipelineCommand<PipelineInputs, PipelinePlan>;

/** One phase of a strategy, and its row in the guarantee matrix. */
export interface StrategyPhase<O> {
  /** The phase's command, its module loaded when the phase runs (a `dbee status` loads none of them). */
  command(): Promise<PhaseCommand<O>>;
  /**
   * Guarantee matrix: the phases that, run first (after a change to the sources, with nothing of the strategy in
   * flight), give this one something to do: `[]` for `deploy`, `['deploy']` for `complete`.
   */
  after: readonly string[];
  /** Guarantee matrix: the cells that do not apply to this phase, each with why (never counted as holding). */
  notApplicable?: Readonly<Partial<Record<Guarantee, string>>>;
  /**
   * Guarantee matrix: why its shared workspace (PGlite and the test server, no router) cannot run the phase, and the
   * test that runs its row on a stage of its own (`runMatrix`'s `stage`); the shared matrix lists it there.
   */
  ownStage?: string;
}

/** What `dbee status` shows of a strategy for a project. */
export interface StrategyStatus {
  /** Its key in `status --format json` (`expand`): null there when it has nothing for the project. */
  key: string;
  /** What it has for `project` (`backfills`: the keyset batches `status` read), or null. */
  read(
    conn: Connection,
    engine: Engine,
    project: string,
    backfills: readonly BackfillState[],
  ): Promise<{ json: unknown; lines: string[] } | null>;
}

/** The strategies a `deploy` chooses from, by name. */
export type StrategyTable = Readonly<Record<string, Strategy>>;
