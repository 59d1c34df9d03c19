import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeCacheFile } from '../background';
import type { Connection, DiffRole } from '../engine/engine';
import { canonicalJson } from '../plan/serialize';
import type { SchemaScope } from '../schema/managed-scope';
import { sha256 } from '../sources/checksum';
import { cacheDir } from './desired';

/**
 * The live fingerprint of `scope` (`DiffRole.fingerprint`), kept in `.dbee/cache/fingerprints` under the engine's
 * catalog version (`DiffRole.catalogVersion`) and read back while that version is the same: a cached diff then costs
 * a read of the catalog's row versions instead of printing every definition in scope (0.4 s of server time for
 * 5,000 objects). Keyed by dbee's version too (another dbee may compute fingerprints otherwise). An engine without a
 * catalog version reads the fingerprint every time.
 */
export async function cachedFingerprint(
  diff: DiffRole,
  conn: Connection,
  scope: SchemaScope,
  cache: { workspaceRoot: string; toolVersion: string },
): Promise<string> {
  if (!diff.catalogVersion) return diff.fingerprint(conn, scope);
  const version = await diff.catalogVersion(conn);
  const key = sha256(`dbee-fingerprint-v1\0${cache.toolVersion}\0${version}\0${canonicalJson(scope)}`);
  const file = join(cacheDir(cache.workspaceRoot, 'fingerprints'), `${key.slice(0, 40)}.txt`);
  try {
    const known = readFileSync(file, 'utf8');
    if (known) return known;
  } catch {
    // Not known yet.
  }
  const fingerprint = await diff.fingerprint(conn, scope);
  writeCacheFile(file, fingerprint);
  return fingerprint;
}
