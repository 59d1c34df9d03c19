import { Writable } from 'node:stream';

/**
 * A stream that writes each line to `out` with `prefix` in front (`[acme] `): the output of targets deployed at
 * once stays readable. A line is written whole once its newline arrives; `flush()` writes an unfinished last line.
 */
export class PrefixedStream extends Writable {
  private pending = '';

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
    if (lines.length) this.out.write(lines.map((l) => `${this.prefix}${l}\n`).join(''));
    done();
  }

  /** Write what is left of an unfinished line. */
  flush(): void {
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
