import type { DiffRole } from '@dbee/core';
import { createPostgresEngine } from '@dbee/postgres';
import { registerEngine } from '../../packages/cli/src/engines';

/**
 * Make `engine: postgres` of the commands a test runs in-process the real engine with some members of its diff role
 * replaced (`change` is given the real role): a renderer that leaves something out, a shadow counted as it opens.
 * Returns the function that puts the real engine back (`registerEngine`).
 */
export function registerPostgresDiff(change: (diff: DiffRole) => Partial<DiffRole>): () => void {
  return registerEngine('postgres', () => {
    const engine = createPostgresEngine();
    const diff = engine.diff!;
    return { ...engine, diff: { ...diff, ...change(diff) } };
  });
}
