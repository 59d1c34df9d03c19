import type { EngineFacts, QueryLineage, RelationName, StatementDescription } from '../engine/engine';
import { DbeeError } from '../errors';
import { formatKey } from '../model/object-key';
import type { PlanStep } from '../plan/plan';
import { typeChangeEffect } from '../schema/hazards';
import type { SchemaModel } from '../schema/model';
import { splitRelationName, type DbtManifest, type DbtNode, type DbtRelation } from './dbt-manifest';

/**
 * The dbt check: what a release does to the dbt project that reads the database (`dbee check --dbt`). Object level,
 * from the manifest alone: each dbt source and each relation a node's compiled SQL names is mapped to a dbee object,
 * and every node that reads an object the release changes is judged, with what is downstream of it (`child_map`).
 * Column level, where the columns before and after the release are known (the verified dry run's scratch copy) and the
 * engine has a parser for queries (`LineageRole`): each column a node's compiled SQL reads from such an object is
 * checked against the columns after the release.
 *
 * | verdict | when |
 * | --- | --- |
 * | breaking | reads a relation the release drops, or a column it removes, renames or retypes with possible loss; or its SQL, which bound before the release, fails after it on the copy |
 * | unknown | reads a changed relation, but which columns is not known: `*`, no compiled SQL, a macro left in it, SQL the parser cannot read, a column it cannot attribute, no column level |
 * | pass | reads only columns the release leaves as they were (or widens without loss) |
 */
export interface DbtReport {
  manifest: { path: string; version: number };
  /** `column` when the columns before and after the release were known, else `object`, with why in `notes`. */
  level: 'column' | 'object';
  /** Sources over an object the release changes. */
  sources: DbtSourceHit[];
  /** Nodes (models, snapshots, tests, analyses) that read an object the release changes, and their verdicts. */
  nodes: DbtNodeResult[];
  /** What could not be done, said once (e.g. why the column level is not available). */
  notes: string[];
  /**
   * An expand-contract release: the nodes that would break or cannot be judged against the new version's shape of
   * the tables (once `dbee complete` drops the old columns). Information for the models to move; not a refusal.
   */
  nextVersion?: { schemas: string[]; nodes: DbtNodeResult[] };
}

export type DbtVerdict = 'breaking' | 'unknown' | 'pass';

/** A plan step, as reports name it. */
export interface DbtStepRef {
  order: number;
  action: string;
  key: string;
}

export interface DbtSourceHit {
  id: string;
  /** `source_name.name`. */
  name: string;
  file: string;
  /** The dbee object, `schema.name`. */
  object: string;
  steps: DbtStepRef[];
}

export interface DbtFinding {
  verdict: DbtVerdict;
  message: string;
  /** In the node's file where known (`line`/`column` of the compiled SQL mapped back to the file when it can be). */
  at: { file: string; line: number; column: number } | null;
  steps: DbtStepRef[];
}

export interface DbtNodeRef {
  id: string;
  resourceType: string;
  name: string;
  file: string;
}

export interface DbtNodeResult extends DbtNodeRef {
  verdict: DbtVerdict;
  findings: DbtFinding[];
  /** The changed dbee objects it reads (`schema.name`). */
  objects: string[];
  /** Every node and exposure downstream of it (`child_map`, transitively), nearest first. */
  downstream: DbtNodeRef[];
}

/** The columns before and after the release: the scratch copy's models, read once each. */
export interface DbtColumnLevel {
  before: SchemaModel;
  after: SchemaModel;
  facts: EngineFacts;
}

export interface DbtCheckInput {
  manifest: DbtManifest;
  steps: readonly PlanStep[];
  /** The projects' tables and views (`schema.name`), whatever the level: a relation named outside them is not dbee's. */
  relations: ReadonlySet<string>;
  /** Schemas searched for an unqualified name, in order. */
  searchPath: readonly string[];
  /** Absent: object level only (`notes` says why, from `columnLevelMissing`). */
  columns?: DbtColumnLevel;
  columnLevelMissing?: string;
  /** What each node's compiled SQL reads (`readLineage`); a node absent here has none or was not read. */
  lineage: ReadonlyMap<string, QueryLineage | DbeeError>;
  /** The nodes' compiled SQL described on the copy before and after the release, when it was. */
  descriptions?: ReadonlyMap<string, { before: StatementDescription; after: StatementDescription }>;
  /**
   * The steps that fail on the scratch copy, with their error: every node that reads a relation such a step acts on
   * (its object, or a relation its statements name: a migration's `ALTER TABLE ... RENAME`) breaks, since the
   * release cannot run as it is and what it would do to that relation is not known.
   */
  failed?: readonly { step: PlanStep; error: string }[];
}

