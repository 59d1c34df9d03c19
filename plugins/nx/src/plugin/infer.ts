import { existsSync, realpathSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import {
  AggregateCreateNodesError,
  createNodesFromFiles,
  type CreateNodesContext,
  type CreateNodesResult,
  type ProjectConfiguration,
} from '@nx/devkit';
import {
  ALWAYS_IGNORED,
  DbeeError,
  PROJECT_FILE,
  WORKSPACE_FILE,
  YamlFile,
  loadProject,
  type DbProject,
} from '@dbee/core';
import fg from 'fast-glob';
import { toNxError } from './nx-error';
import type { NormalizedOptions } from './options';
import { DBEE_METADATA, INSTALLED_FINGERPRINT_SCRIPT, PROJECT_FILE_GLOB, type DbeeProjectMetadata } from './constants';
import { dbeePackageOrigins, envInputs, envVariablesOf, toolInputs } from './inputs';
import {
  SOURCES_INPUT,
  buildTargets,
  projectSources,
  targetNamedInputs,
  type DerivedInputs,
  type TargetContext,
} from './targets';

/** Folders that never hold a project, whatever Nx's ignore files say (dbee's own rule, see ALWAYS_IGNORED). */
const IGNORED_SEGMENTS = new Set(['node_modules', '.git', '.nx', '.dbee', 'dist']);

export type Result = readonly [file: string, result: CreateNodesResult];

/**
 * Infers one Nx project per `db.yaml` (see create-nodes.ts, which answers from the inference cache when it can).
 *
 * Strict on purpose: a `db.yaml` that does not validate fails the project graph, so every Nx command exits with
 * code 1 and prints dbee's message (`file:line:column: key: what was expected`). A tolerant plugin would drop the
 * project silently, and `nx affected -t deploy` in CI would then skip a database that should have been deployed.
 * Folders that hold deliberately broken fixtures belong in dbee.yaml's `ignore` (or `.nxignore`).
 */
export async function inferProjects(
  configFiles: readonly string[],
  options: NormalizedOptions,
  context: CreateNodesContext,
): Promise<Result[]> {
  const files = selectProjectFiles(configFiles, context.workspaceRoot);
  const fingerprintCommand = fingerprintCommandFor(context.workspaceRoot);
  // Every project is loaded before any is configured: a dependency's own `sources` globs are its dependents' inputs.
  const attempts = new Map(files.map((file) => [file, attemptLoad(context.workspaceRoot, file)]));
  const shared = sharedInputs(context, fingerprintCommand, [...attempts.values()]);
  const loaded = new Map<string, DbProject>();

  let results: Result[];
  let errors: Array<[string, Error]> = [];
  try {
    results = await createNodesFromFiles(
      (file, _options, ctx) => {
        const attempt = attempts.get(file) ?? attemptLoad(ctx.workspaceRoot, file);
        if ('error' in attempt) throw attempt.error;
        const { project } = attempt;
        loaded.set(file, project);
        return {
          projects: {
            [project.relativeRoot || '.']: projectConfiguration(project, options, fingerprintCommand, shared),
          },
        };
      },
      files,
      options,
      context,
    );
  } catch (e) {
    if (!(e instanceof AggregateCreateNodesError)) throw e;
    results = e.partialResults;
    errors = e.errors.map(([file, error]) => [file ?? '', error]);
  }

  const duplicates = duplicateNameErrors(loaded);
  if (duplicates.length > 0) {
    // Nx would also report the clash, without saying where the names are declared: report it once, ours.
    const clashing = new Set(duplicates.map(([file]) => file));
    results = results.filter(([file]) => !clashing.has(file));
    errors.push(...duplicates);
  }
  if (errors.length > 0) throw new AggregateCreateNodesError(errors, results);
  return results;
}

type LoadAttempt = { project: DbProject } | { error: Error };

function attemptLoad(workspaceRoot: string, file: string): LoadAttempt {
  try {
    return { project: loadProject(workspaceRoot, file) };
  } catch (e) {
    return { error: toNxError(e) };
  }
}

/** What every project's inputs share: computed once per createNodes call. */
interface SharedInputs extends Omit<DerivedInputs, 'env'> {
  /** The environment variables dbee.yaml refers to as `${VAR}`. */
  workspaceEnv: string[];
  /** dbee.yaml's `check.dbt.manifest` (workspace-relative), or null. */
  workspaceDbtManifest: string | null;
}

function sharedInputs(
  context: CreateNodesContext,
  fingerprintCommand: string,
  attempts: readonly LoadAttempt[],
): SharedInputs {
  const { workspaceRoot, nxJsonConfiguration } = context;
  const namedInputs = nxJsonConfiguration?.namedInputs;
  const jsConfig = nxJsonConfiguration?.pluginsConfig?.['@nx/js'] as { analyzeLockfile?: boolean } | undefined;
  return {
    tool: toolInputs(
      dbeePackageOrigins(workspaceRoot, jsConfig?.analyzeLockfile !== false),
      `${fingerprintCommand} --versions`,
    ),
    workspaceEnv: envVariablesOf(join(workspaceRoot, WORKSPACE_FILE)),
    workspaceDbtManifest: workspaceDbtManifest(workspaceRoot),
    workspaceSources: namedInputs?.[SOURCES_INPUT] !== undefined,
    sharedGlobals: namedInputs?.['sharedGlobals'] !== undefined,
    customSources: [
      ...new Set(attempts.flatMap((a) => ('project' in a ? projectSources(a.project.config.sources) : []))),
    ],
  };
}

function projectConfiguration(
  project: DbProject,
  options: NormalizedOptions,
  fingerprintCommand: string,
  shared: SharedInputs,
): ProjectConfiguration {
  const root = project.relativeRoot || '.';
  const engine = project.config.engine;
  const { workspaceEnv, workspaceDbtManifest: _manifest, ...inputs } = shared;
  const ctx: TargetContext = {
    name: project.name,
    projectRoot: root,
    fingerprintCommand: `${fingerprintCommand} ${options.fingerprintScope === 'project' ? shellQuote(root) : '--environment'}`,
    inputs: { ...inputs, env: envInputs(['DBEE_ENV'], workspaceEnv, envVariablesOf(join(project.root, PROJECT_FILE))) },
    dbtManifest: projectManifest(project) ?? shared.workspaceDbtManifest,
    options,
  };
  const targets = buildTargets(ctx);
  return {
    name: `${options.projectPrefix}${project.name}`,
    root,
    projectType: 'library',
    tags: ['dbee', `engine:${engine}`],
    namedInputs: {
      // A `dbeeSources` of nx.json is the workspace's choice: a project-level one would override it.
      ...(shared.workspaceSources ? {} : { [SOURCES_INPUT]: projectSources(project.config.sources) }),
      ...targetNamedInputs(ctx),
    },
    metadata: {
      description: `dbee ${engine} database project "${project.name}"`,
      technologies: ['dbee', engine],
      targetGroups: { dbee: Object.keys(targets) },
      // Read by createDependencies, so that it needs neither the db.yaml files again nor @dbee/core.
      [DBEE_METADATA]: { name: project.name, dependsOn: [...project.config.dependsOn] } satisfies DbeeProjectMetadata,
    },
    targets,
  };
}

/**
 * The `db.yaml` files dbee itself would load (see `Workspace.load`): none under node_modules, .nx, .dbee or dist,
 * and none matched by dbee.yaml's `ignore` globs, so that Nx and `npx dbee` always see the same projects.
 */
export function selectProjectFiles(configFiles: readonly string[], workspaceRoot: string): string[] {
  const candidates = configFiles.filter(
    (file) => !file.split(/[\\/]/).some((segment) => IGNORED_SEGMENTS.has(segment)),
  );
  const ignore = workspaceIgnoreGlobs(workspaceRoot);
  if (ignore.length === 0) return candidates;
  const kept = new Set(
    fg.sync(PROJECT_FILE_GLOB, { cwd: workspaceRoot, ignore: [...ALWAYS_IGNORED, ...ignore], dot: false }),
  );
  return candidates.filter((file) => kept.has(file.split(sep).join('/')));
}

/** A db.yaml's `check.dbt.manifest`, relative to its project, as a workspace-relative path. */
function projectManifest(project: DbProject): string | null {
  const manifest = project.config.check?.dbt?.manifest;
  return manifest ? insideWorkspace(posix.join(project.relativeRoot || '.', manifest)) : null;
}

/** dbee.yaml's `check.dbt.manifest`, read leniently (see `workspaceIgnoreGlobs`). */
function workspaceDbtManifest(workspaceRoot: string): string | null {
  try {
    const config = YamlFile.read(join(workspaceRoot, WORKSPACE_FILE), WORKSPACE_FILE).toJS() as {
      check?: { dbt?: { manifest?: unknown } };
    } | null;
    const manifest = config?.check?.dbt?.manifest;
    return typeof manifest === 'string' ? insideWorkspace(manifest) : null;
  } catch {
    return null;
  }
}

/** A workspace-relative path, or null when it leaves the workspace (Nx hashes only the workspace's files). */
function insideWorkspace(path: string): string | null {
  const normal = posix.normalize(path);
  return normal.startsWith('..') || posix.isAbsolute(normal) ? null : normal;
}

/**
 * dbee.yaml's `ignore` globs. Read leniently: a broken dbee.yaml is reported by every dbee command with its
 * location, and must not stop unrelated Nx commands.
 */
function workspaceIgnoreGlobs(workspaceRoot: string): string[] {
  try {
    const config = YamlFile.read(join(workspaceRoot, WORKSPACE_FILE), WORKSPACE_FILE).toJS() as {
      ignore?: unknown;
    } | null;
    const ignore = config?.ignore;
    return Array.isArray(ignore) ? ignore.filter((g): g is string => typeof g === 'string') : [];
  } catch {
    return [];
  }
}

/** Two db.yaml with the same `name` would make two Nx projects with the same name. */
function duplicateNameErrors(loaded: ReadonlyMap<string, DbProject>): Array<[string, Error]> {
  const firstFile = new Map<string, string>();
  const errors: Array<[string, Error]> = [];
  for (const [file, project] of [...loaded].sort(([a], [b]) => a.localeCompare(b))) {
    const first = firstFile.get(project.name);
    if (first === undefined) {
      firstFile.set(project.name, file);
      continue;
    }
    const error = new DbeeError(`name: project name "${project.name}" is already used by ${first}`, {
      code: 'PROJECT_DUPLICATE',
      location: project.file.locate(['name']),
      hint: 'give each db.yaml a unique name',
    });
    errors.push([file, toNxError(error)]);
  }
  return errors;
}

/**
 * `node <script>`, the start of the diff target's runtime input. The script path is relative to the workspace root
 * (Nx runs runtime inputs there), so the command string, which is part of the hash, is the same on every machine.
 */
export function fingerprintCommandFor(workspaceRoot: string): string {
  // The installed plugin (or the workspace link to it, in dbee's own repository) has the same path everywhere.
  if (existsSync(join(workspaceRoot, INSTALLED_FINGERPRINT_SCRIPT))) return `node ${INSTALLED_FINGERPRINT_SCRIPT}`;
  const script = join(__dirname, '..', '..', 'bin', 'fingerprint.js');
  let root = workspaceRoot;
  try {
    root = realpathSync(workspaceRoot);
  } catch {
    // A workspace root that cannot be resolved: keep it as given.
  }
  const rel = relative(root, script).split(sep).join('/');
  return `node ${shellQuote(rel.startsWith('../') ? script.split(sep).join('/') : rel)}`;
}

/** Quote for `sh` only when needed, so ordinary paths stay readable in `nx show project`. */
function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
