import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type LspClient } from './lsp-client';
import { exampleServer } from './example-server';

/**
 * Navigation, hover, symbols, completion and code actions of `dbee lsp` on the example workspace, over stdio with a
 * real client. Every answer comes from the object graph: the positions asked are names in the sources, the answers
 * the places the planner's resolution gives.
 */
let root: string;
let c: LspClient;
exampleServer((r, client) => ((root = r), (c = client)));

const REVENUE = 'examples/sales/schema/sales/views/customer_revenue.sql';
const CUSTOMERS = 'examples/core/schema/core/tables/customers.sql';
const ACTIVE = 'examples/core/schema/core/views/active_customers.sql';
const ORDER_TOTAL = 'examples/sales/schema/sales/functions/order_total.sql';

const disk = (file: string) => readFileSync(join(root, file), 'utf8');

/** The position of the `nth` occurrence of `needle` in `file` (plus `shift` characters). */
function pos(file: string, needle: string, shift = 0, nth = 0) {
  const text = disk(file);
  let offset = -1;
  for (let i = 0; i <= nth; i++) offset = text.indexOf(needle, offset + 1);
  if (offset < 0) throw new Error(`"${needle}" not in ${file}`);
  const before = text.slice(0, offset + shift).split('\n');
  return { line: before.length - 1, character: before[before.length - 1]!.length };
}

/** `[file, line, character, line, character]` of LSP locations, relative to the workspace. */
function places(
  locations: Array<{
    uri: string;
    range: { start: { line: number; character: number }; end: { line: number; character: number } };
  }>,
) {
  const prefix = `${c.uri('')}/`;
  return locations.map((l) => [
    l.uri.slice(prefix.length),
    l.range.start.line,
    l.range.start.character,
    l.range.end.line,
    l.range.end.character,
  ]);
}

/** The range of `needle` in `file` as `[file, line, character, line, character]`. */
function spot(file: string, needle: string, nth = 0) {
  const start = pos(file, needle, 0, nth);
  return [file, start.line, start.character, start.line, start.character + needle.length];
}

