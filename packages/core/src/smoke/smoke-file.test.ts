import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { settleBackground } from '../background';
import type { SmokeDialect, SourceParser } from '../engine/engine';
import { DbeeError } from '../errors';
import type { ParsedStatement } from '../model/source';
import { compareColumns, compareRows, sameValue } from './compare';
import type { ParseCache } from '../planner/project-model';
import { loadSmokeChecks } from './smoke-file';

/** Splits on `;` at the end of a line, like a real parser would for these simple statements. */
const parser: SourceParser = {
  async parse(text, file) {
    const out: ParsedStatement[] = [];
    let start: { line: number; sql: string[] } | null = null;
    text.split('\n').forEach((line, i) => {
      const code = line.replace(/--.*$/, '');
      if (!start && code.trim() === '') return;
      start ??= { line: i + 1, sql: [] };
      start.sql.push(code);
      if (code.trimEnd().endsWith(';') || i === text.split('\n').length - 1) {
        const sql = start.sql.join('\n').trim().replace(/;$/, '');
        if (sql)
          out.push({
            sql,
            location: { file, line: start.line, column: 1 },
            key: null,
            action: 'other',
            references: [],
            transactional: !/^VACUUM/i.test(sql),
          });
        start = null;
      }
    });
    return out;
  },
};

const smoke = {
  routineCall: (kind: 'function' | 'procedure', name: string, n: number) =>
    `${kind === 'procedure' ? 'CALL' : 'SELECT * FROM'} ${name}(${Array.from({ length: n }, (_, i) => `$${i + 1}`).join(', ')})`,
} as SmokeDialect;

function load(
  files: Record<string, string>,
  variables: Record<string, string> = {},
  kept?: { cache: ParseCache; parser: SourceParser; searchPath?: string[] },
) {
  const smokeFiles = Object.entries(files).map(([path, text]) => ({ path, text }));
  return loadSmokeChecks(
    {
      project: { name: 'sales' },
      smoke: smokeFiles,
      variables: { env: 'test', ...variables },
      graph: { searchPath: kept?.searchPath ?? ['public'] },
    },
    { parser: kept?.parser ?? parser, smoke },
    kept?.cache,
  );
}

async function problems(files: Record<string, string>): Promise<string> {
  try {
    await load(files);
  } catch (e) {
    if (e instanceof DbeeError) return e.format();
    throw e;
  }
  throw new Error('expected a DbeeError');
}

