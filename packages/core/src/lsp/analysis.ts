import { DbeeError } from '../errors';
import { REFERENCE_TARGETS, type Reference } from '../model/source';
import { nearestName } from '../policies/settings';
import { buildGraph, type GraphProject } from '../planner/graph';
import type { SourceObject } from '../planner/objects';
import { ReferenceIndex } from '../planner/reference-index';
import { diagnosticOf, rangeOfLocation, userErrors, type EditorDiagnostic } from './editor-diagnostic';
import { layoutDiagnostics } from './layout-check';
import { keyRange, referenceRange } from './places';
import type { IndexedProject, IndexedSource, WorkspaceIndex } from './workspace-index';

/** What the index knows across projects, computed once per change of the index. */
export interface WorkspaceAnalysis {
  /** Resolution of names to objects, over every project's objects. */
  references: ReferenceIndex;
  /** Every object of every project. */
  objects: SourceObject[];
  /** Each project's graph settings (search path, schemas, dependencies), by project name. */
  graphs: Map<string, GraphProject>;
  /** Every schema a project owns (lower case) → that project. */
  owners: Map<string, string>;
  /** `schema.name` (lower case) of every object a migration creates: no definition file has them, yet they exist. */
  migrationNames: Set<string>;
  /** Every file's diagnostics, by workspace-relative path (files without any are absent). */
  diagnostics: Map<string, EditorDiagnostic[]>;
}

/** Analyse the workspace as the index holds it now: resolution, and every diagnostic of every file. */
export function analyse(ws: WorkspaceIndex): WorkspaceAnalysis {
  const projects = ws.projects();
  const graphs = new Map<string, GraphProject>();
  for (const p of projects) if (p.project && p.graph) graphs.set(p.project.name, p.graph);
  const objects = projects.flatMap((p) => (p.project && p.graph ? p.objects : []));
  const out: EditorDiagnostic[] = [];
  const owners = schemaOwners(projects, out, ws);
  const analysis: WorkspaceAnalysis = {
    references: new ReferenceIndex(objects, graphs),
    objects,
    graphs,
    owners,
    migrationNames: migrationNames(projects),
    diagnostics: new Map(),
  };
  configDiagnostics(ws, projects, out);
  for (const p of projects) for (const s of p.sources.values()) out.push(...sourceDiagnostics(ws, s));
  out.push(...graphDiagnostics(ws, analysis));
  out.push(...referenceDiagnostics(ws, analysis));
  out.push(...layoutDiagnostics(ws));
  for (const d of out) {
    const list = analysis.diagnostics.get(d.file);
    if (list) list.push(d);
    else analysis.diagnostics.set(d.file, [d]);
  }
  for (const list of analysis.diagnostics.values())
    list.sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);
  return analysis;
}

/** A `DbeeError` placed in the file its location names (dbee.yaml, a db.yaml, a source: as the editor shows it). */
export function placeError(ws: WorkspaceIndex, e: DbeeError, fallbackFile: string): EditorDiagnostic | null {
  const file = e.location?.file ?? fallbackFile;
  const lines = ws.linesOf(file);
  if (!lines) return null;
  const source = ws.source(file);
  // Parse errors are placed in the text the parser read (placeholders expanded); a placeholder's own error, and a
  // configuration file's, in the file as written.
  const current = source && !e.code.startsWith('PLACEHOLDER_') ? source.current : null;
  const column = current ? (line: number, col: number) => current.templateColumn(line, col) : undefined;
  return diagnosticOf(e, file, rangeOfLocation(lines, e.location, column));
}

function configDiagnostics(ws: WorkspaceIndex, projects: IndexedProject[], out: EditorDiagnostic[]): void {
  const config = ws.workspaceFile();
  for (const e of config.problems) push(out, placeError(ws, e, config.path));
  for (const p of projects) {
    for (const e of p.problems) push(out, placeError(ws, e, p.configFile));
    for (const e of p.sourceProblems) {
      const d = placeError(ws, e, p.configFile);
      if (d && e.code === 'MIGRATION_NO_ROLLBACK') d.fix = rollbackFix(d.file);
      push(out, d);
    }
    // An object defined twice, a statement that follows none: placed in their files while those parse.
    for (const e of p.groupProblems) if (current(ws, e.location?.file)) push(out, placeError(ws, e, p.configFile));
  }
}

/** The rollback script a migration's file asks for: `V2__x.sql` → `V2__x.rollback.sql`. */
function rollbackFix(migration: string): EditorDiagnostic['fix'] {
  return { kind: 'create-rollback', file: migration.replace(/\.sql$/, '.rollback.sql'), migration };
}

/** A source's own problems: parse errors and placeholders, then the grouping's (which read its last good parse). */
function sourceDiagnostics(ws: WorkspaceIndex, source: IndexedSource): EditorDiagnostic[] {
  const out: EditorDiagnostic[] = [];
  for (const e of source.problems) push(out, placeError(ws, e, source.path));
  return out;
}

function push(out: EditorDiagnostic[], d: EditorDiagnostic | null): void {
  if (d) out.push(d);
}

