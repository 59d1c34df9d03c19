/**
 * The stages a deployment sends for one step, in the one order every transport follows: the runner over a connection
 * (`runStep` in runner.ts) and the BTEQ export over its recording transport (the Teradata package's `bteq/`), which
 * renders each stage's requests as lines of a script instead of sending them. A transport supplies what each stage
 * sends; `sendStep` alone decides the order, so a script cannot fall behind a change of the runner's order
 * (test/teradata/stage-order.test.ts compares the two on the Teradata test double).
 *
 * - `path`: the project's default schema or database, when the session has another one;
 * - `prepare`: what the step needs to know before it writes anything: its statements, its reverse, the definition it
 *   replaces (the runner reads it on the connection; a script, which cannot know it when it is written, asks at run
 *   time whether the ledger has the step already and whether an unknown object stands at its name);
 * - `started`: the step's `started` row, committed before its first statement, for a step whose requests commit apart
 *   (each Teradata DDL statement commits on its own): the next run finds it and settles the step;
 * - `statements`: the step's statements, in order;
 * - `applied`: the step's rows (its `steps` row, its object's state), replacing its `started` row. A transport that can
 *   commit the step's last statement with them sends it here, in their transaction (BTEQ: `BT; <rows>; <DDL>; ET;`).
 */
export const STEP_STAGES = ['path', 'prepare', 'started', 'statements', 'applied'] as const;

/** One of {@link STEP_STAGES}. */
export type StepStage = (typeof STEP_STAGES)[number];

/** What a transport sends at each stage of a step; a stage with nothing to send resolves at once. */
export type StepTransport = { readonly [K in StepStage]: () => Promise<void> };

/** Send one step over `transport`: its stages in {@link STEP_STAGES} order, each after the one before it finished. */
export async function sendStep(transport: StepTransport): Promise<void> {
  for (const stage of STEP_STAGES) await transport[stage]();
}
