import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CommandName } from '@dbee/cli';
import { scratchDatabase } from '../support/pg';
import { registerPostgresDiff } from '../support/postgres-diff';
import { run } from '../support/run';
import { tempWorkspace } from '../support/workspace';

/**
 * Issue 90, decision 4: one shadow build per command. The example workspace (sales depends on core) with review
 * policies configured (`policies: {}`: the default set, judged by deploy and plan), the sources' models not cached,
 * each command against a new empty database on the server. Each desired model a command needs (core's, and sales's
 * with core) is built once, in a shadow of the configured kind, and shared by whatever reads it in the command: the
 * policies, the diff, the convergence check. A dry run opens one shadow more: the copy of the target its plan runs on.
 *
 * Counted where a shadow is opened (the postgres engine's own `openShadow`, wrapped to count): the builds and the
 * copy are real, on PGlite or on the server. Before: the policies judged core over a model built with sales applied
 * too (another key, another build), and a model built by the policies was built again by the convergence check when
 * its cache file was not yet written.
 */
const EXAMPLES = join(__dirname, '..', '..', 'examples');

const COMMANDS: Array<{ label: string; command: CommandName; options: Record<string, unknown>; shadows: number }> = [
  { label: 'diff sales', command: 'diff', options: {}, shadows: 1 },
  // core's model and sales's (the plan deploys both), and the copy.
  { label: 'deploy sales --dry-run', command: 'deploy', options: { dryRun: true }, shadows: 3 },
  { label: 'deploy sales', command: 'deploy', options: {}, shadows: 2 },
  { label: 'plan sales --out', command: 'plan', options: { out: 'out' }, shadows: 2 },
  { label: 'check sales --policies', command: 'check', options: { policies: true }, shadows: 1 },
];

describe.each(['embedded', 'server'] as const)('shadow builds per command, shadow: %s', (shadow) => {
  const w = tempWorkspace({
    'dbee.yaml': `version: 1\ndefaultEnvironment: test\nshadow: ${shadow}\npolicies: {}\nenvironments:\n  test:\n    engine: postgres\n    connection:\n      url: \${URL_TEST}\n`,
  });
  for (const p of ['core', 'sales']) cpSync(join(EXAMPLES, p), join(w.root, p), { recursive: true });
  let opened = 0;
  let unregister = () => {};
  beforeAll(() => {
    unregister = registerPostgresDiff((diff) => ({
      openShadow: (...args) => {
        opened++;
        return diff.openShadow(...args);
      },
    }));
  });
  const drops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const drop of drops.splice(0)) await drop();
  });
  afterAll(() => {
    unregister();
    w.remove();
  });

  it.each(COMMANDS)('$label: one build of each model it needs', async ({ command, options, shadows }) => {
    const db = await scratchDatabase();
    drops.push(db.drop);
    rmSync(join(w.root, '.dbee'), { recursive: true, force: true });
    rmSync(join(w.root, 'out'), { recursive: true, force: true });
    opened = 0;
    const out = await run(w.root, command, { project: 'sales', env: 'test', ...options }, { URL_TEST: db.url });
    expect(out.stderr).not.toMatch(/error/i);
    expect(out.code).toBe(0);
    expect(opened).toBe(shadows);
  });
});
