import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'pg';
import { EXPAND_RULES, type ExpandKind } from '@dbee/core';
import { tempWorkspace } from '../support/workspace';
import { run } from '../support/run';
import { scratchDatabase } from '../support/pg';

/**
 * One lifecycle per change kind of the expand-contract strategy (`EXPAND_RULES`), pgroll's `op_common_test` shape:
 * expand (release `a`) → both versions write through their version schemas and read each other's rows → abort (the
 * project's schema as it was, the new version schema and every sync function gone, the ledger says `aborted`) →
 * expand again (release `c`) → writes and reads again → complete (the schema equals the sources' new shape made
 * directly, the old version schema gone, the ledger says `done`, the rows written read back). Each kind is a project
 * of its own with a schema of its own (`S` below), all in one server database, deployed through the real pipeline.
 */

interface Case {
  /** The table files of the project's first shape (`S` is the project's schema). */
  v1: Record<string, string>;
  /** The files the kind's change writes (an empty file takes an object out). */
  v2: Record<string, string>;
  /** `renames:` entries of db.yaml for the second shape. */
  renames?: string;
  /** The old version's write (`o`: its row's id) and the new version's (`n`), each through its version schema. */
  writeOld: (o: number) => string;
  writeNew: (o: number, n: number) => string;
  /** Reads after both writes: who reads, the query, the rows it returns. */
  reads: (o: number, n: number) => ['old' | 'new', string, Record<string, unknown>[]][];
  /** Writes the other version's rules refuse, while expanded: who writes, the statement, the error. */
  refused?: (o: number, n: number) => ['old' | 'new', string, RegExp][];
  /** After complete, on the schema itself: the query and its rows. */
  after?: (o: number, n: number) => [string, Record<string, unknown>[]];
}

const T = (columns: string) => `CREATE TABLE S.t (${columns});`;

