import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { formatKey } from '../../packages/core/src/model/object-key';
import { changeObjectKey, type Change } from '../../packages/core/src/schema';
import { ENGINES, openScratch, type Scratch, convergeScratch } from './helpers';

const summary = (changes: Change[]) => changes.map((c) => `${c.kind} ${formatKey(changeObjectKey(c))}`);

/** Roles are shared by a server's databases: created once, concurrent-safe. */
const ROLES = `
DO $$ BEGIN CREATE ROLE dbee_t_app NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
DO $$ BEGIN CREATE ROLE dbee_t_admin NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;`;

describe.each(ENGINES)('changes the diff used not to see [%s]', (engine) => {
  let live: Scratch;
  let desired: Scratch;

  beforeAll(async () => {
    [live, desired] = await Promise.all([openScratch(engine), openScratch(engine)]);
    await live.conn.execute(ROLES);
    await desired.conn.execute(ROLES);
  });

  afterAll(async () => {
    await Promise.all([live, desired].filter(Boolean).map((s) => s.dispose()));
  });

  const converge = (schema: string, liveSql: string, desiredSql: string) =>
    convergeScratch(live, desired, schema, liveSql, desiredSql);

  const policies = (schema: string) =>
    live.conn.query<{ p: string }>(
      `select polname || ' ' || polcmd::text || ' ' || array_to_string(array(select case when r = 0 then 'public' else pg_get_userbyid(r) end from unnest(polroles) r order by 1), ',') || ' ' || coalesce(pg_get_expr(polqual, polrelid), '-') || ' ' || coalesce(pg_get_expr(polwithcheck, polrelid), '-') as p
         from pg_policy join pg_class c on c.oid = polrelid join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 order by 1`,
      [schema],
    );

  test('row-level security enabled and forced, and policies with roles, commands, USING and WITH CHECK', async () => {
    const t = (s: string) => `create table ${s}.t (id int primary key, owner text, n int);`;
    const { changes } = await converge(
      'u1',
      `${t('u1')} alter table u1.t enable row level security;
       create policy p_read on u1.t for select to dbee_t_app using (owner = current_user);
       create policy p_gone on u1.t using (true);`,
      `${t('u1')} alter table u1.t enable row level security; alter table u1.t force row level security;
       create policy p_read on u1.t for select to dbee_t_app, dbee_t_admin using (owner = session_user);
       create policy p_write on u1.t as restrictive for insert to dbee_t_app with check (n > 0);`,
    );
    expect(summary(changes)).toEqual(['alter-table-options table:u1.t']);
    expect((await policies('u1')).rows.map((r) => r.p)).toEqual([
      'p_read r dbee_t_admin,dbee_t_app (owner = SESSION_USER) -',
      'p_write a dbee_t_app - (n > 0)',
    ]);
    expect(
      (await live.conn.query(`select relrowsecurity, relforcerowsecurity from pg_class where oid = 'u1.t'::regclass`))
        .rows,
    ).toEqual([{ relrowsecurity: true, relforcerowsecurity: true }]);
  });

  test('row-level security disabled, policies dropped; a created table gets its policies', async () => {
    await converge(
      'u2',
      `create table u2.t (id int); alter table u2.t enable row level security; alter table u2.t force row level security; create policy p on u2.t using (id > 0);`,
      `create table u2.t (id int);
       create table u2.n (id int); alter table u2.n enable row level security; create policy q on u2.n for delete to public using (id < 0);`,
    );
    expect((await policies('u2')).rows.map((r) => r.p)).toEqual(['q d public (id < 0) -']);
  });

  test('a child table is created with INHERITS, and a table that stops inheriting no longer does', async () => {
    await converge(
      'u3',
      `create table u3.parent (id int, at timestamptz default now());
       create table u3.other (id int);
       create table u3.old_child (extra text) inherits (u3.parent);`,
      `create table u3.parent (id int, at timestamptz default now());
       create table u3.other (id int);
       create table u3.child (note text) inherits (u3.parent);
       create table u3.old_child (id int, at timestamptz default now(), extra text);`,
    );
    expect(
      (
        await live.conn.query(
          `select c.relname as child, p.relname as parent from pg_inherits join pg_class c on c.oid = inhrelid join pg_class p on p.oid = inhparent join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'u3'`,
        )
      ).rows,
    ).toEqual([{ child: 'child', parent: 'parent' }]);
  });
});
