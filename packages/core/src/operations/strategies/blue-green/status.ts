import { recordedNames } from '../../../blue-green/names';
import { BlueGreenLedger, formatState, stateOf } from '../../../blue-green/record';
import type { Connection, Engine } from '../../../engine/engine';
import type { StrategyStatus } from '../strategy';
import { blueGreenNext } from './in-flight';

/**
 * `dbee status`'s part of the strategy: `blueGreen` in the JSON output, the project's blue/green deployment (in
 * flight, or the last one: finished), with the commands that move it on, and what replication says of it on blue
 * (`replication`: a subscription that stopped carrying rows, which every switchover and `finish` refuse over).
 */
export const BLUE_GREEN_STATUS: StrategyStatus = {
  key: 'blueGreen',
  read: async (conn, engine, project) => {
    if (!engine.blueGreen) return null;
    const steps = await new BlueGreenLedger(conn, engine.ledger, engine.blueGreen, project, '', '').steps();
    const s = stateOf(steps);
    if (!s) return null;
    const where = ` ${project} --env ${s.environment}`;
    const next = s.inFlight ? blueGreenNext(s, where) : [];
    const begin = steps.findLast((x) => x.phase === 'deploy' && x.step === 'begin');
    const names = s.inFlight ? recordedNames(begin, project, s.environment) : null;
    const replication = names ? await replicationProblem(conn, engine, s.live, names) : null;
    return {
      json: { ...s, next, replication },
      lines: [
        formatState(s),
        ...(replication ? [`  replication: ${replication}`] : []),
        ...(next.length ? [`  next: ${next.join(', or ')}`] : []),
      ],
    };
  },
};

/**
 * What is wrong with the replication that keeps the side not serving in sync, as blue sees it, or null: once green
 * serves, the way back's subscription on blue (failed: disabled by an error, as when a client wrote to blue directly
 * and the way back met its row); while blue serves, the slot on blue that green's subscription streams from (not in
 * use: green's subscription stopped, by an error or by hand; its own state is on green's server).
 */
async function replicationProblem(
  conn: Connection,
  engine: Engine,
  live: 'blue' | 'green',
  names: { toGreen: string; toBlue: string },
): Promise<string | null> {
  const role = engine.blueGreen!;
  if (live === 'green') {
    const health = await role.health(conn, names.toBlue);
    if (health.exists && health.failed)
      return `the subscription that carries green's writes back to blue (${names.toBlue}) has failed: ${health.failed}; a fallback is refused until it is repaired, and blue misses green's rows since then`;
    return null;
  }
  const lag = await role.lag(conn, names.toGreen);
  if (lag.exists && lag.lost) return `the slot ${names.toGreen} on blue can no longer feed green: ${lag.lost}`;
  if (lag.exists && !lag.active)
    return `green's subscription does not stream from blue (slot ${names.toGreen} is not in use): it was stopped or disabled by an error (green's server log says which); a switch is refused until it runs again`;
  return null;
}
