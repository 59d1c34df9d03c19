import { join } from 'node:path';
import { DbeeAggregateError, DbeeError } from '../errors';
import type { DbProject } from '../config/workspace';
import type { KeyNameRules, SourceParser } from '../engine/engine';
import { keyName } from '../sources/key-name';
import type { ParsedStatement } from '../model/source';
import { discoverSources, type MigrationFile, type ProjectSources, type SourceFile } from '../sources/discover';
import { type Baseline, readBaseline } from '../sources/baseline';
import { expandPlaceholders, placeholderNames } from '../sources/placeholders';
import { sha256 } from '../sources/checksum';
import { canonicalJson } from '../plan/serialize';
import { groupObjects, type SourceObject, type SourceStatement } from './objects';
import type { GraphProject } from './graph';
import { KeptPack } from './kept-pack';
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
  /**
   * `migrations/baseline.yaml`: the migrations a new environment records without running them (`planner/baseline.ts`).
   * Absent or null: none.
   */
  baseline?: Baseline | null;
  /** Every file read, for package manifests and build fingerprints. */
  files: SourceFile[];
}

/**
 * The variables a project's sources and db.yaml use (`{{name}}`), with their values: those alone can make what is
 * planned or built from it differ between two environments. Every target of a fleet has its own `{{target}}`; a
 * project that does not use it plans (and builds) alike on all of them. A model known only by its exports (no files)
 * counts as using every variable.
 */
export function usedVariables(m: ProjectModel): Record<string, string> {
  if (!m.files.length) return m.variables;
  const used = new Set(placeholderNames([...m.files.map((f) => f.text), JSON.stringify(m.project.config)]));
  return Object.fromEntries(Object.entries(m.variables).filter(([k]) => used.has(k)));
}

/**
 * Owned schemas, search path and dependencies of a project, with placeholders expanded, each name read as the engine
 * reads an identifier in SQL (`rules`, the engine's `capabilities.keyNames`: on PostgreSQL `{{env}}_sales` with `env:
 * DEV` is `dev_sales`, `'"Sales"'` is `Sales`), so that they name what the sources create.
 */
