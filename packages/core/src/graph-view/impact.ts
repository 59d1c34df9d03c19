import { formatKey, type ObjectKey } from '../model/object-key';
import type { Plan, PlanStep, StepAction } from '../plan/plan';
import type { GraphImpact, GraphNode, GraphView, Impact } from './graph-data';

/** What each step action does to its object, in the page's words. */
const IMPACT_OF: Record<StepAction, Exclude<Impact, 'unchanged'>> = {
  create: 'created',
  replace: 'replaced',
  alter: 'altered',
  drop: 'dropped',
  migrate: 'altered',
  'add-constraint': 'altered',
  'rename-aside': 'replaced',
  restore: 'replaced',
};

/**
 * One word for all the steps that touch an object: dropped and created again (a view whose columns change) is
 * replaced; otherwise dropped, created, replaced, altered, in that order.
 */
function summarise(impacts: ReadonlySet<Impact>): Impact {
  if (impacts.has('dropped')) return impacts.has('created') || impacts.has('replaced') ? 'replaced' : 'dropped';
  for (const i of ['created', 'replaced', 'altered'] as const) if (impacts.has(i)) return i;
  return 'unchanged';
}

/**
 * Mark the nodes a pending plan touches (`created`, `altered`, `replaced`, `dropped`) and every other node
 * `unchanged`. A step is matched to its object by key; a step on a part of a table (a constraint, a column's
 * default) that is no node of its own marks the table `altered`; a routine is matched without its argument types
 * when the catalog and the parser spell them differently. Objects the plan drops, which the sources no longer
 * have, are added as nodes of their own (no file). Migrations mark nothing: they are scripts, not objects.
 */
export function applyImpact(view: GraphView, plan: Plan, sides: { from: string; to: string }): GraphView {
  const nodes: GraphNode[] = view.nodes.map((n) => ({ ...n, impact: 'unchanged', steps: [] }));
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const byName = new Map<string, GraphNode[]>();
  for (const n of nodes) {
    const k = loose(n.kind, n.schema, n.name);
    byName.set(k, [...(byName.get(k) ?? []), n]);
  }
  const touched = new Map<GraphNode, Set<Impact>>();
  const mark = (node: GraphNode, impact: Exclude<Impact, 'unchanged'>, step: PlanStep) => {
    touched.set(node, (touched.get(node) ?? new Set<Impact>()).add(impact));
    if (!node.steps!.includes(step.order)) node.steps!.push(step.order);
  };
  for (const step of plan.steps) {
    if (step.action === 'migrate') continue;
    const impact = IMPACT_OF[step.action];
    const exact = byKey.get(step.key) ?? byKey.get(formatKey({ ...step.objectKey, args: undefined }));
    const named = exact
      ? [exact]
      : (byName.get(loose(step.objectKey.kind, step.objectKey.schema, step.objectKey.name)) ?? []);
    if (named.length) {
      for (const n of named) mark(n, impact, step);
      continue;
    }
    const table = step.objectKey.parent ? tableNode(byKey, step.objectKey.parent) : undefined;
    if (table && !['trigger', 'index', 'policy'].includes(step.objectKey.kind)) {
      mark(table, 'altered', step);
      continue;
    }
    // Not in the sources (dropped, or made by the database alone): a node of its own, without a file.
    const node: GraphNode = {
      key: step.key,
      kind: step.objectKey.kind,
      project: step.project,
      schema: step.objectKey.schema,
      name: step.objectKey.name,
      ...(step.objectKey.parent ? { parent: step.objectKey.parent } : {}),
      file: step.source?.file ?? null,
      line: step.source?.line ?? null,
      source: step.statements.map((s) => s.trim() + ';').join('\n\n'),
      order: null,
      external: false,
      impact: 'unchanged',
      steps: [],
    };
    nodes.push(node);
    byKey.set(node.key, node);
    mark(node, impact, step);
  }
  for (const [node, impacts] of touched) node.impact = summarise(impacts);
  const counts: GraphImpact['counts'] = { created: 0, altered: 0, replaced: 0, dropped: 0 };
  for (const n of nodes) if (n.impact && n.impact !== 'unchanged') counts[n.impact]++;
  return { ...view, nodes, impact: { from: sides.from, to: sides.to, steps: plan.steps.length, counts } };
}

function loose(kind: string, schema: string, name: string): string {
  return `${kind}:${schema}.${name}`.toLowerCase();
}

function tableNode(byKey: ReadonlyMap<string, GraphNode>, parent: string): GraphNode | undefined {
  const dot = parent.indexOf('.');
  const key: ObjectKey = { kind: 'table', schema: parent.slice(0, dot), name: parent.slice(dot + 1) };
  return byKey.get(formatKey(key)) ?? byKey.get(formatKey({ ...key, kind: 'materialized-view' }));
}
