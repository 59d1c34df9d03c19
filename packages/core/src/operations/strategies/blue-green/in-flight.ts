import type { InFlightReader, InFlightWork } from '../../../diffing/in-flight-work';
import type { Connection, Engine } from '../../../engine/engine';
import { DbeeError } from '../../../errors';
import { BlueGreenLedger, formatState, releaseMissing, type BlueGreenState } from '../../../blue-green/record';

/** The project's blue/green deployment as its `blue_green` record says (on this database), or null when it has none. */
export async function blueGreenOf(conn: Connection, engine: Engine, project: string): Promise<BlueGreenState | null> {
  if (!engine.blueGreen) return null;
  return new BlueGreenLedger(conn, engine.ledger, engine.blueGreen, project, '', '').state();
}

/**
 * A blue/green deployment in flight (made, switched or fallen back, not finished) as the strategy's work in flight: it
 * changes no object of the database it is read on (blue's schemas stay as they were; replication's publication and
 * slots are not schema objects), so diff and drift compare the database as it is; a deployment of another strategy
 * to blue is refused while it is in flight (green would not get it, and a switch would lose it).
 */
export function blueGreenWork(s: BlueGreenState): InFlightWork {
  const phase = `${s.phase} ${s.status}`;
  return {
    strategy: 'blue-green',
    project: s.project,
    kind: 'blue/green deployment',
    name: `blue/green deployment to ${s.green}`,
    phase,
    key: `blue-green:${s.green}:${s.phase}:${s.status}:${s.at}`,
    json: { ...s },
    describe: (where) => `${formatState(s)}; next: ${blueGreenNext(s, where).join(', or ')}`,
    finish: (where) => blueGreenNext(s, where),
    before: (model) => model,
    againstSources: (live) => ({ from: live, skip: () => false }),
    pendingDrops: (drops) => [...drops],
    refusal: (what, environment) =>
      new DbeeError(
        `${what}: a blue/green deployment of ${s.project} to ${s.green} is in flight on ${environment} (${phase})`,
        {
          code: 'BLUE_GREEN_STATE',
          hint: `deploy the release to green (dbee deploy ${s.project} --env ${environment} --strategy blue-green), or end it first: ${blueGreenNext(s, ` ${s.project} --env ${environment}`).join(', or ')}`,
        },
      ),
  };
}

/** The commands that move a blue/green deployment on from `s`, each with `where` after its name. */
export function blueGreenNext(s: BlueGreenState, where: string): string[] {
  const strategy = s.phase === 'deploy' ? ' --strategy blue-green' : '';
  if (s.status === 'running') return [`dbee ${s.phase}${where}${strategy} (it did not finish: run it again)`];
  if (s.live === 'green') return [`dbee finish${where}`, `dbee fallback${where}`];
  if ((s.phase === 'deploy' && s.status !== 'done') || releaseMissing(s))
    return [`dbee deploy${where} --strategy blue-green`, `dbee finish${where}`];
  return [`dbee switch${where}`, `dbee finish${where}`];
}

/** The strategy's work in flight: the first of `projects` with a blue/green deployment not finished on this database. */
export const blueGreenInFlight: InFlightReader = async (conn, engine, projects) => {
  if (!engine.blueGreen || projects.length === 0) return null;
  // Every project's record in one read (an Nx batch asks for every project of the workspace), not one per project.
  const states = await new BlueGreenLedger(conn, engine.ledger, engine.blueGreen, '', '', '').statesOf(projects);
  for (const project of projects) {
    const s = states.get(project);
    if (s?.inFlight) return blueGreenWork(s);
  }
  return null;
};
