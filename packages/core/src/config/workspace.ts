import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { DbeeAggregateError, DbeeError } from '../errors';
import type { ProjectConfig, WorkspaceConfig } from './schema';
import { ConfigCache } from './config-cache';
// The schemas (zod with them) load when a file is not kept validated in the cache.
import { configSchemas } from '../lazy-schemas';
import { fastGlob, projectFilesOf } from './walk';
import { YamlFile } from './yaml-file';
import { unknownEnvironments, unknownProjectEnvironments } from './references';
import { chooseEnvironment, ENVIRONMENT_VARIABLE, type EnvironmentChoice } from './environment-name';
import {
  projectSettings,
  resolveEnvironment,
  splitTargetName,
  type FleetTarget,
  type ResolvedEnvironment,
} from './resolve';

export const WORKSPACE_FILE = 'dbee.yaml';
export const PROJECT_FILE = 'db.yaml';
/** Folders never searched for projects or sources. */
export const ALWAYS_IGNORED = ['**/node_modules/**', '**/.git/**', '**/.nx/**', '**/.dbee/**', '**/dist/**'];

/** One database project: its folder and validated `db.yaml`. */
export interface DbProject {
  name: string;
  /** Absolute folder. */
  root: string;
  /** Folder relative to the workspace root, `/`-separated. */
  relativeRoot: string;
  config: ProjectConfig;
  file: YamlFile;
}

/** The loaded workspace: `dbee.yaml` and every `db.yaml` under it. */
export class Workspace {
  private constructor(
    readonly root: string,
    readonly config: WorkspaceConfig,
    readonly file: YamlFile,
    readonly projects: ReadonlyMap<string, DbProject>,
  ) {}

  /**
   * A path the user typed on the command line (`--out`, `--output`, `--report`, `--package`) as an absolute path:
   * relative to the workspace root, honoured wherever it points (CI writes artifacts to its own temporary folders).
   * Paths that come from configuration files (source globs, conflict rules) stay inside the workspace: see
   * `sources/discover.ts`.
   */
  commandLinePath(path: string): string {
    return resolve(this.root, path);
  }

  /** Find the workspace root: the nearest folder at or above `from` holding `dbee.yaml`. */
  static findRoot(from: string): string {
    let dir = resolve(from);
    for (;;) {
      if (existsSync(join(dir, WORKSPACE_FILE))) return dir;
      const parent = dirname(dir);
      if (parent === dir) {
        throw new DbeeError(`no ${WORKSPACE_FILE} found in ${resolve(from)} or any parent folder`, {
          code: 'WORKSPACE_NOT_FOUND',
          hint: `run dbee inside a workspace, or create ${WORKSPACE_FILE} at its root (see README.md)`,
        });
      }
      dir = parent;
    }
  }

  static load(root: string): Workspace {
    const cache = ConfigCache.open(root);
    try {
      return Workspace.loadWith(root, cache);
    } finally {
      cache.save();
    }
  }

  /** `load`, the configuration files read through `cache`. */
  private static loadWith(root: string, cache: ConfigCache): Workspace {
    const file = YamlFile.read(join(root, WORKSPACE_FILE), WORKSPACE_FILE, cache);
    const config = file.validateAs('workspace', () => configSchemas().workspaceConfig);
    const unknownDefault = defaultEnvironmentProblem(file, config);
    if (unknownDefault) throw unknownDefault;
    const files = projectFiles(root, config);
    const projects = new Map<string, DbProject>();
    const errors: DbeeError[] = unknownEnvironments(file, config);
    for (const rel of files) {
      try {
        const project = loadProject(root, rel, cache);
        const clash = projects.get(project.name);
        if (clash) {
          errors.push(
            new DbeeError(`project name "${project.name}" is already used by ${clash.relativeRoot}/${PROJECT_FILE}`, {
              code: 'PROJECT_DUPLICATE',
              location: project.file.locate(['name']),
              hint: 'give each db.yaml a unique name',
            }),
          );
          continue;
        }
        projects.set(project.name, project);
      } catch (e) {
        if (e instanceof DbeeAggregateError) errors.push(...e.errors);
        else if (e instanceof DbeeError) errors.push(e);
        else throw e;
      }
    }
    for (const project of projects.values())
      errors.push(
        ...checkDependencies(project, projects),
        ...unknownProjectEnvironments(project.file, project.config, config),
      );
    if (errors.length === 1) throw errors[0]!;
    if (errors.length > 1)
      throw new DbeeAggregateError(`the workspace configuration has ${errors.length} problems`, errors);
    return new Workspace(root, config, file, projects);
  }

  project(name: string): DbProject {
    const p = this.projects.get(name) ?? this.projects.get(name.replace(/^db-/, ''));
    if (!p) {
      throw new DbeeError(`unknown project "${name}"`, {
        code: 'PROJECT_UNKNOWN',
        hint: `known projects: ${[...this.projects.keys()].sort().join(', ') || '(none: no db.yaml found)'}`,
      });
    }
    return p;
  }

