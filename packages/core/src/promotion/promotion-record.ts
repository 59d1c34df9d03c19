import { createHmac, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from '../plan/serialize';
import { PROMOTION_FOLDER } from '../package/package';

/** The environment variable holding the signing secret when `gates.promotionKey` does not name one. */
export const DEFAULT_PROMOTION_KEY = 'DBEE_PROMOTION_KEY';
export const PROMOTION_RECORD_VERSION = 1;

/** How one project of a package fared on an environment. */
export interface PromotedProject {
  project: string;
  /** Its deployment in that environment's ledger. */
  deploymentId: number | null;
  /** The deployment's final status: `succeeded`, `failed`, `rolled-back`... */
  status: string;
  /** The smoke checks after it: `n/m passed`, or `not run`. */
  smoke: string;
}

/**
 * `promotion/<environment>.json` in a package folder: what the package's latest deployment to that environment did,
 * signed. It lets a later environment (`gates.promotedFrom`) check the promotion without a connection to the earlier
 * one. The signature is an HMAC-SHA256 over the canonical JSON of every other field, keyed by a secret from an
 * environment variable: a record edited by hand, or copied from another package (`planChecksum`) or another
 * environment (`environment`, also the file's name), does not verify.
 */
export interface PromotionRecord {
  formatVersion: typeof PROMOTION_RECORD_VERSION;
  /** The package's plan checksum (its identity). */
  planChecksum: string;
  environment: string;
  /** Secret-free description of that environment's database. */
  database: string | null;
  finishedAt: string;
  ticket: string | null;
  projects: PromotedProject[];
  /** Signing key's variable name → hex HMAC-SHA256 of the record without `signatures`. */
  signatures: Record<string, string>;
}

/** The record's path inside a package folder. */
export function promotionRecordPath(packageDir: string, environment: string): string {
  return join(packageDir, PROMOTION_FOLDER, `${environment}.json`);
}

function sign(record: Omit<PromotionRecord, 'signatures'>, secret: string): string {
  return createHmac('sha256', secret).update(canonicalJson(record)).digest('hex');
}

/**
 * Write (replace) a package's promotion record for an environment, signed with each key given (variable name →
 * secret). Returns the path written.
 */
export function writePromotionRecord(
  packageDir: string,
  record: Omit<PromotionRecord, 'signatures' | 'formatVersion'>,
  keys: ReadonlyMap<string, string>,
): string {
  const body: Omit<PromotionRecord, 'signatures'> = { formatVersion: PROMOTION_RECORD_VERSION, ...record };
  const signatures = Object.fromEntries([...keys].map(([name, secret]) => [name, sign(body, secret)]));
  const path = promotionRecordPath(packageDir, record.environment);
  mkdirSync(join(packageDir, PROMOTION_FOLDER), { recursive: true });
  writeFileSync(path, JSON.stringify({ ...body, signatures }, null, 2) + '\n');
  return path;
}

/** A record read back: verified, or why it cannot be trusted. */
export type RecordReading = { ok: true; record: PromotionRecord } | { ok: false; reason: string };

/**
 * Read and verify the record of `environment` in a package folder against the package's plan checksum and the
 * secret of `keyName`. A record that is missing, unreadable, unsigned for that key, signed differently, or about
 * another package or environment is not trusted, with the reason.
 */
export function readPromotionRecord(
  packageDir: string,
  environment: string,
  planChecksum: string,
  keyName: string,
  secret: string,
): RecordReading {
  const path = promotionRecordPath(packageDir, environment);
  const rel = `${PROMOTION_FOLDER}/${environment}.json`;
  if (!existsSync(path))
    return { ok: false, reason: `the package has no promotion record from ${environment} (${rel})` };
  let record: PromotionRecord;
  try {
    record = JSON.parse(readFileSync(path, 'utf8')) as PromotionRecord;
  } catch {
    return { ok: false, reason: `${rel} is not valid JSON` };
  }
  const { signatures, ...body } = record;
  const signature = signatures && typeof signatures === 'object' ? signatures[keyName] : undefined;
  if (typeof signature !== 'string') return { ok: false, reason: `${rel} is not signed with the key in ${keyName}` };
  const expected = Buffer.from(sign(body, secret), 'hex');
  const actual = Buffer.from(signature, 'hex');
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
    return {
      ok: false,
      reason: `${rel} does not match its signature (edited by hand, or signed with another key than ${keyName}'s)`,
    };
  }
  if (record.environment !== environment)
    return { ok: false, reason: `${rel} records a deployment to ${record.environment}, not to ${environment}` };
  if (record.planChecksum !== planChecksum)
    return {
      ok: false,
      reason: `${rel} records another package (plan checksum ${String(record.planChecksum)
        .replace(/^sha256:/, '')
        .slice(0, 12)}...)`,
    };
  return { ok: true, record };
}
