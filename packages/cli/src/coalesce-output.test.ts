import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { coalesceOutput } from './coalesce-output';

/** A stream like a pipe (it has `writev`) that records each system call it would make, in one log for all streams. */
function pipe(name: string, log: string[]): NodeJS.WriteStream {
  return new Writable({
    write(chunk, _encoding, done) {
      log.push(`${name} write ${String(chunk)}`);
      done();
    },
    writev(chunks, done) {
      log.push(`${name} writev ${chunks.map((c) => String(c.chunk)).join('')}`);
      done();
    },
  }) as unknown as NodeJS.WriteStream;
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('coalesceOutput: what a command writes in one turn of the event loop', () => {
  it('goes out in one call per stream, in the order written across stdout and stderr', async () => {
    const log: string[] = [];
    const out = pipe('out', log);
    const err = pipe('err', log);
    coalesceOutput([out, err]);
    out.write('a\n');
    out.write('b\n');
    err.write('warning\n');
    out.write('c\n');
    // A write to one stream sends what the other held first: stderr's line comes after stdout's two, as written.
    expect(log).toEqual(['out writev a\nb\n', 'err write warning\n']);
    await turn();
    expect(log).toEqual(['out writev a\nb\n', 'err write warning\n', 'out write c\n']);
    for (let i = 0; i < 3; i++) out.write(`${i}\n`);
    await turn();
    expect(log.at(-1)).toBe('out writev 0\n1\n2\n');
  });

  it("calls each write's callback once its bytes are out (bin/dbee.js exits from the last one)", async () => {
    const log: string[] = [];
    const out = pipe('out', log);
    coalesceOutput([out]);
    const written = new Promise<void>((resolve) => out.write('last\n', () => resolve()));
    await written;
    expect(log).toEqual(['out write last\n']);
  });
});
