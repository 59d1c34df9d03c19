import { createHash } from 'node:crypto';
import { formatKey, type ObjectKey } from '../model/object-key';
import type { GraphEdge } from '../graph-view/graph-data';
import type { SourceObject } from '../planner/objects';
import type { SchemaModel, Table } from '../schema/model';
import type { DocsBoard } from './board-data';

/** Current shape of `dbee docs --format json`. Bump it when a field changes meaning or goes away. */
export const DOCS_FORMAT_VERSION = 1;

/** One column of a table (or view), as the desired model has it. */
export interface DocsColumn {
  name: string;
  /** Type as the engine prints it, e.g. `character varying(20)`. */
  type: string;
  /** Default expression, or null. */
  default: string | null;
  notNull: boolean;
  /** `COMMENT ON COLUMN`, or null. */
  comment: string | null;
  /** True when the column is part of the primary key. */
  primaryKey: boolean;
  /** `schema.table(column)` of the foreign key it is part of (the first), or null. */
  references: string | null;
}

/** One database object documented on its own page. */
export interface DocsObject {
  /** `kind:schema.name...` (model/object-key.ts). */
  key: string;
  kind: string;
  project: string;
  schema: string;
  name: string;
  /** Owning table of a trigger, index or policy, as `schema.name`. */
  parent: string | null;
  /** Workspace-relative file and 1-based line of its creating statement. */
  file: string;
  line: number;
  /** Its statements as written in the sources (placeholders kept). */
  source: string;
  /** `COMMENT ON` the object, or null. */
  comment: string | null;
  /** Tables, views: the columns, in order. */
  columns: DocsColumn[];
  /** Tables: constraints as the engine prints them (`name`, `kind`, definition). */
  constraints: { name: string; kind: string; definition: string }[];
  /** Tables, materialized views: their indexes (`CREATE INDEX ...` as the engine prints it). */
  indexes: { name: string; definition: string }[];
  /** Tables: their triggers. */
  triggers: { name: string; definition: string }[];
  /** Tables: row-level security policies (`command`, roles, using, check) as the catalog has them. */
  policies: { name: string; definition: string }[];
  /** Grants on it (and its columns): `grantee: privileges`. */
  grants: string[];
  /** Objects it uses (keys), within and across projects. */
  reads: string[];
  /** Objects that use it (keys), within and across projects. */
  readBy: string[];
  /** Names of the smoke checks that name it. */
  smoke: string[];
  /** Findings of the schema review policies about it. */
  findings: DocsFinding[];
}

export interface DocsFinding {
  rule: string;
  level: 'error' | 'warning';
  message: string;
  file: string | null;
  line: number | null;
}

/** A smoke check of a project. */
export interface DocsSmokeCheck {
  name: string;
  file: string | null;
  line: number | null;
  /** `exists` or `statement`. */
  kind: string;
  /** What it runs: the statement, or the objects that must exist. */
  text: string;
}

/** Comment coverage as tbls counts it: tables and views, and their columns, that carry a comment. */
export interface DocsCoverage {
  commented: number;
  total: number;
}

export interface DocsProject {
  name: string;
  engine: string;
  dependsOn: string[];
  /** Workspace-relative folder of the project (where its db.yaml is). */
  root: string;
  schemas: { name: string; objects: string[] }[];
  coverage: DocsCoverage;
  smoke: DocsSmokeCheck[];
  /** Findings not about one object (migrations), and the count of every finding. */
  findings: DocsFinding[];
}

/** A set of tables with a diagram of their own: one per project (its tables and the tables they reference), and `docs.viewpoints` of db.yaml. */
export interface DocsViewpoint {
  /** Page id: `project-<name>` for a project's, `<project>-<name>` for one of db.yaml. */
  id: string;
  name: string;
  description: string;
  /** The project that declares it. */
  project: string;
  /** Keys of its tables. */
  tables: string[];
}

/** Everything `dbee docs` writes, as data (`--format json`). */
export interface DocsSite {
  formatVersion: typeof DOCS_FORMAT_VERSION;
  /** The documented projects, in deployment order. */
  projects: DocsProject[];
  /** Every documented object by key, sorted by key. */
  objects: DocsObject[];
  /** Tables of other projects that documented tables reference (drawn in diagrams, not documented here). */
  external: DocsObject[];
  viewpoints: DocsViewpoint[];
  /** With `--env`: the release board. */
  board: DocsBoard | null;
}

/** What one project contributes to the site: its parsed objects, its desired model, its checks and findings. */
export interface DocsInput {
  name: string;
  engine: string;
  dependsOn: string[];
  root: string;
  objects: readonly SourceObject[];
  model: SchemaModel;
  smoke: DocsSmokeCheck[];
  findings: (DocsFinding & { object: ObjectKey | null })[];
  viewpoints: { name: string; description: string; tables: string[] }[];
}

/** Kinds whose objects get a page of their own; an index, trigger or policy is shown on its table's page too. */
const STRUCTURAL = new Set(['schema', 'database']);

/**
 * The site's data from each project's sources, desired model (its shadow build) and the planner's edges (`edges`,
 * across every project of the workspace, so that "read by" names dependents too). Pure: the same inputs give the same
 * site byte for byte, which `--check` relies on.
 */
