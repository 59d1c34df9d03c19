import type { ObjectKind } from '../model/object-key';
import type { ReferenceKind } from '../model/source';
import { buildGraph, type Edge } from '../planner/graph';
import type { SourceObject } from '../planner/objects';
import { orderProjects } from '../planner/planner';
import type { ProjectModel } from '../planner/project-model';

/** Current shape of `dbee graph --format json`. Bump it when a field changes meaning or goes away. */
export const GRAPH_FORMAT_VERSION = 1;

/** What the pending plan does to an object (`--env`, `--base`); `unchanged` objects are greyed out in the page. */
export type Impact = 'created' | 'altered' | 'replaced' | 'dropped' | 'unchanged';

/** One database object: a node of the graph. */
export interface GraphNode {
  /** The object's key, e.g. `view:sales.order_totals` or `trigger:sales.orders_touch@sales.orders`. */
  key: string;
  kind: ObjectKind;
  /** The dbee project whose sources define it. */
  project: string;
  /** Schema (PostgreSQL) or database (Teradata); empty for schemas themselves. */
  schema: string;
  name: string;
  /** Owning table of a trigger, index or policy, as `schema.name`. */
  parent?: string;
  /** Where it is created, workspace-relative; null for an object only the database has (a drop). */
  file: string | null;
  line: number | null;
  /** Its statements as written in the sources (placeholders kept), each ending with `;`. */
  source: string;
  /** 1-based position in deployment order among the drawn projects' objects; null for external objects. */
  order: number | null;
  /** True for an object of a dependency project that is not drawn in full (`--with-deps` draws them all). */
  external: boolean;
  /** With `--env`/`--base`: what the pending plan does to it. */
  impact?: Impact;
  /** With `--env`/`--base`: the pending plan's steps that touch it (their `order`). */
  steps?: number[];
}

/** Why one object needs another, in the words of the parser (`via`), or the structural reason. */
export type EdgeKind = string;

/** A dependency: `from` uses `to`, so `to` is created first. */
export interface GraphEdge {
  /** Key of the object that uses the other (the dependent). */
  from: string;
  /** Key of the object it uses (the dependency). */
  to: string;
  /**
   * Why: `view`, `body`, `foreign key`, `trigger`, `default`, `column type`, `index`, ... (what the parser saw),
   * `schema` (an object needs its schema) or `table` (a trigger, index or policy needs its table).
   */
  kind: EdgeKind;
  /** What the reference names: relation, function, type, sequence, schema; null for structural edges. */
  reference: ReferenceKind | null;
  /** Where the reference is written, when the parser knows. */
  file: string | null;
  line: number | null;
}

/** The pending plan whose impact the graph shows. */
export interface GraphImpact {
  /** The two sides, e.g. `test (postgres://app@db/sales)` and `sources`. */
  from: string;
  to: string;
  /** Steps in the pending plan. */
  steps: number;
  /** Objects per impact (objects touched only through a table, like a constraint, count as the table's). */
  counts: Record<Exclude<Impact, 'unchanged'>, number>;
}

/** Everything `dbee graph` knows: the objects and their dependencies, and optionally a plan's impact. */
export interface GraphView {
  formatVersion: typeof GRAPH_FORMAT_VERSION;
  /** The project the graph was asked for. */
  project: string;
  /** Projects drawn in full, in deployment order (dependencies first). */
  projects: string[];
  engine: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
  impact: GraphImpact | null;
}

/** Project and schema of every node, sorted: what the page's filters offer. */
export function groupsOf(view: GraphView): { projects: string[]; schemas: string[]; kinds: string[] } {
  const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();
  return {
    projects: sorted(view.nodes.map((n) => n.project)),
    schemas: sorted(view.nodes.map((n) => n.schema).filter(Boolean)),
    kinds: sorted(view.nodes.map((n) => n.kind)),
  };
}

/**
 * The object graph of `drawn` projects as the planner sees it: the same objects and the same resolved edges that
 * order a deployment (planner/graph.ts `buildGraph`), so whatever the page shows is what dbee plans with. Objects of
 * other (dependency) projects appear only when a drawn object uses them, marked `external`.
 */
export function graphView(args: {
  engine: string;
  project: string;
  /** The drawn projects and their dependencies (for resolution). */
  models: readonly ProjectModel[];
  /** Names of the projects drawn in full. */
  drawn: readonly string[];
  schemaOwners: ReadonlyMap<string, string>;
}): GraphView {
  const drawn = new Set(args.drawn);
  const graph = buildGraph(
    args.models.flatMap((m) => m.objects),
    new Map(args.models.map((m) => [m.project.name, m.graph])),
    drawn,
    args.schemaOwners,
  );
  // Numbered as a plan orders them: project after project (dependencies first), each in the graph's order.
  const projectOrder = orderProjects(args.models, drawn);
  const ordered = projectOrder.flatMap((p) => graph.order.filter((o) => o.project === p));
  const order = new Map(ordered.map((o, i) => [o.id, i + 1]));
  const nodes = new Map<string, GraphNode>();
  const add = (o: SourceObject) => {
    if (!nodes.has(o.id)) nodes.set(o.id, nodeOf(o, order.get(o.id) ?? null, !drawn.has(o.project)));
  };
  for (const o of ordered) add(o);
  for (const e of graph.edges) add(e.to);
  const edges = graph.edges.map(edgeOf).sort((a, b) => cmp(a.from, b.from) || cmp(a.to, b.to) || cmp(a.kind, b.kind));
  return {
    formatVersion: GRAPH_FORMAT_VERSION,
    project: args.project,
    projects: projectOrder,
    engine: args.engine,
    nodes: [...nodes.values()].sort((a, b) => (a.order ?? Infinity) - (b.order ?? Infinity) || cmp(a.key, b.key)),
    edges,
    impact: null,
  };
}

function nodeOf(o: SourceObject, order: number | null, external: boolean): GraphNode {
  return {
    key: o.id,
    kind: o.key.kind,
    project: o.project,
    schema: o.key.schema,
    name: o.key.name,
    ...(o.key.parent ? { parent: o.key.parent } : {}),
    file: o.location.file,
    line: o.location.line,
    source: o.statements.map((s) => s.template.trim() + ';').join('\n\n'),
    order,
    external,
  };
}

function edgeOf(e: Edge): GraphEdge {
  const ref = e.reference;
  const structural = e.to.key.kind === 'schema' || e.to.key.kind === 'database' ? 'schema' : 'table';
  return {
    from: e.from.id,
    to: e.to.id,
    kind: ref ? (ref.via ?? ref.kind) : structural,
    reference: ref ? ref.kind : null,
    file: ref?.location?.file ?? null,
    line: ref?.location?.line ?? null,
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