const CASES: Record<ExpandKind, Case> = {
  'create-table': {
    v1: { 't.sql': T('id int PRIMARY KEY, a text') },
    v2: {
      'u.sql': 'CREATE TABLE S.u (id int PRIMARY KEY, t_id int CONSTRAINT u_t_fk REFERENCES S.t (id), note text);',
    },
    writeOld: (o) => `INSERT INTO t VALUES (${o}, 'old')`,
    writeNew: (o, n) => `INSERT INTO u VALUES (${n}, ${o}, 'new')`,
    reads: (o) => [['new', `SELECT a FROM t WHERE id = ${o}`, [{ a: 'old' }]]],
    refused: () => [['new', 'INSERT INTO u VALUES (99, 12345)', /u_t_fk/]],
    after: (o, n) => [`SELECT id, t_id, note FROM u`, [{ id: n, t_id: o, note: 'new' }]],
  },
  'add-column': {
    v1: { 't.sql': T('id int PRIMARY KEY, a text') },
    v2: {
      't.sql': T('id int PRIMARY KEY, a text, b text NOT NULL'),
      't.expand.yaml': 'columns:\n  b: { up: "upper(a)" }\n',
    },
    writeOld: (o) => `INSERT INTO t VALUES (${o}, 'q')`,
    writeNew: (_o, n) => `INSERT INTO t (id, a, b) VALUES (${n}, 'r', 'own')`,
    reads: (o, n) => [
      ['new', `SELECT b FROM t WHERE id IN (1, ${o}) ORDER BY id`, [{ b: 'SEED' }, { b: 'Q' }]],
      ['old', `SELECT a FROM t WHERE id = ${n}`, [{ a: 'r' }]],
    ],
    after: (o, n) => [`SELECT b FROM t WHERE id IN (${o}, ${n}) ORDER BY id`, [{ b: 'Q' }, { b: 'own' }]],
  },
  'alter-column-type': {
    v1: { 't.sql': T('id int PRIMARY KEY, a int') },
    v2: { 't.sql': T('id int PRIMARY KEY, a bigint') },
    writeOld: (o) => `INSERT INTO t VALUES (${o}, 5)`,
    writeNew: (_o, n) => `INSERT INTO t VALUES (${n}, 7)`,
    reads: (o, n) => [
      ['new', `SELECT a, pg_typeof(a)::text AS type FROM t WHERE id = ${o}`, [{ a: '5', type: 'bigint' }]],
      ['old', `SELECT a, pg_typeof(a)::text AS type FROM t WHERE id = ${n}`, [{ a: 7, type: 'integer' }]],
    ],
    after: (o, n) => [`SELECT a FROM t WHERE id IN (${o}, ${n}) ORDER BY id`, [{ a: '5' }, { a: '7' }]],
  },
  'alter-column-nullability': {
    v1: { 't.sql': T('id int PRIMARY KEY, a text') },
    v2: {
      't.sql': T('id int PRIMARY KEY, a text NOT NULL'),
      't.expand.yaml': `columns:\n  a: { up: "COALESCE(a, 'none')" }\n`,
    },
    writeOld: (o) => `INSERT INTO t VALUES (${o}, NULL)`,
    writeNew: (_o, n) => `INSERT INTO t VALUES (${n}, 'x')`,
    reads: (o, n) => [
      ['new', `SELECT a FROM t WHERE id = ${o}`, [{ a: 'none' }]],
      ['old', `SELECT a FROM t WHERE id = ${n}`, [{ a: 'x' }]],
    ],
    refused: () => [['new', 'INSERT INTO t VALUES (99, NULL)', /_dbee_nn_a/]],
    after: (o) => [`SELECT a FROM t WHERE id IN (1, ${o}) ORDER BY id`, [{ a: 'none' }, { a: 'none' }]],
  },
  'alter-column-default': {
    // A default changes with a column the strategy shadows (on a column that stays, it is refused).
    v1: { 't.sql': T('id int PRIMARY KEY, a int DEFAULT 1') },
    v2: { 't.sql': T('id int PRIMARY KEY, a bigint DEFAULT 2') },
    writeOld: (o) => `INSERT INTO t (id) VALUES (${o})`,
    writeNew: (_o, n) => `INSERT INTO t (id) VALUES (${n})`,
    reads: (o, n) => [
      [
        'new',
        `SELECT id, a FROM t WHERE id IN (${o}, ${n}) ORDER BY id`,
        [
          { id: o, a: '1' },
          { id: n, a: '2' },
        ],
      ],
      ['old', `SELECT a FROM t WHERE id = ${n}`, [{ a: 2 }]],
    ],
  },
  'rename-column': {
    v1: { 't.sql': T('id int PRIMARY KEY, a text') },
    v2: { 't.sql': T('id int PRIMARY KEY, b text') },
    renames: '{ kind: column, schema: S, table: t, from: a, to: b }',
    writeOld: (o) => `INSERT INTO t VALUES (${o}, 'old')`,
    writeNew: (_o, n) => `INSERT INTO t (id, b) VALUES (${n}, 'new')`,
    reads: (o, n) => [
      ['new', `SELECT b FROM t WHERE id = ${o}`, [{ b: 'old' }]],
      ['old', `SELECT a FROM t WHERE id = ${n}`, [{ a: 'new' }]],
    ],
    after: (o, n) => [`SELECT b FROM t WHERE id IN (${o}, ${n}) ORDER BY id`, [{ b: 'old' }, { b: 'new' }]],
  },
  'drop-column': {
    v1: { 't.sql': T('id int PRIMARY KEY, a text, gone text') },
    v2: { 't.sql': T('id int PRIMARY KEY, a text'), 't.expand.yaml': `columns:\n  gone: { down: "'from new'" }\n` },
    writeOld: (o) => `INSERT INTO t VALUES (${o}, 'x', 'g')`,
    writeNew: (_o, n) => `INSERT INTO t VALUES (${n}, 'y')`,
    reads: (o, n) => [
      ['new', `SELECT * FROM t WHERE id = ${o}`, [{ id: o, a: 'x' }]],
      ['old', `SELECT gone FROM t WHERE id = ${n}`, [{ gone: 'from new' }]],
    ],
    after: (o) => [`SELECT * FROM t WHERE id = ${o}`, [{ id: o, a: 'x' }]],
  },
  'add-constraint': {
    v1: { 't.sql': T('id int PRIMARY KEY, a int') },
    v2: {
      't.sql': T('id int PRIMARY KEY, a int CONSTRAINT t_a_positive CHECK (a > 0), CONSTRAINT t_a_key UNIQUE (a)'),
    },
    writeOld: (o) => `INSERT INTO t VALUES (${o}, ${o})`,
    writeNew: (_o, n) => `INSERT INTO t VALUES (${n}, ${n})`,
    reads: (o, n) => [['old', `SELECT a FROM t WHERE id IN (${o}, ${n}) ORDER BY id`, [{ a: o }, { a: n }]]],
    refused: (o) => [
      ['old', 'INSERT INTO t VALUES (98, 0)', /t_a_positive/],
      ['new', `INSERT INTO t VALUES (99, ${o})`, /t_a_key/],
    ],
  },
  'drop-constraint': {
    // Carried as half of a rename: the same CHECK under another name.
    v1: { 't.sql': T('id int PRIMARY KEY, a int CONSTRAINT t_a_check CHECK (a > 0)') },
    v2: { 't.sql': T('id int PRIMARY KEY, a int CONSTRAINT t_a_positive CHECK (a > 0)') },
    writeOld: (o) => `INSERT INTO t VALUES (${o}, 1)`,
    writeNew: (_o, n) => `INSERT INTO t VALUES (${n}, 2)`,
    reads: (o, n) => [['old', `SELECT a FROM t WHERE id IN (${o}, ${n}) ORDER BY id`, [{ a: 1 }, { a: 2 }]]],
    refused: () => [['new', 'INSERT INTO t VALUES (99, 0)', /t_a_check/]],
  },
  'rename-table': {
    v1: { 't.sql': T('id int PRIMARY KEY, a text') },
    v2: { 't.sql': '', 't2.sql': 'CREATE TABLE S.t2 (id int PRIMARY KEY, a text);' },
    renames: '{ kind: table, schema: S, from: t, to: t2 }',
    writeOld: (o) => `INSERT INTO t VALUES (${o}, 'old')`,
    writeNew: (_o, n) => `INSERT INTO t2 VALUES (${n}, 'new')`,
    reads: (o, n) => [
      ['new', `SELECT a FROM t2 WHERE id = ${o}`, [{ a: 'old' }]],
      ['old', `SELECT a FROM t WHERE id = ${n}`, [{ a: 'new' }]],
    ],
    after: (o, n) => [`SELECT a FROM t2 WHERE id IN (${o}, ${n}) ORDER BY id`, [{ a: 'old' }, { a: 'new' }]],
  },
};