export function graphProject(
  project: DbProject,
  variables: Record<string, string>,
  all: ReadonlyMap<string, DbProject>,
  rules?: KeyNameRules,
): GraphProject {
  const expand = (s: string, key: (string | number)[]) => {
    try {
      return keyName(expandPlaceholders(s, variables, project.file.displayPath).expanded, rules);
    } catch (e) {
      if (e instanceof DbeeError)
        throw DbeeError.carrying(e.code, e.message, { location: project.file.locate(key), hint: e.hint });
      throw e;
    }
  };
  const schemas = project.config.schemas.map((s, i) => expand(s, ['schemas', i]));
  const depSchemas = project.config.dependsOn.flatMap((d) =>
    (all.get(d)?.config.schemas ?? []).map((s) => expand(s, ['dependsOn'])),
  );
  const template = project.config.searchPath ?? [
    ...project.config.schemas,
    ...project.config.dependsOn.flatMap((d) => all.get(d)?.config.schemas ?? []),
    'public',
  ];
  const searchPath = project.config.searchPath?.map((s, i) => expand(s, ['searchPath', i])) ?? [
    ...schemas,
    ...depSchemas,
    'public',
  ];
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
  rules?: KeyNameRules,
): Promise<ProjectModel> {
  const graph = graphProject(project, variables, all, rules);
  const sources = discoverSources(workspaceRoot, project);
  const errors: DbeeError[] = [];
  const pack = cache ? ParsePack.open(cache, project, variables) : null;
  const parseFile = async (file: SourceFile): Promise<SourceStatement[]> => {
    try {
      const expanded = expandPlaceholders(file.text, variables, file.path);
      const statements = pack
        ? await pack.parse(parser, expanded.expanded, file.path, graph.searchPath)
        : await parser.parse(expanded.expanded, file.path, { searchPath: graph.searchPath });
      return statements.map((st) => ({
        ...st,
        template:
          expanded.template === expanded.expanded
            ? st.sql
            : expanded.templateSlice(st.location.line, st.location.column, st.sql.length),
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
  for (const file of sources.objects)
    parsedFiles.push({ path: file.path, statements: (await parseFile(file)).filter((st) => !st.restoreSetting) });
  const migrations: ParsedMigration[] = [];
  for (const m of sources.migrations)
    migrations.push({ file: m, statements: await parseFile(m), rollback: await parseFile(m.rollback) });
  // Kept even when a file failed: the files that parsed are not parsed again once it is mended.
  pack?.save();
  let baseline: Baseline | null = null;
  const parsing = errors.length;
  try {
    baseline = sources.baseline && readBaseline(sources.baseline, sources.migrations);
  } catch (e) {
    if (e instanceof DbeeAggregateError) errors.push(...e.errors);
    else if (e instanceof DbeeError) errors.push(e);
    else throw e;
  }
  if (errors.length === 1) throw errors[0]!;
  if (errors.length > 1)
    throw new DbeeAggregateError(
      parsing === errors.length
        ? `${errors.length} files of project ${project.name} do not parse`
        : `${errors.length} problems in the sources of project ${project.name}`,
      errors,
    );

  const objects = groupObjects(project.name, parsedFiles);
  refuseOtherCase(project, graph, objects);
  graph.manage = scopeFromFiles(project, sources.objects, variables);
  const files = [
    ...sources.objects,
    ...sources.migrations.flatMap((m) => [{ path: m.path, text: m.text }, m.rollback]),
    ...sources.smoke,
    ...(sources.baseline ? [sources.baseline] : []),
  ].sort((a, b) => (a.path < b.path ? -1 : 1));
  return { project, graph, variables, objects, migrations, smoke: sources.smoke, baseline, files };
}

/**
 * An object in a schema that is one of the project's schemas but for case (`CREATE TABLE "Shop".items` with
 * `schemas: [Shop]`, which is `shop` on PostgreSQL): the project would deploy it outside its own scope, and diff,
 * drift and prune would never look at it. Refused with the spelling that owns it; a db.yaml written before its names
 * were read as identifiers meets this once.
 */
function refuseOtherCase(project: DbProject, graph: GraphProject, objects: readonly SourceObject[]): void {
  const owned = new Map(graph.schemas.map((s) => [s.toLowerCase(), s]));
  for (const o of objects) {
    const schema = o.key.kind === 'schema' ? o.key.name : o.key.schema;
    const mine = owned.get(schema.toLowerCase());
    if (!schema || mine === undefined || graph.schemas.includes(schema)) continue;
    const at = project.file.locate(['schemas']);
    const what = o.key.kind === 'schema' ? `schema "${schema}"` : `${o.id} (schema "${schema}")`;
    throw new DbeeError(
      `${what} is not a schema project ${project.name} owns: db.yaml's schemas name ${mine} (${at.file}${at.line ? ':' + at.line : ''}; names there are read as SQL reads them)`,
      {
        code: 'CONFIG_INVALID',
        location: { file: o.location.file, line: o.location.line },
        hint: `to own "${schema}", write it quoted in db.yaml: schemas: ['"${schema.replace(/"/g, '""')}"']; or name the schema ${mine} in the sources; nothing was changed`,
      },
    );
  }
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
 * `parser.parse` through the parse cache: a file whose text (placeholders expanded), path and search path were parsed
 * before by the same parser is read back instead of parsed (the engine's parser is the biggest cost of planning: a
 * no-op deploy, a deploy of the same sources to the next environment, a dependent's plan).
 *
 * One file per project and set of variables (a pack), not one per source file: creating a file costs about a
 * millisecond on a journaling disk, which made writing the cache of a 459-file project (0.4 s) dearer than parsing it
 * (0.1 s). A pack holds the files of the last load only (a changed file's old parse goes); another environment's
 * variables get their own pack. Only successful parses are kept; a read-only, missing or unreadable pack only loses
 * the shortcut. Two processes saving the same pack at once: each writes a whole file and renames it, the last wins.
 */
class ParsePack {
  private constructor(
    private readonly pack: KeptPack<ParsedStatement[]>,
    private readonly parser: string,
  ) {}

  static open(cache: ParseCache, project: DbProject, variables: Record<string, string>): ParsePack {
    const name = sha(
      `dbee-parse-v4\0${cache.parser}\0${project.name}\0${project.relativeRoot}\0${canonicalJson(variables)}`,
    );
    return new ParsePack(KeptPack.open(join(cache.dir, `${name}.json`)), cache.parser);
  }

  async parse(parser: SourceParser, text: string, path: string, searchPath: string[]): Promise<ParsedStatement[]> {
    const key = sha(`${this.parser}\0${path}\0${searchPath.join('\0')}\0\0${text}`);
    let statements = this.pack.get(key);
    if (statements && parser.revive) statements = await parser.revive(statements);
    const made = !statements;
    statements ??= await parser.parse(text, path, { searchPath });
    this.pack.put(key, statements, made);
    return statements;
  }

  /** Write the pack when it changed (something was parsed, or a file it held is gone or changed), in the background. */
  save(): void {
    this.pack.save();
  }
}

const sha = (text: string) => sha256(text).slice(0, 40);

/**
 * The managed scope of a project (db.yaml `manage:`), the grantees read from the GRANT and REVOKE statements of its
 * object files. Read from the text, not the parse, so that operations that do not parse (rollback) get the same scope
 * as deploy, and the same fingerprint.
 */
export function projectManagedScope(
  workspaceRoot: string,
  project: DbProject,
  variables: Record<string, string>,
  /** The project's sources when the caller has discovered them already (`discoverSources`): not walked again. */
  sources?: ProjectSources,
): ManagedScope {
  return scopeFromFiles(project, (sources ?? discoverSources(workspaceRoot, project)).objects, variables);
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
