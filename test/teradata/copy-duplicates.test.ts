import { afterEach, describe, expect, it } from 'vitest';
import { ansiEnvironment, teradataWorkspace, type TeradataWorkspace } from './helpers';

/**
 * `dbee deploy` with `ifExists: rename, copyData: true` (the example's db.yaml) over a hand-made MULTISET table holding
 * duplicate rows (#64): a SET table would keep one row of each in Teradata mode without a word (ANSI mode fails the
 * copy, 2802, after the rename). The deployment refuses before anything is renamed; a MULTISET table gets every row.
 */

let w: TeradataWorkspace;
afterEach(() => w?.dispose());

async function setUp(kind: 'SET' | 'MULTISET' | '', ansi = false): Promise<void> {
  w = teradataWorkspace(ansi ? { tmode: 'ANSI' } : {});
  if (ansi) ansiEnvironment(w);
  w.write(
    'schema/edw/tables/t_dup.sql',
    `CREATE ${kind} TABLE {{env}}_EDW.t_dup (a INTEGER, b VARCHAR(5)) PRIMARY INDEX (a);\n`,
  );
  const dba = w.session.newSession();
  await dba.run('CREATE MULTISET TABLE DEV_EDW.t_dup (a INTEGER, b VARCHAR(5)) PRIMARY INDEX (a)');
  await dba.run("INSERT INTO DEV_EDW.t_dup VALUES (1, 'x')");
  await dba.run("INSERT INTO DEV_EDW.t_dup VALUES (1, 'x ')");
  if (ansi) await dba.run('COMMIT');
}

const tables = () => [...w.session.catalog.keys()].filter((k) => k.includes('T_DUP'));

describe('dbee deploy: copyData into a SET table from a table holding duplicate rows (#64)', () => {
  it('TERA: refuses before the rename (exit 1, the table named, nothing renamed); MULTISET gets every row', async () => {
    for (const kind of ['SET', ''] as const) {
      await setUp(kind);
      const r = await w.dbee('deploy');
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stderr).toMatch(/DEV_EDW\.T_DUP holds 1 duplicate row/);
      expect(r.stderr).toMatch(/MULTISET/);
      expect(tables()).toEqual(['DEV_EDW.T_DUP']);
      expect(w.session.rows('DEV_EDW.T_DUP')).toHaveLength(2);
      expect(w.ledger('lock')).toEqual([]);
      w.dispose();
    }
    await setUp('MULTISET');
    const r = await w.dbee('deploy');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(w.session.rows('DEV_EDW.T_DUP')).toHaveLength(2);
  });

  it('ANSI: an explicit SET table is refused before the rename too (the copy would fail with 2802 after it)', async () => {
    await setUp('SET', true);
    const r = await w.dbee('deploy');
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(/DEV_EDW\.T_DUP holds 1 duplicate row/);
    expect(tables()).toEqual(['DEV_EDW.T_DUP']);
    expect(w.session.rows('DEV_EDW.T_DUP')).toHaveLength(2);
  });
});
