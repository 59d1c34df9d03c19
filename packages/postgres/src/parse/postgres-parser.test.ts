import { DbeeError, type ParsedStatement, type Reference } from '@dbee/core';
import { describe, expect, it } from 'vitest';
import { PostgresParser } from './postgres-parser';

const parser = new PostgresParser();
const FILE = 'db/sales/objects.sql';

function parse(text: string, searchPath = ['app']): Promise<ParsedStatement[]> {
  return parser.parse(text, FILE, { searchPath });
}

async function one(text: string, searchPath = ['app']): Promise<ParsedStatement> {
  const statements = await parse(text, searchPath);
  expect(statements).toHaveLength(1);
  return statements[0]!;
}

/** References without their locations, for assertions on what is referenced. */
function refs(statement: ParsedStatement): Omit<Reference, 'location'>[] {
  return statement.references.map(({ location: _location, ...rest }) => rest);
}

async function syntaxError(text: string): Promise<DbeeError> {
  const error = await parse(text).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DbeeError);
  expect((error as DbeeError).code).toBe('SQL_SYNTAX');
  return error as DbeeError;
}

describe('statements and locations', () => {
  it('gives each statement its exact text and the position of its first token', async () => {
    const text = [
      '-- the orders table',
      'create table s.orders (id int);',
      '',
      '/* a view */  create view s.v as',
      '  select id from s.orders ;  -- after',
      'select 1 -- no semicolon at the end',
      '',
    ].join('\n');
    const statements = await parse(text);
    expect(statements.map((s) => [s.sql, s.location])).toEqual([
      ['create table s.orders (id int)', { file: FILE, line: 2, column: 1 }],
      ['create view s.v as\n  select id from s.orders', { file: FILE, line: 4, column: 15 }],
      ['select 1', { file: FILE, line: 6, column: 1 }],
    ]);
  });

  it('converts byte offsets to lines and columns after multi-byte characters', async () => {
    const text = "-- café ☕ 😀\nselect 'é' as x; /* ü */ create table t (name text default 'ü');";
    const statements = await parse(text);
    expect(statements.map((s) => [s.sql, s.location])).toEqual([
      ["select 'é' as x", { file: FILE, line: 2, column: 1 }],
      ["create table t (name text default 'ü')", { file: FILE, line: 2, column: 26 }],
    ]);
  });

  it('ignores a byte-order mark', async () => {
    const [s] = await parse('\uFEFFcreate table t (a int);');
    expect([s!.sql, s!.location]).toEqual(['create table t (a int)', { file: FILE, line: 1, column: 1 }]);
  });

  it('returns nothing for a file of comments', async () => {
    expect(await parse('-- nothing here\n/* at all */\n')).toEqual([]);
    expect(await parse('')).toEqual([]);
  });
});

describe('syntax errors', () => {
  it('reports the parser message with the line and column of the error', async () => {
    const error = await syntaxError('create table a (id int);\n\ncreate tabel b (id int);');
    expect(error.message).toContain('syntax error at or near "tabel"');
    expect(error.location).toEqual({ file: FILE, line: 3, column: 8 });
  });

  it('counts columns in characters after multi-byte text', async () => {
    const error = await syntaxError("-- é😀\nselect 'ü', 'é' frm t;");
    expect(error.message).toContain('syntax error at or near "t"');
    expect(error.location).toEqual({ file: FILE, line: 2, column: 21 });
  });

  it('checks PL/pgSQL bodies and points at the line of the error', async () => {
    const text = [
      'create function s.f() returns int language plpgsql as $$', // line 1
      'declare',
      '  n int;',
      'begin',
      '  n := 1;',
      '  selec n;', // line 6
      '  return n;',
      'end $$;',
    ].join('\n');
    const error = await syntaxError(text);
    expect(error.message).toContain('syntax error at or near "selec"');
    expect(error.message).toContain('function s.f');
    expect(error.location).toEqual({ file: FILE, line: 6, column: 3 });
  });

  it('finds the line of an error in SQL inside a PL/pgSQL body', async () => {
    const text =
      '-- é\ncreate function s.f() returns void language plpgsql as $body$\nbegin\n  perform 1;\n  insert into s.t values (1,, 2);\nend\n$body$;';
    const error = await syntaxError(text);
    expect(error.message).toContain('syntax error at or near ","');
    expect(error.location).toMatchObject({ file: FILE, line: 5 });
  });

  it('reports a PL/pgSQL body that ends too early at its end', async () => {
    const error = await syntaxError(
      'create function s.f() returns int language plpgsql as $$\nbegin\n  if true then\n    return 1;\nend $$;',
    );
    expect(error.message).toContain('at end of input');
    expect(error.location).toEqual({ file: FILE, line: 5, column: 4 });
  });

  it('checks string bodies of SQL functions', async () => {
    const error = await syntaxError(
      'select 1;\ncreate function s.f() returns int language sql as $$\n  select 1 frm s.t\n$$;',
    );
    expect(error.message).toContain('syntax error at or near "s"');
    expect(error.location).toEqual({ file: FILE, line: 3, column: 16 });
  });
});

