import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type LspClient, type Seen } from './lsp-client';
import { exampleServer } from './example-server';

/**
 * `dbee lsp` driven over stdio by a real client on the example workspace (dbee.yaml, examples/core, examples/sales):
 * each kind of diagnostic comes from one edit of one file, and the whole workspace then has exactly that diagnostic,
 * at that range; the edit undone, it has none again. One server for the file: the cases run in order on it.
 */
let root: string;
let c: LspClient;
exampleServer((r, client) => ((root = r), (c = client)));

const VIEW = 'examples/sales/schema/sales/views/order_totals.sql';
const TRIGGER = 'examples/sales/schema/sales/triggers/orders_touch.sql';
const REVENUE = 'examples/sales/schema/sales/views/customer_revenue.sql';
const ACTIVE = 'examples/core/schema/core/views/active_customers.sql';

const disk = (file: string) => readFileSync(join(root, file), 'utf8');

/** `[line, character, line, character + length]` of the `nth` occurrence of `needle` in `text` (0-based, one line). */
function at(text: string, needle: string, nth = 0): [number, number, number, number] {
  let offset = -1;
  for (let i = 0; i <= nth; i++) offset = text.indexOf(needle, offset + 1);
  if (offset < 0) throw new Error(`"${needle}" not in the text`);
  const before = text.slice(0, offset).split('\n');
  const line = before.length - 1;
  const character = before[line]!.length;
  return [line, character, line, character + needle.length];
}

/** Edit `file` to `text`, read every diagnostic of the workspace, then put the file back and check none is left. */
async function withText(file: string, text: string): Promise<Seen[]> {
  await c.open(file);
  await c.change(file, text);
  const seen = c.seen();
  await c.change(file, disk(file));
  expect(c.seen()).toEqual([]);
  return seen;
}

