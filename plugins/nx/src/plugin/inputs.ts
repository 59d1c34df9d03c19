import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { TargetConfiguration } from '@nx/devkit';
import { envRefs } from '@dbee/core';

/** One entry of a target's `inputs`. */
export type Input = NonNullable<TargetConfiguration['inputs']>[number];

/** The packages whose code shapes dbee's results, in the order they are listed as inputs. */
export const DBEE_PACKAGES = ['@dbee/nx', '@dbee/cli', '@dbee/core', '@dbee/postgres', '@dbee/teradata'] as const;

/** Lock files Nx reads its external nodes (`npm:<package>`) from. */
const LOCK_FILES = ['package-lock.json', 'npm-shrinkwrap.json', 'pnpm-lock.yaml', 'yarn.lock', 'bun.lock'];

/** Where one dbee package comes from, seen from a workspace. */
export type PackageOrigin =
  /** Installed from a registry or tarball, and named by the lock file: Nx knows it as an external node. */
  | { kind: 'installed'; name: string }
  /** A project of this very workspace (the dbee repository): its files are the workspace's files. */
  | { kind: 'workspace'; name: string; root: string }
  /** Installed, but no lock file names it: Nx has no external node for it. */
  | { kind: 'unlocked'; name: string };

/**
 * How each dbee package present in the workspace's node_modules is installed. A package that is not installed (say
 * @dbee/teradata for a PostgreSQL user) is left out: Nx fails every hash on an `externalDependencies` entry it
 * has no node for ("The externalDependency '...' could not be found").
 */
export function dbeePackageOrigins(workspaceRoot: string, lockfileAnalyzed = true): PackageOrigin[] {
  const root = realpathOr(workspaceRoot);
  // Nx makes external nodes from the lock file only (`pluginsConfig["@nx/js"].analyzeLockfile: false` turns that off).
  const locks = lockfileAnalyzed
    ? LOCK_FILES.map((f) => readOr(join(workspaceRoot, f))).filter((t): t is string => t !== undefined)
    : [];
  const origins: PackageOrigin[] = [];
  for (const name of DBEE_PACKAGES) {
    const manifest = join(workspaceRoot, 'node_modules', ...name.split('/'), 'package.json');
    if (!existsSync(manifest)) continue;
    const dir = relative(root, realpathOr(join(manifest, '..')))
      .split(sep)
      .join('/');
    if (dir !== '' && !dir.startsWith('../') && !dir.split('/').includes('node_modules')) {
      origins.push({ kind: 'workspace', name, root: dir });
    } else if (locks.some((lock) => lock.includes(name))) {
      origins.push({ kind: 'installed', name });
    } else {
      origins.push({ kind: 'unlocked', name });
    }
  }
  return origins;
}

/**
 * dbee itself as inputs, so that a new version of the tool never serves results computed by the old one, and an
 * edit to the user's own code never invalidates a database build:
 * - installed packages: `{ externalDependencies }` (Nx hashes their locked versions, with their dependencies);
 * - packages that are projects of this workspace (dbee's own repository): their sources and manifest;
 * - installed without a lock file: the `versionsCommand` runtime input, which prints the installed versions.
 */
export function toolInputs(origins: readonly PackageOrigin[], versionsCommand: string): Input[] {
  const inputs: Input[] = [];
  const installed = origins.filter((o) => o.kind === 'installed').map((o) => o.name);
  if (installed.length > 0) inputs.push({ externalDependencies: installed });
  for (const o of origins) {
    if (o.kind === 'workspace')
      inputs.push(
        `{workspaceRoot}/${o.root}/package.json`,
        `{workspaceRoot}/${o.root}/src/**/*`,
        `{workspaceRoot}/${o.root}/bin/**/*`,
      );
  }
  if (origins.length === 0 || origins.some((o) => o.kind === 'unlocked')) inputs.push({ runtime: versionsCommand });
  return inputs;
}

/**
 * The environment variables a file refers to as `${VAR}` (an escaped `$${VAR}` is text, not a reference). They
 * become `{ env }` inputs: Nx hashes their values (a secret is hashed, never printed or stored), so a changed
 * variable is a cache miss instead of a stale answer. An unreadable file has none; dbee reports it elsewhere.
 */
export function envVariablesOf(file: string): string[] {
  const text = readOr(file);
  if (text === undefined) return [];
  return envRefs(text.replace(/\$\$\{/g, ''));
}

/** Sorted, unique `{ env }` inputs. */
export function envInputs(...names: ReadonlyArray<readonly string[]>): Input[] {
  return [...new Set(names.flat())].sort().map((env) => ({ env }));
}

function readOr(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