describe('dbee lsp: navigation across projects', () => {
  it('goes to the definition of an unqualified name in another project (sales -> core)', async () => {
    const found = await c.request<never[]>('textDocument/definition', {
      textDocument: { uri: c.uri(REVENUE) },
      position: pos(REVENUE, 'FROM active_customers', 8),
    });
    expect(places(found)).toEqual([spot(ACTIVE, 'core.active_customers')]);
  });

  it('goes to the definition of a function called in a PL/pgSQL body, and of a qualified table', async () => {
    const fn = await c.request<never[]>('textDocument/definition', {
      textDocument: { uri: c.uri(ORDER_TOTAL) },
      position: pos(ORDER_TOTAL, 'line_amount(l.quantity', 3),
    });
    expect(places(fn)).toEqual([spot('examples/sales/schema/sales/functions/line_amount.sql', 'sales.line_amount')]);
    const table = await c.request<never[]>('textDocument/definition', {
      textDocument: { uri: c.uri(ACTIVE) },
      position: pos(ACTIVE, 'core.customers', 7),
    });
    expect(places(table)).toEqual([spot(CUSTOMERS, 'core.customers')]);
  });

  it('finds every reference of core.customers in both projects, from its definition', async () => {
    const found = await c.request<never[]>('textDocument/references', {
      textDocument: { uri: c.uri(CUSTOMERS) },
      position: pos(CUSTOMERS, 'core.customers', 6),
      context: { includeDeclaration: true },
    });
    expect(places(found)).toEqual([
      spot(CUSTOMERS, 'core.customers'),
      spot(CUSTOMERS, 'core.customers', 1),
      spot(CUSTOMERS, 'core.customers', 2),
      spot('examples/core/schema/core/triggers/touch.sql', 'core.customers'),
      spot(ACTIVE, 'core.customers'),
      spot('examples/sales/schema/sales/tables/orders.sql', 'core.customers'),
    ]);
  });

  it('hovers with the kind, the project, the definition, what it uses and what uses it', async () => {
    const hover = await c.request<{ contents: { kind: string; value: string } }>('textDocument/hover', {
      textDocument: { uri: c.uri(REVENUE) },
      position: pos(REVENUE, 'sales.order_totals', 8),
    });
    expect(hover.contents.kind).toBe('markdown');
    expect(hover.contents.value).toBe(
      [
        '**view** `sales.order_totals` (project sales)',
        'Defined in examples/sales/schema/sales/views/order_totals.sql:1',
        'Depends on (3): `function:sales.line_amount(integer,numeric)`, `table:sales.order_lines`, `table:sales.orders`',
        'Used by (1): `view:sales.customer_revenue`',
      ].join('\n\n'),
    );
  });

  it('lists the objects a file defines, and finds objects of the whole workspace by name', async () => {
    const symbols = await c.request<Array<{ name: string; detail: string }>>('textDocument/documentSymbol', {
      textDocument: { uri: c.uri(CUSTOMERS) },
    });
    expect(symbols.map((s) => [s.name, s.detail])).toEqual([
      ['core.customers', 'table'],
      ['core.customers_email_key_idx', 'index'],
    ]);
    const all = await c.request<Array<{ name: string; location: { uri: string } }>>('workspace/symbol', {
      query: 'customer',
    });
    // Ordered by key: kind, then schema and name.
    expect(all.map((s) => s.name)).toEqual([
      'core.customers_email_key_idx',
      'sales.orders_customer_idx',
      'core.customers',
      'core.customers_touch',
      'core.customer_status',
      'core.active_customers',
      'sales.customer_revenue',
    ]);
  });
  it('answers after a malformed header: the bad bytes are skipped and logged, never the end of the session', async () => {
    // As a broken client or a stray write to the server's stdin would send them: a Content-Length that is not a
    // number (with its body), then a line that is not a header. Before, the server answered nothing more.
    c.child.stdin!.write('Content-Length: abc\r\n\r\n{"jsonrpc":"2.0","id":900,"method":"shutdown"}');
    c.child.stdin!.write('this is not a header\r\n\r\n');
    const symbols = await c.request<Array<{ name: string }>>('textDocument/documentSymbol', {
      textDocument: { uri: c.uri(CUSTOMERS) },
    });
    expect(symbols.map((s) => s.name)).toEqual(['core.customers', 'core.customers_email_key_idx']);
    expect(c.log.filter((l) => l.includes('ignored'))).toEqual([
      expect.stringMatching(/^dbee lsp: ignored \d+ bytes of input: Content-Length is not a number \("abc"\)$/),
    ]);
  });
});

describe('dbee lsp: completion', () => {
  it('offers the objects of a schema after its name and a dot', async () => {
    const file = 'examples/sales/schema/sales/views/scratch.sql';
    const text = 'CREATE VIEW sales.scratch AS SELECT * FROM core.';
    await c.open(file, text);
    const items = await c.request<Array<{ label: string; detail: string }>>('textDocument/completion', {
      textDocument: { uri: c.uri(file) },
      position: { line: 0, character: text.length },
    });
    expect(items.map((i) => i.label).sort()).toEqual([
      'active_customers',
      'customer_status',
      'customers',
      'normalize_email',
      'products',
      'touch_updated_at',
    ]);
  });

  it('offers the objects on the search path and the schemas for an unqualified name', async () => {
    const file = 'examples/sales/schema/sales/views/scratch.sql';
    const text = 'CREATE VIEW sales.scratch AS SELECT * FROM ord';
    await c.change(file, text);
    const items = await c.request<Array<{ label: string; detail: string }>>('textDocument/completion', {
      textDocument: { uri: c.uri(file) },
      position: { line: 0, character: text.length },
    });
    const labels = items.map((i) => i.label);
    expect(labels).toContain('orders');
    expect(labels).toContain('order_totals');
    expect(labels).toContain('customers');
    expect(labels).toContain('core');
    expect(items.find((i) => i.label === 'orders')!.detail).toBe('table sales.orders (project sales)');
    await c.connection.sendNotification('textDocument/didClose', { textDocument: { uri: c.uri(file) } });
  });
});

