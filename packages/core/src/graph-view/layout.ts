import type { GraphNode, GraphView } from './graph-data';

/**
 * Positions for the page, computed once when the page is written, by ELK's layered algorithm (elkjs, the Eclipse
 * Layout Kernel, the same engine the page's "lay out again" runs through cytoscape-elk): the browser opens a
 * thousand objects with their positions given instead of spending seconds laying them out.
 *
 * Objects are grouped as project > schema > object; dependencies go left to right. Up to `SEPARATE_ABOVE` objects
 * the groups are laid out together (ELK's INCLUDE_CHILDREN: edges between schemas shape the whole), above that each
 * schema is laid out on its own and the schemas then as boxes (SEPARATE_CHILDREN: 10,000 objects in seconds instead
 * of half a minute), and the page starts with every schema collapsed.
 */

/** Above this many objects, schemas are laid out separately and the page opens collapsed per schema. */
export const SEPARATE_ABOVE = 2500;

/** Height of an object's box, in page pixels. */
const NODE_HEIGHT = 26;

/** A box: centre and size, in page coordinates. */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface GraphLayout {
  /** Object key → its box. */
  nodes: Record<string, Box>;
  /** Group id (`P:<project>`, `S:<project>:<schema>`) → its box. */
  groups: Record<string, Box>;
  /** True when schemas were laid out separately (the page opens collapsed). */
  separate: boolean;
}

/** The schema group an object is drawn in: a schema's own object goes into the group of that schema. */
export function schemaGroupOf(n: Pick<GraphNode, 'kind' | 'schema' | 'name'>): string {
  return n.schema !== '' ? n.schema : n.kind === 'schema' || n.kind === 'database' ? n.name : '(cluster)';
}

/** Group ids, shared with the page (graph-page.js builds the same ones). */
export const projectGroupId = (project: string) => `P:${project}`;
export const schemaGroupId = (project: string, schema: string) => `S:${project}:${schema}`;

/** Width of an object's box: its name at the page's font size, within bounds. */
export function nodeWidth(n: Pick<GraphNode, 'name'>): number {
  return Math.min(240, Math.max(56, Math.round(n.name.length * 6.6 + 22)));
}

interface ElkNode {
  id: string;
  width?: number;
  height?: number;
  x?: number;
  y?: number;
  children?: ElkNode[];
  edges?: { id: string; sources: string[]; targets: string[] }[];
  layoutOptions?: Record<string, string>;
}

interface ElkApi {
  layout(graph: ElkNode): Promise<ElkNode>;
}

/** Lay the graph out with ELK (see the module comment). Edges of kind `schema` are left out: every object has one. */
export async function layoutGraph(view: GraphView): Promise<GraphLayout> {
  // elkjs's bundled build runs in this thread (no worker); loaded only when a page is written.
  const ELK = require('elkjs/lib/elk.bundled.js') as new () => ElkApi;
  const separate = view.nodes.length > SEPARATE_ABOVE;
  const group = { 'elk.padding': '[top=34,left=14,bottom=14,right=14]' };
  const projects = new Map<string, Map<string, ElkNode[]>>();
  for (const n of view.nodes) {
    const schemas = projects.get(n.project) ?? new Map<string, ElkNode[]>();
    projects.set(n.project, schemas);
    const s = schemaGroupOf(n);
    const list = schemas.get(s) ?? [];
    list.push({ id: n.key, width: nodeWidth(n), height: NODE_HEIGHT });
    schemas.set(s, list);
  }
  const root: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.hierarchyHandling': separate ? 'SEPARATE_CHILDREN' : 'INCLUDE_CHILDREN',
      'elk.spacing.nodeNode': '14',
      'elk.layered.spacing.nodeNodeBetweenLayers': '36',
      'elk.spacing.componentComponent': '30',
    },
    children: [...projects].map(([project, schemas]) => ({
      id: projectGroupId(project),
      // Collapsed schemas are drawn as their boxes: keep room between them for the edges that join them.
      layoutOptions: separate
        ? { ...group, 'elk.spacing.nodeNode': '800', 'elk.spacing.componentComponent': '800' }
        : group,
      children: [...schemas].map(([schema, children]) => ({
        id: schemaGroupId(project, schema),
        layoutOptions: group,
        children,
      })),
    })),
    edges: view.edges
      .filter((e) => e.kind !== 'schema')
      .map((e, i) => ({ id: `e${i}`, sources: [e.to], targets: [e.from] })),
  };
  const laid = await new ELK().layout(root);
  const out: GraphLayout = { nodes: {}, groups: {}, separate };
  const keys = new Set(view.nodes.map((n) => n.key));
  const walk = (node: ElkNode, dx: number, dy: number) => {
    for (const c of node.children ?? []) {
      const x = dx + (c.x ?? 0);
      const y = dy + (c.y ?? 0);
      const box = {
        x: round(x + (c.width ?? 0) / 2),
        y: round(y + (c.height ?? 0) / 2),
        w: round(c.width ?? 0),
        h: round(c.height ?? 0),
      };
      if (keys.has(c.id)) out.nodes[c.id] = box;
      else out.groups[c.id] = box;
      walk(c, x, y);
    }
  };
  walk(laid, 0, 0);
  return out;
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}
