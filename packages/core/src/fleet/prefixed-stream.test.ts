import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { PrefixedStream } from './prefixed-stream';

/** An output that records each write it gets. */
function recorder(): { out: Writable; writes: string[] } {
  const writes: string[] = [];
  const out = new Writable({
    write(chunk, _enc, cb) {
      writes.push(String(chunk));
      cb();
    },
  });
  return { out, writes };
}
const turn = () => new Promise((r) => setImmediate(r));

describe('PrefixedStream', () => {
  it('the lines of every target writing to one output in one turn go out in one write, in the order written', async () => {
    const { out, writes } = recorder();
    const a = new PrefixedStream(out, '[a] ');
    const b = new PrefixedStream(out, '[b] ');
    a.write('one\ntw');
    b.write('uno\n');
    a.write('o\n');
    await turn();
    await turn();
    expect(writes).toEqual(['[a] one\n[b] uno\n[a] two\n']);
    b.write('dos\nunfinished');
    a.flush();
    b.flush();
    expect(writes.slice(1)).toEqual(['[b] dos\n', '[b] unfinished\n']);
  });
});
