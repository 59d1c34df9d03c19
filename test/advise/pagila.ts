/**
 * A second workload for `dbee advise` that the project did not write, shared by the test (`pagila.test.ts`, small) and
 * the benchmark (`tools/bench-advise.ts pagila`, 1,000,000 rentals): Pagila's published schema
 * (test/fixtures/real/pagila, its own indexes and 55 monthly payment partitions), rows generated in Pagila's shape, and
 * the queries of xtdb/sakila-playground (test/fixtures/real/sakila-playground). The answer key does not ask the
 * advisor: every index the queries could use is created for real, one at a time, and each query measured without and
 * with it; an index is true when it makes a query at least twice as fast (`time`: median execution time of real runs)
 * or twice as cheap (`cost`: the planner's cost of the generic plan with the real index, real size and statistics).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'pg';
import { loadPostgresParser, parseSql } from '../../packages/postgres/src/parse/libpg';
import { run } from '../support/run';

const REAL = join(__dirname, '..', 'fixtures', 'real');
export const PAGILA_SCHEMA = join(REAL, 'pagila', 'pagila-schema.sql');
export const SAKILA_QUERIES = join(REAL, 'sakila-playground', 'queries.sql');
/** The value each `$1` of the workload is measured with (the playground's own default, `:defaults {:id 42}`). */
const PARAMETER = 42;

/** Pagila's schema, HypoPG, and rows for `customers` customers and `rentals` rentals (see `seedPagila`). */
export async function loadPagila(c: Client, customers: number, rentals: number): Promise<void> {
  await loadPagilaSchema(c);
  await c.query('CREATE EXTENSION hypopg');
  await seedPagila(c, customers, rentals);
}

/** What the benchmark and the test read of `dbee advise --format json`. */
export interface PagilaAdvice {
  workload: { queries: number; considered: number; skipped: unknown[] };
  missingIndexes: {
    index: { schema: string; table: string; columns: string[]; name: string };
    statement: string;
    queries: { origin: string; before: number; after: number }[];
  }[];
}

/**
 * `dbee advise` as a user would run it on the database at `url`: a project of Pagila's one schema (`public`, no
 * sources of its own) and the playground's queries as a file (`queries.sql` at the workspace's root).
 */
