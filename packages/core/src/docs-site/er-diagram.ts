import type { DocsObject } from './docs-data';
import { cmp } from './docs-data';

/**
 * The ER diagram of a set of tables as SVG, laid out when the site is written (no script in the page lays it out).
 *
 * A diagram is read at the width of the page: a layered layout (the graph page's ELK) of a hundred tables joined by
 * foreign keys is as wide as its widest layer, thousands of pixels, and at fit-to-width its text shrinks below
 * legibility. So the tables are placed in rows no wider than `MAX_WIDTH` (shelf packing), in an order that keeps
 * tables joined by foreign keys next to each other: connected groups largest first, each walked breadth-first from its
 * most referenced table. Boxes cannot overlap (each row starts below the tallest box of the one before), text stays at
 * 12 px when the page is at least `MAX_WIDTH` wide, and every box is a link to its table's page. Foreign keys are
 * curves from the referencing column's row to the referenced table, drawn under the boxes.
 */

/** Widest row, in SVG pixels; the diagram is drawn at this scale or larger on a page at least this wide. */
export const MAX_WIDTH = 1200;
const FONT = 12;
/** Average advance of a character at `FONT` px (sans-serif), for box widths. */
const CHAR = 7;
const ROW = 18;
const HEADER = 24;
const GAP_X = 48;
const GAP_Y = 40;
const PAD = 8;
/** Longest type shown in a box (the table's page has the whole). */
const TYPE_CHARS = 24;

