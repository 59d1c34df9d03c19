import type { PromiseExecutor } from '@nx/devkit';
import { runCommandExecutor } from '../run-command-executor';
import { diffCacheGuard, fingerprintWired } from './diff-cache-guard';
import type { CommandInput } from '@dbee/core';

/**
 * `@dbee/nx:diff`: runs `dbee diff` for one project; succeeds exactly when the command exits with 0. Nx prefers
 * the batch implementation (diff.batch.ts) when several diffs run together.
 */
const diffExecutor: PromiseExecutor<CommandInput<'diff'>> = (options, context) =>
  runCommandExecutor(
    'diff',
    options,
    context,
    diffCacheGuard({
      workspaceRoot: context.root,
      nxProject: context.projectName,
      env: process.env,
      fingerprintWired: fingerprintWired(),
    }),
  );

export default diffExecutor;