describe('object keys and actions', () => {
  const cases: [string, ParsedStatement['key'], ParsedStatement['action']][] = [
    ['create schema sales', { kind: 'schema', schema: '', name: 'sales' }, 'create'],
    ['create extension if not exists pgcrypto', { kind: 'extension', schema: '', name: 'pgcrypto' }, 'create'],
    ['create table s.t (id int)', { kind: 'table', schema: 's', name: 't' }, 'create'],
    ['create table t (id int)', { kind: 'table', schema: 'app', name: 't' }, 'create'],
    [
      'create table s.t_2024 partition of s.t for values from (1) to (2)',
      { kind: 'table', schema: 's', name: 't_2024' },
      'create',
    ],
    ['create table s.copy as select * from s.t', { kind: 'table', schema: 's', name: 'copy' }, 'create'],
    ['create view s.v as select 1', { kind: 'view', schema: 's', name: 'v' }, 'create'],
    ['create or replace view s.v as select 1', { kind: 'view', schema: 's', name: 'v' }, 'create-or-replace'],
    ['create materialized view s.mv as select 1', { kind: 'materialized-view', schema: 's', name: 'mv' }, 'create'],
    [
      'create procedure s.p(inout x int, variadic y text[]) language sql as $$ select 1 $$',
      { kind: 'procedure', schema: 's', name: 'p', args: ['integer', 'text[]'] },
      'create',
    ],
    [
      'create aggregate s.total(numeric) (sfunc = numeric_add, stype = numeric)',
      { kind: 'aggregate', schema: 's', name: 'total', args: ['numeric'] },
      'create',
    ],
    [
      'create trigger trg after insert on s.t for each row execute function s.f()',
      { kind: 'trigger', schema: 's', name: 'trg', parent: 's.t' },
      'create',
    ],
    [
      'create or replace trigger trg after insert on t for each row execute function f()',
      { kind: 'trigger', schema: 'app', name: 'trg', parent: 'app.t' },
      'create-or-replace',
    ],
    ['create index t_a on s.t (a)', { kind: 'index', schema: 's', name: 't_a', parent: 's.t' }, 'create'],
    ['create unique index on s.t (a, b)', { kind: 'index', schema: 's', name: 't_a_b_idx', parent: 's.t' }, 'create'],
    [
      'create index on s.t ((lower(name)), (a + 1))',
      { kind: 'index', schema: 's', name: 't_lower_expr_idx', parent: 's.t' },
      'create',
    ],
    ['create sequence s.seq', { kind: 'sequence', schema: 's', name: 'seq' }, 'create'],
    ["create type s.mood as enum ('ok', 'sad')", { kind: 'type', schema: 's', name: 'mood' }, 'create'],
    ['create type s.pair as (a int, b int)', { kind: 'type', schema: 's', name: 'pair' }, 'create'],
    ['create type s.span as range (subtype = float8)', { kind: 'type', schema: 's', name: 'span' }, 'create'],
    [
      "create domain s.email as text check (value like '%@%')",
      { kind: 'domain', schema: 's', name: 'email' },
      'create',
    ],
    ['create policy own on s.t using (true)', { kind: 'policy', schema: 's', name: 'own', parent: 's.t' }, 'create'],
    ['alter table s.t add column c int', { kind: 'table', schema: 's', name: 't' }, 'alter'],
    // A trigger's enabled state, written after its CREATE TRIGGER (extract does so): the trigger's, run once it exists.
    ['alter table s.t disable trigger trg', { kind: 'trigger', schema: 's', name: 'trg', parent: 's.t' }, 'alter'],
    [
      'alter table t enable replica trigger trg',
      { kind: 'trigger', schema: 'app', name: 'trg', parent: 'app.t' },
      'alter',
    ],
    ['alter table s.t disable trigger all', { kind: 'table', schema: 's', name: 't' }, 'alter'],
    ['alter sequence s.seq restart', { kind: 'sequence', schema: 's', name: 'seq' }, 'alter'],
    ['alter view s.v rename to w', { kind: 'view', schema: 's', name: 'v' }, 'alter'],
    ['alter view s.v owner to app', { kind: 'view', schema: 's', name: 'v' }, 'alter'],
    [
      'alter function s.f(int8) security definer',
      { kind: 'function', schema: 's', name: 'f', args: ['bigint'] },
      'alter',
    ],
    ["comment on column s.t.c is 'x'", { kind: 'table', schema: 's', name: 't' }, 'comment'],
    [
      "comment on function s.f(int, out text) is 'x'",
      { kind: 'function', schema: 's', name: 'f', args: ['integer'] },
      'comment',
    ],
    ["comment on trigger trg on s.t is 'x'", { kind: 'trigger', schema: 's', name: 'trg', parent: 's.t' }, 'comment'],
    ["comment on schema sales is 'x'", { kind: 'schema', schema: '', name: 'sales' }, 'comment'],
    ['grant select on s.t to reader', { kind: 'table', schema: 's', name: 't' }, 'grant'],
    [
      'revoke execute on function s.f(text) from public',
      { kind: 'function', schema: 's', name: 'f', args: ['text'] },
      'grant',
    ],
    ['grant usage on schema s to reader', { kind: 'schema', schema: '', name: 's' }, 'grant'],
    ['drop table if exists s.t', { kind: 'table', schema: 's', name: 't' }, 'drop'],
    [
      'drop function s.f(int, varchar(3))',
      { kind: 'function', schema: 's', name: 'f', args: ['integer', 'character varying'] },
      'drop',
    ],
    ['drop trigger trg on s.t', { kind: 'trigger', schema: 's', name: 'trg', parent: 's.t' }, 'drop'],
    ['set search_path = s', null, 'other'],
    ['insert into s.t values (1)', null, 'other'],
    ['do $$ begin perform 1; end $$', null, 'other'],
  ];
  it.each(cases)('%s', async (sql, key, action) => {
    const s = await one(sql);
    expect(s.key).toEqual(key);
    expect(s.action).toBe(action);
  });

  it('normalises routine argument types to what PostgreSQL prints, without OUT arguments', async () => {
    const s = await one(
      'create function f(a int, b varchar(10), out c text) returns text language sql as $$ select b $$',
    );
    expect(s.key).toEqual({ kind: 'function', schema: 'app', name: 'f', args: ['integer', 'character varying'] });
    const all = await one(
      'create function s.g(int4, integer, int8, bigint, int2, bool, char(3), float8, double precision, float4, real,' +
        ' numeric(10,2), timestamptz, timestamp, timetz, time, int[], text, jsonb, uuid, date, bytea, sales.money_t,' +
        ' money_t, "char", varchar[], timestamp(3) with time zone) returns void language sql as $$ $$',
    );
    expect(all.key?.args).toEqual([
      'integer',
      'integer',
      'bigint',
      'bigint',
      'smallint',
      'boolean',
      'character',
      'double precision',
      'double precision',
      'real',
      'real',
      'numeric',
      'timestamp with time zone',
      'timestamp without time zone',
      'time with time zone',
      'time without time zone',
      'integer[]',
      'text',
      'jsonb',
      'uuid',
      'date',
      'bytea',
      'sales.money_t',
      'app.money_t',
      '"char"',
      'character varying[]',
      'timestamp with time zone',
    ]);
  });

  it('qualifies unqualified objects with the first schema of the search path', async () => {
    const statements = await parse(
      'create table orders (id int); create index on orders (id); create view v as select 1',
      ['sales', 'public'],
    );
    expect(statements.map((s) => s.key)).toEqual([
      { kind: 'table', schema: 'sales', name: 'orders' },
      { kind: 'index', schema: 'sales', name: 'orders_id_idx', parent: 'sales.orders' },
      { kind: 'view', schema: 'sales', name: 'v' },
    ]);
  });
});