/** A table's box in the diagram. */
export interface ErBox {
  key: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** A foreign key: from a column of one table to another table. */
export interface ErLink {
  from: string;
  column: string;
  to: string;
}

export interface ErLayout {
  width: number;
  height: number;
  boxes: ErBox[];
  links: ErLink[];
}

/** Positions of `tables` (and the links between them that both ends have). Pure and deterministic. */
export function layoutEr(tables: readonly DocsObject[]): ErLayout {
  const byKey = new Map(tables.map((t) => [t.key, t]));
  const links: ErLink[] = [];
  for (const t of tables)
    for (const c of t.columns) {
      if (!c.references) continue;
      const to = `table:${c.references.slice(0, c.references.indexOf('('))}`;
      if (byKey.has(to)) links.push({ from: t.key, column: c.name, to });
    }
  const order = linkedOrder(tables, links);
  const boxes: ErBox[] = [];
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  let width = 0;
  for (const t of order) {
    const w = boxWidth(t);
    const h = HEADER + Math.max(1, t.columns.length) * ROW + PAD / 2;
    if (x > 0 && x + w > MAX_WIDTH) {
      x = 0;
      y += rowHeight + GAP_Y;
      rowHeight = 0;
    }
    boxes.push({ key: t.key, x, y, w, h });
    width = Math.max(width, x + w);
    x += w + GAP_X;
    rowHeight = Math.max(rowHeight, h);
  }
  return { width: Math.max(width, 1), height: Math.max(y + rowHeight, 1), boxes, links };
}

function boxWidth(t: DocsObject): number {
  const header = `${t.schema}.${t.name}`.length;
  const widest = Math.max(header, ...t.columns.map((c) => c.name.length + 2 + shortType(c.type).length + 3));
  return Math.min(MAX_WIDTH, Math.max(120, Math.ceil(widest * CHAR + 2 * PAD)));
}

function shortType(type: string): string {
  return type.length > TYPE_CHARS ? `${type.slice(0, TYPE_CHARS - 1)}…` : type;
}

/** Tables in groups joined by foreign keys (largest group first), each breadth-first from its most linked table. */
function linkedOrder(tables: readonly DocsObject[], links: readonly ErLink[]): DocsObject[] {
  const next = new Map<string, Set<string>>(tables.map((t) => [t.key, new Set()]));
  for (const l of links) {
    next.get(l.from)!.add(l.to);
    next.get(l.to)!.add(l.from);
  }
  const degree = (k: string) => next.get(k)!.size;
  const byDegree = (a: string, b: string) => degree(b) - degree(a) || cmp(a, b);
  const seen = new Set<string>();
  const groups: string[][] = [];
  for (const start of tables.map((t) => t.key).sort(byDegree)) {
    if (seen.has(start)) continue;
    const group: string[] = [];
    const queue = [start];
    seen.add(start);
    while (queue.length) {
      const k = queue.shift()!;
      group.push(k);
      for (const n of [...next.get(k)!].sort(byDegree))
        if (!seen.has(n)) {
          seen.add(n);
          queue.push(n);
        }
    }
    groups.push(group);
  }
  groups.sort((a, b) => b.length - a.length || cmp(a[0]!, b[0]!));
  const byKey = new Map(tables.map((t) => [t.key, t]));
  return groups.flat().map((k) => byKey.get(k)!);
}

/**
 * The diagram as an `<svg>` element: `href(key)` is each box's link (relative to the page that holds the SVG), or
 * null for a table without a page.
 */
export function erSvg(
  tables: readonly DocsObject[],
  href: (key: string) => string | null,
  external: ReadonlySet<string> = new Set(),
): string {
  const layout = layoutEr(tables);
  const byKey = new Map(tables.map((t) => [t.key, t]));
  const boxOf = new Map(layout.boxes.map((b) => [b.key, b]));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="er" viewBox="0 0 ${layout.width + 2} ${layout.height + 2}" width="${layout.width + 2}" height="${layout.height + 2}" font-size="${FONT}" font-family="system-ui, sans-serif" role="img" aria-label="ER diagram: ${tables.length} tables, ${layout.links.length} foreign keys">`,
    '<g class="er-links" fill="none" stroke="#7a8ca3" stroke-width="1.2">',
  ];
  for (const l of layout.links) {
    const a = boxOf.get(l.from)!;
    const b = boxOf.get(l.to)!;
    const row = Math.max(
      0,
      byKey.get(l.from)!.columns.findIndex((c) => c.name === l.column),
    );
    const ay = a.y + HEADER + row * ROW + ROW / 2;
    // Boxes in one column: out of the right side and back into it, around the column rather than through it.
    const column = b.x < a.x + a.w && a.x < b.x + b.w;
    const right = b.x + b.w / 2 >= a.x + a.w / 2;
    const ax = right || column ? a.x + a.w : a.x;
    const bx = column ? b.x + b.w : right ? b.x : b.x + b.w;
    const by = b.y + HEADER / 2;
    const bend = Math.max(40, Math.abs(bx - ax) / 3);
    const d =
      l.from === l.to || column
        ? `M${ax} ${ay} C${ax + bend} ${ay} ${bx + bend} ${by} ${bx} ${by}`
        : `M${ax} ${ay} C${right ? ax + bend : ax - bend} ${ay} ${right ? bx - bend : bx + bend} ${by} ${bx} ${by}`;
    out.push(
      `<path d="${d}" data-from="${esc(l.from)}" data-to="${esc(l.to)}"><title>${esc(`${l.from.slice(6)}.${l.column} → ${l.to.slice(6)}`)}</title></path>`,
      `<circle cx="${bx}" cy="${by}" r="3" fill="#7a8ca3"/>`,
    );
  }
  out.push('</g>');
  for (const b of layout.boxes) {
    const t = byKey.get(b.key)!;
    const link = href(b.key);
    const ext = external.has(b.key);
    const parts = [
      `<g class="er-table${ext ? ' er-external' : ''}" data-key="${esc(b.key)}">`,
      `<rect x="${b.x}" y="${b.y}" width="${b.w}" height="${b.h}" rx="4" fill="#fff" stroke="${ext ? '#999' : '#345'}"${ext ? ' stroke-dasharray="4 3"' : ''}/>`,
      `<rect x="${b.x}" y="${b.y}" width="${b.w}" height="${HEADER}" rx="4" fill="${ext ? '#e8e8e8' : '#dbe7f3'}"/>`,
      `<text x="${b.x + PAD}" y="${b.y + 16}" font-weight="600">${esc(`${t.schema}.${t.name}`)}</text>`,
    ];
    t.columns.forEach((c, i) => {
      const y = b.y + HEADER + i * ROW + 13;
      const mark = c.primaryKey ? 'PK ' : c.references ? 'FK ' : '';
      parts.push(
        `<text x="${b.x + PAD}" y="${y}"${c.primaryKey ? ' font-weight="600"' : ''}>${esc(mark + c.name)}</text>`,
        `<text x="${b.x + b.w - PAD}" y="${y}" text-anchor="end" fill="#667">${esc(shortType(c.type))}</text>`,
      );
    });
    parts.push('</g>');
    out.push(link ? `<a href="${esc(link)}">${parts.join('')}</a>` : parts.join(''));
  }
  out.push('</svg>');
  return out.join('\n');
}

/** A Mermaid `erDiagram` of the tables (rendered by GitHub, GitLab and most repository browsers). */
export function erMermaid(tables: readonly DocsObject[]): string {
  const layout = layoutEr(tables);
  const names = new Map<string, string>();
  const used = new Set<string>();
  for (const t of tables) {
    let n = mermaidName(`${t.schema}_${t.name}`);
    while (used.has(n)) n = `${n}_`;
    used.add(n);
    names.set(t.key, n);
  }
  const lines = ['```mermaid', 'erDiagram'];
  for (const t of tables) {
    lines.push(`  ${names.get(t.key)}["${t.schema}.${t.name.replace(/"/g, "'")}"] {`);
    for (const c of t.columns) {
      const keys = [c.primaryKey ? 'PK' : '', c.references ? 'FK' : ''].filter(Boolean).join(',');
      lines.push(`    ${mermaidName(c.type) || 'unknown'} ${mermaidName(c.name)}${keys ? ` ${keys}` : ''}`);
    }
    lines.push('  }');
  }
  for (const l of layout.links) {
    const nullable = !tables.find((t) => t.key === l.from)!.columns.find((c) => c.name === l.column)!.notNull;
    lines.push(`  ${names.get(l.from)} }o--${nullable ? 'o|' : '||'} ${names.get(l.to)} : "${l.column}"`);
  }
  lines.push('```');
  return lines.join('\n');
}

/** A Mermaid identifier: letters, digits, `_` and `-` (a type's `(20)` and spaces become `_`). */
function mermaidName(s: string): string {
  return s
    .replace(/[^A-Za-z0-9_-]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .replace(/^(\d)/, '_$1');
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
