import { describe, expect, it } from 'vitest';
import { formatKey, type ObjectKey } from '../model/object-key';
import type { Reference } from '../model/source';
import type { Plan } from '../plan/plan';
import { groupObjects, type SourceStatement } from '../planner/objects';
import type { ProjectModel } from '../planner/project-model';
import { formatGraphDot, formatGraphJson } from './formats';
import { graphView, type GraphView } from './graph-data';
import { applyImpact } from './impact';

/** A parsed statement as the engine's parser would give it. */
function st(file: string, line: number, key: ObjectKey, sql: string, references: Reference[] = []): SourceStatement {
  return {
    sql,
    template: sql,
    location: { file, line, column: 1 },
    key,
    action: sql.startsWith('CREATE OR REPLACE') ? 'create-or-replace' : 'create',
    references,
    transactional: true,
  };
}

function model(name: string, schemas: string[], dependsOn: string[], statements: SourceStatement[]): ProjectModel {
  const files = [...new Set(statements.map((s) => s.location.file))].map((path) => ({
    path,
    statements: statements.filter((s) => s.location.file === path),
  }));
  return {
    project: { name } as ProjectModel['project'],
    graph: {
      name,
      schemas,
      searchPath: [...schemas, 'core', 'public'],
      searchPathTemplate: schemas,
      dependsOn,
      configFile: `${name}/db.yaml`,
    },
    variables: {},
    objects: groupObjects(name, files),
    migrations: [],
    smoke: [],
    files: [],
  };
}

const k = (kind: ObjectKey['kind'], schema: string, name: string, extra: Partial<ObjectKey> = {}): ObjectKey => ({
  kind,
  schema,
  name,
  ...extra,
});

const core = model(
  'core',
  ['core'],
  [],
  [
    st('core/schema.sql', 1, k('schema', '', 'core'), 'CREATE SCHEMA core'),
    st(
      'core/customers.sql',
      1,
      k('table', 'core', 'customers'),
      'CREATE TABLE core.customers (id int PRIMARY KEY, "note" text)',
    ),
  ],
);
const sales = model(
  'sales',
  ['sales'],
  ['core'],
  [
    st('sales/schema.sql', 1, k('schema', '', 'sales'), 'CREATE SCHEMA sales'),
    st(
      'sales/orders.sql',
      1,
      k('table', 'sales', 'orders'),
      'CREATE TABLE sales.orders (id int, customer_id int REFERENCES core.customers)',
      [
        {
          kind: 'relation',
          schema: 'core',
          name: 'customers',
          via: 'foreign key',
          foreignKey: true,
          location: { file: 'sales/orders.sql', line: 1, column: 60 },
        },
      ],
    ),
    st(
      'sales/totals.sql',
      3,
      k('view', 'sales', 'totals'),
      'CREATE OR REPLACE VIEW sales.totals AS SELECT count(*) FROM orders',
      [{ kind: 'relation', name: 'orders', via: 'view', location: { file: 'sales/totals.sql', line: 4, column: 30 } }],
    ),
    st(
      'sales/orders.sql',
      5,
      k('trigger', 'sales', 'orders_touch', { parent: 'sales.orders' }),
      'CREATE TRIGGER orders_touch BEFORE UPDATE ON sales.orders EXECUTE FUNCTION now()',
    ),
  ],
);
const owners = new Map([
  ['core', 'core'],
  ['sales', 'sales'],
]);

function salesView(drawn: string[]): GraphView {
  return graphView({ engine: 'postgres', project: 'sales', models: [core, sales], drawn, schemaOwners: owners });
}

describe('graph view: the planner graph as data', () => {
  it('has every object of the project, the dependency objects it uses (external), and the planner edges with their kind', () => {
    const view = salesView(['sales']);
    expect(view.nodes.map((n) => [n.key, n.order, n.external])).toEqual([
      ['schema:sales', 1, false],
      ['table:sales.orders', 2, false],
      ['trigger:sales.orders_touch@sales.orders', 3, false],
      ['view:sales.totals', 4, false],
      ['table:core.customers', null, true],
    ]);
    expect(view.edges.map((e) => `${e.from} -> ${e.to} (${e.kind})`)).toEqual([
      'table:sales.orders -> schema:sales (schema)',
      'table:sales.orders -> table:core.customers (foreign key)',
      'trigger:sales.orders_touch@sales.orders -> schema:sales (schema)',
      'trigger:sales.orders_touch@sales.orders -> table:sales.orders (table)',
      'view:sales.totals -> schema:sales (schema)',
      'view:sales.totals -> table:sales.orders (view)',
    ]);
    const fk = view.edges.find((e) => e.kind === 'foreign key')!;
    expect(fk).toMatchObject({ reference: 'relation', file: 'sales/orders.sql', line: 1 });
    const totals = view.nodes.find((n) => n.key === 'view:sales.totals')!;
    expect(totals).toMatchObject({
      kind: 'view',
      project: 'sales',
      schema: 'sales',
      name: 'totals',
      file: 'sales/totals.sql',
      line: 3,
    });
    expect(totals.source).toBe('CREATE OR REPLACE VIEW sales.totals AS SELECT count(*) FROM orders;');
    expect(view.projects).toEqual(['sales']);
  });

  it('--with-deps draws the dependencies in full, in deployment order', () => {
    const view = salesView(['core', 'sales']);
    expect(view.projects).toEqual(['core', 'sales']);
    expect(view.nodes.every((n) => !n.external && n.order !== null)).toBe(true);
    expect(view.nodes.map((n) => n.key).slice(0, 2)).toEqual(['schema:core', 'table:core.customers']);
    expect(view.edges).toHaveLength(7);
  });
});

