import type { Connection, DiffRole, Engine } from '../engine/engine';
import type { SchemaScope } from '../schema/managed-scope';
import { createHash } from 'node:crypto';
import type { Settled } from '../background';
import type { DeploymentSummary } from '../ledger/ledger';

/** What a deployment records of its schemas (drift detection): the fingerprint, and the catalog version before it. */
export interface RecordedFingerprint {
  fingerprint: string;
  /**
   * The position-free fingerprint read with it (`DiffRole.recordableFingerprints`): what a rollback compares to say
   * it converged. Absent when the engine has none.
   */
  positionFree?: string;
  /** `DiffRole.catalogVersion`, read right before the fingerprint; absent when the engine has none. */
  catalogVersion?: string;
  /** `scopeKey` of the scope the fingerprint covers, with the catalog version. */
  scope?: string;
}

/** A short digest of what a fingerprint covers: its schemas (as the fingerprint reads them) and what it manages. */
export function scopeKey(scope: SchemaScope): string {
  const schemas = [...new Set(scope.schemas.filter((s) => s !== 'dbee'))].sort();
  return createHash('sha256')
    .update(JSON.stringify({ schemas, manage: scope.manage ?? null }))
    .digest('hex')
    .slice(0, 16);
}

/**
 * The fingerprint a deployment records, with the catalog version read before it on the same session. In that order:
 * whatever changed after the version was read makes the version read later differ from it, so an equal version later
 * always means the recorded fingerprint is still the live one (`stillRecorded`). A version that cannot be read leaves
 * it out (the fingerprint is then read every time).
 */
export async function readRecordable(
  diff: DiffRole,
  conn: Connection,
  scope: SchemaScope,
  /** The catalog version, already read on `conn` (`readCatalogVersion`); read now when absent. */
  version?: Promise<string | undefined>,
): Promise<RecordedFingerprint> {
  const catalogVersion = await (version ?? readCatalogVersion(diff, conn));
  const read = await readFingerprint(diff, conn, scope);
  return catalogVersion ? { ...read, catalogVersion, scope: scopeKey(scope) } : read;
}

/** `DiffRole.catalogVersion`, or undefined when the engine has none or it cannot be read. */
export async function readCatalogVersion(diff: DiffRole, conn: Connection): Promise<string | undefined> {
  return diff.catalogVersion ? diff.catalogVersion(conn).catch(() => undefined) : undefined;
}

/**
 * The fingerprint a deployment records, with its position-free one where the engine reads both in one query
 * (`DiffRole.recordableFingerprints`), else the fingerprint alone.
 */
export async function readFingerprint(
  diff: DiffRole,
  conn: Connection,
  scope: SchemaScope,
): Promise<Pick<RecordedFingerprint, 'fingerprint' | 'positionFree'>> {
  if (!diff.recordableFingerprints) return { fingerprint: await diff.fingerprint(conn, scope) };
  const [read] = await diff.recordableFingerprints(conn, [scope]);
  return { fingerprint: read!.fingerprint, positionFree: read!.positionFree };
}

/** `readFingerprint` of several scopes in one query (an Nx batch's deployments, recorded when it closes). */
export async function readFingerprints(
  diff: DiffRole,
  conn: Connection,
  scopes: readonly SchemaScope[],
): Promise<Pick<RecordedFingerprint, 'fingerprint' | 'positionFree'>[]> {
  if (diff.recordableFingerprints) return diff.recordableFingerprints(conn, scopes);
  return (await diff.fingerprints(conn, scopes)).map((fingerprint) => ({ fingerprint }));
}

/**
 * The state several projects' deployments start from (`DeploymentSummary.startedFrom`), read in one query before
 * their steps: the fingerprint, its position-free form where the engine reads one, and the scope it covers.
 */
export async function readStartedFrom(
  diff: DiffRole,
  conn: Connection,
  scopes: readonly SchemaScope[],
): Promise<NonNullable<DeploymentSummary['startedFrom']>[]> {
  return (await readFingerprints(diff, conn, scopes)).map((read, i) => ({
    fingerprint: read.fingerprint,
    positionFreeFingerprint: read.positionFree ?? null,
    fingerprintScope: scopeKey(scopes[i]!),
  }));
}

/** The summary fields of a recorded fingerprint (none read: all null, as a deployment without one records). */
export function summaryOf(
  recorded: RecordedFingerprint | null,
): Pick<DeploymentSummary, 'fingerprint' | 'positionFreeFingerprint' | 'catalogVersion' | 'fingerprintScope'> {
  return {
    fingerprint: recorded?.fingerprint ?? null,
    positionFreeFingerprint: recorded?.positionFree ?? null,
    catalogVersion: recorded?.catalogVersion ?? null,
    fingerprintScope: recorded?.scope ?? null,
  };
}

/**
 * Whether the database's catalog has not changed since `summary`'s fingerprint was recorded: its catalog version
 * then is the one now, so the fingerprint of the same scope now is the recorded one, without reading it (about 45 ms
 * against 300 ms at 5,000 objects). False whenever it cannot tell (no version recorded, none readable, any change to
 * the catalog since, by dbee or anyone): the caller then reads the fingerprint as before. The recorded fingerprint
 * covers the scope the deployment had; a check over another scope (db.yaml's `manage:` changed since) is answered for
 * the database, which has not changed.
 */
export async function stillRecorded(
  engine: Engine,
  conn: Connection,
  summary: DeploymentSummary,
  /** The catalog version now, already being read (on another session of the same database); read on `conn` if absent or failed. */
  ahead?: Promise<Settled<string>> | null,
): Promise<boolean> {
  const recorded = summary.catalogVersion;
  const diff = engine.diff;
  if (!recorded || !summary.fingerprint || !diff?.catalogVersion) return false;
  const early = ahead ? await ahead : null;
  const now = early && 'value' in early ? early.value : await diff.catalogVersion(conn).catch(() => null);
  return now === recorded;
}

/**
 * The live fingerprint of `scope`: the one `summary` recorded when it covers the same scope and the catalog has not
 * changed since (`stillRecorded`), else read. A cached diff keys its plan by it: the recorded one is exactly what the
 * query would give, so the cache answers alike.
 */
export async function liveFingerprint(
  diff: DiffRole,
  engine: Engine,
  conn: Connection,
  scope: SchemaScope,
  summary: DeploymentSummary | null,
): Promise<string> {
  if (
    summary?.fingerprint &&
    summary.fingerprintScope === scopeKey(scope) &&
    (await stillRecorded(engine, conn, summary))
  )
    return summary.fingerprint;
  return diff.fingerprint(conn, scope);
}
