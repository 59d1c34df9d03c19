import type { InFlightReader } from '../../diffing/in-flight-work';
import type { StrategyTable } from './strategy';

/**
 * The one reader of dbee's work in flight: each strategy of `strategies` that holds work between its phases is asked,
 * in the table's order, and the first work found is the answer. `status`, `diff`, drift, `clone` and the batch reads of
 * a deployment read through it, never through a strategy by name.
 */
export function inFlightReader(strategies: StrategyTable): InFlightReader {
  const readers = Object.values(strategies).flatMap((s) => (s.inFlight ? [s.inFlight] : []));
  return async (conn, engine, projects) => {
    for (const read of readers) {
      const work = await read(conn, engine, projects);
      if (work) return work;
    }
    return null;
  };
}
