import { Transform, type Readable, type TransformCallback } from 'node:stream';

/**
 * The client's byte stream, passed on as well-formed messages only. vscode-jsonrpc's reader stops for good at a
 * header it cannot read (`Content-Length: abc`, a line that is not `key: value`): it reports the error and leaves the
 * bad bytes in its buffer, so every later message is read as more bad header and the server answers nothing until
 * stdin closes. Here a header block that is not valid is dropped up to the next `Content-Length:`, said once on
 * `report` (the client's log), and the messages after it are answered as usual.
 *
 * A message passes unchanged: its header block as received, then exactly `Content-Length` bytes of body (a body that
 * is not JSON is the reader's to report; it does not stop it).
 */
export function framedInput(input: NodeJS.ReadableStream, report: (message: string) => void): Readable {
  let buffer: Buffer = Buffer.alloc(0);
  /** The body length of the message whose header block is at the start of `buffer`, once read. */
  let pending: { headerLength: number; bodyLength: number } | null = null;
  /** While bytes are dropped after a bad header: why, and how many so far (said once, when a message starts again). */
  let skipping: { why: string; bytes: number } | null = null;

  /** Drop bytes up to the next `Content-Length` at or after `from`; false while none has arrived yet. */
  const skip = (from: number): boolean => {
    const next = nextHeader(buffer, from);
    // Keep a tail that may be the start of the header the next chunk completes.
    const cut = next < 0 ? Math.max(0, buffer.length - TAIL) : next;
    skipping!.bytes += cut;
    buffer = buffer.subarray(cut);
    if (next < 0) return false;
    report(`dbee lsp: ignored ${skipping!.bytes} bytes of input: ${skipping!.why}`);
    skipping = null;
    return true;
  };

  const pass = (out: Transform): void => {
    while (true) {
      if (skipping && !skip(0)) return;
      if (!pending) {
        const end = buffer.indexOf(HEADER_END);
        if (end < 0) {
          // A header block is a few dozen bytes: this much without its end is not one.
          if (buffer.length > MAX_HEADER) {
            skipping = { why: 'no Content-Length header', bytes: 0 };
            continue;
          }
          return;
        }
        const length = contentLength(buffer.subarray(0, end).toString('ascii'));
        if (typeof length === 'string') {
          skipping = { why: length, bytes: 0 };
          if (!skip(1)) return;
          continue;
        }
        pending = { headerLength: end + HEADER_END.length, bodyLength: length };
      }
      const total = pending.headerLength + pending.bodyLength;
      if (buffer.length < total) return;
      out.push(buffer.subarray(0, total));
      buffer = buffer.subarray(total);
      pending = null;
    }
  };

  const guard = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      pass(this);
      done();
    },
  });
  input.on('error', (e) => guard.destroy(e));
  return input.pipe(guard);
}

const MAX_HEADER = 64 * 1024;

/** Bytes kept while skipping: one less than `content-length`, so a header split across chunks is not lost. */
const TAIL = 'content-length'.length - 1;
const HEADER_END = Buffer.from('\r\n\r\n', 'ascii');

/** The `Content-Length` of a header block, or what is wrong with the block. */
function contentLength(block: string): number | string {
  let length: number | undefined;
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) return `a header line is not "name: value" (${JSON.stringify(line.slice(0, 60))})`;
    if (line.slice(0, colon).trim().toLowerCase() !== 'content-length') continue;
    const value = line.slice(colon + 1).trim();
    if (!/^\d+$/.test(value)) return `Content-Length is not a number (${JSON.stringify(value.slice(0, 60))})`;
    length = Number(value);
  }
  return length ?? 'a header block without Content-Length';
}

/** Where the next `Content-Length` header starts at or after `from` (any case), or -1. */
function nextHeader(buffer: Buffer, from: number): number {
  const text = buffer.toString('latin1').toLowerCase();
  return text.indexOf('content-length', from);
}