describe('YAML smoke files', () => {
  it('reads every kind of check, with defaults, placeholders and locations', async () => {
    const checks = await load(
      {
        'db/sales/smoke/a.yaml': `checks:
  - name: view exists
    exists: [view:sales.v, "function:sales.f(bigint)"]
  - name: revenue
    query: SELECT * FROM {{schema}}.revenue WHERE id = $1
    args: [7]
    columns: { id: bigint, total: numeric }
    rows: [{ id: 7, total: 0 }]
    timeout: 2s
  - name: total
    function: sales.order_total
    args: [-1]
  - name: close
    procedure: sales.close_orders
    timeout: 1500
`,
      },
      { schema: 'sales' },
    );
    expect(checks).toEqual([
      {
        name: 'view exists',
        source: { file: 'db/sales/smoke/a.yaml', line: 2, column: 5 },
        timeoutMs: undefined,
        body: {
          kind: 'exists',
          keys: [
            { kind: 'view', schema: 'sales', name: 'v' },
            { kind: 'function', schema: 'sales', name: 'f', args: ['bigint'] },
          ],
        },
      },
      {
        name: 'revenue',
        source: { file: 'db/sales/smoke/a.yaml', line: 4, column: 5 },
        timeoutMs: 2000,
        body: {
          kind: 'statement',
          sql: 'SELECT * FROM sales.revenue WHERE id = $1',
          params: [7],
          columns: [
            ['id', 'bigint'],
            ['total', 'numeric'],
          ],
          rows: [{ id: 7, total: 0 }],
        },
      },
      {
        name: 'total',
        source: { file: 'db/sales/smoke/a.yaml', line: 10, column: 5 },
        timeoutMs: undefined,
        body: {
          kind: 'statement',
          sql: 'SELECT * FROM sales.order_total($1)',
          params: [-1],
          columns: undefined,
          rows: undefined,
        },
      },
      {
        name: 'close',
        source: { file: 'db/sales/smoke/a.yaml', line: 13, column: 5 },
        timeoutMs: 1500,
        body: { kind: 'statement', sql: 'CALL sales.close_orders()', params: [], columns: undefined, rows: undefined },
      },
    ]);
  });

  it('names file, line and key of an unknown key and of a missing name', async () => {
    const text = await problems({
      'smoke/a.yaml': 'checks:\n  - name: one\n    query: SELECT 1\n    colums: { x: integer }\n  - query: SELECT 2\n',
    });
    expect(text).toContain('2 problems in smoke checks');
    expect(text).toContain('smoke/a.yaml:4:5: checks.0: unknown key "colums"');
    expect(text).toContain('smoke/a.yaml:5:5: checks.1.name: required, expected string');
  });

  it('requires exactly one thing to check', async () => {
    expect(await problems({ 'smoke/a.yaml': 'checks:\n  - name: nothing\n    timeout: 1s\n' })).toBe(
      'smoke/a.yaml:2:5: checks.0: a check needs one of exists, query, function, procedure',
    );
    expect(await problems({ 'smoke/a.yaml': 'checks:\n  - name: two\n    query: SELECT 1\n    function: f\n' })).toBe(
      'smoke/a.yaml:4:5: checks.0.function: query and function cannot be combined: a check does one thing (make two checks)',
    );
  });

  it('rejects expectations on an existence check, bad keys, bad names and bad durations', async () => {
    const text = await problems({
      'smoke/a.yaml': `checks:
  - name: a
    exists: sales.v
  - name: b
    exists: view:sales.v
    rows: []
  - name: c
    function: "sales.f(1)"
  - name: d
    query: SELECT 1
    timeout: soon
`,
    });
    expect(text).toContain(
      'smoke/a.yaml:3:5: checks.0.exists: expected an object key such as "view:sales.order_totals"',
    );
    expect(text).toContain(
      'smoke/a.yaml:6:5: checks.1.rows: rows goes with query, function or procedure, not with exists',
    );
    expect(text).toContain('smoke/a.yaml:8:5: checks.2.function: expected a routine name such as "sales.order_total"');
    expect(text).toContain('smoke/a.yaml:11:5: checks.3.timeout:');
  });

  it('rejects a query of several statements and transaction control', async () => {
    const text = await problems({
      'smoke/a.yaml': 'checks:\n  - name: a\n    query: "SELECT 1;\\n SELECT 2"\n  - name: b\n    query: COMMIT\n',
    });
    expect(text).toContain('smoke/a.yaml:3:5: checks.0.query: expected one statement, got 2');
    expect(text).toContain('smoke/a.yaml:5:5: checks.1.query: COMMIT is not allowed in a smoke check');
  });

  it('reports an unknown placeholder and malformed YAML with their positions', async () => {
    expect(await problems({ 'smoke/a.yaml': 'checks:\n  - name: a\n    query: SELECT * FROM {{nope}}.t\n' })).toContain(
      'smoke/a.yaml:3:26: unknown placeholder {{nope}}',
    );
    expect(await problems({ 'smoke/a.yaml': 'checks:\n  - name: a\n   query: [\n' })).toContain('smoke/a.yaml:');
  });

  it('rejects two checks with the same name, across files', async () => {
    const text = await problems({
      'smoke/a.yaml': 'checks:\n  - name: same\n    query: SELECT 1\n',
      'smoke/b.sql': '-- name: same\nSELECT 2;\n',
    });
    expect(text).toContain('smoke/b.sql:2: two smoke checks are named "same"');
    expect(text).toContain('the other one is at smoke/a.yaml:2');
  });
});

