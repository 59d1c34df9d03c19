import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { framedInput } from './framing';

const message = (body: string) => `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
const A = message('{"jsonrpc":"2.0","id":1,"method":"a"}');
const B = message('{"jsonrpc":"2.0","id":2,"method":"é"}');

/** What the reader is handed for `input` written in chunks of `size` bytes, and what was reported. */
async function through(input: string, size: number): Promise<{ out: string; reports: string[] }> {
  const source = new PassThrough();
  const reports: string[] = [];
  const guarded = framedInput(source, (m) => reports.push(m));
  const chunks: Buffer[] = [];
  guarded.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise((resolve) => guarded.on('end', resolve));
  const bytes = Buffer.from(input);
  for (let i = 0; i < bytes.length; i += size) source.write(bytes.subarray(i, i + size));
  source.end();
  await ended;
  return { out: Buffer.concat(chunks).toString(), reports };
}

describe('framedInput: the client stream as well-formed messages only', () => {
  for (const size of [1, 7, 4096])
    it(`passes messages unchanged, in chunks of ${size} byte(s)`, async () => {
      expect(await through(A + B, size)).toEqual({ out: A + B, reports: [] });
    });

  for (const size of [1, 5, 4096])
    it(`drops a bad header block and its bytes up to the next Content-Length, in chunks of ${size}`, async () => {
      const bad = 'Content-Length: abc\r\n\r\n{"jsonrpc":"2.0","id":9,"method":"shutdown"}';
      const { out, reports } = await through(A + bad + 'not a header\r\n\r\n' + B, size);
      expect(out).toBe(A + B);
      expect(reports).toEqual([expect.stringMatching(/ignored \d+ bytes of input: Content-Length is not a number/)]);
    });

  it('drops a line that is not a header before a message', async () => {
    const { out, reports } = await through('hello\r\n' + A, 3);
    expect(out).toBe(A);
    expect(reports.length).toBe(1);
  });

  it('passes a header block with Content-Type before Content-Length, one byte at a time', async () => {
    const typed = `Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n${A}`;
    expect(await through(typed + B, 1)).toEqual({ out: typed + B, reports: [] });
  });

  it('drops a header block without Content-Length', async () => {
    const { out, reports } = await through('Content-Type: x\r\n\r\n' + B, 4096);
    expect(out).toBe(B);
    expect(reports).toEqual([expect.stringContaining('without Content-Length')]);
  });
});
