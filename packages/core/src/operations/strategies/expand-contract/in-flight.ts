import type { InFlightReader } from '../../../diffing/in-flight-work';
import { openLedger } from '../../../ledger/open-ledger';

/** The strategy's releases in flight, as its work in flight: the first of `projects` that has one (one query). */
export const releasesInFlight: InFlightReader = async (conn, engine, projects) => {
  if (!engine.expand || projects.length === 0) return null;
  const ledger = openLedger(conn, engine.ledger).releases;
  const r = projects.length === 1 ? await ledger.inFlight(projects[0]!) : await ledger.inFlightOf(projects);
  // What it holds, and the rules that say it, load when there is a release in flight: a direct deployment reads
  // that there is none.
  return r ? (await import('./release-work')).releaseWork(r) : null;
};
