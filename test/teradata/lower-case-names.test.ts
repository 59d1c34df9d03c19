import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBteq } from '../../packages/teradata/testing';
import { ansiEnvironment, exportScripts, teradataWorkspace, type TeradataWorkspace } from './helpers';

// #64 S3: a database created with a lower-case name keeps it in the dictionary ("Case is preserved"), and an ANSI
// session compares DBC.TablesV.DatabaseName with the upper-case binds case-specifically. diff (objects on the target
// that no file describes) and extract must still find the database's objects, in both session modes.

describe.each(['TERA', 'ANSI'] as const)('a lower-case database name (%s mode)', (tmode) => {
  let w: TeradataWorkspace;
  beforeAll(async () => {
    w = teradataWorkspace({ tmode, databases: ['dev_edw', 'DBEE_LEDGER'] });
    if (tmode === 'ANSI') ansiEnvironment(w);
    w.write('dbee.yaml', readFileSync(join(w.root, 'dbee.yaml'), 'utf8').replace('env: DEV', 'env: dev'));
    const r = await w.dbee('deploy', { assumeYes: true });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // A DBA makes a macro by hand in the same database.
    await w.session.newSession().run('CREATE MACRO dev_edw.m_hand AS (SELECT 1;)');
  });
  afterAll(() => w.dispose());

  it('the dictionary answers the name as it was created', async () => {
    const r = await w.session
      .newSession()
      .run("SELECT DatabaseName FROM DBC.DatabasesV WHERE UPPER(DatabaseName) = 'DEV_EDW'");
    expect(r.resultSets[0]?.rows).toEqual([['dev_edw']]);
  });

  it('dbee diff finds the hand-made macro (a drop) and no other difference', async () => {
    const r = await w.dbee('diff', { format: 'json' });
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as { steps: { action: string; key: string }[] };
    expect(d.steps.map((s) => `${s.action} ${s.key}`)).toEqual(['drop macro:DEV_EDW.M_HAND']);
  });

  it('dbee extract finds every object of the database', async () => {
    const r = await w.dbee('extract', { dryRun: true });
    expect(r.code, r.stderr).toBe(0);
    // The example's 7 objects and the hand-made macro.
    expect([...(r.stdout + r.stderr).matchAll(/would write (\S+)/g)]).toHaveLength(8);
  });

  it('the BTEQ scripts: deploy.btq runs, runs again with nothing to do, rollback.btq removes what it made', async () => {
    const b = teradataWorkspace({ tmode, databases: ['dev_edw', 'DBEE_LEDGER'] });
    try {
      if (tmode === 'ANSI') ansiEnvironment(b);
      b.write('dbee.yaml', readFileSync(join(b.root, 'dbee.yaml'), 'utf8').replace('env: DEV', 'env: dev'));
      const { deploy, rollback } = await exportScripts(b);
      const first = await runBteq(deploy, b.session.newSession());
      expect(first.exitCode, first.output.slice(-4).join('\n')).toBe(0);
      const made = [...b.session.catalog.keys()].filter((k) => k.startsWith('DEV_EDW.')).sort();
      expect(made).toHaveLength(7);
      const again = await runBteq(deploy, b.session.newSession());
      expect(again.exitCode, again.output.slice(-4).join('\n')).toBe(0);
      expect(
        again.requests.filter((r) => /^\s*(CREATE|REPLACE|DROP|RENAME)\b/i.test(r) && !/DBEE_LEDGER/i.test(r)),
      ).toEqual([]);
      const back = await runBteq(rollback, b.session.newSession());
      expect(back.exitCode, back.output.slice(-4).join('\n')).toBe(0);
      expect([...b.session.catalog.keys()].filter((k) => k.startsWith('DEV_EDW.'))).toEqual([]);
    } finally {
      b.dispose();
    }
  });
});