describe('references', () => {
  it('finds the relations of a view on views, through joins, subqueries, EXISTS and LATERAL', async () => {
    const s = await one(`create view s.report as
      select o.id, c.name, x.n
      from s.orders o
      join crm.customers c on c.id = o.customer_id
      left join lateral (select count(*) n from s.lines l where l.order_id = o.id) x on true
      where exists (select 1 from s.flags f where f.id = o.id)
        and o.id in (select id from s.orders_v)`);
    expect(refs(s)).toEqual([
      { kind: 'relation', schema: 's', name: 'orders', via: 'view' },
      { kind: 'relation', schema: 'crm', name: 'customers', via: 'view' },
      { kind: 'relation', schema: 's', name: 'lines', via: 'view' },
      { kind: 'relation', schema: 's', name: 'flags', via: 'view' },
      { kind: 'relation', schema: 's', name: 'orders_v', via: 'view' },
    ]);
    expect(s.references[1]!.location).toEqual({ file: FILE, line: 4, column: 12 });
  });

  it('does not treat common table expressions as relations, but keeps unqualified tables', async () => {
    const s = await one(`create view v as
      with recent as (select * from orders where created > now() - interval '1 day'),
           big as (select * from recent where total > 100)
      select * from big join customers using (customer_id)`);
    expect(refs(s)).toEqual([
      { kind: 'relation', name: 'customers', via: 'view' },
      { kind: 'relation', name: 'orders', via: 'view' },
    ]);
  });

  it('finds a function used by a view and by a column default', async () => {
    const [view, table] = await parse(
      'create view s.v as select s.price_of(id) from s.items;\ncreate table s.t (id int, price numeric default s.price_of(0), code text check (s.valid(code)));',
    );
    expect(refs(view!)).toEqual([
      { kind: 'function', schema: 's', name: 'price_of', via: 'view' },
      { kind: 'relation', schema: 's', name: 'items', via: 'view' },
    ]);
    expect(refs(table!)).toEqual([
      { kind: 'function', schema: 's', name: 'price_of', via: 'default' },
      { kind: 'function', schema: 's', name: 'valid', via: 'check' },
    ]);
    expect(table!.references[0]!.location).toEqual({ file: FILE, line: 2, column: 49 });
  });

  it('reads PL/pgSQL bodies: queries, expressions, assignments and declared row types', async () => {
    const text = [
      'create function s.refresh(p_id int) returns int language plpgsql as $$', // 1
      'declare',
      '  r s.orders%rowtype;', // 3
      '  n int := (select count(*) from s.lines);', // 4
      '  m s.money_t;', // 5
      'begin',
      '  select * into r from s.orders where id = p_id;', // 7
      '  perform s.log_it(p_id);', // 8
      '  n := n + s.bonus(p_id);', // 9
      '  if s.is_open(p_id) then', // 10
      '    update s.totals set n = n + 1;', // 11
      '  end if;',
      "  execute 'select * from s.hidden';",
      '  return n;',
      'end $$;',
    ].join('\n');
    const s = await one(text);
    expect(refs(s)).toEqual([
      { kind: 'relation', schema: 's', name: 'orders', via: 'body' },
      { kind: 'type', schema: 's', name: 'money_t', via: 'body' },
      { kind: 'relation', schema: 's', name: 'lines', via: 'body' },
      { kind: 'function', schema: 's', name: 'log_it', via: 'body' },
      { kind: 'function', schema: 's', name: 'bonus', via: 'body' },
      { kind: 'function', schema: 's', name: 'is_open', via: 'body' },
      { kind: 'relation', schema: 's', name: 'totals', via: 'body' },
    ]);
    const at = (name: string) => s.references.find((r) => r.name === name)!.location;
    expect(at('orders')).toEqual({ file: FILE, line: 3, column: 5 });
    expect(at('lines')).toEqual({ file: FILE, line: 4, column: 34 });
    expect(at('log_it')).toEqual({ file: FILE, line: 8, column: 11 });
    expect(at('bonus')).toEqual({ file: FILE, line: 9, column: 12 });
    expect(at('is_open')).toEqual({ file: FILE, line: 10, column: 6 });
    expect(at('totals')).toEqual({ file: FILE, line: 11, column: 12 });
  });

  it('accepts fields of %ROWTYPE variables, which libpg-query cannot resolve without a catalog', async () => {
    const s = await one(
      'create function s.f() returns numeric language plpgsql as $$\ndeclare r s.t%rowtype;\nbegin\n  r.total := s.zero();\n  return r.total;\nend $$',
    );
    // Compiled as `r s.t`: a type reference, which the graph resolves to the table as well.
    expect(refs(s)).toEqual([
      { kind: 'type', schema: 's', name: 't', via: 'body' },
      { kind: 'function', schema: 's', name: 'zero', via: 'body' },
    ]);
    expect(s.references[1]!.location).toEqual({ file: FILE, line: 4, column: 14 });
    const error = await syntaxError(
      'create function s.f() returns int language plpgsql as $$\ndeclare n int;\nbegin\n  n.total := 1;\n  return n;\nend $$',
    );
    expect(error.message).toContain('"n.total" is not a known variable');
    expect(error.location).toEqual({ file: FILE, line: 4, column: 3 });
  });

  it("accepts arrays of the schema's own types as a PL/pgSQL result, which libpg-query takes for record[]", async () => {
    // Issue 88 failure 5: "PL/pgSQL functions cannot return type record[]" for what PostgreSQL accepts.
    for (const [head, ret] of [
      ['create function s.f() returns s.e[]', 'return r;'],
      ['create function s.f() returns setof s.e array', 'return next r;'],
      ['create function s.f(out a s.e[3], out b int)', 'return;'],
      ['create function s.f(d int[] default array[1, 2]) returns table (a s.e[], b int)', 'return;'],
    ]) {
      const s = await one(
        `${head} language plpgsql as $$\ndeclare r s.e[];\nbegin\n  r := s.all_e();\n  ${ret}\nend $$`,
      );
      expect(
        refs(s).map((r) => `${r.kind} ${r.schema}.${r.name}`),
        head,
      ).toEqual(['type s.e', 'function s.all_e']);
      expect(s.references.find((r) => r.name === 'all_e')!.location).toEqual({ file: FILE, line: 4, column: 8 });
    }
    // A body PL/pgSQL refuses is still refused, at its line.
    const error = await syntaxError(
      'create function s.f() returns s.e[] language plpgsql as $$\nbegin\n  n.total := 1;\nend $$',
    );
    expect(error.message).toContain('"n.total" is not a known variable');
    expect(error.location?.line).toBe(3);
  });

  it('reads string bodies of SQL functions with exact locations', async () => {
    const s = await one(
      'create function s.total(p int) returns numeric language sql stable as $$\n  select sum(amount) from s.lines where order_id = p and s.ok(p)\n$$',
    );
    expect(refs(s)).toEqual([
      { kind: 'relation', schema: 's', name: 'lines', via: 'body' },
      { kind: 'function', schema: 's', name: 'ok', via: 'body' },
    ]);
    expect(s.references[0]!.location).toEqual({ file: FILE, line: 2, column: 27 });
  });

  it('reads BEGIN ATOMIC and RETURN bodies', async () => {
    const [atomic, ret] = await parse(
      'create function s.n() returns bigint language sql begin atomic select count(*) from s.orders; end;\n' +
        'create function s.m(x int) returns int return s.n() + x;',
    );
    expect(refs(atomic!)).toEqual([{ kind: 'relation', schema: 's', name: 'orders', via: 'body' }]);
    expect(refs(ret!)).toEqual([{ kind: 'function', schema: 's', name: 'n', via: 'body' }]);
  });

  it('gives a trigger its table and its function', async () => {
    const s = await one(
      'create trigger audit after update on s.orders for each row when (s.changed(old, new)) execute function audit.log_change()',
    );
    expect(refs(s)).toEqual([
      { kind: 'relation', schema: 's', name: 'orders', via: 'trigger' },
      { kind: 'function', schema: 'audit', name: 'log_change', args: [], via: 'trigger' },
      { kind: 'function', schema: 's', name: 'changed', via: 'trigger' },
    ]);
  });

  it('marks foreign keys, at table and column level', async () => {
    const s = await one(
      'create table s.lines (id int, order_id int references s.orders (id), product_id int, foreign key (product_id) references catalog.products)',
    );
    expect(refs(s)).toEqual([
      { kind: 'relation', schema: 's', name: 'orders', via: 'foreign key', foreignKey: true },
      { kind: 'relation', schema: 'catalog', name: 'products', via: 'foreign key', foreignKey: true },
    ]);
  });

  it('finds user types in columns, casts, domains and composite types, not built-in ones', async () => {
    const [table, view, domain, composite] = await parse(
      'create table s.t (a int, b text, status core.order_status, tags core.tag[], c pg_catalog.int4, d information_schema.sql_identifier);\n' +
        "create view s.v as select 'happy'::core.mood, cast(1 as s.small), 2::int, 'x'::text;\n" +
        'create domain s.d as core.base;\n' +
        'create type s.c as (x core.base, y int)',
    );
    expect(refs(table!)).toEqual([
      { kind: 'type', schema: 'core', name: 'order_status', via: 'column type' },
      { kind: 'type', schema: 'core', name: 'tag', via: 'column type' },
    ]);
    expect(refs(view!)).toEqual([
      { kind: 'type', schema: 'core', name: 'mood', via: 'view' },
      { kind: 'type', schema: 's', name: 'small', via: 'view' },
    ]);
    expect(refs(domain!)).toEqual([{ kind: 'type', schema: 'core', name: 'base', via: 'base type' }]);
    expect(refs(composite!)).toEqual([{ kind: 'type', schema: 'core', name: 'base', via: 'attribute type' }]);
  });

  it('reads the sequence of nextval() in a default, and OWNED BY', async () => {
    const [table, seq] = await parse(
      "create table s.t (id bigint default nextval('core.order_seq'), n int default nextval('\"Odd\".seq'::regclass));\n" +
        'create sequence s.order_seq owned by s.t.id;',
    );
    expect(refs(table!)).toEqual([
      { kind: 'sequence', schema: 'core', name: 'order_seq', via: 'default' },
      { kind: 'sequence', schema: 'Odd', name: 'seq', via: 'default' },
    ]);
    expect(table!.references[0]!.location).toEqual({ file: FILE, line: 1, column: 45 });
    expect(refs(seq!)).toEqual([{ kind: 'relation', schema: 's', name: 't', via: 'owned by' }]);
  });

  it('names the sequences serial columns make, as PostgreSQL names them (cut to 63 bytes)', async () => {
    const long = 'a'.repeat(40);
    const [table, added] = await parse(
      `create table s.t (id serial, n bigserial, m pg_catalog.serial4, k int);\nalter table s.${long} add column ${'b'.repeat(30)} smallserial;`,
    );
    expect(table!.serialSequences).toEqual(['t_id_seq', 't_n_seq', 't_m_seq']);
    // makeObjectName: the longer of the two names is cut first until the whole fits 63 bytes.
    expect(added!.serialSequences).toEqual([`${'a'.repeat(29)}_${'b'.repeat(29)}_seq`]);
  });

  it('gives an index its table and the functions of its expressions', async () => {
    const s = await one('create index on s.t (s.norm(name)) where s.active(id)');
    expect(refs(s)).toEqual([
      { kind: 'relation', schema: 's', name: 't', via: 'index' },
      { kind: 'function', schema: 's', name: 'norm', via: 'index' },
      { kind: 'function', schema: 's', name: 'active', via: 'index' },
    ]);
  });

  it('gives a policy its table and the functions and relations of its expressions', async () => {
    const s = await one(
      'create policy p on s.t using (s.can_see(owner)) with check (exists (select 1 from s.allowed))',
    );
    expect(refs(s)).toEqual([
      { kind: 'relation', schema: 's', name: 't', via: 'policy' },
      { kind: 'function', schema: 's', name: 'can_see', via: 'policy' },
      { kind: 'relation', schema: 's', name: 'allowed', via: 'policy' },
    ]);
  });

  it("refers a trigger's ALTER TABLE ... DISABLE TRIGGER to its table, not to every trigger of its name", async () => {
    // A reference names no table: it reached every trigger of that name, and eVaka's 23 set_timestamp made a cycle.
    expect(refs(await one('alter table s.t disable trigger set_timestamp'))).toEqual([
      { kind: 'relation', schema: 's', name: 't', via: 'trigger of' },
    ]);
  });

  it('makes COMMENT, GRANT and ALTER refer to their target', async () => {
    const [comment, grant, alter] = await parse(
      "comment on column s.t.c is 'x'; grant select on s.t, s.u to r; alter function s.f(int) owner to r;",
    );
    expect(refs(comment!)).toEqual([{ kind: 'relation', schema: 's', name: 't', via: 'comment' }]);
    expect(refs(grant!)).toEqual([
      { kind: 'relation', schema: 's', name: 't', via: 'grant' },
      { kind: 'relation', schema: 's', name: 'u', via: 'grant' },
    ]);
    expect(refs(alter!)).toEqual([{ kind: 'function', schema: 's', name: 'f', args: ['integer'], via: 'alter' }]);
  });

  it('skips system schemas and built-in functions, removes duplicates and references to the object itself', async () => {
    const s = await one(`create view s.v as
      select count(*), lower(name), pg_catalog.upper(name), s.f(1), s.f(2)
      from s.t join pg_catalog.pg_class c on true join information_schema.tables on true join pg_namespace on true
      join s.t t2 on true`);
    expect(refs(s)).toEqual([
      { kind: 'function', schema: 's', name: 'f', via: 'view' },
      { kind: 'relation', schema: 's', name: 't', via: 'view' },
    ]);
    const recursive = await one(
      'create function s.fact(n int) returns int language sql as $$ select case when n < 2 then 1 else n * s.fact(n - 1) end $$',
    );
    expect(recursive.references).toEqual([]);
  });

  it('reads DO blocks, CALL, trigger functions and single-quoted bodies', async () => {
    const [block, trigger, quoted] = await parse(
      'do $$ begin call s.rebuild(1); insert into s.log select * from s.src; end $$;\n' +
        'create function s.touch() returns trigger language plpgsql as $$ begin new.updated := s.clock(); return new; end $$;\n' +
        "create function s.q(a s.t.c%type) returns s.t language sql as 'select * from s.t where a = ''x'' and s.ok()';",
    );
    expect(refs(block!)).toEqual([
      { kind: 'function', schema: 's', name: 'rebuild', via: 'body' },
      { kind: 'relation', schema: 's', name: 'log', via: 'body' },
      { kind: 'relation', schema: 's', name: 'src', via: 'body' },
    ]);
    expect(refs(trigger!)).toEqual([{ kind: 'function', schema: 's', name: 'clock', via: 'body' }]);
    expect(refs(quoted!)).toEqual([
      { kind: 'relation', schema: 's', name: 't', via: 'argument type' },
      { kind: 'type', schema: 's', name: 't', via: 'return type' },
      { kind: 'function', schema: 's', name: 'ok', via: 'body' },
    ]);
    expect(quoted!.key).toEqual({ kind: 'function', schema: 's', name: 'q', args: ['s.t.c%type'] });
    // A body with escaped quotes is not verbatim in the file: its references point at the body's start.
    expect(quoted!.references[2]!.location).toEqual({ file: FILE, line: 3, column: 64 });
  });

  it('marks foreign keys added by ALTER TABLE', async () => {
    const s = await one(
      'alter table s.t add constraint fk foreign key (a) references s.u, add column b int references s.v',
    );
    expect(refs(s)).toEqual([
      { kind: 'relation', schema: 's', name: 't', via: 'alter' },
      { kind: 'relation', schema: 's', name: 'u', via: 'foreign key', foreignKey: true },
      { kind: 'relation', schema: 's', name: 'v', via: 'foreign key', foreignKey: true },
    ]);
    expect(s.deferrable).toBeUndefined();
  });

  it('collects the references of other statements, such as data changes in migrations', async () => {
    const s = await one("insert into s.t (a) select s.f(x) from s.src where x <> 'y'");
    expect(refs(s)).toEqual([
      { kind: 'relation', schema: 's', name: 't', via: 'statement' },
      { kind: 'function', schema: 's', name: 'f', via: 'statement' },
      { kind: 'relation', schema: 's', name: 'src', via: 'statement' },
    ]);
  });
});