/** Whether derived diagnostics may be shown in a file: not while it does not parse (its statements are older). */
function current(ws: WorkspaceIndex, file: string | undefined): IndexedSource | null {
  const source = file === undefined ? undefined : ws.source(file);
  return source && source.problems.length === 0 ? source : null;
}

/** Schemas owned by two projects are refused as `dbee` refuses them; every other schema maps to its project. */
function schemaOwners(projects: IndexedProject[], out: EditorDiagnostic[], ws: WorkspaceIndex): Map<string, string> {
  const owners = new Map<string, string>();
  for (const p of projects) {
    if (!p.project || !p.graph) continue;
    for (const s of p.graph.schemas) {
      const other = owners.get(s.toLowerCase());
      if (other !== undefined && other !== p.project.name) {
        const e = new DbeeError(`schema ${s} is owned by two projects: ${other} and ${p.project.name}`, {
          code: 'SCHEMA_TWO_OWNERS',
          location: p.project.file.locate(['schemas']),
          hint: 'a schema belongs to one project: remove it from the schemas of one of them (the other can depend on it with dependsOn)',
        });
        push(out, placeError(ws, e, p.configFile));
        continue;
      }
      owners.set(s.toLowerCase(), p.project.name);
    }
  }
  return owners;
}

function migrationNames(projects: IndexedProject[]): Set<string> {
  const names = new Set<string>();
  for (const p of projects)
    for (const s of p.sources.values()) {
      if (s.role !== 'migration') continue;
      for (const st of s.statements)
        if (st.key && (st.action === 'create' || st.action === 'create-or-replace'))
          names.add(`${st.key.schema}.${st.key.name}`.toLowerCase());
    }
  return names;
}

/**
 * What the planner's graph refuses: a reference into a project that db.yaml's `dependsOn` does not list, and
 * dependency cycles. `buildGraph` stops at missing `dependsOn` entries; the cycles are then looked for as if every
 * project depended on every other (as they will be found once the entries are added).
 */
function graphDiagnostics(ws: WorkspaceIndex, a: WorkspaceAnalysis): EditorDiagnostic[] {
  const planned = new Set(a.graphs.keys());
  const owners = new Map([...a.owners].map(([s, p]) => [s, p]));
  for (const g of a.graphs.values()) for (const s of g.schemas) owners.set(s, a.owners.get(s.toLowerCase())!);
  const errors: DbeeError[] = [];
  const run = (graphs: Map<string, GraphProject>) => {
    try {
      buildGraph(a.objects, graphs, planned, owners);
    } catch (e) {
      errors.push(...userErrors(e));
    }
  };
  run(a.graphs);
  if (errors.some((e) => e.code === 'DEPENDENCY_UNDECLARED')) {
    const everything = [...planned];
    run(new Map([...a.graphs].map(([n, g]) => [n, { ...g, dependsOn: everything.filter((x) => x !== n) }])));
  }
  const out: EditorDiagnostic[] = [];
  for (const e of errors) {
    const source = current(ws, e.location?.file);
    if (!source || !e.location?.line) continue;
    if (e.code === 'DEPENDENCY_UNDECLARED') {
      const details = e.details as { reference: string; owner: string };
      const dot = details.reference.lastIndexOf('.');
      const at = { line: e.location.line, column: e.location.column };
      const range = referenceRange(source, at, details.reference.slice(dot + 1), details.reference.slice(0, dot));
      const d = diagnosticOf(e, source.path, range);
      const graph = a.graphs.get(source.project);
      if (graph) d.fix = { kind: 'add-depends-on', configFile: graph.configFile, dependency: details.owner };
      out.push(d);
    } else if (e.code === 'DEPENDENCY_CYCLE') {
      const object = a.objects.find(
        (o) => o.location.file === e.location!.file && o.location.line === e.location!.line,
      );
      const statement = object?.statements[0];
      const range =
        object && statement
          ? keyRange(source, { location: statement.location, template: statement.template }, object.key)
          : rangeOfLocation(source.lines, e.location);
      out.push(diagnosticOf(e, source.path, range));
    }
  }
  return out;
}

/**
 * References to objects that exist in no project. A reference that names no object of the sources may be a built-in,
 * an extension's object or one made outside the sources, which the planner accepts as external; the editor reports
 * what is surely a mistake: a qualified name in a schema a project of the workspace owns (that project would define
 * it), as an error, and an unqualified name close to one that exists on the search path ("did you mean"), as a
 * warning. Objects a migration creates count as existing. Where an extension of the schemas the name is looked up in
 * could make it (the sources do not list what an extension makes: `public` of most Rails applications), only a name
 * close to one the projects define is reported, as that warning: a misspelling, which an extension's name rarely is.
 */
function referenceDiagnostics(ws: WorkspaceIndex, a: WorkspaceAnalysis): EditorDiagnostic[] {
  const out: EditorDiagnostic[] = [];
  for (const object of a.objects) {
    for (const ref of object.references) {
      if (ref.kind === 'schema' || !ref.location) continue;
      const source = current(ws, ref.location.file);
      if (!source || !unknown(a, object, ref)) continue;
      const maybeExtension = a.references.extensionsFor(object, ref).length > 0;
      const d = maybeExtension ? misspelt(a, object, ref, source) : unknownReference(a, object, ref, source);
      if (d) out.push(d);
    }
  }
  return out;
}