describe('smoke files kept between runs (.dbee/cache/parse)', () => {
  const files = {
    'db/sales/smoke/a.yaml':
      'checks:\n  - name: revenue\n    query: SELECT * FROM sales.revenue WHERE id = $1\n    args: [7]\n' +
      '    rows: [{ id: 7, total: 0.5 }]\n    timeout: 2s\n  - name: there\n    exists: view:sales.v\n',
    'db/sales/smoke/b.sql': '-- name: one\nSELECT 1;\n',
  };
  /** The test's parser, counting the texts it parses. */
  const counting = () => {
    const calls: string[] = [];
    const p: SourceParser = { parse: (text, file, o) => (calls.push(file), parser.parse(text, file, o)) };
    return { calls, parser: p };
  };
  async function inCache(run: (cache: ParseCache) => Promise<void>) {
    const dir = mkdtempSync(join(tmpdir(), 'dbee-smoke-cache-'));
    try {
      await run({ dir, parser: 'test-engine\0' + '1.0.0' });
    } finally {
      await settleBackground();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('reads a file whose text did not change back, parsing nothing: the same checks', async () => {
    await inCache(async (cache) => {
      const first = counting();
      const made = await load(files, {}, { cache, parser: first.parser });
      await settleBackground();
      expect(first.calls).toEqual(['db/sales/smoke/a.yaml', 'db/sales/smoke/b.sql']);

      const again = counting();
      expect(await load(files, {}, { cache, parser: again.parser })).toEqual(made);
      expect(again.calls).toEqual([]);
      expect(made.map((c) => c.name)).toEqual(['revenue', 'there', 'one']);
    });
  });

  it('reads again a file whose text or search path changed, and keeps no file with a mistake', async () => {
    await inCache(async (cache) => {
      await load(files, {}, { cache, parser: counting().parser });
      await settleBackground();
      const changed = counting();
      const edited = { ...files, 'db/sales/smoke/b.sql': '-- name: two\nSELECT 2;\n' };
      expect((await load(edited, {}, { cache, parser: changed.parser })).map((c) => c.name)).toEqual([
        'revenue',
        'there',
        'two',
      ]);
      expect(changed.calls).toEqual(['db/sales/smoke/b.sql']);
      await settleBackground();
      const searched = counting();
      await load(edited, {}, { cache, parser: searched.parser, searchPath: ['sales', 'public'] });
      expect(searched.calls).toHaveLength(2);
      await settleBackground();

      const broken = { 'db/sales/smoke/a.yaml': 'checks:\n  - name: x\n    query: SELECT 1\n    colour: red\n' };
      for (let i = 0; i < 2; i++)
        await expect(load(broken, {}, { cache, parser: counting().parser })).rejects.toThrow(/colour/);
    });
  });

  it('keeps no check JSON would change (a row holding .inf): such a file is read every time', async () => {
    await inCache(async (cache) => {
      const inf = { 'db/sales/smoke/a.yaml': 'checks:\n  - name: x\n    query: SELECT 1\n    rows: [{ v: .inf }]\n' };
      await load(inf, {}, { cache, parser: counting().parser });
      await settleBackground();
      const again = counting();
      const checks = await load(inf, {}, { cache, parser: again.parser });
      expect(again.calls).toEqual(['db/sales/smoke/a.yaml']);
      expect(checks[0]!.body).toMatchObject({ rows: [{ v: Number.POSITIVE_INFINITY }] });
      expect(readdirSync(cache.dir)).toEqual([]);
    });
  });
});

describe('SQL smoke files', () => {
  it('makes one check per statement, named by the -- name: comment before it or by file:line', async () => {
    const checks = await load({
      'smoke/p.sql': `-- name: cancel stale orders
CALL sales.cancel_stale_orders(interval '90 days');

SELECT 1;
-- name: last
-- a comment that is not a name
SELECT {{env}};
`,
    });
    expect(checks.map((c) => [c.name, c.source?.line, c.body.kind === 'statement' && c.body.sql])).toEqual([
      ['cancel stale orders', 2, "CALL sales.cancel_stale_orders(interval '90 days')"],
      ['smoke/p.sql:4', 4, 'SELECT 1'],
      ['last', 7, 'SELECT test'],
    ]);
  });

  it('refuses statements that would end the rolled-back transaction or cannot run in one', async () => {
    const text = await problems({ 'smoke/p.sql': 'INSERT INTO t VALUES (1);\nCOMMIT;\nVACUUM t;\n' });
    expect(text).toContain('smoke/p.sql:2:1: COMMIT is not allowed in a smoke check');
    expect(text).toContain('smoke/p.sql:3:1: this statement cannot run inside a transaction');
  });
});

describe('comparing results', () => {
  it('compares driver values with YAML values by meaning', () => {
    expect(sameValue(0, '0.00')).toBe(true);
    expect(sameValue(0, 0n)).toBe(true);
    expect(sameValue('9007199254740993', '9007199254740993')).toBe(true);
    expect(sameValue(9007199254740993n, '9007199254740992')).toBe(false);
    expect(sameValue(1, '0')).toBe(false);
    expect(sameValue(true, 't')).toBe(true);
    expect(sameValue(null, null)).toBe(true);
    expect(sameValue(null, 0)).toBe(false);
    expect(sameValue('2024-01-02T03:04:05Z', new Date('2024-01-02T03:04:05Z'))).toBe(true);
    expect(sameValue({ a: [1, 2] }, { a: [1, 2] })).toBe(true);
    expect(sameValue({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(sameValue('ada@example.com', 'ada@example.com')).toBe(true);
  });

  it('says which row and column differ, or how many rows came back', () => {
    expect(compareRows([{ total: 0 }], [{ total: '0' }])).toBeNull();
    expect(compareRows([{ total: 1 }], [{ total: '0' }])).toBe('row 1, column total: expected 1, got "0"');
    expect(compareRows([{ total: 1 }], [])).toBe('expected 1 row, got 0');
    expect(compareRows([], [{ id: 3 }])).toBe('expected 0 rows, got 1; first unexpected row: {"id":3}');
    expect(compareRows([{ nope: 1 }], [{ id: 3 }])).toBe('row 1: no column nope in the result (columns: id)');
  });

  it('says which column is missing, extra, of another type or out of order', () => {
    expect(compareColumns([['id', 'bigint']], [['id', 'BIGINT']])).toEqual([]);
    expect(
      compareColumns(
        [
          ['id', 'bigint'],
          ['name', 'text'],
        ],
        [
          ['id', 'integer'],
          ['extra', 'text'],
        ],
      ),
    ).toEqual([
      'column id: expected type bigint, got integer',
      'missing column name (text)',
      'unexpected column extra (text)',
    ]);
    expect(
      compareColumns(
        [
          ['a', 'text'],
          ['b', 'text'],
        ],
        [
          ['b', 'text'],
          ['a', 'text'],
        ],
      ),
    ).toEqual(['columns in another order: expected a, b; got b, a']);
  });
});
