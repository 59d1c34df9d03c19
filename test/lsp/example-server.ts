import { rmSync } from 'node:fs';
import { afterAll, beforeAll, expect } from 'vitest';
import { copyExamples, LspClient } from './lsp-client';

// Apart from lsp-client.ts, which the benchmark (tools/bench-lsp.ts) loads outside Vitest.

/**
 * One `dbee lsp` on a copy of the example workspace for the tests of a file (they run in order on it), handed to
 * `started` before them; shut down after them (its exit code checked) and the copy removed.
 */
export function exampleServer(started: (root: string, c: LspClient) => void): void {
  let root = '';
  let c: LspClient | undefined;
  beforeAll(async () => {
    root = copyExamples();
    c = await LspClient.start(root);
    started(root, c);
  });
  afterAll(async () => {
    expect(await c?.stop()).toBe(0);
    rmSync(root, { recursive: true, force: true });
  });
}