describe('dbee lsp: diagnostics, each at its range', () => {
  it('has none on the clean example workspace, with every source open', async () => {
    for (const project of ['core', 'sales'])
      for (const file of readFileSync(join(root, 'examples', project, 'db.yaml'), 'utf8') ? sources(project) : [])
        await c.open(file);
    expect(c.seen()).toEqual([]);
    expect(c.log.filter((l) => /error|internal/i.test(l))).toEqual([]);
  });

  it('a syntax error: the engine parser message at the word it stopped at', async () => {
    const text = disk(VIEW).replace('FROM sales.orders o', 'FRM sales.orders o');
    expect(await withText(VIEW, text)).toEqual([
      { file: VIEW, range: at(text, 'FRM'), severity: 1, code: 'SQL_SYNTAX', message: 'syntax error at or near "FRM"' },
    ]);
  });

  it('a qualified name that no project defines, in a schema a project owns: an error with "did you mean"', async () => {
    const text = disk(VIEW).replace('FROM sales.orders o', 'FROM sales.ordrs o');
    expect(await withText(VIEW, text)).toEqual([
      {
        file: VIEW,
        range: at(text, 'sales.ordrs'),
        severity: 1,
        code: 'REFERENCE_UNKNOWN',
        message:
          'relation sales.ordrs is not defined in any project (schema sales belongs to project sales); did you mean sales.orders?',
      },
    ]);
  });

  it('a name in another project: the trigger function core.touch_updated_at, misspelt', async () => {
    const text = disk(TRIGGER).replace('core.touch_updated_at', 'core.touch_update_at');
    expect(await withText(TRIGGER, text)).toEqual([
      {
        file: TRIGGER,
        range: at(text, 'core.touch_update_at'),
        severity: 1,
        code: 'REFERENCE_UNKNOWN',
        message:
          'function core.touch_update_at is not defined in any project (schema core belongs to project core); did you mean core.touch_updated_at?',
      },
    ]);
  });

  it('an unqualified name close to one on the search path: a warning', async () => {
    const text = disk(REVENUE).replace('FROM active_customers c', 'FROM active_customer c');
    expect(await withText(REVENUE, text)).toEqual([
      {
        file: REVENUE,
        range: at(text, 'active_customer'),
        severity: 2,
        code: 'REFERENCE_UNKNOWN',
        message:
          "relation active_customer is not defined in any project's schema on the search path (sales, core, public); did you mean active_customers?",
      },
    ]);
  });

  it("a reference into a project that db.yaml's dependsOn does not list", async () => {
    const text = `${disk(ACTIVE).trimEnd().replace(/;$/, '')}\n  AND id IN (SELECT customer_id FROM sales.orders);\n`;
    expect(await withText(ACTIVE, text)).toEqual([
      {
        file: ACTIVE,
        range: at(text, 'sales.orders'),
        severity: 1,
        code: 'DEPENDENCY_UNDECLARED',
        message: `view:core.active_customers uses sales.orders (defined in examples/sales/schema/sales/tables/orders.sql:1:1), which belongs to project "sales", but examples/core/db.yaml does not list "sales" in dependsOn`,
      },
    ]);
  });

  it('a dependency cycle: at the first object of the cycle, with its path', async () => {
    const file = 'examples/sales/schema/sales/views/cycle_a.sql';
    const text =
      'CREATE VIEW sales.cycle_a AS SELECT * FROM sales.cycle_b;\n\nCREATE VIEW sales.cycle_b AS SELECT * FROM sales.cycle_a;\n';
    await c.writeOnDisk(file, text, 1);
    const seen = c.seen();
    await c.writeOnDisk(file, null, 3);
    expect(seen).toEqual([
      {
        file,
        range: at(text, 'sales.cycle_a'),
        severity: 1,
        code: 'DEPENDENCY_CYCLE',
        message: 'dependency cycle:',
      },
    ]);
    expect(c.diagnostics.get(c.uri(file))).toEqual([]);
    expect(c.seen()).toEqual([]);
  });

  it('an unknown placeholder: the {{name}} itself', async () => {
    const text = disk(VIEW).replace('coalesce(sum(', 'coalesce({{factor}} * sum(');
    expect(await withText(VIEW, text)).toEqual([
      {
        file: VIEW,
        range: at(text, '{{factor}}'),
        severity: 1,
        code: 'PLACEHOLDER_UNKNOWN',
        message: 'unknown placeholder {{factor}}',
      },
    ]);
  });

  it('a file of the layout that disagrees with it: kind, schema and name (warnings)', async () => {
    const file = 'examples/sales/schema/sales/tables/order_lines.sql';
    const asView = 'CREATE VIEW sales.order_lines AS SELECT 1 AS x;\n';
    expect(await withText(file, asView)).toEqual([
      {
        file,
        range: at(asView, 'sales.order_lines'),
        severity: 2,
        code: 'LAYOUT_KIND',
        message: 'tables/order_lines.sql defines view sales.order_lines; tables/ holds table files',
      },
    ]);
    const inCore = disk(file).replace('CREATE TABLE sales.order_lines', 'CREATE TABLE core.order_lines');
    expect((await withText(file, inCore)).filter((d) => d.code === 'LAYOUT_SCHEMA')).toEqual([
      {
        file,
        range: at(inCore, 'core.order_lines'),
        severity: 2,
        code: 'LAYOUT_SCHEMA',
        message: 'table core.order_lines is in schema core, but its file is under schema/sales/',
      },
    ]);
    const renamed = disk(file).replace('CREATE TABLE sales.order_lines', 'CREATE TABLE sales.order_line');
    expect((await withText(file, renamed)).filter((d) => String(d.code).startsWith('LAYOUT'))).toEqual([
      {
        file,
        range: at(renamed, 'sales.order_line'),
        severity: 2,
        code: 'LAYOUT_NAME',
        message: 'table sales.order_line is defined in tables/order_lines.sql',
      },
    ]);
  });

  it('a migration without its rollback script: at the migration, until the script exists', async () => {
    const file = 'examples/sales/migrations/V2__close_old_orders.sql';
    const text = "UPDATE sales.orders SET status = 'cancelled' WHERE status = 'open';\n";
    await c.writeOnDisk(file, text, 1);
    expect(c.seen()).toEqual([
      {
        file,
        range: [0, 0, 0, text.trimEnd().length],
        severity: 1,
        code: 'MIGRATION_NO_ROLLBACK',
        message: 'migration 2 has no rollback script',
      },
    ]);
    const rollback = 'examples/sales/migrations/V2__close_old_orders.rollback.sql';
    await c.writeOnDisk(rollback, 'SELECT 1;\n', 1);
    expect(c.seen()).toEqual([]);
    await c.writeOnDisk(rollback, null, 3);
    expect(c.seen().map((d) => d.code)).toEqual(['MIGRATION_NO_ROLLBACK']);
    await c.writeOnDisk(file, null, 3);
    expect(c.seen()).toEqual([]);
  });
});

