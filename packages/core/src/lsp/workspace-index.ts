import { existsSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { DbeeError } from '../errors';
import { chooseEnvironment } from '../config/environment-name';
import { unknownEnvironments, unknownProjectEnvironments } from '../config/references';
import { projectSettings, resolveEnvironment, type ResolvedEnvironment } from '../config/resolve';
import { workspaceConfig, type WorkspaceConfig } from '../config/schema';
import {
  checkDependencies,
  defaultEnvironmentProblem,
  loadProject,
  projectFiles,
  PROJECT_FILE,
  WORKSPACE_FILE,
  type DbProject,
} from '../config/workspace';
import { YamlFile } from '../config/yaml-file';
import type { Engine } from '../engine/engine';
import { groupObjects, type SourceObject, type SourceStatement } from '../planner/objects';
import { graphProject } from '../planner/project-model';
import type { GraphProject } from '../planner/graph';
import { discoverSources } from '../sources/discover';
import { expandPlaceholders, type ExpandedSource } from '../sources/placeholders';
import { userErrors } from './editor-diagnostic';
import { TextLines } from './text';

/** How the language server's index is made. */
export interface WorkspaceIndexOptions {
  /** The workspace root: the folder of dbee.yaml. */
  root: string;
  /** The engine of a db.yaml's `engine:` (its parser and key rules); throws a `DbeeError` when it is not installed. */
  engine: (name: string) => Engine;
  /**
   * The environment whose variables expand `{{placeholders}}`. Default: DBEE_ENV, else dbee.yaml's
   * `defaultEnvironment` (the rule every command follows).
   */
  environment?: string;
  /** Environment variables (DBEE_ENV, `${VAR}` values). Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** What a source file holds for the project: a definition file, a migration or a migration's rollback script. */
export type SourceRole = 'object' | 'migration' | 'rollback';

/** One source file as the index holds it. */
export interface IndexedSource {
  /** Workspace-relative, `/`-separated. */
  path: string;
  project: string;
  role: SourceRole;
  text: string;
  lines: TextLines;
  /** Statements of the last parse that succeeded: kept while the text does not parse, so that others still resolve. */
  statements: SourceStatement[];
  /** The placeholders' expansion those statements were parsed from (positions map back through it). */
  expanded: ExpandedSource | null;
  /** Why the current text does not parse (parse errors, unknown placeholders); empty when it does. */
  problems: DbeeError[];
  /** The expansion of the current text, when it expanded (a parse error's position maps back through it). */
  current: ExpandedSource | null;
  /** Text, search path and variables of the last parse: when any changes, the file is parsed again. */
  parsedFrom: string | null;
}

/** One database project (a db.yaml) as the index holds it. */
export interface IndexedProject {
  /** The db.yaml, workspace-relative. */
  configFile: string;
  /** Null while the db.yaml does not load. */
  project: DbProject | null;
  /** The text of the db.yaml (the editor's when it is open). */
  lines: TextLines;
  /** Problems of the db.yaml itself (YAML, keys, engine, dependsOn, schemas). */
  problems: DbeeError[];
  engine: Engine | null;
  variables: Record<string, string>;
  graph: GraphProject | null;
  /** Source files by path. */
  sources: Map<string, IndexedSource>;
  /** Problems of the files found (a migration without its rollback script...). */
  sourceProblems: DbeeError[];
  /** The objects its definition files define (the files that do not parse count with their last good text). */
  objects: SourceObject[];
  /** Problems grouping the statements into objects (an object defined twice, a statement that follows none). */
  groupProblems: DbeeError[];
  /** Whether its files must be walked again (created, deleted, or the db.yaml changed). */
  walk: boolean;
  /** Whether its objects must be grouped again. */
  regroup: boolean;
}

/**
 * The language server's knowledge of a workspace: every database project (a folder with a db.yaml), its source files,
 * their statements as the engine's parser reads them, and the objects they define, kept in memory and brought up to
 * date one file at a time. Files come from the disk, or from the editor while it has them open (`setDocument`).
 *
 * Changes are recorded as they come (`setDocument`, `closeDocument`, `filesChanged`) and applied by `update()`: only
 * the files that changed are parsed again, only the projects whose files changed are grouped again; a db.yaml change
 * walks its project again, and a dbee.yaml change reloads everything. Nothing here throws for bad input: a file that
 * does not parse, a db.yaml with an error, an engine that is not installed each become a problem of their file.
 */
export class WorkspaceIndex {
  /** Texts of the files the editor has open, by workspace-relative path. */
  private readonly documents = new Map<string, string>();
  /** Texts read from the disk, until a change of the file is reported. */
  private readonly disk = new Map<string, string>();
  private configDirty = true;
  private projectsDirty = true;
  private config: WorkspaceConfig | null = null;
  private configLines = new TextLines('');
  private configProblems: DbeeError[] = [];
  private environment: ResolvedEnvironment | null = null;
  private readonly byConfigFile = new Map<string, IndexedProject>();
  /** Counts the changes `update()` made: callers recompute what they derive from the index when it moves. */
  private updates = 0;

  constructor(readonly options: WorkspaceIndexOptions) {}

  get root(): string {
    return this.options.root;
  }

  /** A number that changes whenever `update()` changed what the index holds. */
  get generation(): number {
    return this.updates;
  }

  /** The environment whose variables the sources are read with (null while dbee.yaml does not load). */
  get environmentName(): string | null {
    return this.environment?.name ?? null;
  }

  /** The workspace-relative path of an absolute one, or null when it is outside the workspace. */
  relativePath(absolute: string): string | null {
    const rel = relative(this.root, absolute);
    if (!rel || rel.startsWith('..') || rel.startsWith(sep) || /^[A-Za-z]:/.test(rel)) return null;
    return rel.split(sep).join('/');
  }

  /** The editor opened or changed a file: its text is `text` until it is closed. */
  setDocument(path: string, text: string): void {
    if (this.documents.get(path) === text) return;
    this.documents.set(path, text);
    this.changed(path, false);
  }

  /** The editor closed a file: the disk's text counts again. */
  closeDocument(path: string): void {
    if (!this.documents.delete(path)) return;
    this.disk.delete(path);
    this.changed(path, false);
  }

  /** Files were created, changed or deleted on disk (a file watcher's report). */
  filesChanged(paths: readonly string[]): void {
    for (const path of paths) {
      this.disk.delete(path);
      this.changed(path, true);
    }
  }

  private changed(path: string, onDisk: boolean): void {
    if (path === WORKSPACE_FILE) {
      this.configDirty = true;
      return;
    }
    if (path === PROJECT_FILE || path.endsWith(`/${PROJECT_FILE}`)) {
      this.projectsDirty = true;
      return;
    }
    const owner = this.projectOfPath(path);
    if (!owner) return;
    const source = owner.sources.get(path);
    // A file created or deleted (or an open one the project does not know yet) changes what the walk finds.
    if (!source || onDisk) owner.walk = true;
    if (source) {
      source.text = this.read(path) ?? '';
      source.lines = new TextLines(source.text);
      owner.regroup = true;
    }
  }

  /** The text of a file: the editor's, else the disk's (null when there is none). */
  read(path: string): string | null {
    const open = this.documents.get(path);
    if (open !== undefined) return open;
    let text = this.disk.get(path);
    if (text === undefined) {
      try {
        text = readFileSync(join(this.root, path), 'utf8');
      } catch {
        return null;
      }
      this.disk.set(path, text);
    }
    return text;
  }

  /** Apply the changes recorded since the last update: walk, parse and group what they touched. */
  async update(): Promise<void> {
    if (this.configDirty) this.loadConfig();
    if (this.projectsDirty) this.loadProjects();
    for (const p of this.byConfigFile.values()) {
      if (p.walk) this.walk(p);
      if (await this.parse(p)) p.regroup = true;
      if (p.regroup) this.group(p);
    }
  }

  /** Every project the index holds (those whose db.yaml does not load included), by db.yaml path order. */
  projects(): IndexedProject[] {
    return [...this.byConfigFile.values()].sort((a, b) => (a.configFile < b.configFile ? -1 : 1));
  }

  /** The project of a name. */
  project(name: string): IndexedProject | undefined {
    return this.projects().find((p) => p.project?.name === name);
  }

  /** dbee.yaml's text and problems. */
  workspaceFile(): { path: string; lines: TextLines; problems: DbeeError[] } {
    return { path: WORKSPACE_FILE, lines: this.configLines, problems: this.configProblems };
  }

  /** The source file at a path, when a project has it. */
  source(path: string): IndexedSource | undefined {
    return this.projectOfPath(path)?.sources.get(path);
  }

  /** The project whose folder holds `path` (the deepest one). */
  projectOfPath(path: string): IndexedProject | undefined {
    let best: IndexedProject | undefined;
    for (const p of this.byConfigFile.values()) {
      const dir = p.configFile.slice(0, -PROJECT_FILE.length);
      if (path.startsWith(dir) && (!best || dir.length > best.configFile.length - PROJECT_FILE.length)) best = p;
    }
    return best;
  }

  /** The lines of any file the index knows (a source, a db.yaml, dbee.yaml); null for others. */
  linesOf(path: string): TextLines | null {
    if (path === WORKSPACE_FILE) return this.configLines;
    const project = this.byConfigFile.get(path);
    if (project) return project.lines;
    const source = this.source(path);
    if (source) return source.lines;
    const text = this.read(path);
    return text === null ? null : new TextLines(text);
  }

  private loadConfig(): void {
    this.configDirty = false;
    this.projectsDirty = true;
    this.updates++;
    const text = this.read(WORKSPACE_FILE) ?? '';
    this.configLines = new TextLines(text);
    this.configProblems = [];
    try {
      const file = YamlFile.parse(text, WORKSPACE_FILE);
      const config = file.validate(workspaceConfig);
      const unknownDefault = defaultEnvironmentProblem(file, config);
      if (unknownDefault) throw unknownDefault;
      this.config = config;
      this.configProblems.push(...unknownEnvironments(file, config));
      this.environment = this.chooseEnvironment(file, config) ?? this.environment;
    } catch (e) {
      // The last configuration that loaded stays in use: one mistake in dbee.yaml does not empty every project.
      this.configProblems.push(...userErrors(e));
    }
  }

  private chooseEnvironment(file: YamlFile, config: WorkspaceConfig): ResolvedEnvironment | null {
    const env = this.options.env ?? process.env;
    const choice = chooseEnvironment(this.options.environment, config.defaultEnvironment, env);
    for (const name of new Set([choice.name, config.defaultEnvironment])) {
      try {
        return resolveEnvironment(file, config.environments, config.deploy, name, env);
      } catch (e) {
        this.configProblems.push(...userErrors(e));
      }
    }
    return null;
  }

  private loadProjects(): void {
    this.projectsDirty = false;
    this.updates++;
    let files: string[] = [];
    try {
      files = existsSync(join(this.root, WORKSPACE_FILE)) ? projectFiles(this.root, this.config ?? {}) : [];
    } catch (e) {
      this.configProblems.push(...userErrors(e));
    }
    const previous = new Map(this.byConfigFile);
    this.byConfigFile.clear();
    for (const configFile of files) this.byConfigFile.set(configFile, this.loadProjectFile(configFile, previous));
    const loaded = new Map<string, DbProject>();
    for (const p of this.projects()) {
      if (!p.project) continue;
      if (loaded.has(p.project.name)) {
        p.problems.push(
          new DbeeError(
            `project name "${p.project.name}" is already used by ${loaded.get(p.project.name)!.file.displayPath}`,
            {
              code: 'PROJECT_DUPLICATE',
              location: p.project.file.locate(['name']),
              hint: 'give each db.yaml a unique name',
            },
          ),
        );
        p.project = null;
        continue;
      }
      loaded.set(p.project.name, p.project);
    }
    for (const p of this.byConfigFile.values()) this.settle(p, loaded);
  }

  /** Read one db.yaml (keeping the files and parses of the project it was before). */
  private loadProjectFile(configFile: string, previous: ReadonlyMap<string, IndexedProject>): IndexedProject {
    const old = previous.get(configFile);
    const text = this.read(configFile) ?? '';
    const p: IndexedProject = {
      configFile,
      project: null,
      lines: new TextLines(text),
      problems: [],
      engine: null,
      variables: {},
      graph: null,
      sources: old?.sources ?? new Map(),
      sourceProblems: old?.sourceProblems ?? [],
      objects: old?.objects ?? [],
      groupProblems: old?.groupProblems ?? [],
      walk: true,
      regroup: true,
    };
    try {
      p.project = loadProject(this.root, configFile, undefined, text);
    } catch (e) {
      p.problems.push(...userErrors(e));
    }
    return p;
  }

  /** Engine, variables and search path of a loaded project, with the problems of its db.yaml against the others. */
  private settle(p: IndexedProject, all: ReadonlyMap<string, DbProject>): void {
    const project = p.project;
    if (!project) return;
    p.problems.push(...checkDependencies(project, all));
    if (this.config) p.problems.push(...unknownProjectEnvironments(project.file, project.config, this.config));
    try {
      p.engine = this.options.engine(project.config.engine);
    } catch (e) {
      for (const error of userErrors(e))
        p.problems.push(
          DbeeError.carrying(error.code, error.message, {
            location: project.file.locate(['engine']),
            hint: error.hint,
          }),
        );
    }
    p.variables = this.environment
      ? projectSettings(project.config, this.environment).variables
      : { project: project.name, ...project.config.variables };
    try {
      p.graph = graphProject(project, p.variables, all, p.engine?.capabilities.keyNames);
    } catch (e) {
      p.problems.push(...userErrors(e));
    }
  }

  /** Find the project's files again (a file was created or deleted, or its db.yaml changed). */
  private walk(p: IndexedProject): void {
    p.walk = false;
    p.regroup = true;
    this.updates++;
    const project = p.project;
    if (!project) {
      p.sources = new Map();
      return;
    }
    const problems: DbeeError[] = [];
    const found: Array<{ path: string; role: SourceRole }> = [];
    try {
      const sources = discoverSources(this.root, project, (abs) => this.read(this.relativePath(abs)!) ?? '', problems);
      for (const f of sources.objects) found.push({ path: f.path, role: 'object' });
      for (const m of sources.migrations)
        found.push({ path: m.path, role: 'migration' }, { path: m.rollback.path, role: 'rollback' });
    } catch (e) {
      p.problems.push(...userErrors(e));
    }
    // A migration without its rollback script is still a migration: it is parsed, and its problem shown at it.
    for (const e of problems)
      if (e.code === 'MIGRATION_NO_ROLLBACK' && e.location) found.push({ path: e.location.file, role: 'migration' });
    p.sourceProblems = problems;
    found.push(...this.unsaved(p, found));
    const sources = new Map<string, IndexedSource>();
    for (const { path, role } of found) {
      const text = this.read(path) ?? '';
      const old = p.sources.get(path);
      if (old && old.role === role) {
        if (old.text !== text) {
          old.text = text;
          old.lines = new TextLines(text);
        }
        sources.set(path, old);
        continue;
      }
      sources.set(path, {
        path,
        project: project.name,
        role,
        text,
        lines: new TextLines(text),
        statements: [],
        expanded: null,
        problems: [],
        current: null,
        parsedFrom: null,
      });
    }
    p.sources = sources;
  }

  /**
   * Files the editor has open that are not on disk yet, which the walk cannot find: a `.sql` file of the project's
   * folder is one of its definition files by the default rule (every `.sql` outside migrations/ and smoke/), unless
   * db.yaml names its sources with globs.
   */
  private unsaved(
    p: IndexedProject,
    found: ReadonlyArray<{ path: string }>,
  ): Array<{ path: string; role: SourceRole }> {
    const project = p.project!;
    if (project.config.sources) return [];
    const base = project.relativeRoot ? `${project.relativeRoot}/` : '';
    const known = new Set(found.map((f) => f.path));
    return [...this.documents.keys()]
      .filter((path) => path.endsWith('.sql') && !known.has(path) && this.projectOfPath(path) === p)
      .filter((path) => !/^(migrations|smoke)\//.test(path.slice(base.length)) && !/(^|\/)\./.test(path))
      .filter((path) => !existsSync(join(this.root, path)))
      .map((path) => ({ path, role: 'object' as const }));
  }

  /** Parse the files whose text, search path or variables changed; true when any was parsed. */
  private async parse(p: IndexedProject): Promise<boolean> {
    const parser = p.engine?.parser;
    if (!p.project || !p.graph || !parser) return false;
    const searchPath = p.graph.searchPath;
    const from = `${searchPath.join('\0')}\0\0${JSON.stringify(p.variables)}\0\0`;
    let parsed = false;
    for (const source of p.sources.values()) {
      if (source.parsedFrom === from + source.text) continue;
      source.parsedFrom = from + source.text;
      parsed = true;
      this.updates++;
      source.current = null;
      try {
        const expanded = expandPlaceholders(source.text, p.variables, source.path);
        source.current = expanded;
        const statements = await parser.parse(expanded.expanded, source.path, { searchPath });
        source.statements = statements
          .filter((st) => source.role !== 'object' || !st.restoreSetting)
          .map((st) => ({
            ...st,
            template:
              expanded.template === expanded.expanded
                ? st.sql
                : expanded.templateSlice(st.location.line, st.location.column, st.sql.length),
          }));
        source.expanded = expanded;
        source.problems = [];
      } catch (e) {
        source.problems = userErrors(e);
      }
    }
    return parsed;
  }

  /**
   * Group the definition files' statements into objects. A statement the grouping refuses (an object defined twice, a
   * statement that follows none) is a problem of its own and is left out, so that the project's other objects stay.
   */
  private group(p: IndexedProject): void {
    p.regroup = false;
    this.updates++;
    const name = p.project?.name;
    if (!name) {
      p.objects = [];
      p.groupProblems = [];
      return;
    }
    const files = [...p.sources.values()]
      .filter((s) => s.role === 'object')
      .sort((a, b) => (a.path < b.path ? -1 : 1))
      .map((s) => ({ path: s.path, statements: s.statements }));
    const problems: DbeeError[] = [];
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        p.objects = groupObjects(name, files);
        p.groupProblems = problems;
        return;
      } catch (e) {
        const errors = userErrors(e);
        problems.push(...errors);
        const refused = new Set(errors.map((x) => `${x.location?.file}:${x.location?.line}:${x.location?.column}`));
        for (const f of files)
          f.statements = f.statements.filter(
            (st) => !refused.has(`${st.location.file}:${st.location.line}:${st.location.column}`),
          );
      }
    }
    p.objects = [];
    p.groupProblems = problems;
  }
}
