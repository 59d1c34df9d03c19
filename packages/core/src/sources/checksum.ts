import { createHash, hash } from 'node:crypto';
import { placeholderNames } from './placeholders';

/**
 * Checksums of source text, normalised so that a checkout on another OS never looks like a change: BOM removed,
 * CRLF and CR turned into LF, trailing whitespace on every line and trailing blank lines dropped. The algorithm is
 * versioned (`v1:` prefix); a new normalisation gets a new prefix and an upgrade path, never a silent change.
 */
export const CHECKSUM_ALGORITHM = 'v1';

export function normaliseSource(text: string): string {
  return text
    .replace(/^\uFEFF/, '')
    .replace(/\r\n?/g, '\n')
    .replace(/[ \t\f\v]+$/gm, '')
    .replace(/\n+$/, '');
}

export function checksumText(text: string): string {
  return `${CHECKSUM_ALGORITHM}:` + createHash('sha256').update(normaliseSource(text)).digest('hex');
}

/**
 * Checksum of an object: its statements (normalised) and the values of the `{{variables}}` they use, so the same
 * source deployed with another value counts as a change on that database.
 */
export function checksumStatements(
  statements: readonly string[],
  variables: Readonly<Record<string, string>> = {},
): string {
  const h = createHash('sha256');
  for (const s of statements) h.update(normaliseSource(s)).update('\0');
  for (const name of placeholderNames(statements)) h.update(`${name}=${variables[name] ?? ''}\0`);
  return `${CHECKSUM_ALGORITHM}:` + h.digest('hex');
}

/**
 * SHA-256 of raw bytes, for package manifests (files are checked byte for byte). One-shot `hash` (Node >= 20.12): a
 * package of 10,000 steps hashes 25,000 files and texts, and a `Hash` object for each cost twice as much.
 */
export function sha256(data: string | Buffer): string {
  return hash('sha256', data, 'hex');
}