export async function adviseReport(url: string, extra: Record<string, unknown> = {}): Promise<PagilaAdvice> {
  const root = mkdtempSync(join(tmpdir(), 'dbee-advise-pagila-'));
  try {
    mkdirSync(join(root, 'databases', 'pagila'), { recursive: true });
    writeFileSync(
      join(root, 'dbee.yaml'),
      'version: 1\ndefaultEnvironment: server\nenvironments:\n  server:\n    engine: postgres\n    connection:\n      url: ${DBEE_ADVISE_URL}\n',
    );
    writeFileSync(
      join(root, 'databases', 'pagila', 'db.yaml'),
      'version: 1\nname: pagila\nengine: postgres\nschemas: [public]\n',
    );
    copyFileSync(SAKILA_QUERIES, join(root, 'queries.sql'));
    const r = await run(
      root,
      'advise',
      { project: 'pagila', env: 'server', queries: 'queries.sql', format: 'json', ...extra },
      { DBEE_ADVISE_URL: url },
    );
    if (r.code !== 0) throw new Error(`dbee advise exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as PagilaAdvice;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * Pagila's schema as published, on the server at hand: PostgreSQL 18's `uuidv7()` becomes `gen_random_uuid()` and a
 * `VIRTUAL` generated column `STORED` (before 18 there are neither), and the statements that need the `vector`
 * extension (the `film_embedding` table) are left out. Everything else runs as pg_dump wrote it.
 */
export async function loadPagilaSchema(c: Client): Promise<void> {
  const text = readFileSync(PAGILA_SCHEMA, 'utf8')
    .replaceAll('uuidv7()', 'gen_random_uuid()')
    .replace(/\) VIRTUAL$/gm, ') STORED');
  for (const { sql } of await statements(text)) if (!/\bvector\b|film_embedding/.test(sql)) await c.query(sql);
  // The dump empties the search path for its own statements.
  await c.query('RESET search_path');
}

/** The statements of a SQL text, each with the line it starts on (the parser counts in bytes). */
async function statements(text: string): Promise<{ sql: string; line: number }[]> {
  await loadPostgresParser();
  const bytes = Buffer.from(text, 'utf8');
  const parsed = parseSql(text) as { stmts: { stmt_location?: number; stmt_len?: number }[] };
  return parsed.stmts.map((s) => {
    const from = s.stmt_location ?? 0;
    const raw = bytes.subarray(from, s.stmt_len ? from + s.stmt_len : undefined).toString('utf8');
    // What precedes the statement since the last one (comments, blank lines) is not its start.
    const lead = raw.match(/^(?:\s*--[^\n]*\n)*\s*/)![0];
    const line = bytes.subarray(0, from).toString('utf8').split('\n').length + lead.split('\n').length - 1;
    return { sql: raw.slice(lead.length), line };
  });
}

/**
 * Rows in Pagila's shape for `customers` customers and `rentals` rentals (Pagila itself: 599 and 16,044): 1,000 films
 * of 16 categories with about 5 actors each, 2 stores, an inventory of a quarter copy per customer (at least Pagila's
 * 4,581) skewed to popular films, rentals from 2022-01 to 2026-07 in time order, skewed to frequent customers and
 * popular copies, returned 1 to 10 days later except the last days' and a few lost; one payment per rental, in its
 * monthly partition. Then VACUUM ANALYZE (statistics and the visibility map, as a live database has them).
 */
export async function seedPagila(c: Client, customers: number, rentals: number): Promise<void> {
  const inventory = Math.max(4581, Math.floor(customers / 4));
  const span = `(timestamptz '2026-07-31' - timestamptz '2022-01-01')`;
  const statements = [
    // The dump's foreign keys are checked by triggers; store and staff reference each other.
    'SET session_replication_role = replica',
    'SELECT setseed(0.42)',
    `INSERT INTO language (language_id, name) SELECT i, (ARRAY['English','Italian','Japanese','Mandarin','French','German'])[i] FROM generate_series(1, 6) i`,
    `INSERT INTO category (category_id, name) SELECT i, 'Category ' || i FROM generate_series(1, 16) i`,
    `INSERT INTO country (country_id, country) SELECT i, 'Country ' || i FROM generate_series(1, 109) i`,
    `INSERT INTO city (city_id, city, country_id) SELECT i, 'City ' || i, 1 + (i * 7) % 109 FROM generate_series(1, 600) i`,
    `INSERT INTO address (address_id, address, district, city_id, postal_code, phone)
       SELECT i, i || ' Main Street', 'District ' || (i % 378), 1 + (i * 13) % 600, lpad(((i * 37) % 99999)::text, 5, '0'), '555' || i
         FROM generate_series(1, ${customers + 4}) i`,
    `INSERT INTO staff (staff_id, first_name, last_name, address_id, email, store_id, username)
       VALUES (1, 'Mike', 'Hillyer', ${customers + 1}, 'mike@sakilastaff.com', 1, 'Mike'),
              (2, 'Jon', 'Stephens', ${customers + 2}, 'jon@sakilastaff.com', 2, 'Jon')`,
    `INSERT INTO store (store_id, manager_staff_id, address_id) VALUES (1, 1, ${customers + 3}), (2, 2, ${customers + 4})`,
    `INSERT INTO actor (actor_id, first_name, last_name) SELECT i, 'First' || (i % 128), 'Last' || (i % 121) FROM generate_series(1, 200) i`,
    `INSERT INTO film (film_id, title, description, release_year, language_id, rental_duration, rental_rate, length,
                       replacement_cost, rating, fulltext)
       SELECT i, 'FILM TITLE ' || i, 'A story of ' || i, 2006, 1, 3 + i % 5, (ARRAY[0.99, 2.99, 4.99])[1 + i % 3],
              46 + i % 140, 9.99 + i % 21, (ARRAY['G','PG','PG-13','R','NC-17'])[1 + i % 5]::mpaa_rating,
              to_tsvector('english', 'FILM TITLE ' || i || ' A story of ' || i)
         FROM generate_series(1, 1000) i`,
    `INSERT INTO film_actor (actor_id, film_id) SELECT DISTINCT 1 + (f * 7 + k * 31) % 200, f
       FROM generate_series(1, 1000) f, generate_series(1, 5) k`,
    `INSERT INTO film_category (film_id, category_id) SELECT f, 1 + f % 16 FROM generate_series(1, 1000) f`,
    `INSERT INTO customer (customer_id, store_id, first_name, last_name, email, address_id, create_date, active)
       SELECT i, 1 + i % 2, 'First' || (i % 600), 'Last' || (i % 599), 'c' || i || '@sakilacustomer.org', i,
              date '2022-01-01' + (i % 1600), CASE WHEN i % 40 = 0 THEN 0 ELSE 1 END
         FROM generate_series(1, ${customers}) i`,
    `INSERT INTO inventory (inventory_id, film_id, store_id)
       SELECT i, 1 + floor(1000 * power(random(), 1.5))::int, 1 + i % 2 FROM generate_series(1, ${inventory}) i`,
    `INSERT INTO rental (rental_id, rental_date, inventory_id, customer_id, return_date, staff_id)
       SELECT i, d, 1 + floor(${inventory} * power(random(), 1.3))::int, 1 + floor(${customers} * power(random(), 1.5))::int,
              CASE WHEN d > timestamptz '2026-07-22' OR random() < 0.002 THEN NULL
                   ELSE d + (1 + random() * 9) * interval '1 day' END,
              1 + i % 2
         FROM (SELECT i, timestamptz '2022-01-01' + ${span} * (i::float8 / ${rentals + 1}) AS d
                 FROM generate_series(1, ${rentals}) i) r`,
    `INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date)
       SELECT rental_id, customer_id, staff_id, rental_id, 0.99 + (rental_id % 5) * 2, rental_date + interval '1 hour'
         FROM rental`,
    'SET session_replication_role = origin',
    'VACUUM ANALYZE',
  ];
  for (const s of statements) await c.query(s);
}

/** One query of the workload file, with its place (`queries.sql:<line>`, as `dbee advise` names it). */
export interface WorkloadQuery {
  origin: string;
  text: string;
}

/** The statements of the workload file with their lines. */
export async function readWorkload(file = SAKILA_QUERIES): Promise<WorkloadQuery[]> {
  return (await statements(readFileSync(file, 'utf8'))).map((s) => ({ origin: `queries.sql:${s.line}`, text: s.sql }));
}

/** An index the key tries: a table and its columns. */
export interface KeyCandidate {
  schema: string;
  table: string;
  columns: string[];
}

/** How much one index changes one query. */
export interface Speedup {
  origin: string;
  before: number;
  after: number;
}

/**
 * The indexes the key tries, chosen without the advisor: per query and per table it names, every column of that table
 * the query's text names after its first FROM (where it filters, joins, groups or sorts), alone and in ordered pairs;
 * less those an existing plain btree already leads. `extra` adds indexes to try (the advice's own, so that each is
 * judged).
 */
export async function keyCandidates(
  c: Client,
  workload: WorkloadQuery[],
  extra: KeyCandidate[] = [],
): Promise<KeyCandidate[]> {
  const tables = await c.query<{ table: string; columns: string[]; leads: string[] }>(
    `SELECT t.relname AS "table",
            array(SELECT attname::text FROM pg_attribute WHERE attrelid = t.oid AND attnum > 0 AND NOT attisdropped) AS columns,
            array(SELECT (SELECT string_agg(a.attname, ',' ORDER BY k.ord) FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(att, ord)
                            JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.att)
                    FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am m ON m.oid = i.relam
                   WHERE x.indrelid = t.oid AND m.amname = 'btree' AND x.indpred IS NULL) AS leads
       FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = 'public' AND t.relkind IN ('r', 'p') AND NOT t.relispartition`,
  );
  const out = new Map<string, KeyCandidate>();
  const add = (k: KeyCandidate) => {
    const table = tables.rows.find((t) => t.table === k.table);
    const led = table?.leads.some((l) => `${l},`.startsWith(`${k.columns.join(',')},`));
    if (table && !led) out.set(`${k.table}(${k.columns.join(',')})`, k);
  };
  for (const q of workload) {
    const tail = q.text.slice(q.text.search(/\bFROM\b/i));
    const words = new Set(tail.toLowerCase().match(/[a-z_][a-z0-9_]*/g) ?? []);
    for (const t of tables.rows) {
      if (!words.has(t.table)) continue;
      const named = t.columns.filter((col) => words.has(col));
      for (const a of named) {
        add({ schema: 'public', table: t.table, columns: [a] });
        for (const b of named) if (a !== b) add({ schema: 'public', table: t.table, columns: [a, b] });
      }
    }
  }
  for (const k of extra) add(k);
  return [...out.values()];
}

/**
 * Each candidate created for real (alone, then dropped), and each query whose plan then uses it measured: `time` is
 * the median execution time of three runs (after one to warm the cache), `$1` given the playground's default; `cost`
 * is the planner's cost of the generic plan. Returns, per candidate (`table(columns)`), the queries it makes at least
 * twice as fast or cheap.
 */
export async function answerKey(
  c: Client,
  workload: WorkloadQuery[],
  candidates: KeyCandidate[],
  measure: 'time' | 'cost',
): Promise<Map<string, Speedup[]>> {
  const before = new Map<string, number>();
  for (const q of workload) before.set(q.origin, await measured(c, q.text, measure));
  const key = new Map<string, Speedup[]>();
  for (const k of candidates) {
    const name = `key_${k.table}_${k.columns.join('_')}`.slice(0, 63);
    await c.query(`CREATE INDEX ${name} ON ${k.schema}.${k.table} (${k.columns.join(', ')})`);
    try {
      // An index on a partitioned table is one per partition in the plans (the tree of another index is empty).
      const names = new Set([
        name,
        ...(
          await c.query<{ name: string }>(
            `SELECT c.relname AS name FROM pg_partition_tree($1::regclass) t JOIN pg_class c ON c.oid = t.relid`,
            [`${k.schema}.${name}`],
          )
        ).rows.map((r) => r.name),
      ]);
      const faster: Speedup[] = [];
      for (const q of workload) {
        if (!(await planIndexes(c, q.text, measure === 'cost')).some((i) => names.has(i))) continue;
        const after = await measured(c, q.text, measure);
        const was = before.get(q.origin)!;
        if (after * 2 <= was) faster.push({ origin: q.origin, before: was, after });
      }
      key.set(`${k.table}(${k.columns.join(',')})`, faster);
    } finally {
      await c.query(`DROP INDEX ${k.schema}.${name}`);
    }
  }
  return key;
}

/**
 * Precision and recall of advised indexes against the key: an advised index is right when it makes a query at least
 * twice as fast; a query needs an index when some candidate does that for it, and is served when an advised one does.
 */
export function score(
  advised: string[],
  key: Map<string, Speedup[]>,
): { right: string[]; wrong: string[]; needy: string[]; served: string[] } {
  const right = advised.filter((a) => (key.get(a) ?? []).length > 0);
  const needy = [...new Set([...key.values()].flat().map((s) => s.origin))].sort();
  const served = needy.filter((o) => right.some((a) => key.get(a)!.some((s) => s.origin === o)));
  return { right, wrong: advised.filter((a) => !right.includes(a)), needy, served };
}

/** Names of the indexes a query's plan scans (`$1` given the default, or the generic plan). */
async function planIndexes(c: Client, sql: string, generic: boolean): Promise<string[]> {
  const plan = await explain(c, sql, false, generic);
  const names: string[] = [];
  const walk = (n: PlanNode) => {
    if (n['Index Name']) names.push(n['Index Name']);
    for (const p of n.Plans ?? []) walk(p);
  };
  walk(plan.Plan);
  return names;
}

async function measured(c: Client, sql: string, how: 'time' | 'cost'): Promise<number> {
  if (how === 'cost') return (await explain(c, sql, false, true)).Plan['Total Cost'];
  await explain(c, sql, true);
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) runs.push((await explain(c, sql, true))['Execution Time']!);
  return runs.sort((a, b) => a - b)[1]!;
}

interface PlanNode {
  'Total Cost': number;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

/** `EXPLAIN` of a workload query, its `$1` the default value; `generic`: the plan a prepared statement gets. */
async function explain(
  c: Client,
  sql: string,
  analyze: boolean,
  generic = false,
): Promise<{ Plan: PlanNode; 'Execution Time'?: number }> {
  const options = analyze ? 'ANALYZE, TIMING OFF, FORMAT JSON' : 'FORMAT JSON';
  if (!/\$1\b/.test(sql)) return (await c.query(`EXPLAIN (${options}) ${sql}`)).rows[0]['QUERY PLAN'][0];
  await c.query(`PREPARE key_q AS ${sql}`);
  try {
    if (generic) await c.query('SET plan_cache_mode = force_generic_plan');
    return (await c.query(`EXPLAIN (${options}) EXECUTE key_q(${generic ? 'NULL' : PARAMETER})`)).rows[0][
      'QUERY PLAN'
    ][0];
  } finally {
    await c.query('RESET plan_cache_mode; DEALLOCATE key_q');
  }
}