  /**
   * The environment `name` (`--env`), else the one DBEE_ENV names, else dbee.yaml's `defaultEnvironment`, resolved:
   * see `chooseEnvironment`. `env` holds DBEE_ENV and the values of `${VAR}` references.
   */
  environment(name: string | undefined, env: NodeJS.ProcessEnv = process.env): ResolvedEnvironment {
    const choice = this.environmentName(name, env);
    const preview = this.previews.get(choice.name);
    if (preview) return preview;
    if (choice.from === 'variable' && !Object.hasOwn(this.config.environments, splitTargetName(choice.name)[0])) {
      const known = Object.keys(this.config.environments).sort();
      throw new DbeeError(`${ENVIRONMENT_VARIABLE}="${choice.name}" names an unknown environment`, {
        code: 'ENV_UNKNOWN',
        location: this.file.locate(['environments']),
        hint:
          `set ${ENVIRONMENT_VARIABLE} to one of: ${known.join(', ')} (declared under "environments" in ${this.file.displayPath}), ` +
          `or unset it to use defaultEnvironment (${this.config.defaultEnvironment})`,
        details: { environment: choice.name, known },
      });
    }
    return resolveEnvironment(
      this.file,
      this.config.environments,
      this.config.deploy,
      choice.name,
      env,
      this.discoveredTargets,
    );
  }

  /** Which environment a command given `name` (`--env`, or none) works with, without resolving it. */
  environmentName(name: string | undefined, env: NodeJS.ProcessEnv = process.env): EnvironmentChoice {
    return chooseEnvironment(name, this.config.defaultEnvironment, env);
  }

  /** Targets of fleets found by a discovery query or command (fleet/targets.ts), by fleet name. */
  private readonly discoveredTargets = new Map<string, readonly FleetTarget[]>();

  /** Keep the discovered targets of a fleet, so that `environment('<fleet>/<target>')` resolves them. */
  rememberFleetTargets(fleet: string, targets: readonly FleetTarget[]): void {
    this.discoveredTargets.set(fleet, targets);
  }

  /** Preview databases made in this run (`dbee preview`), by name: environments that dbee.yaml does not declare. */
  private readonly previews = new Map<string, ResolvedEnvironment>();

  /** Make preview `environment` (its `preview` set) an environment of this run, so that commands can address it. */
  rememberPreview(environment: ResolvedEnvironment): void {
    this.previews.set(environment.name, environment);
  }

  /** The project and all its transitive dependencies, dependencies first, ties broken by name. */
  withDependencies(name: string): DbProject[] {
    const out: DbProject[] = [];
    const seen = new Set<string>();
    const visit = (p: DbProject, path: string[]): void => {
      if (seen.has(p.name)) return;
      if (path.includes(p.name)) {
        throw new DbeeError(`projects depend on each other in a cycle: ${[...path, p.name].join(' -> ')}`, {
          code: 'PROJECT_CYCLE',
          location: p.file.locate(['dependsOn']),
          hint: 'move the shared objects into a project both can depend on',
        });
      }
      for (const dep of [...p.config.dependsOn].sort()) visit(this.project(dep), [...path, p.name]);
      seen.add(p.name);
      out.push(p);
    };
    visit(this.project(name), []);
    return out;
  }

  settings(project: DbProject, environment: ResolvedEnvironment) {
    return projectSettings(project.config, environment);
  }
}

/** dbee.yaml's `defaultEnvironment` when it names no environment of the file, as the error to show; else null. */
export function defaultEnvironmentProblem(file: YamlFile, config: WorkspaceConfig): DbeeError | null {
  if (config.environments[config.defaultEnvironment]) return null;
  return new DbeeError(`defaultEnvironment "${config.defaultEnvironment}" is not declared under environments`, {
    code: 'CONFIG_INVALID',
    location: file.locate(['defaultEnvironment']),
    hint: `declare it, or pick one of: ${Object.keys(config.environments).join(', ')}`,
  });
}

/** The `db.yaml` files of the workspace, relative to its root, sorted: every one outside the ignored folders. */
export function projectFiles(root: string, config: Pick<WorkspaceConfig, 'ignore'>): string[] {
  // Without `ignore:` globs, one walk (no glob library loaded); with them, fast-glob matches them.
  return config.ignore?.length
    ? fastGlob()
        .sync(`**/${PROJECT_FILE}`, { cwd: root, ignore: [...ALWAYS_IGNORED, ...config.ignore], dot: false })
        .sort()
    : projectFilesOf(root, PROJECT_FILE).map((f) => f.path);
}

/**
 * Load and validate one `db.yaml`; `rel` is its path relative to the workspace root. `text`: its text when it is not
 * the file's on disk (an editor's unsaved buffer).
 */
export function loadProject(root: string, rel: string, cache?: ConfigCache, text?: string): DbProject {
  const displayPath = rel.split(sep).join('/');
  const file =
    text === undefined ? YamlFile.read(join(root, rel), displayPath, cache) : YamlFile.parse(text, displayPath);
  const config = file.validateAs('project', () => configSchemas().projectConfig);
  const relativeRoot = dirname(displayPath);
  return {
    name: config.name,
    root: join(root, relativeRoot),
    relativeRoot: relativeRoot === '.' ? '' : relativeRoot,
    config,
    file,
  };
}

/** A `dependsOn` entry that names no project of the workspace, each with its db.yaml line. */
export function checkDependencies(project: DbProject, projects: ReadonlyMap<string, DbProject>): DbeeError[] {
  return project.config.dependsOn.flatMap((dep, i) => {
    if (projects.has(dep)) return [];
    return [
      new DbeeError(`dependsOn "${dep}": no project with that name`, {
        code: 'PROJECT_DEPENDENCY_UNKNOWN',
        location: project.file.locate(['dependsOn', i]),
        hint: `known projects: ${[...projects.keys()].sort().join(', ')}`,
      }),
    ];
  });
}

export function toPosix(path: string): string {
  return path.split(sep).join('/');
}

export function relativePosix(from: string, to: string): string {
  return toPosix(relative(from, to));
}
