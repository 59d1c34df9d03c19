import { canonicalJson } from '../plan/serialize';
import type { GraphNode, GraphView } from './graph-data';

/** `--format json`: the graph as data, keys sorted, nodes in deployment order (see `GraphView`). */
export function formatGraphJson(view: GraphView): string {
  return canonicalJson(view);
}

/** Graphviz shapes by kind; anything else is a box. */
const DOT_SHAPES: Record<string, string> = {
  schema: 'folder',
  database: 'folder',
  table: 'box',
  view: 'parallelogram',
  'materialized-view': 'box3d',
  function: 'ellipse',
  procedure: 'hexagon',
  aggregate: 'ellipse',
  macro: 'hexagon',
  trigger: 'invtriangle',
  index: 'cds',
  'join-index': 'cds',
  'hash-index': 'cds',
  sequence: 'circle',
  type: 'note',
  domain: 'note',
  policy: 'octagon',
};

/** Fill colours of the impact of a pending change (the page uses the same). */
const DOT_IMPACT: Record<string, string> = {
  created: '#b7e4c7',
  altered: '#ffe8a3',
  replaced: '#ffd0a1',
  dropped: '#f5b5b5',
  unchanged: '#eeeeee',
};

/**
 * `--format dot`: one cluster per project holding one cluster per schema, a node per object (shape by kind, fill by
 * impact when there is one), and an edge per dependency from the object that uses to the object used, labelled with
 * the kind of reference. `dot -Tsvg` draws it.
 */
export function formatGraphDot(view: GraphView): string {
  const lines = [
    `// dbee graph ${view.project}: ${view.nodes.length} objects, ${view.edges.length} dependencies (an edge points at what its object uses)`,
  ];
  lines.push(
    `digraph ${quote(`dbee ${view.project}`)} {`,
    '  rankdir=RL;',
    '  node [fontname="Helvetica", fontsize=10, style=filled, fillcolor="#ffffff"];',
    '  edge [fontname="Helvetica", fontsize=8, color="#777777"];',
  );
  const byProject = new Map<string, Map<string, GraphNode[]>>();
  for (const n of view.nodes) {
    const schemas = byProject.get(n.project) ?? new Map<string, GraphNode[]>();
    byProject.set(n.project, schemas);
    schemas.set(n.schema, [...(schemas.get(n.schema) ?? []), n]);
  }
  let cluster = 0;
  for (const [project, schemas] of [...byProject].sort(([a], [b]) => (a < b ? -1 : 1))) {
    lines.push(`  subgraph cluster_${cluster++} {`, `    label=${quote(`project ${project}`)};`, '    style=rounded;');
    for (const [schema, nodes] of [...schemas].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const inner = schema !== '';
      if (inner)
        lines.push(
          `    subgraph cluster_${cluster++} {`,
          `      label=${quote(`schema ${schema}`)};`,
          '      style=dashed;',
        );
      for (const n of nodes) {
        const attrs = [
          `label=${quote(`${n.name}\n${n.kind}${n.order !== null ? ` #${n.order}` : ''}`)}`,
          `shape=${DOT_SHAPES[n.kind] ?? 'box'}`,
          ...(n.impact ? [`fillcolor=${quote(DOT_IMPACT[n.impact]!)}`] : []),
          ...(n.external ? ['style="filled,dashed"'] : []),
          ...(n.file ? [`tooltip=${quote(`${n.key} (${n.file}:${n.line})`)}`] : []),
        ];
        lines.push(`${inner ? '      ' : '    '}${quote(n.key)} [${attrs.join(', ')}];`);
      }
      if (inner) lines.push('    }');
    }
    lines.push('  }');
  }
  for (const e of view.edges)
    lines.push(
      `  ${quote(e.from)} -> ${quote(e.to)} [label=${quote(e.kind)}${e.kind === 'schema' ? ', style=dotted' : ''}];`,
    );
  lines.push('}', '');
  return lines.join('\n');
}

function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}