describe('dbee lsp: bad input never stops the server', () => {
  it('a db.yaml with an error: one diagnostic at its key, and every other file still served', async () => {
    const file = 'examples/sales/db.yaml';
    const text = disk(file).replace('schemas: [sales]', 'schemas: sales');
    await c.open(file);
    try {
      await c.change(file, text);
      expect(c.seen()).toEqual([
        {
          file,
          range: at(text, 'schemas'),
          severity: 1,
          code: 'CONFIG_INVALID',
          message: 'schemas: expected array, got string "sales"',
        },
      ]);
      // core is still served: go to definition inside it answers.
      const active = disk(ACTIVE);
      const [line, character] = at(active, 'core.customers');
      const found = await c.request<Array<{ uri: string }>>('textDocument/definition', {
        textDocument: { uri: c.uri(ACTIVE) },
        position: { line, character: character + 7 },
      });
      expect(found.map((l) => l.uri)).toEqual([c.uri('examples/core/schema/core/tables/customers.sql')]);
      const broken = 'version: 1\nname: sales\nengine: postgres\nschemas: [sales\n';
      await c.change(file, broken);
      expect(c.seen().map((d) => [d.file, d.code, d.range[0]])).toEqual([[file, 'CONFIG_YAML_SYNTAX', 4]]);
    } finally {
      await c.change(file, disk(file));
    }
    expect(c.seen()).toEqual([]);
  });

  it('a dbee.yaml that does not load: at its line, the last good configuration still in use', async () => {
    const file = 'dbee.yaml';
    const text = disk(file).replace('defaultEnvironment: local', 'defaultEnvironment: nowhere');
    await c.open(file);
    try {
      await c.change(file, text);
      expect(c.seen()).toEqual([
        {
          file,
          range: at(text, 'defaultEnvironment'),
          severity: 1,
          code: 'CONFIG_INVALID',
          message: 'defaultEnvironment "nowhere" is not declared under environments',
        },
      ]);
    } finally {
      await c.change(file, disk(file));
    }
    expect(c.seen()).toEqual([]);
  });

  it('a file that does not parse keeps its objects for the others until it parses again', async () => {
    const table = 'examples/sales/schema/sales/tables/orders.sql';
    const text = disk(table).replace('CREATE TABLE', 'CREATE TABEL');
    await c.open(table);
    try {
      await c.change(table, text);
      // One diagnostic, in the file itself: the views over sales.orders do not lose it.
      expect(c.seen().map((d) => [d.file, d.code])).toEqual([[table, 'SQL_SYNTAX']]);
    } finally {
      await c.change(table, disk(table));
    }
    expect(c.seen()).toEqual([]);
  });
});

/** The object files of an example project (every `.sql` outside migrations/ and smoke/). */
function sources(project: string): string[] {
  const { readdirSync } = require('node:fs') as typeof import('node:fs');
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) {
        if (e.name !== 'migrations' && e.name !== 'smoke') walk(rel);
      } else if (e.name.endsWith('.sql')) out.push(rel);
    }
  };
  walk(`examples/${project}`);
  return out.sort();
}
