import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchDatabase } from '../support/pg';
import { run } from '../support/run';
import { tempWorkspace } from '../support/workspace';
import { buildManifest, type ModelSpec } from './manifest-builder';

/**
 * `dbee check --dbt` against one release of a small shop schema, on the server and on PGlite: the release drops
 * `orders.amount`, renames `orders.note` to `comment`, narrows `orders.status` (text -> varchar(5): values may be
 * rejected), widens `orders.customer_id` (integer -> bigint, without loss), adds `orders.channel` and drops the table
 * `legacy`. Each model below reads the schema one way; its verdict must be the one given, and no model that reads
 * what the release breaks may pass (issue #63: "no false pass").
 */
const WS = `version: 1
defaultEnvironment: local
environments:
  local:
    engine: postgres
    connection: { embedded: .dbee/local }
  server:
    engine: postgres
    connection: { url: "\${DBT_TEST_URL}" }
`;
const PROJECT = 'version: 1\nname: shop\nengine: postgres\nschemas: [shop]\n';
const V1 = {
  'shop/db.yaml': PROJECT,
  'shop/schema.sql': 'CREATE SCHEMA shop;\n',
  'shop/orders.sql':
    'CREATE TABLE shop.orders (\n  id integer PRIMARY KEY,\n  customer_id integer NOT NULL,\n  amount numeric(12, 2),\n  note text,\n  status text,\n  placed_on date\n);\n',
  'shop/customers.sql': 'CREATE TABLE shop.customers (id integer PRIMARY KEY, name text, email text);\n',
  'shop/legacy.sql': 'CREATE TABLE shop.legacy (id integer, x text);\n',
  'shop/order_ids.sql': 'CREATE VIEW shop.order_ids AS SELECT id, placed_on FROM shop.orders;\n',
};
// The table legacy goes by a migration (its source file removed). The project is planned by a diff (orders changes in
// ways a source step cannot), which drops legacy before the migration runs: the migration says IF EXISTS, or it fails
// on the copy ("does not exist", never excused) as it would on the target.
const V2: Record<string, string | null> = {
  'shop/legacy.sql': null,
  'shop/migrations/V1__drop_legacy.sql': 'DROP TABLE IF EXISTS shop.legacy;\n',
  'shop/migrations/U1__drop_legacy.sql': 'CREATE TABLE shop.legacy (id integer, x text);\n',
  'shop/db.yaml': `${PROJECT}renames:\n  - { kind: column, schema: shop, table: orders, from: note, to: comment }\n`,
  'shop/orders.sql':
    'CREATE TABLE shop.orders (\n  id integer PRIMARY KEY,\n  customer_id bigint NOT NULL,\n  comment text,\n  status varchar(5),\n  placed_on date,\n  channel text\n);\n',
};

type Verdict = 'breaking' | 'unknown' | 'pass' | 'not affected';
const o = 'shop.orders';
const CASES: { sql: string | null; raw?: string; verdict: Verdict; sources?: string[] }[] = [
  { sql: 'select amount from shop.orders', verdict: 'breaking' },
  { sql: 'select id from shop.orders', verdict: 'pass' },
  { sql: 'select o.amount from shop.orders o', verdict: 'breaking' },
  { sql: 'select amount from "warehouse"."shop"."orders"', verdict: 'breaking' },
  { sql: 'select "amount" from shop.orders as o', verdict: 'breaking' },
  { sql: 'select * from shop.orders', verdict: 'unknown' },
  { sql: 'select o.* from shop.orders o join shop.customers c on c.id = o.customer_id', verdict: 'unknown' },
  { sql: 'select c.*, o.id from shop.orders o join shop.customers c on c.id = o.customer_id', verdict: 'pass' },
  { sql: 'with x as (select amount from shop.orders) select * from x', verdict: 'breaking' },
  { sql: 'with x as (select id, amount as a from shop.orders) select a from x', verdict: 'breaking' },
  { sql: 'with x as (select id from shop.orders) select id from x', verdict: 'pass' },
  { sql: 'select id from (select id, amount from shop.orders) s', verdict: 'breaking' },
  { sql: 'select s.total from (select sum(amount) total from shop.orders) s', verdict: 'breaking' },
  {
    sql: 'select id, (select max(amount) from shop.orders o2 where o2.id = o.id) from shop.orders o',
    verdict: 'breaking',
  },
  { sql: 'select id from shop.orders where amount > 0', verdict: 'breaking' },
  { sql: 'select id from shop.orders order by amount', verdict: 'breaking' },
  { sql: 'select customer_id, count(*) from shop.orders group by customer_id', verdict: 'pass' },
  { sql: 'select note from shop.orders', verdict: 'breaking' },
  { sql: 'select status from shop.orders', verdict: 'breaking' },
  { sql: 'select id, placed_on from shop.orders', verdict: 'pass' },
  { sql: 'select id from shop.legacy', verdict: 'breaking' },
  { sql: 'select l.x from shop.legacy l', verdict: 'breaking' },
  { sql: 'select amount from orders', verdict: 'breaking' },
  { sql: 'select id, amount from shop.orders join shop.customers using (id)', verdict: 'breaking' },
  {
    sql: "select o.id from shop.orders o join shop.customers c on c.id = o.customer_id where c.name like 'a%'",
    verdict: 'pass',
  },
  { sql: 'select name, amount from shop.orders o join shop.customers c on c.id = o.customer_id', verdict: 'breaking' },
  { sql: 'select name from shop.orders o join shop.customers c on c.id = o.customer_id', verdict: 'pass' },
  { sql: 'select id from shop.orders union all select amount::int from shop.orders', verdict: 'breaking' },
  { sql: 'select o.id, l.a from shop.orders o cross join lateral (select o.amount as a) l', verdict: 'breaking' },
  { sql: 'select id, sum(amount) over (partition by customer_id) from shop.orders', verdict: 'breaking' },
  { sql: 'select case when amount > 1 then 1 end from shop.orders', verdict: 'breaking' },
  { sql: 'select coalesce(amount, 0) from shop.orders', verdict: 'breaking' },
  { sql: 'select o from shop.orders o', verdict: 'unknown' },
  { sql: 'select from where', verdict: 'unknown', sources: [o] },
  { sql: 'select {{ amount }} from shop.orders', verdict: 'unknown', sources: [o] },
  { sql: null, raw: "select amount from {{ source('shop', 'orders') }}", verdict: 'unknown', sources: [o] },
  { sql: 'select a from shop.orders o(x, y, a)', verdict: 'breaking' },
  {
    sql: 'with recursive r as (select id from shop.orders union all select id + 1 from r where id < 3) select id from r',
    verdict: 'pass',
  },
  {
    sql: 'select id from shop.customers c where exists (select 1 from shop.orders o where o.customer_id = c.id and o.amount > 0)',
    verdict: 'breaking',
  },
  {
    sql: 'select id from shop.customers where id in (select customer_id from shop.orders where amount > 0)',
    verdict: 'breaking',
  },
  { sql: 'select id from shop.order_ids', verdict: 'not affected' },
  { sql: 'select distinct on (amount) id from shop.orders', verdict: 'breaking' },
  { sql: 'select customer_id from shop.orders group by customer_id having sum(amount) > 0', verdict: 'breaking' },
  { sql: 'select id as k from shop.orders order by k', verdict: 'pass' },
  { sql: 'select id, channel is null from shop.orders', verdict: 'unknown' },
];