function unknown(a: WorkspaceAnalysis, object: SourceObject, ref: Reference): boolean {
  if (a.references.targets(object.project, ref).length) return false;
  // A sequence a serial column of the table makes (`ALTER SEQUENCE t_id_seq …` in the table's file): the table's own.
  const own = (ref.schema ?? object.key.schema).toLowerCase() === object.key.schema.toLowerCase();
  if (own && object.serials?.some((n) => n.toLowerCase() === ref.name.toLowerCase())) return false;
  return !a.references
    .schemasFor(object.project, ref)
    .some((s) => a.migrationNames.has(`${s}.${ref.name}`.toLowerCase()));
}

/**
 * A name an extension may make, reported only when it is close to one the projects define in the schemas it is
 * looked up in: a warning with "did you mean" and the fix, which says that an extension could make it too.
 */
function misspelt(
  a: WorkspaceAnalysis,
  object: SourceObject,
  ref: Reference,
  source: IndexedSource,
): EditorDiagnostic | null {
  const { schemas, target } = nearestInScope(a, object, ref);
  if (!target) return null;
  const written = ref.schema !== undefined ? `${ref.schema}.${ref.name}` : ref.name;
  const replacement = ref.schema !== undefined ? `${target.key.schema}.${target.key.name}` : target.key.name;
  return {
    file: source.path,
    range: referenceRange(source, ref.location!, ref.name, ref.schema),
    severity: 'warning',
    code: 'REFERENCE_UNKNOWN',
    message: `${kindWord(ref)} ${written} is not defined in any project (${schemas.join(', ')}), unless an extension there makes it; did you mean ${replacement}?`,
    hint: `${target.key.schema}.${target.key.name} is defined in ${target.location.file}:${target.location.line}`,
    fix: { kind: 'replace', text: replacement },
  };
}

/** The object of a kind `ref` may name, in the schemas it is looked up in, whose name is closest to its name. */
function nearestInScope(
  a: WorkspaceAnalysis,
  object: SourceObject,
  ref: Reference,
): { schemas: string[]; target: SourceObject | undefined } {
  const kinds = REFERENCE_TARGETS[ref.kind];
  const schemas = a.references.schemasFor(object.project, ref).map((s) => s.toLowerCase());
  const inScope = a.objects.filter(
    (o) => (kinds.length === 0 || kinds.includes(o.key.kind)) && schemas.includes(o.key.schema.toLowerCase()),
  );
  const near = nearestName(
    ref.name.toLowerCase(),
    inScope.map((o) => o.key.name.toLowerCase()),
  );
  return { schemas, target: near === null ? undefined : inScope.find((o) => o.key.name.toLowerCase() === near) };
}

function kindWord(ref: Reference): string {
  return ref.kind === 'function' ? 'function' : ref.kind === 'type' ? 'type' : 'relation';
}

function unknownReference(
  a: WorkspaceAnalysis,
  object: SourceObject,
  ref: Reference,
  source: IndexedSource,
): EditorDiagnostic | null {
  const kinds = REFERENCE_TARGETS[ref.kind];
  const candidates = a.objects.filter((o) => kinds.length === 0 || kinds.includes(o.key.kind));
  const range = referenceRange(source, ref.location!, ref.name, ref.schema);
  const what = kindWord(ref);
  if (ref.schema !== undefined) {
    const owner = a.owners.get(ref.schema.toLowerCase());
    if (owner === undefined) return null;
    const near = nearestName(
      `${ref.schema}.${ref.name}`.toLowerCase(),
      candidates.map((o) => `${o.key.schema}.${o.key.name}`.toLowerCase()),
    );
    const target =
      near === null ? undefined : candidates.find((o) => `${o.key.schema}.${o.key.name}`.toLowerCase() === near);
    return {
      file: source.path,
      range,
      severity: 'error',
      code: 'REFERENCE_UNKNOWN',
      message:
        `${what} ${ref.schema}.${ref.name} is not defined in any project (schema ${ref.schema} belongs to project ${owner})` +
        (target ? `; did you mean ${target.key.schema}.${target.key.name}?` : ''),
      hint: target
        ? `write ${target.key.schema}.${target.key.name}, defined in ${target.location.file}:${target.location.line}`
        : `define it in project ${owner}, or correct the name`,
      ...(target ? { fix: { kind: 'replace' as const, text: `${target.key.schema}.${target.key.name}` } } : {}),
    };
  }
  const { schemas: searchPath, target } = nearestInScope(a, object, ref);
  if (!target) return null;
  return {
    file: source.path,
    range,
    severity: 'warning',
    code: 'REFERENCE_UNKNOWN',
    message: `${what} ${ref.name} is not defined in any project's schema on the search path (${searchPath.join(', ')}); did you mean ${target.key.name}?`,
    hint: `${target.key.schema}.${target.key.name} is defined in ${target.location.file}:${target.location.line}`,
    fix: { kind: 'replace', text: target.key.name },
  };
}