describe('transactional', () => {
  const cases: [string, boolean][] = [
    ['create index concurrently i on s.t (a)', false],
    ['drop index concurrently s.i', false],
    ['reindex index concurrently s.i', false],
    ['vacuum s.t', false],
    ['analyze s.t', true],
    ['create database d', false],
    ['drop database d', false],
    ["alter system set work_mem = '64MB'", false],
    ["alter type s.mood add value 'meh'", false],
    ["alter type s.mood rename value 'a' to 'b'", true],
    ['alter table s.p detach partition s.p1 concurrently', false],
    ['create index i on s.t (a)', true],
    ['create table s.t (a int)', true],
  ];
  it.each(cases)('%s → %s', async (sql, transactional) => {
    expect((await one(sql)).transactional).toBe(transactional);
  });
});

describe('text search objects (issue 72)', () => {
  it('keys CREATE and ALTER TEXT SEARCH statements, and refers to what they are made of', async () => {
    const statements = await parse(
      `create text search dictionary plain (template = pg_catalog.simple, accept = false);
       create text search configuration app.english_unaccent (copy = pg_catalog.english);
       alter text search configuration app.english_unaccent alter mapping for hword, word with unaccent, app.plain, english_stem;
       alter text search dictionary app.plain (accept = true);
       comment on text search configuration app.english_unaccent is 'english without accents';
       drop text search dictionary app.old;`,
    );
    expect(statements.map((s) => [s.key, s.action])).toEqual([
      [{ kind: 'text-search-dictionary', schema: 'app', name: 'plain' }, 'create'],
      [{ kind: 'text-search-configuration', schema: 'app', name: 'english_unaccent' }, 'create'],
      [{ kind: 'text-search-configuration', schema: 'app', name: 'english_unaccent' }, 'alter'],
      [{ kind: 'text-search-dictionary', schema: 'app', name: 'plain' }, 'alter'],
      [{ kind: 'text-search-configuration', schema: 'app', name: 'english_unaccent' }, 'comment'],
      [{ kind: 'text-search-dictionary', schema: 'app', name: 'old' }, 'drop'],
    ]);
    // pg_catalog's template and configuration are the server's: no reference.
    expect(refs(statements[0]!)).toEqual([]);
    expect(refs(statements[1]!)).toEqual([]);
    expect(refs(statements[2]!)).toEqual([
      { kind: 'object', schema: 'app', name: 'english_unaccent', via: 'alter' },
      { kind: 'object', name: 'unaccent', via: 'text search dictionary' },
      { kind: 'object', schema: 'app', name: 'plain', via: 'text search dictionary' },
      { kind: 'object', name: 'english_stem', via: 'text search dictionary' },
    ]);
  });

  it('takes a regconfig literal and the configuration argument of the text search functions as references', async () => {
    const s = await one(
      `create function app.search(q text) returns setof int language sql stable
         begin atomic
           select id from app.docs
            where to_tsvector('app.english_unaccent'::regconfig, body) @@ websearch_to_tsquery('app.other', q)
              and to_tsvector(body) @@ to_tsquery(q)
              and ts_lexize('app.plain', q) is not null;
         end`,
    );
    expect(refs(s).filter((r) => r.via?.startsWith('text search'))).toEqual([
      { kind: 'object', schema: 'app', name: 'english_unaccent', via: 'text search configuration' },
      { kind: 'object', schema: 'app', name: 'other', via: 'text search configuration' },
      { kind: 'object', schema: 'app', name: 'plain', via: 'text search dictionary' },
    ]);
  });
});