const RELATION_KINDS = new Set(['table', 'view', 'materialized-view']);
/** `localeCompare`'s order, with one collator made once (`localeCompare` makes one per call). */
const byLocale = new Intl.Collator();
const JUDGED = new Set(['model', 'snapshot', 'test', 'analysis']);

/** Resolves relation names to dbee relations (`schema.name`): exact, then without case (Teradata; unquoted names). */
export class RelationIndex {
  private readonly lower = new Map<string, string | null>();
  private readonly dbt = new WeakMap<DbtRelation, string | null>();
  constructor(
    private readonly relations: ReadonlySet<string>,
    private readonly searchPath: readonly string[],
  ) {
    for (const r of relations) {
      const l = r.toLowerCase();
      this.lower.set(l, this.lower.has(l) ? null : r);
    }
  }

  /** The dbee relation a name means, or null (a relation of another tool, or a dbt model). */
  resolve(name: RelationName): string | null {
    const candidates = name.schema ? [name.schema] : this.searchPath;
    for (const schema of candidates) {
      const key = `${schema}.${name.name}`;
      if (this.relations.has(key)) return key;
      const other = this.lower.get(key.toLowerCase());
      if (other) return other;
    }
    return null;
  }

  /** The dbee relation a dbt relation (a source's, a node's) is (each relation resolved once: sources are shared). */
  ofDbt(relation: DbtRelation): string | null {
    const known = this.dbt.get(relation);
    if (known !== undefined) return known;
    const parts = relation.relationName ? splitRelationName(relation.relationName, false) : null;
    const key =
      parts && parts.length >= 2
        ? this.resolve({ schema: parts.at(-2)!, name: parts.at(-1)! })
        : relation.schema
          ? this.resolve({ schema: relation.schema, name: relation.identifier })
          : null;
    this.dbt.set(relation, key);
    return key;
  }
}

/**
 * The candidates for the column level: nodes whose SQL or sources name a relation any step touches, by its object or
 * by a statement that alters or drops a relation: the planner carries a table's ALTERs in the step of a view dropped
 * and made again around them (`drop view:core.active_customers` with `ALTER TABLE core.products DROP COLUMN name`).
 */
export function touchedRelations(steps: readonly PlanStep[]): Map<string, PlanStep[]> {
  const touched = new Map<string, PlanStep[]>();
  const add = (key: string, s: PlanStep) => {
    const was = touched.get(key) ?? [];
    if (!was.includes(s)) touched.set(key, [...was, s]);
  };
  for (const s of steps) {
    const k = s.objectKey;
    if (RELATION_KINDS.has(k.kind)) add(`${k.schema}.${k.name}`, s);
    for (const m of s.statements.join('\n').matchAll(ALTERED)) add(`${identifier(m[1]!)}.${identifier(m[2]!)}`, s);
  }
  return touched;
}