describe('graph view: impact of a pending plan', () => {
  it('marks what the plan touches, the table of a constraint, drops that the sources no longer have, and greys the rest', () => {
    const step = (order: number, key: ObjectKey, action: Plan['steps'][number]['action']) => ({
      order,
      project: 'sales',
      key: formatKey(key),
      objectKey: key,
      action,
      statements: [`-- ${action} ${formatKey(key)}`],
      reverse: null,
      transactional: true,
      hazards: [],
      source: null,
      checksum: 'x',
    });
    const plan: Plan = {
      formatVersion: 1,
      engine: 'postgres',
      projects: ['sales'],
      sourceCommit: null,
      baseFingerprint: null,
      steps: [
        step(1, k('constraint', 'sales', 'orders_customer_fkey', { parent: 'sales.orders' }), 'add-constraint'),
        step(2, k('view', 'sales', 'totals'), 'replace'),
        step(3, k('function', 'sales', 'old_total', { args: ['integer'] }), 'drop'),
      ],
    };
    const view = applyImpact(salesView(['sales']), plan, { from: 'test (postgres://db/sales)', to: 'sources' });
    const impact = Object.fromEntries(view.nodes.map((n) => [n.key, [n.impact, n.steps]]));
    expect(impact).toEqual({
      'schema:sales': ['unchanged', []],
      'table:sales.orders': ['altered', [1]],
      'trigger:sales.orders_touch@sales.orders': ['unchanged', []],
      'view:sales.totals': ['replaced', [2]],
      'table:core.customers': ['unchanged', []],
      'function:sales.old_total(integer)': ['dropped', [3]],
    });
    expect(view.nodes.find((n) => n.impact === 'dropped')).toMatchObject({
      file: null,
      order: null,
      source: '-- drop function:sales.old_total(integer);',
    });
    expect(view.impact).toEqual({
      from: 'test (postgres://db/sales)',
      to: 'sources',
      steps: 3,
      counts: { created: 0, altered: 1, replaced: 1, dropped: 1 },
    });
  });
});

describe('graph formats', () => {
  it('json: the view with sorted keys, parseable back to the same nodes and edges', () => {
    const view = salesView(['sales']);
    const text = formatGraphJson(view);
    expect(text.endsWith('\n')).toBe(true);
    const parsed = JSON.parse(text) as GraphView;
    expect(parsed.formatVersion).toBe(1);
    expect(parsed.nodes).toEqual(view.nodes);
    expect(parsed.edges).toEqual(view.edges);
    expect(Object.keys(parsed)).toEqual(['edges', 'engine', 'formatVersion', 'impact', 'nodes', 'project', 'projects']);
    expect(Object.keys(parsed.edges[0]!)).toEqual(['file', 'from', 'kind', 'line', 'reference', 'to']);
  });

  it('dot: a cluster per project and per schema, shapes by kind, labelled edges, quotes escaped', () => {
    const view = salesView(['sales']);
    const dot = formatGraphDot(view);
    expect(dot).toContain('digraph "dbee sales" {');
    expect(dot).toContain('label="project sales";');
    expect(dot).toContain('label="schema sales";');
    expect(dot).toContain('label="project core";');
    expect(dot).toMatch(
      /"table:sales\.orders" \[label="orders\\ntable #2", shape=box, tooltip="table:sales\.orders \(sales\/orders\.sql:1\)"\];/,
    );
    expect(dot).toMatch(/"view:sales\.totals" \[label="totals\\nview #4", shape=parallelogram/);
    expect(dot).toMatch(/"table:core\.customers" \[label="customers\\ntable", shape=box, style="filled,dashed"/);
    expect(dot).toContain('"table:sales.orders" -> "table:core.customers" [label="foreign key"];');
    expect(dot).toContain('"view:sales.totals" -> "schema:sales" [label="schema", style=dotted];');
    expect(dot.match(/ -> /g)).toHaveLength(view.edges.length);
    const quoted = formatGraphDot({
      ...view,
      nodes: [{ ...view.nodes[0]!, key: 'table:s."odd"', name: '"odd"' }],
      edges: [],
    });
    expect(quoted).toContain('"table:s.\\"odd\\"" [label="\\"odd\\"\\nschema #1"');
  });
});
