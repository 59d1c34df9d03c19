import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { formatKey } from '../../packages/core/src/model/object-key';
import { changeObjectKey } from '../../packages/core/src/schema';
import { diffModels } from '../support/pg-diff';
import { introspect } from '../../packages/postgres/src/introspect';
import { renderPlanSteps } from '../../packages/postgres/src/render';
import { catalog } from '../diff-property/harness';
import { dbYaml, workspaceWith, type TestWorkspace } from '../runner/helpers';
import { run } from '../support/run';
import { ENGINES, openScratch, type Scratch, convergeScratch } from './helpers';

const summary = (changes: ReturnType<typeof diffModels>) =>
  changes.map((c) => `${c.kind} ${formatKey(changeObjectKey(c))}`);

/** Issue #15 cause 2: collations are objects the diff sees (libc collations: PGlite has no ICU). */
describe.each(ENGINES)('collations as objects [%s]', (engine) => {
  let live: Scratch;
  let desired: Scratch;

  beforeAll(async () => {
    [live, desired] = await Promise.all([openScratch(engine), openScratch(engine)]);
  });

  afterAll(async () => {
    await Promise.all([live, desired].filter(Boolean).map((s) => s.dispose()));
  });

  /** Apply the plan, re-read: the next diff is empty and the catalog equals the desired one, read independently. */
  async function converge(schema: string, liveSql: string, desiredSql: string) {
    const r = await convergeScratch(live, desired, schema, liveSql, desiredSql);
    expect(await catalog(live.conn, schema)).toEqual(await catalog(desired.conn, schema));
    return r;
  }
  const collations = async (schema: string) =>
    (
      await live.conn.query<{ name: string }>(
        `select collname as name from pg_collation c join pg_namespace n on n.oid = c.collnamespace where nspname = $1 order by 1`,
        [schema],
      )
    ).rows.map((r) => r.name);

  test('a column moved to a collation the plan creates first; rows and their order by it survive', async () => {
    const { changes } = await converge(
      'c1',
      `create table c1.t (id int, name text); insert into c1.t values (1, 'b'), (2, 'B'), (3, 'a');`,
      `create collation c1.bytes (provider = libc, locale = 'C');
       create table c1.t (id int, name text collate c1.bytes);
       create index t_name on c1.t (name collate c1.bytes);`,
    );
    expect(summary(changes)).toEqual([
      'create-collation collation:c1.bytes',
      'alter-column-type table:c1.t',
      'create-index index:c1.t_name@c1.t',
    ]);
    expect((await live.conn.query(`select string_agg(name, '' order by name) as s from c1.t`)).rows).toEqual([
      { s: 'Bab' },
    ]);
  });

  test('a dropped collation is dropped, after the columns and indexes that used it moved off it', async () => {
    const { changes } = await converge(
      'c2',
      `create collation c2.bytes (provider = libc, locale = 'C');
       create collation c2.posix (provider = libc, lc_collate = 'POSIX', lc_ctype = 'POSIX');
       create table c2.t (id int, name text collate c2.bytes); insert into c2.t values (1, 'x');
       create index t_name on c2.t (name);`,
      `create collation c2.posix (provider = libc, lc_collate = 'POSIX', lc_ctype = 'POSIX');
       create table c2.t (id int, name text);
       create index t_name on c2.t (name);`,
    );
    expect(summary(changes)).toEqual([
      'drop-index index:c2.t_name@c2.t',
      'alter-column-type table:c2.t',
      'drop-collation collation:c2.bytes',
      'create-index index:c2.t_name@c2.t',
    ]);
    expect(await collations('c2')).toEqual(['posix']);
  });

  test('a changed collation nothing uses is dropped and created again; one in use is refused with the migration to write', async () => {
    await converge(
      'c3',
      `create collation c3.k (provider = libc, locale = 'C');`,
      `create collation c3.k (provider = libc, lc_collate = 'POSIX', lc_ctype = 'C');`,
    );
    await live.conn.execute(
      `create schema c4; create collation c4.k (provider = libc, locale = 'C'); create table c4.t (a text collate c4.k);`,
    );
    await desired.conn.execute(
      `create schema c4; create collation c4.k (provider = libc, locale = 'POSIX'); create table c4.t (a text collate c4.k);`,
    );
    const from = await introspect(live.conn, { schemas: ['c4'] });
    const to = await introspect(desired.conn, { schemas: ['c4'] });
    expect(() => renderPlanSteps(diffModels(from, to), { from, to })).toThrow(/cannot change collation c4\.k in place/);
  });
});

describe.each(ENGINES)('CREATE COLLATION in the sources [%s]', (engine) => {
  let workspaces: TestWorkspace[] = [];
  afterEach(async () => {
    for (const w of workspaces) await w.remove();
    workspaces = [];
  });

  test('deploys in dependency order, a removed collation is dropped, and diff sees a changed one', async () => {
    const w = await workspaceWith(engine, {
      'app/db.yaml': dbYaml('app'),
      // The table's file sorts before the collation's: the COLLATE reference orders them.
      'app/a_table.sql': `CREATE TABLE app.t (id int PRIMARY KEY, name text COLLATE app.z_bytes);\n`,
      'app/z_collation.sql': `CREATE COLLATION app.z_bytes (provider = libc, locale = 'C');\nCOMMENT ON COLLATION app.z_bytes IS 'byte order';\n`,
    });
    workspaces.push(w);
    const first = await run(w.root, 'deploy', { project: 'app' }, w.target.vars);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(
      await w.target.query(
        `SELECT collname, obj_description(oid, 'pg_collation') AS c FROM pg_collation WHERE collnamespace = 'app'::regnamespace`,
      ),
    ).toEqual([{ collname: 'z_bytes', c: 'byte order' }]);
    expect((await run(w.root, 'diff', { project: 'app', failOnDiff: true }, w.target.vars)).code).toBe(0);

    w.write(
      'app/z_collation.sql',
      `CREATE COLLATION app.z_bytes (provider = libc, lc_collate = 'C', lc_ctype = 'POSIX');\n`,
    );
    w.write('app/a_table.sql', `CREATE TABLE app.t (id int PRIMARY KEY, name text);\n`);
    const changed = await run(w.root, 'diff', { project: 'app' }, w.target.vars);
    expect(changed.stdout).toContain('collation');
    expect((await run(w.root, 'diff', { project: 'app', failOnDiff: true }, w.target.vars)).code).toBe(1);

    // The collation leaves the sources; the table's change makes deploy plan the project by a diff.
    rmSync(join(w.root, 'app', 'z_collation.sql'));
    const second = await run(
      w.root,
      'deploy',
      { project: 'app', allowHazards: ['data-loss', 'table-rewrite'] },
      w.target.vars,
    );
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    expect(
      await w.target.query(`SELECT count(*)::int AS n FROM pg_collation WHERE collnamespace = 'app'::regnamespace`),
    ).toEqual([{ n: 0 }]);
    expect((await run(w.root, 'diff', { project: 'app', failOnDiff: true }, w.target.vars)).code).toBe(0);
  });
});
