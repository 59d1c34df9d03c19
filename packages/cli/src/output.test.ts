import { describe, expect, it } from 'vitest';
import { coalescedOutput } from './output';

/** Two streams writing into one log, in the order their writes arrive, each write an entry. */
function recorder() {
  const log: { to: 'out' | 'err'; text: string }[] = [];
  const stream = (to: 'out' | 'err') =>
    ({
      write(chunk: string | Uint8Array) {
        log.push({ to, text: String(chunk) });
        return true;
      },
    }) as unknown as NodeJS.WritableStream;
  return { log, out: stream('out'), err: stream('err') };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('a command’s output in fewer writes', () => {
  it('writes the lines of one turn of the event loop at once, when the loop turns', async () => {
    const r = recorder();
    const o = coalescedOutput(r.out, r.err);
    for (let i = 1; i <= 200; i++) o.stdout.write(`  [${i}/200] create view:app.v${i}\n`);
    expect(r.log).toEqual([]);
    await turn();
    expect(r.log).toHaveLength(1);
    expect(r.log[0]!.text.split('\n')).toHaveLength(201);
    expect(r.log[0]!.text.startsWith('  [1/200] create view:app.v1\n')).toBe(true);
    o.stdout.write('after\n');
    await turn();
    expect(r.log.map((e) => e.text)).toEqual([r.log[0]!.text, 'after\n']);
  });

  it('keeps the order of what goes to stderr and stdout', async () => {
    const r = recorder();
    const o = coalescedOutput(r.out, r.err);
    o.stdout.write('one\n');
    o.stdout.write('two\n');
    o.stderr.write('warning: three\n');
    o.stdout.write('four\n');
    await turn();
    expect(r.log).toEqual([
      { to: 'out', text: 'one\ntwo\n' },
      { to: 'err', text: 'warning: three\n' },
      { to: 'out', text: 'four\n' },
    ]);
  });

  it('writes a long burst in parts, without waiting for the loop to turn', async () => {
    const r = recorder();
    const o = coalescedOutput(r.out, r.err);
    o.stdout.write('first\n');
    const t = Date.now();
    while (Date.now() - t <= 60) {
      // Work that does not yield, longer than what a line is held for.
    }
    o.stdout.write('second\n');
    expect(r.log).toEqual([{ to: 'out', text: 'first\nsecond\n' }]);
    o.stdout.write('third\n');
    await turn();
    expect(r.log.map((e) => e.text)).toEqual(['first\nsecond\n', 'third\n']);
  });

  it('writes what it holds when flushed, and nothing twice', async () => {
    const r = recorder();
    const o = coalescedOutput(r.out, r.err);
    o.stdout.write(Buffer.from('held\n'));
    o.flush();
    expect(r.log).toEqual([{ to: 'out', text: 'held\n' }]);
    await turn();
    o.flush();
    expect(r.log).toHaveLength(1);
  });
});