describe('columns and aliases (for the editor)', () => {
  it("reads a table's columns from CREATE TABLE and ALTER TABLE, a view's output names, and the aliases", async () => {
    const statements = await parse(
      [
        'create table s.t (a int, b numeric(12,2) default 0, c timestamp(3) with time zone, d s.mood[],',
        '  primary key (a, c));',
        'alter table s.t add column e varchar(10) not null default now();',
        'create view s.v (x) as select t.a, b as bee, count(*), u.* from s.t t join s.u u using (a);',
        'create view s.w as select t.a, u.* from s.t t, s.u u;',
        'update s.t tt set a = 1 from s.u uu where uu.a = tt.a;',
      ].join('\n'),
    );
    const columns = statements.map((s) =>
      s.columns?.map((c) => [c.name, c.type, c.notNull, c.default, c.location.line, c.location.column]),
    );
    expect(columns).toEqual([
      [
        ['a', 'integer', true, undefined, 1, 19],
        ['b', 'numeric(12,2)', undefined, '0', 1, 26],
        ['c', 'timestamp(3) with time zone', true, undefined, 1, 53],
        ['d', 's.mood[]', undefined, undefined, 1, 84],
      ],
      [['e', 'character varying(10)', true, 'now()', 3, 28]],
      undefined,
      undefined,
      undefined,
    ]);
    expect(statements.map((s) => s.aliases)).toEqual([
      undefined,
      undefined,
      [
        { alias: 't', schema: 's', name: 't' },
        { alias: 'u', schema: 's', name: 'u' },
      ],
      [
        { alias: 't', schema: 's', name: 't' },
        { alias: 'u', schema: 's', name: 'u' },
      ],
      [
        { alias: 'tt', schema: 's', name: 't' },
        { alias: 'uu', schema: 's', name: 'u' },
      ],
    ]);
    const view = await one('create view s.v (x) as select t.a, b as bee, count(*) from s.t t');
    expect(view.columns?.map((c) => [c.name, c.location.column])).toEqual([
      ['x', 31],
      ['bee', 36],
      ['count', 46],
    ]);
  });
});
