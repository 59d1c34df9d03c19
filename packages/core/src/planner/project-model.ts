import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DbeeAggregateError, DbeeError } from '../errors';
import type { DbProject } from '../config/workspace';
import type { SourceParser } from '../engine/engine';
import type { ParsedStatement } from '../model/source';
import { discoverSources, type MigrationFile, type SourceFile } from '../sources/discover';
import { expandPlaceholders } from '../sources/placeholders';
import { groupObjects, type SourceObject, type SourceStatement } from './objects';
import type { GraphProject } from './graph';
import { managedScope, type ManagedScope } from '../schema/managed-scope';

/** A migration with its statements parsed (and its rollback's). */
export interface ParsedMigration {
  file: MigrationFile;
  statements: SourceStatement[];
  rollback: SourceStatement[];
}

/** Everything the planner knows about one project on one environment. */
export interface ProjectModel {
  project: DbProject;
  graph: GraphProject;
  variables: Record<string, string>;
  objects: SourceObject[];
  migrations: ParsedMigration[];
  smoke: SourceFile[];
  /** Every file read, for package manifests and build fingerprints. */
  files: SourceFile[];
}

/** Owned schemas, search path and dependencies of a project, with placeholders expanded. */
export function graphProject(project: DbProject, variables: Record<string, string>, all: ReadonlyMap<string, DbProject>): GraphProject {
  const expand = (s: string, key: (string | number)[]) => {
    try {
      return expandPlaceholders(s, variables, project.file.displayPath).expanded;
    } catch (e) {
      if (e instanceof DbeeError) throw new DbeeError(e.message, { code: e.code, location: project.file.locate(key), hint: e.hint });
      throw e;
    }
  };
  const schemas = project.config.schemas.map((s, i) => expand(s, ['schemas', i]));
  const depSchemas = project.config.dependsOn.flatMap((d) => (all.get(d)?.config.schemas ?? []).map((s) => expand(s, ['dependsOn'])));
  const template = project.config.searchPath ?? [
    ...project.config.schemas,
    ...project.config.dependsOn.flatMap((d) => all.get(d)?.config.schemas ?? []),
    'public',
  ];
  const searchPath = project.config.searchPath?.map((s, i) => expand(s, ['searchPath', i])) ?? [...schemas, ...depSchemas, 'public'];
  return {
    name: project.name,
    schemas,
    searchPath: [...new Set(searchPath)],
    searchPathTemplate: [...new Set(template)],
    dependsOn: project.config.dependsOn,
    configFile: project.file.displayPath,
  };
}

/**
 * Read and parse a project's sources for one environment's variables. Every file is parsed; all parse errors
 * are reported together, and nothing is planned (let alone applied) when any file fails.
 */
export async function loadProjectModel(
  workspaceRoot: string,
  project: DbProject,
  variables: Record<string, string>,
  parser: SourceParser,
  all: ReadonlyMap<string, DbProject>,
  cache?: ParseCache,
): Promise<ProjectModel> {
  const graph = graphProject(project, variables, all);
  const sources = discoverSources(workspaceRoot, project);
  const errors: DbeeError[] = [];
  const parseFile = async (file: SourceFile): Promise<SourceStatement[]> => {
    try {
      const expanded = expandPlaceholders(file.text, variables, file.path);
      const statements = await parseCached(cache, parser, expanded.expanded, file.path, graph.searchPath);
      return statements.map((st) => ({
        ...st,
        template: expanded.template === expanded.expanded ? st.sql : expanded.templateSlice(st.location.line, st.location.column, st.sql.length),
      }));
    } catch (e) {
      if (e instanceof DbeeAggregateError) errors.push(...e.errors);
      else if (e instanceof DbeeError) errors.push(e);
      else throw e;
      return [];
    }
  };
  const parsedFiles: { path: string; statements: SourceStatement[] }[] = [];
  // A dump's session settings configure a restore, not an object (see `ParsedStatement.restoreSetting`).
  for (const file of sources.objects) parsedFiles.push({ path: file.path, statements: (await parseFile(file)).filter((st) => !st.restoreSetting) });
  const migrations: ParsedMigration[] = [];
  for (const m of sources.migrations) migrations.push({ file: m, statements: await parseFile(m), rollback: await parseFile(m.rollback) });
  if (errors.length === 1) throw errors[0]!;
  if (errors.length > 1) throw new DbeeAggregateError(`${errors.length} files of project ${project.name} do not parse`, errors);

  const objects = groupObjects(project.name, parsedFiles);
  graph.manage = scopeFromFiles(project, sources.objects, variables);
  const files = [...sources.objects, ...sources.migrations.flatMap((m) => [{ path: m.path, text: m.text }, m.rollback]), ...sources.smoke].sort((a, b) =>
    a.path < b.path ? -1 : 1,
  );
  return { project, graph, variables, objects, migrations, smoke: sources.smoke, files };
}

/**
 * Where parsed files are kept between runs (`.dbee/cache/parse`), and what else their parse depends on besides the
 * text, the file's path and the search path: the parser (engine name, dbee's version).
 */
export interface ParseCache {
  dir: string;
  parser: string;
}

/**
 * `parser.parse`, through the parse cache when there is one: a file whose text (placeholders expanded), path and
 * search path were parsed before by the same parser is read back instead of parsed (the engine's parser is the
 * biggest cost of planning: a no-op deploy, a deploy of the same sources to the next environment, a dependent's
 * plan). Only successful parses are kept; a read-only or missing cache only loses the shortcut.
 */
async function parseCached(cache: ParseCache | undefined, parser: SourceParser, text: string, path: string, searchPath: string[]): Promise<ParsedStatement[]> {
  if (!cache) return parser.parse(text, path, { searchPath });
  const key = createHash('sha256').update(`dbee-parse-v1\0${cache.parser}\0${path}\0${searchPath.join('\0')}\0\0${text}`).digest('hex');
  const file = join(cache.dir, key.slice(0, 2), `${key.slice(2, 40)}.json`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ParsedStatement[];
  } catch {
    // Not parsed yet (or unreadable): parse it.
  }
  const statements = await parser.parse(text, path, { searchPath });
  try {
    mkdirSync(join(file, '..'), { recursive: true });
    // Write then rename: a concurrent reader (another Nx task) never sees half a file.
    writeFileSync(`${file}.${process.pid}.tmp`, JSON.stringify(statements));
    renameSync(`${file}.${process.pid}.tmp`, file);
  } catch {
    // A read-only workspace only loses the shortcut.
  }
  return statements;
}

/**
 * The managed scope of a project (db.yaml `manage:`), the grantees read from the GRANT and REVOKE statements of its
 * object files. Read from the text, not the parse, so that operations that do not parse (rollback) get the same scope
 * as deploy, and the same fingerprint.
 */
export function projectManagedScope(workspaceRoot: string, project: DbProject, variables: Record<string, string>): ManagedScope {
  return scopeFromFiles(project, discoverSources(workspaceRoot, project).objects, variables);
}

function scopeFromFiles(project: DbProject, files: SourceFile[], variables: Record<string, string>): ManagedScope {
  const statements: string[] = [];
  for (const f of files) {
    if (!/\b(GRANT|REVOKE)\b/i.test(f.text)) continue;
    let text = f.text;
    try {
      text = expandPlaceholders(f.text, variables, f.path).expanded;
    } catch {
      // An unknown placeholder is reported by the parse; here the text is enough.
    }
    statements.push(...text.split(';'));
  }
  return managedScope(project.config.manage, statements);
}