describe('dbee lsp: code actions', () => {
  type Action = {
    title: string;
    kind: string;
    edit: {
      documentChanges: Array<
        | { kind: 'create'; uri: string }
        | { textDocument: { uri: string }; edits: Array<{ range: unknown; newText: string }> }
      >;
    };
  };
  const actions = (file: string, range: { start: unknown; end: unknown }) =>
    c.request<Action[]>('textDocument/codeAction', {
      textDocument: { uri: c.uri(file) },
      range,
      context: { diagnostics: [] },
    });

  it('adds the missing dependsOn entry to db.yaml', async () => {
    const text = `${disk(ACTIVE).trimEnd().replace(/;$/, '')}\n  AND id IN (SELECT customer_id FROM sales.orders);\n`;
    await c.open(ACTIVE);
    await c.change(ACTIVE, text);
    try {
      const line = text.split('\n').findIndex((l) => l.includes('sales.orders'));
      const start = { line, character: text.split('\n')[line]!.indexOf('sales.orders') };
      const found = await actions(ACTIVE, { start, end: start });
      expect(found.map((a) => [a.title, a.kind])).toEqual([
        ['Add "sales" to dependsOn in examples/core/db.yaml', 'quickfix'],
      ]);
      const change = found[0]!.edit.documentChanges[0] as {
        textDocument: { uri: string };
        edits: Array<{ range: { start: { line: number; character: number } }; newText: string }>;
      };
      expect(change.textDocument.uri).toBe(c.uri('examples/core/db.yaml'));
      const yaml = disk('examples/core/db.yaml');
      const edit = change.edits[0]!;
      const lines = yaml.split('\n');
      lines[edit.range.start.line] =
        lines[edit.range.start.line]!.slice(0, edit.range.start.character) +
        edit.newText +
        lines[edit.range.start.line]!.slice(edit.range.start.character);
      expect(lines.join('\n')).toBe(
        '# The shared customer and product catalogue. Other projects build on it.\nversion: 1\nname: core\nengine: postgres\nschemas: [core]\ndependsOn: [sales]\n',
      );
    } finally {
      await c.change(ACTIVE, disk(ACTIVE));
    }
  });

  it('creates the rollback script of a migration that has none', async () => {
    const file = 'examples/sales/migrations/V2__close_old_orders.sql';
    await c.writeOnDisk(file, "UPDATE sales.orders SET status = 'cancelled' WHERE status = 'open';\n", 1);
    try {
      const found = await actions(file, { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } });
      expect(found.map((a) => a.title)).toEqual(['Create the rollback script V2__close_old_orders.rollback.sql']);
      expect(found[0]!.edit.documentChanges[0]).toEqual({
        kind: 'create',
        uri: c.uri('examples/sales/migrations/V2__close_old_orders.rollback.sql'),
        options: { ignoreIfExists: true },
      });
    } finally {
      await c.writeOnDisk(file, null, 3);
    }
  });

  it('qualifies an unqualified name with the schema it resolves to', async () => {
    const start = pos(REVENUE, 'FROM active_customers', 5);
    const found = await actions(REVENUE, { start, end: start });
    expect(found.map((a) => a.title)).toEqual(['Qualify as core.active_customers']);
    const change = found[0]!.edit.documentChanges[0] as { edits: Array<{ range: unknown; newText: string }> };
    expect(change.edits).toEqual([
      {
        range: { start, end: { line: start.line, character: start.character + 'active_customers'.length } },
        newText: 'core.active_customers',
      },
    ]);
  });

  it('writes the name a "did you mean" diagnostic suggests', async () => {
    const view = 'examples/sales/schema/sales/views/order_totals.sql';
    const text = disk(view).replace('FROM sales.orders o', 'FROM sales.ordrs o');
    await c.open(view);
    await c.change(view, text);
    try {
      const line = text.split('\n').findIndex((l) => l.includes('sales.ordrs'));
      const character = text.split('\n')[line]!.indexOf('sales.ordrs');
      const found = await actions(view, { start: { line, character }, end: { line, character } });
      expect(found.map((a) => a.title)).toEqual(['Change to sales.orders']);
    } finally {
      await c.change(view, disk(view));
    }
  });
});
