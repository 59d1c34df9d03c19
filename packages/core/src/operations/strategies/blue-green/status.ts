import { formatState } from '../../../blue-green/record';
import type { StrategyStatus } from '../strategy';
import { blueGreenNext, blueGreenOf } from './in-flight';

/**
 * `dbee status`'s part of the strategy: `blueGreen` in the JSON output, the project's blue/green deployment (in
 * flight, or the last one: finished), with the commands that move it on.
 */
export const BLUE_GREEN_STATUS: StrategyStatus = {
  key: 'blueGreen',
  read: async (conn, engine, project) => {
    const s = await blueGreenOf(conn, engine, project);
    if (!s) return null;
    const where = ` ${project} --env ${s.environment}`;
    const next = s.inFlight ? blueGreenNext(s, where) : [];
    return {
      json: { ...s, next },
      lines: [formatState(s), ...(next.length ? [`  next: ${next.join(', or ')}`] : [])],
    };
  },
};
