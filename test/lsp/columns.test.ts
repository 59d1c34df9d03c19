import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type LspClient } from './lsp-client';
import { exampleServer } from './example-server';

/**
 * Columns in `dbee lsp` on the example workspace, over stdio with a real client: completion after `alias.`, go to a
 * column's definition and hover, across projects (a sales view over core's table). The columns are those the
 * PostgreSQL parser reads from the defining statements; a name that is no column of the relation gives nothing.
 */
let root: string;
let c: LspClient;
exampleServer((r, client) => ((root = r), (c = client)));

const CUSTOMERS = 'examples/core/schema/core/tables/customers.sql';
const ORDERS = 'examples/sales/schema/sales/tables/orders.sql';
const ACTIVE = 'examples/core/schema/core/views/active_customers.sql';
const REVENUE = 'examples/sales/schema/sales/views/customer_revenue.sql';
/** A new view of sales, open in the editor, not saved. */
const EMAILS = 'examples/sales/schema/sales/views/customer_emails.sql';
const EMAILS_SQL = [
  'CREATE VIEW sales.customer_emails AS',
  'SELECT c.email, c.full_name, o.ordered_at, c.nosuch',
  'FROM core.customers c',
  'JOIN sales.orders o ON o.customer_id = c.id;',
].join('\n');

const CUSTOMER_COLUMNS = [
  ['id', 'bigint not null generated always as identity'],
  ['email', 'text not null'],
  ['email_key', 'text'],
  ['full_name', 'text not null'],
  ['status', "core.customer_status not null default 'prospect'"],
  ['country', 'character(2) not null'],
  ['created_at', 'timestamp with time zone not null default now()'],
  ['updated_at', 'timestamp with time zone not null default now()'],
];

const textOf = (file: string) => (file === EMAILS ? EMAILS_SQL : readFileSync(join(root, file), 'utf8'));

/** The position of the `nth` occurrence of `needle` in `file` (plus `shift` characters). */
function pos(file: string, needle: string, shift = 0, nth = 0) {
  const text = textOf(file);
  let offset = -1;
  for (let i = 0; i <= nth; i++) offset = text.indexOf(needle, offset + 1);
  if (offset < 0) throw new Error(`"${needle}" not in ${file}`);
  const before = text.slice(0, offset + shift).split('\n');
  return { line: before.length - 1, character: before[before.length - 1]!.length };
}

/** The range of `needle` (shifted by `shift`, `length` long) in `file` as `[file, line, character, line, character]`. */
function spot(file: string, needle: string, shift = 0, length = needle.length - shift) {
  const start = pos(file, needle, shift);
  return [file, start.line, start.character, start.line, start.character + length];
}

type Item = { label: string; detail: string; sortText?: string };
type Location = {
  uri: string;
  range: { start: { line: number; character: number }; end: { line: number; character: number } };
};

const complete = async (file: string, position: { line: number; character: number }) => {
  const items = await c.request<Item[]>('textDocument/completion', { textDocument: { uri: c.uri(file) }, position });
  return [...items].sort((x, y) => (x.sortText ?? x.label).localeCompare(y.sortText ?? y.label));
};

const definition = async (file: string, position: { line: number; character: number }) => {
  const found = await c.request<Location[]>('textDocument/definition', {
    textDocument: { uri: c.uri(file) },
    position,
  });
  const prefix = `${c.uri('')}/`;
  return found.map((l) => [
    l.uri.slice(prefix.length),
    l.range.start.line,
    l.range.start.character,
    l.range.end.line,
    l.range.end.character,
  ]);
};

