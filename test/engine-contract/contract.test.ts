/**
 * The shared engine contract suite: the same behaviours asserted for every engine, with engine-specific
 * fixtures. Everything here runs without a live server (PostgreSQL's own live suites are in test/e2e, test/diff,
 * test/runner; Teradata has no server here).
 */
import { describe, expect, it } from 'vitest';
import {
  DbeeError,
  formatKey,
  groupObjects,
  planFromSources,
  type Engine,
  type ProjectModel,
  type SourceStatement,
} from '@dbee/core';
import { createPostgresEngine } from '@dbee/postgres';
import { createTeradataEngine } from '@dbee/teradata';

interface Fixture {
  engine: Engine;
  schema: string;
  /** A table, then a view over it (in the wrong order on purpose), then a routine. */
  source: string;
  /** Keys expected, in dependency order. */
  ordered: string[];
  /** Text with a lexical or syntax error on line 3. */
  broken: string;
  /** A real-format driver error meaning "object does not exist". */
  missing: unknown;
  /** A real-format driver error meaning "object already exists". */
  exists: unknown;
}

const fixtures: [string, Fixture][] = [
  [
    'postgres',
    {
      engine: createPostgresEngine(),
      schema: 'sales',
      source: [
        'CREATE VIEW sales.v_orders AS SELECT id, amount FROM sales.orders;',
        'CREATE TABLE sales.orders (id bigint PRIMARY KEY, amount numeric(12,2));',
        'CREATE FUNCTION sales.total() RETURNS numeric LANGUAGE sql AS $$ SELECT sum(amount) FROM sales.v_orders $$;',
      ].join('\n'),
      ordered: ['table:sales.orders', 'view:sales.v_orders', 'function:sales.total()'],
      broken: 'CREATE TABLE sales.a (id int);\n\nCREATE VIEW sales.b AS SELEC 1;',
      missing: Object.assign(new Error('relation "sales.nope" does not exist'), { code: '42P01', severity: 'ERROR' }),
      exists: Object.assign(new Error('relation "orders" already exists'), { code: '42P07', severity: 'ERROR' }),
    },
  ],
  [
    'teradata',
    {
      engine: createTeradataEngine(),
      schema: 'SALES',
      source: [
        'REPLACE VIEW SALES.V_ORDERS AS LOCKING ROW FOR ACCESS SELECT ID, AMOUNT FROM SALES.ORDERS;',
        'CREATE MULTISET TABLE SALES.ORDERS (ID BIGINT NOT NULL, AMOUNT DECIMAL(12,2)) PRIMARY INDEX (ID);',
        'REPLACE MACRO SALES.TOTAL AS (SELECT SUM(AMOUNT) FROM SALES.V_ORDERS;);',
      ].join('\n'),
      ordered: ['table:SALES.ORDERS', 'view:SALES.V_ORDERS', 'macro:SALES.TOTAL'],
      broken: "CREATE TABLE SALES.A (ID INTEGER);\n\nREPLACE VIEW SALES.B AS SELECT 'unterminated FROM SALES.A;",
      missing: new Error(
        "[Version 20.0.55] [Session 1234] [Teradata Database] [Error 3807] Object 'SALES.NOPE' does not exist.",
      ),
      exists: new Error(
        "[Version 20.0.55] [Session 1234] [Teradata Database] [Error 3803] Table 'SALES.ORDERS' already exists.",
      ),
    },
  ],
];

function model(f: Fixture, statements: SourceStatement[]): ProjectModel {
  const project = { name: 'p', root: '/ws/p', relativeRoot: 'p', config: {} as never, file: {} as never };
  return {
    project,
    graph: {
      name: 'p',
      schemas: [f.schema],
      searchPath: [f.schema],
      searchPathTemplate: [f.schema],
      dependsOn: [],
      configFile: 'p/db.yaml',
    },
    variables: {},
    objects: groupObjects('p', [{ path: 'p/a.sql', statements }]),
    migrations: [],
    smoke: [],
    files: [],
  } as ProjectModel;
}

describe.each(fixtures)('engine contract [%s]', (_name, f) => {
  it('declares its capabilities as data', () => {
    // Flags, or a table of words (`keyNames`: how the parser writes an identifier in a key): data, never code.
    for (const [k, v] of Object.entries(f.engine.capabilities)) {
      if (typeof v === 'object' && v !== null)
        for (const [n, word] of Object.entries(v)) expect(typeof word, `${k}.${n}`).toBe('string');
      else expect(typeof v, k).toBe('boolean');
    }
    expect(f.engine.ledger.migrations.length).toBeGreaterThan(0);
    expect(f.engine.ledger.param(1)).toMatch(/^(\$1|\?)$/);
  });

  it('splits and classifies statements, with the location of each', async () => {
    const statements = await f.engine.parser.parse(f.source, 'p/a.sql', { searchPath: [f.schema] });
    expect(statements.map((s) => s.location.line)).toEqual([1, 2, 3]);
    expect(statements.map((s) => (s.key ? formatKey(s.key) : null)).sort()).toEqual([...f.ordered].sort());
  });

  it('orders objects by what they reference, whatever the file order', async () => {
    const statements = await f.engine.parser.parse(f.source, 'p/a.sql', { searchPath: [f.schema] });
    const m = model(
      f,
      statements.map((s) => ({ ...s, template: s.sql })),
    );
    const plan = planFromSources({
      engine: f.engine,
      models: [m],
      planned: ['p'],
      schemaOwners: new Map([[f.schema, 'p']]),
    });
    // An engine that creates the owned schemas itself (no CREATE SCHEMA in the sources) plans that first.
    const schemaStep = f.engine.catalog?.ensureSchema(f.schema) ? [`schema:${f.schema}`] : [];
    expect(plan.steps.map((s) => s.key)).toEqual([...schemaStep, ...f.ordered]);
    expect(plan.engine).toBe(f.engine.name);
  });

  it('reports a broken source with file, line and column', async () => {
    let error: unknown;
    try {
      await f.engine.parser.parse(f.broken, 'p/b.sql', { searchPath: [f.schema] });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DbeeError);
    expect((error as DbeeError).code).toBe('SQL_SYNTAX');
    expect((error as DbeeError).location).toMatchObject({ file: 'p/b.sql', line: 3 });
    expect((error as DbeeError).location?.column).toBeGreaterThan(0);
  });

  it("maps the driver's real error formats to stable codes", () => {
    expect((f.engine.mapError(f.missing, { statement: 'SELECT 1' }) as DbeeError).code).toBe('OBJECT_MISSING');
    expect((f.engine.mapError(f.exists, { statement: 'CREATE ...' }) as DbeeError).code).toBe('OBJECT_EXISTS');
  });

  it('renders the reverse of a create as a drop', () => {
    const drop = f.engine.catalog?.renderDrop({ kind: 'table', schema: f.schema, name: f.ordered[0]!.split('.')[1]! });
    expect(drop).toMatch(/^DROP TABLE /i);
  });
});
