import { join } from 'node:path';
import * as cli from '@dbee/cli';
import { DbeeError, WORKSPACE_FILE, YamlFile } from '@dbee/core';

export interface DiffCacheGuardContext {
  workspaceRoot: string;
  /** Nx project name, for the hint (`db-sales`). */
  nxProject?: string;
  /** Process environment: DBEE_ENV and Nx's NX_SKIP_NX_CACHE. */
  env: NodeJS.ProcessEnv;
  /** Whether the runtime input prints a real fingerprint; without one the diff is never served from the cache. */
  fingerprintWired: boolean;
}

/**
 * Refuses a diff whose result Nx would cache under a key that does not describe it.
 *
 * The diff target's cache key holds the sources and the live fingerprint of ONE environment: DBEE_ENV, else
 * dbee.yaml's `defaultEnvironment` (a runtime input cannot see `--env`). A diff against another environment, two
 * environments, or git refs (a branch moves) would be cached under that key and later replayed although its
 * database or refs changed. Such runs are refused unless the cache is skipped; the message says what to run.
 */
export function diffCacheGuard(
  ctx: DiffCacheGuardContext,
): (options: Record<string, unknown>) => DbeeError | undefined {
  return (options) => {
    if (!ctx.fingerprintWired || ctx.env.NX_SKIP_NX_CACHE === 'true') return undefined;
    const project = String(options.project);
    const target = ctx.nxProject ? `${ctx.nxProject}:diff` : `<project>:diff`;
    const fingerprinted = ctx.env.DBEE_ENV || defaultEnvironment(ctx.workspaceRoot);
    if (typeof options.env === 'string' && fingerprinted && options.env !== fingerprinted) {
      return refuse(
        `--env=${options.env}: a cached diff is keyed on the live fingerprint of "${fingerprinted}" (DBEE_ENV, else dbee.yaml's defaultEnvironment), so it could be replayed after ${options.env} changed`,
        `run DBEE_ENV=${options.env} npx nx run ${target}, or add --skip-nx-cache, or run npx dbee diff ${project} --env=${options.env}`,
      );
    }
    if (options.againstEnv !== undefined) {
      return refuse(
        `--against-env=${String(options.againstEnv)}: a cached diff is keyed on one live database, not two`,
        `add --skip-nx-cache, or run npx dbee diff ${project} --against-env=${String(options.againstEnv)}`,
      );
    }
    if (options.base !== undefined || options.head !== undefined) {
      return refuse(
        '--base/--head: a cached diff is keyed on the working tree, not on git refs, which move',
        `add --skip-nx-cache, or run npx dbee diff ${project} with the same options`,
      );
    }
    return undefined;
  };
}

/** Whether @dbee/cli exports the live fingerprint that bin/fingerprint.js prints. */
export function fingerprintWired(): boolean {
  try {
    return typeof (cli as Record<string, unknown>).fingerprint === 'function';
  } catch {
    // A module mock without the export throws on access: not wired.
    return false;
  }
}

function refuse(message: string, hint: string): DbeeError {
  return new DbeeError(`diff ${message}`, { code: 'NX_DIFF_UNCACHEABLE', hint });
}

/** dbee.yaml's defaultEnvironment, or undefined when it cannot be read (the command itself then reports why). */
function defaultEnvironment(workspaceRoot: string): string | undefined {
  try {
    const config = YamlFile.read(join(workspaceRoot, WORKSPACE_FILE), WORKSPACE_FILE).toJS() as {
      defaultEnvironment?: unknown;
    } | null;
    return typeof config?.defaultEnvironment === 'string' ? config.defaultEnvironment : undefined;
  } catch {
    return undefined;
  }
}