export function docsSite(inputs: readonly DocsInput[], edges: readonly GraphEdge[]): DocsSite {
  const documented = new Map<string, DocsObject>();
  const tables = new Map<string, { table: Table; project: string; model: SchemaModel }>();
  for (const input of inputs)
    for (const t of input.model.tables)
      tables.set(formatKey(t.key), { table: t, project: input.name, model: input.model });
  for (const input of inputs)
    for (const o of input.objects) {
      if (STRUCTURAL.has(o.key.kind) || o.key.kind === 'migration') continue;
      documented.set(o.id, objectOf(input, o));
    }
  for (const e of edges) {
    if (e.kind === 'schema') continue;
    documented.get(e.from)?.reads.push(e.to);
    documented.get(e.to)?.readBy.push(e.from);
  }
  // Foreign keys are references too, whatever the parser recorded.
  for (const [key, t] of tables)
    for (const c of t.table.constraints)
      if (c.references) {
        const to = formatKey(c.references.table);
        documented.get(key)?.reads.push(to);
        documented.get(to)?.readBy.push(key);
      }
  for (const input of inputs) {
    for (const f of input.findings) {
      const o = f.object ? documented.get(formatKey(f.object)) : undefined;
      if (o) o.findings.push(strip(f));
    }
    for (const s of input.smoke)
      for (const o of documented.values()) if (o.project === input.name && mentions(s.text, o)) o.smoke.push(s.name);
  }
  for (const o of documented.values()) {
    o.reads = uniqueSorted(o.reads.filter((k) => k !== o.key));
    o.readBy = uniqueSorted(o.readBy.filter((k) => k !== o.key));
  }
  const external = new Map<string, DocsObject>();
  for (const o of documented.values())
    for (const k of o.reads) {
      const t = tables.get(k);
      if (!documented.has(k) && t) external.set(k, tableOnly(t.table, t.project, t.model));
    }
  const projects = inputs.map((input) => projectOf(input, documented));
  return {
    formatVersion: DOCS_FORMAT_VERSION,
    projects,
    objects: [...documented.values()].sort((a, b) => cmp(a.key, b.key)),
    external: [...external.values()].sort((a, b) => cmp(a.key, b.key)),
    viewpoints: inputs.flatMap((input) => viewpointsOf(input, documented)),
    board: null,
  };
}

function objectOf(input: DocsInput, o: SourceObject): DocsObject {
  const key = o.id;
  const m = input.model;
  const same = (k: ObjectKey) => formatKey(k) === key;
  const comment = m.comments.find((c) => same(c.target) && !c.column && !c.constraint)?.text ?? null;
  const table = m.tables.find((t) => same(t.key));
  const view = m.views.find((v) => same(v.key));
  const tableName = `${o.key.schema}.${o.key.name}`;
  const onTable = (parent: ObjectKey) => `${parent.schema}.${parent.name}` === tableName && !!(table || view);
  const policies = (table?.attrs.policies as Record<string, unknown>[] | undefined) ?? [];
  return {
    key,
    kind: o.key.kind,
    project: input.name,
    schema: o.key.schema,
    name: o.key.name,
    parent: o.key.parent ?? null,
    file: o.location.file,
    line: o.location.line,
    source: o.statements.map((s) => `${s.template.trim()};`).join('\n\n'),
    comment,
    columns: table ? columnsOf(table, m) : (view?.columns.map((c) => plainColumn(c.name, c.type, key, m)) ?? []),
    constraints: (table?.constraints ?? []).map((c) => ({
      name: c.name,
      kind: c.kind,
      definition: c.definition,
    })),
    indexes: m.indexes.filter((i) => onTable(i.table)).map((i) => ({ name: i.key.name, definition: i.definition })),
    triggers: m.triggers.filter((t) => onTable(t.table)).map((t) => ({ name: t.key.name, definition: t.definition })),
    policies: policies.map((p) => ({ name: String(p.name), definition: policyText(p) })),
    grants: m.privileges
      .filter((p) => same(p.target))
      .map((p) => `${p.grantee}: ${p.privileges.join(', ')}${p.column ? ` (${p.column})` : ''}`)
      .sort(),
    reads: [],
    readBy: [],
    smoke: [],
    findings: [],
  };
}

function columnsOf(t: Table, m: SchemaModel): DocsColumn[] {
  const key = formatKey(t.key);
  const pk = new Set(t.constraints.filter((c) => c.kind === 'primary-key').flatMap((c) => c.columns));
  return t.columns.map((c) => {
    const fk = t.constraints.find((k) => k.kind === 'foreign-key' && k.columns.includes(c.name));
    const ref = fk?.references;
    return {
      ...plainColumn(c.name, c.type, key, m),
      default: c.generated ? `generated: ${c.generated}` : c.identity ? `identity (${c.identity})` : c.default,
      notNull: c.notNull,
      primaryKey: pk.has(c.name),
      references: ref
        ? `${ref.table.schema}.${ref.table.name}(${ref.columns[fk.columns.indexOf(c.name)] ?? ref.columns.join(', ')})`
        : null,
    };
  });
}