/** The project (and schema) of a kind: `k_add_column`. */
const schemaOf = (kind: string) => `k_${kind.replace(/-/g, '_')}`;
const inSchema = (text: string, schema: string) => text.replace(/\bS\b/g, schema);

/**
 * The structure of a schema as text, its name written `S`: columns (type, NOT NULL, default), constraints (definition,
 * validated), indexes and triggers, sorted (a swapped column's position is no difference).
 */
const STRUCTURE = `SELECT coalesce(string_agg(replace(x, $1 || '.', 'S.'), E'\\n' ORDER BY x), '') AS s FROM (
  SELECT format('column %s.%s %s %s %s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
      pg_get_expr(d.adbin, d.adrelid)) AS x
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE n.nspname = $1 AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL SELECT format('constraint %s.%s %s %s', c.relname, k.conname, pg_get_constraintdef(k.oid), k.convalidated)
    FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = $1
  UNION ALL SELECT format('index %s', indexdef) FROM pg_indexes WHERE schemaname = $1
  UNION ALL SELECT format('trigger %s.%s', c.relname, t.tgname)
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = $1 AND NOT t.tgisinternal) q`;

describe('expand/contract: each change kind, expand → abort, expand → complete, with both versions writing', () => {
  const kinds = Object.keys(EXPAND_RULES) as ExpandKind[];
  const files: Record<string, string> = {
    'dbee.yaml':
      'version: 1\ndefaultEnvironment: server\nenvironments:\n  server:\n    engine: postgres\n    connection: { url: "${KINDS_URL}" }\n',
  };
  for (const kind of kinds) {
    const s = schemaOf(kind);
    files[`${s}/db.yaml`] = `version: 1\nname: ${s}\nengine: postgres\nschemas: [${s}]\n`;
    files[`${s}/schema.sql`] = `CREATE SCHEMA ${s};`;
    for (const [f, text] of Object.entries(CASES[kind].v1)) files[`${s}/${f}`] = inSchema(text, s);
  }
  const w = tempWorkspace(files);
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let client: Client;
  const dbee = (command: 'deploy' | 'complete' | 'abort', project: string, extra: Record<string, unknown> = {}) =>
    run(w.root, command, { project, env: 'server', ...extra }, { KINDS_URL: db.url });
  const q = async (sql: string, params: unknown[] = []) => (await client.query(sql, params)).rows;
  const structure = async (schema: string) => (await q(STRUCTURE, [schema]))[0]!.s as string;
  /** A statement run as a version of the application: the old one (`<schema>_v0`) or release `release`'s. */
  const as = async (who: 'old' | 'new', schema: string, release: string, sql: string) => {
    const c = new Client({ connectionString: db.url });
    await c.connect();
    try {
      if (who === 'new') await c.query(`SET dbee.version = '${release}'`);
      await c.query(`SET search_path = ${schema}_v${who === 'old' ? '0' : release}, ${schema}`);
      return (await c.query(sql)).rows;
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    db = await scratchDatabase('dbee_kinds');
    client = new Client({ connectionString: db.url });
    await client.connect();
    for (const kind of kinds) {
      const s = schemaOf(kind);
      const deployed = await dbee('deploy', s);
      expect(deployed.stderr).toBe('');
      expect(deployed.code).toBe(0);
      await q(`INSERT INTO ${s}.t (id) VALUES (1)`);
      if (kind === 'add-column') await q(`UPDATE ${s}.t SET a = 'seed'`);
      if (kind === 'drop-constraint') await q(`UPDATE ${s}.t SET a = 3`);
    }
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
    w.remove();
  });

  /** One release expanded, both versions writing and reading (rows `o` and `n`), then ended by `end`. */
  const release = async (kind: ExpandKind, name: string, o: number, n: number) => {
    const s = schemaOf(kind);
    const c = CASES[kind];
    const expanded = await dbee('deploy', s, { strategy: 'expand-contract', release: name });
    expect(expanded.stderr).toBe('');
    expect(expanded.code).toBe(0);
    await as('old', s, name, c.writeOld(o));
    await as('new', s, name, c.writeNew(o, n));
    for (const [who, sql, rows] of c.reads(o, n)) expect(await as(who, s, name, sql), `${who}: ${sql}`).toEqual(rows);
    for (const [who, sql, error] of c.refused?.(o, n) ?? [])
      await expect(as(who, s, name, sql), `${who}: ${sql}`).rejects.toThrow(error);
  };
  const phaseOf = async (s: string, name: string) =>
    (await q('SELECT phase FROM dbee.expand_releases WHERE project = $1 AND release = $2', [s, name]))[0]?.phase;
  const leftOver = async (s: string, name: string) =>
    q(
      `SELECT nspname AS name FROM pg_namespace WHERE nspname = $1
       UNION ALL SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = 'dbee' AND proname LIKE 'expand_sync_%'`,
      [`${s}_v${name}`],
    );

  it.each(kinds)('%s', async (kind) => {
    const s = schemaOf(kind);
    const c = CASES[kind];
    const before = await structure(s);
    for (const [f, text] of Object.entries(c.v2)) w.write(`${s}/${f}`, inSchema(text, s));
    if (c.renames) w.write(`${s}/db.yaml`, `${files[`${s}/db.yaml`]}renames:\n  - ${inSchema(c.renames, s)}\n`);

    await release(kind, 'a', 2, 3);
    const aborted = await dbee('abort', s);
    expect(aborted.code, aborted.stderr).toBe(0);
    expect(await structure(s)).toBe(before);
    expect(await leftOver(s, 'a')).toEqual([]);
    expect(await phaseOf(s, 'a')).toBe('aborted');

    await release(kind, 'c', 12, 13);
    const completed = await dbee('complete', s);
    expect(completed.code, completed.stderr).toBe(0);
    // The new shape as the sources make it directly, in a schema of its own.
    const ref = `${s}_ref`;
    await q(`CREATE SCHEMA ${ref}`);
    for (const text of Object.values({ ...c.v1, ...c.v2 })) if (text.startsWith('CREATE')) await q(inSchema(text, ref));
    expect(await structure(s)).toBe(await structure(ref));
    expect(await leftOver(s, '0')).toEqual([]);
    expect(await phaseOf(s, 'c')).toBe('done');
    if (c.after) {
      const [sql, rows] = c.after(12, 13);
      await q(`SET search_path = ${s}`);
      expect(await q(sql), sql).toEqual(rows);
    }
  });
});
