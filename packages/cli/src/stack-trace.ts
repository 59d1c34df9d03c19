import { readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A frame's location in a package's bundle (tools/bundle.js): `(/…/dist/core.bundle.js:12:34)` or `at /…:12:34`. */
const BUNDLE_FRAME = /([(\s])([^()\s]+\.bundle\.js):(\d+):(\d+)/g;

/**
 * `stack` with each frame in a dbee bundle put back at its TypeScript source (`packages/core/src/…/x.ts:line:column`),
 * through the bundle's source map beside it: what an internal error prints, so that a bug report names the source
 * line. Done only when such a stack is printed: Node's own `--enable-source-maps` would read every map at start-up
 * and switch off the compile cache (@dbee/core/compile-cache). A frame with no map or no mapping is left as it is.
 */
export function sourceMappedStack(stack: string): string {
  const maps = new Map<string, SourceMap | null>();
  return stack.replace(BUNDLE_FRAME, (frame, before: string, file: string, line: string, column: string) => {
    const map = mapOf(file, maps);
    const entry = map?.findEntry(Number(line) - 1, Number(column) - 1) as
      | { originalSource?: string; originalLine?: number; originalColumn?: number }
      | undefined;
    if (!entry?.originalSource || entry.originalLine === undefined || entry.originalColumn === undefined) return frame;
    const source = entry.originalSource.startsWith('file:')
      ? fileURLToPath(entry.originalSource)
      : resolve(dirname(file), entry.originalSource);
    return `${before}${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
  });
}

function mapOf(file: string, maps: Map<string, SourceMap | null>): SourceMap | null {
  if (!maps.has(file)) {
    try {
      maps.set(file, new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')) as SourceMapPayload));
    } catch {
      maps.set(file, null);
    }
  }
  return maps.get(file) ?? null;
}
