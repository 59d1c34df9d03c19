/**
 * What a command writes to stdout and stderr in one turn of the event loop goes out in one system call per stream
 * (the stream corked at its first write of the turn, uncorked right after the turn: one `writev`), where each line
 * was a `write` of its own: a deployment of 1,000 objects prints a line a step, about 1,000 system calls and as many
 * passes through Node's stream code. The bytes and their order are the same: a write to one stream first sends what
 * the other holds, so a terminal that shows both shows them as written. What is held is sent before the process
 * exits (the `exit` event: pipes and terminals are written synchronously there) and before the event loop waits
 * (a prompt's question is on screen before the answer is read: the flush is a `setImmediate`, which the loop runs
 * before it blocks).
 */
export function coalesceOutput(streams: readonly NodeJS.WriteStream[] = [process.stdout, process.stderr]): void {
  let corked: NodeJS.WriteStream | null = null;
  const flush = () => {
    const held = corked;
    corked = null;
    held?.uncork();
  };
  for (const stream of streams) {
    const write = stream.write;
    stream.write = function (this: NodeJS.WriteStream, ...args: unknown[]) {
      if (corked !== this) {
        flush();
        this.cork();
        corked = this;
        setImmediate(flush);
      }
      return (write as (...a: unknown[]) => boolean).apply(this, args);
    } as typeof stream.write;
  }
  process.on('exit', flush);
}
