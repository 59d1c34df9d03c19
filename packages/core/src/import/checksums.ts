import { createHash } from 'node:crypto';

const TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/**
 * Flyway's checksum of a SQL migration: a CRC32 updated with each line's UTF-8 bytes as Java's
 * `BufferedReader.readLine()` returns them (no line endings; a BOM at the start dropped), as a signed 32-bit integer
 * (flyway-core `ChecksumCalculator`). Since empty lines add nothing, it is the CRC32 of the text without its line breaks.
 */
export function flywayChecksum(text: string): number {
  const body = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).replace(/\r\n|\r|\n/g, '');
  let crc = -1;
  for (const byte of Buffer.from(body, 'utf8')) crc = TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) | 0;
}

/** SHA-256 of a text's UTF-8 bytes, lower-case hex (Prisma's and Drizzle's checksums). */
export function sha256Hex(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/** SHA-1 hex (Sqitch's change ids). */
export function sha1Hex(text: string | Buffer): string {
  return createHash('sha1').update(text).digest('hex');
}