describe('dbee lsp: columns', () => {
  it("completes an alias's columns in their order, with their types, across projects", async () => {
    await c.open(EMAILS, EMAILS_SQL);
    const customers = await complete(EMAILS, pos(EMAILS, 'c.full_name', 2));
    expect(customers.map((i) => [i.label, i.detail])).toEqual(CUSTOMER_COLUMNS);
    const orders = await complete(EMAILS, pos(EMAILS, 'o.ordered_at', 2));
    expect(orders.map((i) => i.label)).toEqual(['id', 'customer_id', 'status', 'ordered_at', 'updated_at']);
    // While the statement does not parse (`c.` just typed), the aliases of its last good text still count.
    const typing = EMAILS_SQL.replace('c.nosuch', 'c.');
    await c.change(EMAILS, typing);
    const after = await complete(EMAILS, { line: 1, character: typing.split('\n')[1]!.length });
    expect(after.map((i) => [i.label, i.detail])).toEqual(CUSTOMER_COLUMNS);
    await c.change(EMAILS, EMAILS_SQL);
  });

  it("completes a view's output columns after its alias", async () => {
    const items = await complete(REVENUE, pos(REVENUE, 'c.full_name', 2));
    expect(items.map((i) => [i.label, i.detail])).toEqual([
      ['id', 'view column'],
      ['email', 'view column'],
      ['full_name', 'view column'],
      ['country', 'view column'],
      ['created_at', 'view column'],
    ]);
  });

  it("goes to a column's definition in its table's file, in another project, and hovers it", async () => {
    expect(await definition(EMAILS, pos(EMAILS, 'c.full_name', 4))).toEqual([spot(CUSTOMERS, 'full_name')]);
    expect(await definition(EMAILS, pos(EMAILS, 'o.customer_id', 2))).toEqual([spot(ORDERS, 'customer_id')]);
    expect(await definition(REVENUE, pos(REVENUE, 'c.full_name', 2))).toEqual([spot(ACTIVE, 'full_name')]);
    const hover = await c.request<{ contents: { value: string } } | null>('textDocument/hover', {
      textDocument: { uri: c.uri(EMAILS) },
      position: pos(EMAILS, 'c.email', 3),
    });
    expect(hover?.contents.value).toBe(
      [
        '**column** `email` of table `core.customers` (project core)',
        '`text not null`',
        `Defined in ${CUSTOMERS}:3`,
      ].join('\n\n'),
    );
  });

  it("finds a column's qualified uses in every project, from its definition or from a use", async () => {
    const references = async (file: string, position: { line: number; character: number }, declaration: boolean) => {
      const found = await c.request<Location[]>('textDocument/references', {
        textDocument: { uri: c.uri(file) },
        position,
        context: { includeDeclaration: declaration },
      });
      const prefix = `${c.uri('')}/`;
      return found.map((l) => [l.uri.slice(prefix.length), l.range.start.line, l.range.start.character]);
    };
    // From core's table to a sales view (open in the editor, not saved).
    expect(await references(CUSTOMERS, pos(CUSTOMERS, 'full_name', 2), true)).toEqual([
      [CUSTOMERS, 4, 2],
      [EMAILS, 1, 18],
    ]);
    const totals = 'examples/sales/schema/sales/views/order_totals.sql';
    expect(await references(EMAILS, pos(EMAILS, 'o.customer_id', 3), false)).toEqual([
      [EMAILS, 3, 25],
      [totals, 2, 9],
      [totals, 8, 17],
    ]);
  });

  it('gives nothing for a name that is no column of the relation, or a qualifier that is no relation', async () => {
    // The same qualifier resolves a column that its table has: only the name makes the difference.
    expect(await definition(EMAILS, pos(EMAILS, 'c.email', 3))).toEqual([spot(CUSTOMERS, 'email')]);
    expect(await definition(EMAILS, pos(EMAILS, 'c.nosuch', 3))).toEqual([]);
    const hover = await c.request<unknown>('textDocument/hover', {
      textDocument: { uri: c.uri(EMAILS) },
      position: pos(EMAILS, 'c.nosuch', 3),
    });
    expect(hover).toBeNull();
    await c.change(EMAILS, EMAILS_SQL.replace('o.ordered_at', 'x.ordered_at'));
    expect(await definition(EMAILS, pos(EMAILS, 'o.ordered_at', 3))).toEqual([]);
    expect(await complete(EMAILS, pos(EMAILS, 'o.ordered_at', 2))).toEqual([]);
  });
});