const name = (i: number) => `m${String(i + 1).padStart(2, '0')}`;
const MODELS: ModelSpec[] = CASES.map((c, i) => ({
  name: name(i),
  compiled: c.sql,
  ...(c.raw ? { raw: c.raw } : {}),
  sources: c.sources ?? [],
}));
const MANIFEST = JSON.stringify(
  buildManifest(MODELS, [
    { source: 'shop', table: 'orders', schema: 'shop' },
    { source: 'shop', table: 'customers', schema: 'shop' },
  ]),
);

interface DbtJson {
  level: string;
  nodes: {
    name: string;
    verdict: Verdict;
    file: string;
    findings: { verdict: Verdict; message: string; at: { file: string; line: number } | null }[];
  }[];
}

describe.each([{ env: 'server' }, { env: 'local' }])('dbee check --dbt on $env', ({ env }) => {
  const w = tempWorkspace({ 'dbee.yaml': WS, ...V1, 'analytics/target/manifest.json': MANIFEST });
  let vars: Record<string, string> = {};
  let drop = async () => {};
  let report: DbtJson;
  let result: { code: number; stdout: string; stderr: string };
  beforeAll(async () => {
    if (env === 'server') {
      const db = await scratchDatabase('dbee_dbt');
      vars = { DBT_TEST_URL: db.url };
      drop = db.drop;
    }
    const deployed = await run(w.root, 'deploy', { project: 'shop', env }, vars);
    expect(deployed.code, deployed.stderr).toBe(0);
    for (const [f, text] of Object.entries(V2)) {
      if (text === null) rmSync(join(w.root, f));
      else w.write(f, text);
    }
    result = await run(
      w.root,
      'check',
      { project: 'shop', env, dbt: 'analytics/target/manifest.json', format: 'json' },
      vars,
    );
    report = JSON.parse(result.stdout) as DbtJson;
  });
  afterAll(async () => {
    await drop();
    w.remove();
  });

  it('exits 1 at the column level, naming the first breaking model', () => {
    expect(result.code, result.stderr).toBe(1);
    expect(report.level).toBe('column');
    expect(result.stderr).toContain('the dbt check fails');
  });

  it('--format sarif: a result for every model that breaks or cannot be judged, at its file, line and column', async () => {
    const sarif = await run(
      w.root,
      'check',
      { project: 'shop', env, dbt: 'analytics/target/manifest.json', format: 'sarif' },
      vars,
    );
    expect(sarif.code, sarif.stderr).toBe(1);
    const log = JSON.parse(sarif.stdout) as {
      runs: {
        results: {
          ruleId: string;
          level: string;
          message: { text: string };
          locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[];
        }[];
      }[];
    };
    const seen = log.runs[0]!.results.map((r) => [
      r.ruleId,
      r.level,
      r.message.text.split(':')[0],
      r.locations[0]!.physicalLocation.artifactLocation.uri,
      r.locations[0]!.physicalLocation.region.startLine,
    ]);
    const expected = report.nodes.flatMap((n) =>
      n.verdict === 'pass'
        ? []
        : n.findings
            .filter((f) => f.verdict !== 'pass')
            .map((f) => [
              `dbt/${f.verdict}`,
              f.verdict === 'breaking' ? 'error' : 'warning',
              `model ${n.name}`,
              f.at?.file ?? n.file,
              f.at?.line ?? 1,
            ]),
    );
    expect(expected.filter((e) => e[0] === 'dbt/breaking').length).toBeGreaterThan(20);
    expect(seen).toEqual(expected);
  });

  it.each(CASES.map((c, i) => ({ ...c, model: name(i) })))('$model: $verdict: $sql', ({ model, verdict }) => {
    const found = report.nodes.find((n) => n.name === model);
    expect(found?.verdict ?? 'not affected', JSON.stringify(found?.findings)).toBe(verdict);
  });
});
