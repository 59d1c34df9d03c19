import { describe, expect, it } from 'vitest';
import { type DocsObject, pageName, tablePattern } from './docs-data';
import { erMermaid, erSvg, layoutEr, MAX_WIDTH } from './er-diagram';

/** A table of `n` columns, the first its key, the second (when `to`) a foreign key to `to`. */
function table(name: string, n: number, to?: string): DocsObject {
  return {
    key: `table:app.${name}`,
    kind: 'table',
    project: 'app',
    schema: 'app',
    name,
    parent: null,
    file: `app/${name}.sql`,
    line: 1,
    source: '',
    comment: null,
    columns: Array.from({ length: n }, (_, i) => ({
      name: i === 0 ? 'id' : i === 1 && to ? `${to}_id` : `column_${i}`,
      type: i % 3 === 0 ? 'bigint' : 'timestamp with time zone',
      default: null,
      notNull: i === 0,
      comment: null,
      primaryKey: i === 0,
      references: i === 1 && to ? `app.${to}(id)` : null,
    })),
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

describe('the ER diagram of dbee docs', () => {
  it('lays out 150 tables in rows no wider than the page, no box over another, foreign keys drawn', () => {
    // Hubs and chains of several sizes: tables referencing a few popular ones, and tables without keys.
    const tables = Array.from({ length: 150 }, (_, i) =>
      table(`t${i}`, 2 + (i % 17), i % 5 === 0 ? undefined : `t${i % 7 === 0 ? 0 : i - 1}`),
    );
    const layout = layoutEr(tables);
    expect(layout.boxes).toHaveLength(150);
    expect(layout.width).toBeLessThanOrEqual(MAX_WIDTH);
    for (const [i, a] of layout.boxes.entries())
      for (const b of layout.boxes.slice(i + 1)) {
        const apart = a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
        expect(apart, `${a.key} overlaps ${b.key}`).toBe(true);
      }
    expect(layout.links).toHaveLength(tables.filter((t) => t.columns[1]?.references).length);
    // A table is drawn next to what it references: t1 → t0 share a row.
    const box = (k: string) => layout.boxes.find((b) => b.key === `table:app.${k}`)!;
    expect(box('t1').y).toBe(box('t0').y);
    // Every box is a link to its page.
    const svg = erSvg(tables, (k) => pageName(k));
    expect(svg.match(/<a href="table\.app\.t\d+\.html">/g)).toHaveLength(150);
  });

  it('writes a Mermaid erDiagram that names types without spaces and marks keys', () => {
    const text = erMermaid([table('orders', 3, 'customers'), table('customers', 2)]);
    expect(text).toContain('app_orders["app.orders"] {');
    expect(text).toContain('    timestamp_with_time_zone customers_id FK');
    expect(text).toContain('    bigint id PK');
    expect(text).toContain('  app_orders }o--o| app_customers : "customers_id"');
  });

  it('names pages readably, with a hash only where the name needs one', () => {
    expect(pageName('table:sales.orders')).toBe('table.sales.orders.html');
    expect(pageName('function:sales.total(integer)')).toMatch(/^function\.sales\.total_integer_-[0-9a-f]{8}\.html$/);
    expect(pageName('index:sales.i@sales.a')).not.toBe(pageName('index:sales.i@sales.b'));
    expect(tablePattern('sales.order*').test('sales.order_lines')).toBe(true);
    expect(tablePattern('sales.order*').test('salesXorder')).toBe(false);
  });
});
