import { Writable } from 'node:stream';

/** A command's two output streams, written in fewer writes (`coalescedOutput`). */
export interface CoalescedOutput {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Write what is held now (the command is done). */
  flush(): void;
}

/** The flushes of outputs holding text, run when the process exits. */
const holding = new Set<() => void>();
let exitHook = false;

/** Text held longer than this is written with the next write, even before the event loop turns. */
const HOLD_MS = 50;

/**
 * `out` and `err` (the process's own, not a terminal: a CI log, a pipe, a file) with what is written to `out` held and
 * written at once when the event loop next turns, instead of one `write` per line: a deployment of 1,000 objects prints
 * two lines a step, and on Linux every write to a pipe or a file is a system call made while the process waits
 * (2,010 lines to a pipe: 26-49 ms one by one, 7-14 ms as one write). On a server the loop turns while each request
 * runs, so the lines of the steps a request ran are out before the next request goes; embedded PGlite works in this
 * process, and there the line of a step may come out when the step has ended rather than when it starts. A burst of
 * writes longer than `HOLD_MS` is written in parts. What goes to `err` first writes what `out` holds, so the two keep
 * the order they were written in; what is still held when the process exits is written then. A terminal is left
 * alone: its live step line shows the time a step has been running.
 */
export function coalescedOutput(out: NodeJS.WritableStream, err: NodeJS.WritableStream): CoalescedOutput {
  let held: string[] = [];
  let since = 0;
  const flush = () => {
    holding.delete(flush);
    if (!held.length) return;
    const text = held.join('');
    held = [];
    out.write(text);
  };
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const f of [...holding]) f();
    });
  }
  const stdout = new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, done) {
      held.push(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
      if (!holding.has(flush)) {
        holding.add(flush);
        since = Date.now();
        setImmediate(flush);
      } else if (Date.now() - since > HOLD_MS) flush();
      done();
    },
  });
  const stderr = new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, done) {
      flush();
      err.write(chunk);
      done();
    },
  });
  return { stdout, stderr, flush };
}
