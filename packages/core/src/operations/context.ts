import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { DbeeError } from '../errors';
import type { Engine } from '../engine/engine';
import type { DbProject, Workspace } from '../config/workspace';
import type { ResolvedEnvironment } from '../config/resolve';
import { streamReporter, type Reporter } from '../runner/reporter';
import type { SessionPool } from '../engine/session-pool';
import type { FleetPlans } from '../fleet/plan-cache';

/** What every operation receives: where it runs, where output goes, and how to get an engine by name. */
export interface OperationContext {
  workspace: Workspace;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  interactive: boolean;
  /** Called by an Nx executor: Nx runs the dependencies' tasks itself. */
  fromNx: boolean;
  engine(name: string): Engine;
  reporter: Reporter;
  /** dbee's version, recorded in the ledger. */
  toolVersion: string;
  /**
   * What the tasks of one Nx batch share (one lock, connection and shadow per environment; the parsed sources, the
   * git commit, the ledger's state read once). Absent outside a batch: an operation then reads everything afresh.
   */
  sessions?: SessionPool;
  /**
   * Set by a fleet command for its targets: what they share, the parsed sources and, for a deployment, the plans
   * built so far, one per live state, which a target in the same state reuses (fleet/plan-cache.ts). Absent: an
   * operation parses and plans for its own environment.
   */
  plans?: FleetPlans;
}

export function makeReporter(stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): Reporter {
  return streamReporter(stdout, stderr);
}

/** The engine for an environment, after checking the project is written for it. */
export function engineFor(ctx: OperationContext, environment: ResolvedEnvironment, projects: DbProject[]): Engine {
  for (const p of projects) {
    if (p.config.engine !== environment.engine) {
      throw new DbeeError(
        `project ${p.name} is written for ${p.config.engine}, but environment ${environment.name} is ${environment.engine}`,
        {
          code: 'ENGINE_MISMATCH',
          location: p.file.locate(['engine']),
          hint: `deploy it to a ${p.config.engine} environment`,
        },
      );
    }
  }
  return ctx.engine(environment.engine);
}

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

export function ciJob(env: NodeJS.ProcessEnv): string | null {
  return env.GITHUB_RUN_ID ?? env.CI_JOB_ID ?? env.BUILD_NUMBER ?? env.BUILD_ID ?? null;
}

/** This process as a lock owner (see `runner/session.ts`). */
export { lockOwner } from '../runner/session';
