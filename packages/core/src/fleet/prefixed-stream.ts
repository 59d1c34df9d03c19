import { Writable } from 'node:stream';

/**
 * A stream that writes each line to `out` with `prefix` in front (`[acme] `): the output of targets deployed at
 * once stays readable. A line is written whole once its newline arrives. The lines written in one turn of the event
 * loop go out in one write (a fleet of hundreds of targets prints tens of thousands of lines: one system call each
 * cost more than their deployments' planning); `flush()` writes what is held, an unfinished last line included.
 */
export class PrefixedStream extends Writable {
  private pending = '';
  private held = '';
  private scheduled = false;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly prefix: string,
  ) {
    super();
  }

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    const text = this.pending + chunk.toString();
    const lines = text.split('\n');
    this.pending = lines.pop()!;
    if (lines.length) {
      this.held += lines.map((l) => `${this.prefix}${l}\n`).join('');
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.writeHeld());
      }
    }
    done();
  }

  private writeHeld(): void {
    this.scheduled = false;
    if (this.held) this.out.write(this.held);
    this.held = '';
  }

  /** Write what is held, and what is left of an unfinished line. */
  flush(): void {
    this.writeHeld();
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