/** `ALTER`/`DROP` of a table, view or materialized view, schema-qualified (as dbee renders them): its two names. */
const ALTERED =
  /\b(?:ALTER|DROP)\s+(?:TABLE|VIEW|MATERIALIZED\s+VIEW)\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?("(?:[^"]|"")+"|[A-Za-z_][\w$]*)\s*\.\s*("(?:[^"]|"")+"|[A-Za-z_][\w$]*)/gi;
/** A name as the catalog holds it: a quoted one as written, an unquoted one in lower case. */
const identifier = (part: string) =>
  part.startsWith('"') ? part.slice(1, -1).replaceAll('""', '"') : part.toLowerCase();

/**
 * The projects' relations a step acts on: its object's (or its object's table), and those its statements name, as a
 * whole word, qualified or (in a schema of the search path) not: `ALTER TABLE shop.stages RENAME TO pipeline_stages`
 * names `shop.stages`, and `shop.pipeline_stages` when the project has it.
 */
function relationsActedOn(step: PlanStep, relations: ReadonlySet<string>, searchPath: readonly string[]): string[] {
  const k = step.objectKey;
  const own = RELATION_KINDS.has(k.kind) ? `${k.schema}.${k.name}` : (k.parent ?? null);
  const text = step.statements.join('\n');
  const word = (s: string) => s.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
  return [...relations].filter((r) => {
    if (r === own) return true;
    const dot = r.indexOf('.');
    const schema = r.slice(0, dot);
    const name = r.slice(dot + 1);
    const qualified = new RegExp(`(?<![\\w$])"?${word(schema)}"?\\s*\\.\\s*"?${word(name)}"?(?![\\w$])`, 'i');
    const bare = new RegExp(`(?<![\\w$."])"?${word(name)}"?(?![\\w$.])`, 'i');
    return qualified.test(text) || (searchPath.includes(schema) && bare.test(text));
  });
}

/** The dbee relations a node reads: through its sources, and through the relations its compiled SQL names. */
export function relationsRead(
  node: DbtNode,
  manifest: DbtManifest,
  index: RelationIndex,
  lineage: QueryLineage | DbeeError | undefined,
): Map<string, string> {
  const read = new Map<string, string>();
  for (const dep of node.dependsOn) {
    const source = manifest.sources.get(dep);
    const key = source ? index.ofDbt(source.relation) : null;
    if (key) read.set(key, `source ${source!.sourceName}.${source!.name}`);
  }
  if (lineage && !(lineage instanceof DbeeError))
    for (const r of lineage.relations) {
      const key = index.resolve(r);
      if (key && !read.has(key)) read.set(key, `relation ${key}`);
    }
  return read;
}

/** Judges every node against the release (see `DbtReport`). */
export function checkDbt(input: DbtCheckInput): DbtReport {
  const { manifest, columns } = input;
  const index = new RelationIndex(input.relations, input.searchPath);
  const touched = touchedRelations(input.steps);
  const changed = columns ? changedRelations(columns, touched) : objectChanges(touched);
  for (const { step, error } of input.failed ?? [])
    for (const key of relationsActedOn(step, input.relations, input.searchPath)) {
      const was = changed.get(key);
      changed.set(key, {
        steps: [...(was?.steps ?? []), stepRef(step)],
        planSteps: [...(was?.planSteps ?? []), step],
        gone: was?.gone ?? false,
        changedAtAll: true,
        failed: `step ${step.order} (${step.action} ${step.key}) acts on it and fails on the copy: ${error}`,
      });
    }
  const migrations = input.steps.filter((s) => s.action === 'migrate');
  const report: DbtReport = {
    manifest: { path: manifest.path, version: manifest.version },
    level: columns ? 'column' : 'object',
    sources: [],
    nodes: [],
    notes: columns ? [] : [input.columnLevelMissing ?? 'the column level needs a scratch copy of the target'],
  };
  if (!columns && migrations.length)
    report.notes.push(
      `${migrations.length} migration${migrations.length === 1 ? '' : 's'} in the release: what a migration changes is known only on a scratch copy`,
    );
  for (const source of manifest.sources.values()) {
    const key = index.ofDbt(source.relation);
    const change = key ? changed.get(key) : undefined;
    if (key && change)
      report.sources.push({
        id: source.uniqueId,
        name: `${source.sourceName}.${source.name}`,
        file: source.file,
        object: key,
        steps: change.steps,
      });
  }
  for (const node of manifest.nodes.values()) {
    if (!node.enabled || !JUDGED.has(node.resourceType)) continue;
    const lineage = input.lineage.get(node.uniqueId);
    const read = relationsRead(node, manifest, index, lineage);
    const hit = [...read.keys()].filter((k) => changed.has(k));
    if (!hit.length) continue;
    const findings = judgeNode(
      node,
      { hit, read, changed, index },
      lineage,
      columns,
      input.descriptions?.get(node.uniqueId),
    );
    report.nodes.push({
      ...nodeRef(node),
      verdict: worst(findings.map((f) => f.verdict)),
      findings,
      objects: hit,
      downstream: [],
    });
  }
  const direct = new Set(report.nodes.map((n) => n.id));
  for (const n of report.nodes)
    if (n.verdict !== 'pass') n.downstream = downstreamOf(manifest, n.id).filter((d) => !direct.has(d.id));
  report.nodes.sort((a, b) => rank(a.verdict) - rank(b.verdict) || byLocale.compare(a.id, b.id));
  return report;
}

/** What the release does to a relation: its steps, and at the column level the columns it removes or retypes. */
interface RelationChange {
  steps: DbtStepRef[];
  /** The same steps, for the one that names a column. */
  planSteps: PlanStep[];
  /** Dropped (or renamed away) as a whole. */
  gone: boolean;
  /** Column level: name → what happens to it (absent: unchanged). */
  columns?: Map<string, { removed: true } | { from: string; to: string; lossy: boolean }>;
  /** Column level: the relation's columns after the release, for a `*` the database settles. */
  changedAtAll: boolean;
  /** A step that acts on it fails on the copy (`DbtCheckInput.failed`): what the release does to it is not known. */
  failed?: string;
}

function stepRef(s: PlanStep): DbtStepRef {
  return { order: s.order, action: s.action, key: s.key ?? formatKey(s.objectKey) };
}

/** Object level: a relation dropped (and not created again) is gone; any other step changes it somehow. */
function objectChanges(touched: Map<string, PlanStep[]>): Map<string, RelationChange> {
  const out = new Map<string, RelationChange>();
  for (const [key, steps] of touched) {
    const last = steps.at(-1)!;
    out.set(key, {
      steps: steps.map(stepRef),
      planSteps: steps,
      gone: last.action === 'drop' || last.action === 'rename-aside',
      changedAtAll: true,
    });
  }
  return out;
}

/** Column level: every relation whose columns differ between the copy before and after the release. */
function changedRelations(columns: DbtColumnLevel, touched: Map<string, PlanStep[]>): Map<string, RelationChange> {
  const before = relationColumns(columns.before);
  const after = relationColumns(columns.after);
  const out = new Map<string, RelationChange>();
  for (const [key, was] of before) {
    const is = after.get(key);
    const planSteps = touched.get(key) ?? [];
    const steps = planSteps.map(stepRef);
    if (!is) {
      out.set(key, { steps, planSteps, gone: true, changedAtAll: true });
      continue;
    }
    const diff = new Map<string, { removed: true } | { from: string; to: string; lossy: boolean }>();
    for (const [name, type] of was) {
      const now = is.get(name);
      if (now === undefined) diff.set(name, { removed: true });
      else if (now !== type) {
        const effect = typeChangeEffect({ type }, { type: now }, columns.facts);
        diff.set(name, { from: type, to: now, lossy: effect.loss !== null });
      }
    }
    const reordered = [...was.keys()].join() !== [...is.keys()].slice(0, was.size).join();
    if (diff.size || is.size !== was.size || reordered || steps.length)
      out.set(key, {
        steps,
        planSteps,
        gone: false,
        columns: diff,
        changedAtAll: diff.size > 0 || is.size !== was.size || reordered,
      });
  }
  return out;
}

const columnsOfModel = new WeakMap<SchemaModel, ReadonlyMap<string, ReadonlyMap<string, string>>>();

/** `schema.name` → its columns (name → type, in order) of a model's tables and views, made once per model. */
function relationColumns(model: SchemaModel): ReadonlyMap<string, ReadonlyMap<string, string>> {
  const known = columnsOfModel.get(model);
  if (known) return known;
  const out = new Map<string, Map<string, string>>();
  for (const t of model.tables)
    out.set(`${t.key.schema}.${t.key.name}`, new Map(t.columns.map((c) => [c.name, c.type])));
  for (const v of model.views)
    out.set(`${v.key.schema}.${v.key.name}`, new Map(v.columns.map((c) => [c.name, c.type])));
  columnsOfModel.set(model, out);
  return out;
}

/** The columns of a relation before the release, for the parser to attribute unqualified names. */
export function columnsBefore(model: SchemaModel, index: RelationIndex): (r: RelationName) => string[] | null {
  const all = relationColumns(model);
  return (r) => {
    const key = index.resolve(r);
    const cols = key ? all.get(key) : undefined;
    return cols ? [...cols.keys()] : null;
  };
}

/** What a node reads that the release changes: the relations, how it reads each, their changes, the names' index. */
interface NodeHits {
  hit: string[];
  read: Map<string, string>;
  changed: Map<string, RelationChange>;
  index: RelationIndex;
}

function judgeNode(
  node: DbtNode,
  hits: NodeHits,
  lineage: QueryLineage | DbeeError | undefined,
  columns: DbtColumnLevel | undefined,
  described: { before: StatementDescription; after: StatementDescription } | undefined,
): DbtFinding[] {
  const { hit, read, changed } = hits;
  const findings: DbtFinding[] = [];
  const place = (at: { line: number; column: number } | null) => locate(node, at);
  for (const key of hit) {
    const change = changed.get(key)!;
    if (change.failed)
      findings.push({
        verdict: 'breaking',
        message: `reads ${read.get(key)} (${key}): ${change.failed}`,
        at: place(firstMention(node, key)),
        steps: change.steps,
      });
    else if (change.gone)
      findings.push({
        verdict: 'breaking',
        message: `reads ${read.get(key)} (${key}), which the release drops or renames`,
        at: place(firstMention(node, key)),
        steps: change.steps,
      });
  }
  const open = hit.filter((k) => !changed.get(k)!.gone && !changed.get(k)!.failed);
  if (open.length) findings.push(...columnFindings(node, { ...hits, hit: open }, lineage, columns, place));
  if (described) settle(findings, described, node, open, changed);
  return findings;
}

/** The findings on relations that stay, from the columns the node's SQL reads. */
function columnFindings(
  node: DbtNode,
  hits: NodeHits,
  lineage: QueryLineage | DbeeError | undefined,
  columns: DbtColumnLevel | undefined,
  place: (at: { line: number; column: number } | null) => DbtFinding['at'],
): DbtFinding[] {
  const { hit: open, read, changed } = hits;
  const steps = open.flatMap((k) => changed.get(k)!.steps);
  const unknown = (message: string, at: { line: number; column: number } | null = null): DbtFinding => ({
    verdict: 'unknown',
    message,
    at: place(at),
    steps,
  });
  const what = open.map((k) => `${read.get(k)} (${k})`).join(', ');
  if (!columns) return [unknown(`reads ${what}, which the release changes; the column level is not available`)];
  if (node.language !== 'sql')
    return [unknown(`reads ${what}, which the release changes; a ${node.language} model is not parsed`)];
  if (node.compiledCode === null)
    return [
      unknown(
        `reads ${what}, which the release changes; no compiled SQL in the manifest (its macros are not resolved: run dbt compile)`,
      ),
    ];
  const macro = /\{\{|\{%/.exec(node.compiledCode);
  if (macro)
    return [
      unknown(
        `its compiled SQL still holds a macro (${node.compiledCode.slice(macro.index, macro.index + 30).split('\n')[0]})`,
      ),
    ];
  if (lineage instanceof DbeeError)
    return [unknown(`the parser cannot read its compiled SQL: ${lineage.message}`, positionOf(lineage))];
  if (!lineage) return [unknown(`reads ${what}, which the release changes; its SQL was not read`)];
  const out: DbtFinding[] = [];
  const index = new Map(open.map((k) => [k, changed.get(k)!]));
  const keyOf = (r: RelationName) => hits.index.resolve(r);
  const seen = new Set<string>();
  for (const c of lineage.columns) {
    const key = keyOf(c.relation);
    const change = key ? index.get(key) : undefined;
    if (!key || !change) continue;
    const what = change.columns?.get(c.column);
    const id = `${key}.${c.column}`;
    if (!what || seen.has(id)) continue;
    seen.add(id);
    const steps = stepsOn(change, c.column);
    if ('removed' in what)
      out.push({
        verdict: 'breaking',
        message: `reads ${id}, which the release removes or renames`,
        at: place(c.at),
        steps,
      });
    else
      out.push({
        verdict: what.lossy ? 'breaking' : 'pass',
        message: `reads ${id}, which the release retypes from ${what.from} to ${what.to}${what.lossy ? '' : ' (without loss)'}`,
        at: place(c.at),
        steps,
      });
  }
  for (const s of lineage.stars) {
    const key = keyOf(s.relation);
    const change = key ? index.get(key) : undefined;
    if (key && change?.changedAtAll)
      out.push(unknown(`reads every column of ${key} (*), and the release changes its columns`, s.at));
  }
  for (const u of lineage.unknown) out.push(unknown(u.reason, u.at));
  for (const c of lineage.columns) {
    const key = keyOf(c.relation);
    if (key && !columnExistedBefore(columns.before, key, c.column))
      out.push(unknown(`reads ${key}.${c.column}, which is not a column of ${key} before the release`, c.at));
  }
  if (!out.some((f) => f.verdict !== 'pass'))
    out.push({
      verdict: 'pass',
      message: `reads only columns of ${open.join(', ')} that the release leaves as they are`,
      at: null,
      steps: [],
    });
  return out;
}

function columnExistedBefore(before: SchemaModel, key: string, column: string): boolean {
  const columns = relationColumns(before).get(key);
  return !columns || columns.has(column);
}

/**
 * The database's word on the copy: SQL that bound before the release and fails after it breaks, whatever the parser
 * said; a `*` whose result columns are the same after the release reads nothing the release changed.
 */
function settle(
  findings: DbtFinding[],
  described: { before: StatementDescription; after: StatementDescription },
  node: DbtNode,
  open: string[],
  changed: Map<string, RelationChange>,
): void {
  const { before, after } = described;
  if (!before.ok) return;
  const steps = open.flatMap((k) => changed.get(k)!.steps);
  if (!after.ok) {
    findings.push({
      verdict: 'breaking',
      message: `its compiled SQL fails on the copy after the release: ${after.message}`,
      at: locate(node, null),
      steps,
    });
    return;
  }
  const same =
    before.columns.length === after.columns.length &&
    before.columns.every((c, i) => c.name === after.columns[i]!.name && c.typeId === after.columns[i]!.typeId);
  const stars = findings.filter((f) => f.verdict === 'unknown' && f.message.includes('(*)'));
  if (!same || !stars.length || stars.length !== findings.filter((f) => f.verdict === 'unknown').length) return;
  for (const f of stars) {
    f.verdict = 'pass';
    f.message += '; settled on the copy: it binds after the release with the same result columns';
  }
}

/** The steps on a relation whose statements name the column (else all of them): the one that breaks a reader. */
function stepsOn(change: RelationChange, column: string): DbtStepRef[] {
  const named = change.planSteps.filter((s) => s.statements.some((t) => t.includes(column)));
  return (named.length ? named : change.planSteps).map(stepRef);
}

/** Where a finding is in the node's file: the compiled SQL's line when the file has that line verbatim, else null. */
function locate(node: DbtNode, at: { line: number; column: number } | null): DbtFinding['at'] {
  if (!at) return null;
  const compiledLine = node.compiledCode?.split('\n')[at.line - 1];
  if (node.rawCode && compiledLine !== undefined) {
    const raw = node.rawCode.split('\n');
    const same = raw.findIndex((l) => l === compiledLine);
    if (same >= 0) return { file: node.file, line: same + 1, column: at.column };
    // The line is Jinja in the file (`{{ source('sales', 'orders') }}`): the line whose words it keeps.
    const trimmed = compiledLine.trim();
    const near = raw.findIndex((l) => trimmed.length > 0 && l.trim().split(/\s+/)[0] === trimmed.split(/\s+/)[0]);
    if (near >= 0) return { file: node.file, line: near + 1, column: 1 };
  }
  return { file: node.file, line: at.line, column: at.column };
}

/** The first line of the node's file that names a relation's table (a `source(...)`, a `ref`, a plain name). */
function firstMention(node: DbtNode, key: string): { line: number; column: number } | null {
  const name = key.slice(key.indexOf('.') + 1);
  const code = node.rawCode ?? node.compiledCode;
  if (!code) return null;
  const lines = code.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const col = lines[i]!.toLowerCase().indexOf(name.toLowerCase());
    if (col >= 0) return { line: i + 1, column: col + 1 };
  }
  return null;
}

function positionOf(e: DbeeError): { line: number; column: number } | null {
  const { line, column } = e.details as { line?: number; column?: number };
  return typeof line === 'number' && typeof column === 'number' ? { line, column } : null;
}

function nodeRef(node: { uniqueId: string; resourceType: string; name: string; file: string }): DbtNodeRef {
  return { id: node.uniqueId, resourceType: node.resourceType, name: node.name, file: node.file };
}

/** Every node and exposure below `id` in `child_map` (breadth first). */
export function downstreamOf(manifest: DbtManifest, id: string): DbtNodeRef[] {
  const out: DbtNodeRef[] = [];
  const seen = new Set([id]);
  let frontier = [id];
  while (frontier.length) {
    const next: string[] = [];
    for (const f of frontier)
      for (const c of manifest.children.get(f) ?? []) {
        if (seen.has(c)) continue;
        seen.add(c);
        next.push(c);
        const node = manifest.nodes.get(c);
        const exposure = manifest.exposures.get(c);
        if (node) out.push(nodeRef(node));
        else if (exposure) out.push({ id: c, resourceType: 'exposure', name: exposure.name, file: exposure.file });
        else out.push({ id: c, resourceType: c.split('.')[0]!, name: c.split('.').at(-1)!, file: '' });
      }
    frontier = next;
  }
  return out;
}

function rank(v: DbtVerdict): number {
  return v === 'breaking' ? 0 : v === 'unknown' ? 1 : 2;
}

function worst(verdicts: DbtVerdict[]): DbtVerdict {
  return verdicts.reduce<DbtVerdict>((w, v) => (rank(v) < rank(w) ? v : w), 'pass');
}
