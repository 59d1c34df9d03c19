import { Writable } from 'node:stream';

/** Lines held for one output stream, from every `PrefixedStream` writing to it, until the event loop's next turn. */
interface Held {
  text: string;
  scheduled: boolean;
}
const heldFor = new WeakMap<NodeJS.WritableStream, Held>();

/** Write what is held for `out`, in the order it was written. */
function writeHeld(out: NodeJS.WritableStream, held: Held): void {
  held.scheduled = false;
  if (held.text) out.write(held.text);
  held.text = '';
}

/**
 * A stream that writes each line to `out` with `prefix` in front (`[acme] `): the output of targets deployed at
 * once stays readable. A line is written whole once its newline arrives. The lines that all the prefixed streams of
 * one output write in one turn of the event loop go out in one write (a fleet of hundreds of targets prints tens of
 * thousands of lines: one system call each cost more than their deployments' planning); `flush()` writes what is
 * held, an unfinished last line included.
 */
export class PrefixedStream extends Writable {
  private pending = '';
  private readonly held: Held;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly prefix: string,
  ) {
    super();
    let held = heldFor.get(out);
    if (!held) heldFor.set(out, (held = { text: '', scheduled: false }));
    this.held = held;
  }

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    const text = this.pending + chunk.toString();
    const lines = text.split('\n');
    this.pending = lines.pop()!;
    if (lines.length) {
      this.held.text += lines.map((l) => `${this.prefix}${l}\n`).join('');
      if (!this.held.scheduled) {
        this.held.scheduled = true;
        setImmediate(() => writeHeld(this.out, this.held));
      }
    }
    done();
  }

  /** Write what is held (this stream's lines and those of the others writing to the same output), and what is left of an unfinished line. */
  flush(): void {
    writeHeld(this.out, this.held);
    if (this.pending) this.out.write(`${this.prefix}${this.pending}\n`);
    this.pending = '';
  }
}

/** A stream that keeps nothing. */
export class NullStream extends Writable {
  override _write(_chunk: unknown, _encoding: BufferEncoding, done: () => void): void {
    done();
  }
}
