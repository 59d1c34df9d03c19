/** A rollback is refused when the project's schemas changed outside dbee since the last deployment recorded them. */
import { stillRecorded } from '../../diffing/recorded-fingerprint';
import { settled, type Settled } from '../../background';
import type { SchemaScope } from '../../schema/managed-scope';
import type { Connection, DiffRole, Engine } from '../../engine/engine';
import { DbeeError } from '../../errors';
import { deploymentSummary, type DeploymentRow } from '../../ledger/ledger';

/** What the drift check reads ahead on the lock's session: the catalog version when the engine has one, else the fingerprint. */
export interface EarlyDriftRead {
  version?: Promise<Settled<string>>;
  fingerprint?: Promise<Settled<string>>;
}

export function earlyDriftRead(diff: DiffRole, side: Connection, scope: SchemaScope): EarlyDriftRead {
  return diff.catalogVersion
    ? { version: settled(diff.catalogVersion(side)) }
    : { fingerprint: settled(diff.fingerprint(side, scope)) };
}

/** Refuse a rollback of a database whose schemas changed outside dbee since the last deployment recorded them. */
export async function driftProblem(
  engine: Engine,
  conn: Connection,
  history: DeploymentRow[],
  scope: SchemaScope,
  project: string,
  early: EarlyDriftRead | null,
): Promise<DbeeError | null> {
  if (!engine.diff || !scope.schemas.length) return null;
  const last = history.find((d) => d.finished_at);
  const summary = last ? deploymentSummary(last) : null;
  const recorded = summary?.fingerprint;
  if (!last || !summary || !recorded) return null;
  // Nothing in the catalog changed since the fingerprint was recorded: it is the live one.
  if (await stillRecorded(engine, conn, summary, early?.version)) return null;
  // Read on the lock's session (`planRollback`), or here when there is none or it failed there.
  const ahead = early?.fingerprint ? await early.fingerprint : null;
  const live = ahead && !('error' in ahead) ? ahead.value : await engine.diff.fingerprint(conn, scope);
  if (live === recorded) return null;
  return new DbeeError(
    `the schemas of ${project} changed outside dbee since deployment #${last.id}: the recorded reverses may no longer apply`,
    {
      code: 'ROLLBACK_DRIFT',
      hint: 'see what changed with dbee diff; roll back to the sources of a git ref with --to-ref, or pass --force to roll back anyway',
      details: { recorded, live },
    },
  );
}