function plainColumn(name: string, type: string, key: string, m: SchemaModel): DocsColumn {
  const comment = m.comments.find((c) => c.column === name && formatKey(c.target) === key)?.text ?? null;
  return { name, type, default: null, notNull: false, comment, primaryKey: false, references: null };
}

function policyText(p: Record<string, unknown>): string {
  const parts = [
    p.permissive === false ? 'AS RESTRICTIVE' : '',
    p.command ? `FOR ${String(p.command)}` : '',
    Array.isArray(p.roles) && p.roles.length ? `TO ${p.roles.join(', ')}` : '',
    p.using ? `USING (${String(p.using)})` : '',
    p.check ? `WITH CHECK (${String(p.check)})` : '',
  ];
  return parts.filter(Boolean).join(' ');
}

function tableOnly(t: Table, project: string, m: SchemaModel): DocsObject {
  const key = formatKey(t.key);
  return {
    key,
    kind: 'table',
    project,
    schema: t.key.schema,
    name: t.key.name,
    parent: null,
    file: '',
    line: 0,
    source: '',
    comment: m.comments.find((c) => formatKey(c.target) === key && !c.column && !c.constraint)?.text ?? null,
    columns: columnsOf(t, m),
    constraints: [],
    indexes: [],
    triggers: [],
    policies: [],
    grants: [],
    reads: [],
    readBy: [],
    smoke: [],
    findings: [],
  };
}

function projectOf(input: DocsInput, documented: ReadonlyMap<string, DocsObject>): DocsProject {
  const own = [...documented.values()].filter((o) => o.project === input.name);
  const bySchema = new Map<string, string[]>();
  for (const o of own) bySchema.set(o.schema, [...(bySchema.get(o.schema) ?? []), o.key]);
  let commented = 0;
  let total = 0;
  for (const o of own)
    if (o.kind === 'table' || o.kind === 'view' || o.kind === 'materialized-view') {
      total += 1 + o.columns.length;
      commented += (o.comment ? 1 : 0) + o.columns.filter((c) => c.comment).length;
    }
  return {
    name: input.name,
    engine: input.engine,
    dependsOn: input.dependsOn,
    root: input.root,
    schemas: [...bySchema]
      .sort(([a], [b]) => cmp(a, b))
      .map(([name, objects]) => ({ name, objects: objects.sort(cmp) })),
    coverage: { commented, total },
    smoke: input.smoke,
    findings: input.findings.filter((f) => !f.object || !documented.has(formatKey(f.object))).map(strip),
  };
}

/**
 * A project's own viewpoint (its tables and the tables of other projects they reference), then those of
 * `docs.viewpoints`, whose patterns (`schema.name`, `*` for any run of characters) were checked when loaded.
 */
function viewpointsOf(input: DocsInput, documented: ReadonlyMap<string, DocsObject>): DocsViewpoint[] {
  const own = [...documented.values()].filter((o) => o.project === input.name && o.kind === 'table');
  const reached = new Set(own.map((o) => o.key));
  for (const o of own) for (const r of o.reads) if (r.startsWith('table:')) reached.add(r);
  const all = [...documented.values()].filter((o) => o.kind === 'table');
  return [
    {
      id: `project-${input.name}`,
      name: input.name,
      description: `The tables of project ${input.name} and the tables of its dependencies they reference.`,
      project: input.name,
      tables: [...reached].sort(cmp),
    },
    ...input.viewpoints.map((v) => ({
      id: `${input.name}-${v.name}`,
      name: v.name,
      description: v.description,
      project: input.name,
      tables: all.filter((o) => v.tables.some((p) => tablePattern(p).test(`${o.schema}.${o.name}`))).map((o) => o.key),
    })),
  ];
}

/** A viewpoint's table pattern as a regular expression over `schema.name`. */
export function tablePattern(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`);
}

/** Whether a smoke check's text names the object (as `schema.name`, or its key for an `exists` check). */
function mentions(text: string, o: DocsObject): boolean {
  if (o.kind === 'index' || o.kind === 'trigger' || o.kind === 'policy') return false;
  return text.includes(o.key) || new RegExp(`\\b${escapeRe(o.schema)}\\.${escapeRe(o.name)}\\b`).test(text);
}

/**
 * The file name of an object's page: readable (`table.sales.orders.html`), with a short hash of the key when the name
 * has characters a file name should not, or the key has arguments or a parent (overloads, same-named indexes).
 */
export function pageName(key: string): string {
  const [kind, rest = ''] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
  const plain = `${kind}.${rest}`;
  const safe = plain.replace(/[^A-Za-z0-9_.-]/g, '_');
  if (safe === plain && !/[(@]/.test(rest)) return `${safe}.html`;
  return `${safe.slice(0, 80)}-${createHash('sha1').update(key).digest('hex').slice(0, 8)}.html`;
}

function strip(f: DocsFinding): DocsFinding {
  return { rule: f.rule, level: f.level, message: f.message, file: f.file, line: f.line };
}

function uniqueSorted(xs: string[]): string[] {
  return [...new Set(xs)].sort(cmp);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
