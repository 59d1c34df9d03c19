import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { OperationContext } from './operation-context';

const execFileAsync = promisify(execFile);

/**
 * `git rev-parse HEAD` of the workspace, with `-dirty` when the tree has changes; null outside git. Both git commands
 * run at once and this process goes on meanwhile: a caller may start it early and await it where it needs the commit.
 */
export async function gitCommit(root: string): Promise<string | null> {
  // Outside a repository no git process is started: each one costs a fork of this process, which grows with the
  // memory it maps (measured here: 10 ms per pair of git processes in a bare process, 79 ms with four embedded
  // databases open). GIT_DIR places the repository elsewhere: git decides then.
  if (!process.env.GIT_DIR && !insideGitRepository(root)) return null;
  const git = async (args: string[]) => (await execFileAsync('git', args, { cwd: root })).stdout.trim();
  try {
    const [sha, dirty] = await Promise.all([
      git(['rev-parse', 'HEAD']),
      git(['status', '--porcelain', '--untracked-files=no']),
    ]);
    return dirty ? `${sha}-dirty` : sha;
  } catch {
    return null;
  }
}

/** Whether `dir` or a folder above it holds `.git` (a folder, or a file in a worktree or submodule). */
function insideGitRepository(dir: string): boolean {
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (existsSync(join(d, '.git'))) return true;
    if (dirname(d) === d) return false;
  }
}

/** The CI job this process runs in (GitHub Actions, GitLab CI, Jenkins...), recorded with a deployment; null outside CI. */
export function ciJob(env: NodeJS.ProcessEnv): string | null {
  return env.GITHUB_RUN_ID ?? env.CI_JOB_ID ?? env.BUILD_NUMBER ?? env.BUILD_ID ?? null;
}

/**
 * Who runs a deployment and from what, as its ledger row records it: the sources' git commit (see `gitCommit`),
 * dbee's version, the OS user and host of the lock's owner, and the CI job.
 */
export async function runOrigin(
  ctx: Pick<OperationContext, 'workspace' | 'toolVersion' | 'env'>,
  owner: { user: string; host: string },
): Promise<{ gitCommit: string | null; toolVersion: string; osUser: string; ciJob: string | null; host: string }> {
  return {
    gitCommit: await gitCommit(ctx.workspace.root),
    toolVersion: ctx.toolVersion,
    osUser: owner.user,
    ciJob: ciJob(ctx.env),
    host: owner.host,
  };
}
