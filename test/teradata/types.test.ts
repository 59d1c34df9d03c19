import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runBteq } from '../../packages/teradata/testing';
import { exportScripts, teradataWorkspace, type TeradataWorkspace } from './helpers';

// User-defined types on Teradata (#73 item 9, d-bee's `.type`): every type lives in SYSUDTLIB ("the containing
// database for UDT_name, which must always be SYSUDTLIB": SQL Data Definition Language, CREATE TYPE). A type file
// deploys there, is compared with SHOW TYPE, is conflict-checked against a type made by hand, and dbee extract
// writes the types the project's tables use.

let w: TeradataWorkspace;
afterEach(() => w?.dispose());

const MONEY = 'CREATE TYPE money AS DECIMAL(18,2) FINAL;\n';

function withType(text = MONEY): TeradataWorkspace {
  const made = teradataWorkspace();
  mkdirSync(join(made.root, 'schema/edw/types'), { recursive: true });
  made.write('schema/edw/types/money.sql', text);
  return made;
}

describe('user-defined types on Teradata (.type)', () => {
  it('deployed into SYSUDTLIB and recorded; dbee diff finds nothing after; a changed type is a migration, never a drop', async () => {
    w = withType();
    const r = await w.dbee('deploy', { assumeYes: true });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/create type:SYSUDTLIB\.MONEY/);
    expect(w.session.catalog.get('SYSUDTLIB.MONEY')?.tableKind).toBe('U');
    expect(w.session.catalog.has('DEV_EDW.MONEY')).toBe(false);
    expect(w.ledger('objects').map((o) => o.OBJECT_KEY)).toContain('type:SYSUDTLIB.MONEY');

    const same = await w.dbee('diff', {});
    expect(same.code, same.stdout + same.stderr).toBe(0);
    expect(same.stdout).not.toMatch(/MONEY/i);

    w.write('schema/edw/types/money.sql', 'CREATE TYPE money AS DECIMAL(12,2) FINAL;\n');
    const changed = await w.dbee('diff', {});
    expect(changed.stdout).toMatch(
      /needs a migration: type:SYSUDTLIB\.MONEY: .*Teradata cannot change a type in place/,
    );
    expect(changed.stdout).toMatch(/nothing else differs/);

    // Rolled back with the release: DROP TYPE, the project's tables gone before it.
    const back = await w.dbee('rollback', { assumeYes: true });
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(w.session.catalog.has('SYSUDTLIB.MONEY')).toBe(false);
  });

  it('a type made by hand: ifExists rename is refused (no RENAME TYPE, exit 1, nothing changed); drop drops and creates it', async () => {
    w = withType();
    await w.session.newSession().run('CREATE TYPE SYSUDTLIB.money AS DECIMAL(12,2) FINAL');
    const refused = await w.dbee('deploy', { assumeYes: true });
    expect(refused.code, refused.stdout + refused.stderr).toBe(1);
    expect(refused.stderr).toMatch(/type:SYSUDTLIB\.MONEY already exists, and this engine cannot rename a type/);
    expect(w.session.catalog.get('SYSUDTLIB.MONEY')?.show).toMatch(/DECIMAL\(12,2\)/);
    expect(w.session.catalog.has('DEV_EDW.CUSTOMERS')).toBe(false);

    const raised = await w.dbee('deploy', { assumeYes: true, ifExists: 'raise' });
    expect(raised.code).toBe(1);
    expect(raised.stderr).toMatch(
      /type:SYSUDTLIB\.MONEY already exists in the database, but the ledger does not know it/,
    );

    const dropped = await w.dbee('deploy', { assumeYes: true, ifExists: 'drop' });
    expect(dropped.code, dropped.stdout + dropped.stderr).toBe(0);
    expect(w.session.catalog.get('SYSUDTLIB.MONEY')?.show).toMatch(/DECIMAL\(18,2\)/);
  });

  it('BTEQ: a type made by hand fails its step under rename (saying why) and raise, nothing changed; drop runs DROP TYPE', async () => {
    w = withType();
    const yaml = readFileSync(join(w.root, 'db.yaml'), 'utf8');
    for (const [strategy, exit, said] of [
      ['rename', 'failed', /Teradata has no RENAME TYPE/],
      ['raise', 'failed', /exists and the ledger does not know it: ifExists raise/],
      ['drop', 'done', /exists and the ledger does not know it: ifExists drop/],
    ] as const) {
      w.write(
        'db.yaml',
        yaml.replace('conflicts:\n', `conflicts:\n  - match: schema/edw/types/money.sql\n    ifExists: ${strategy}\n`),
      );
      const { deploy } = await exportScripts(w, `out-${strategy}`);
      const s = w.session.copySystem();
      await s.newSession().run('CREATE TYPE SYSUDTLIB.money AS DECIMAL(12,2) FINAL');
      const run = await runBteq(deploy, s.newSession());
      expect(run.output.join('\n'), strategy).toMatch(said);
      if (exit === 'failed') {
        expect(run.exitCode, strategy).toBeGreaterThan(16);
        expect(s.catalog.get('SYSUDTLIB.MONEY')?.show, strategy).toMatch(/DECIMAL\(12,2\)/);
      } else {
        expect(run.exitCode, run.output.slice(-4).join('\n')).toBe(0);
        expect(s.catalog.get('SYSUDTLIB.MONEY')?.show).toMatch(/DECIMAL\(18,2\)/);
      }
      expect(s.rows('DBEE_LEDGER.LOCK')).toEqual([]);
    }
  });

  it('dbee extract writes the types the project tables use, from SHOW TYPE', async () => {
    w = withType();
    const orders = join(w.root, 'schema/edw/tables/orders.sql');
    writeFileSync(
      orders,
      readFileSync(orders, 'utf8').replace(
        'amount       DECIMAL(18,2) NOT NULL',
        'amount       SYSUDTLIB.money NOT NULL',
      ),
    );
    const r = await w.dbee('deploy', { assumeYes: true });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // The type is created before the table whose column uses it (CREATE TABLE refuses an unknown type: 6831).
    expect(r.stdout.indexOf('create type:SYSUDTLIB.MONEY')).toBeLessThan(
      r.stdout.indexOf('create table:DEV_EDW.ORDERS'),
    );
    // The type's own file is written back in place; without one, a new file under schema/sysudtlib/types.
    const x = await w.dbee('extract', {});
    expect(x.code, x.stdout + x.stderr).toBe(0);
    expect(x.stdout).toMatch(/write schema\/edw\/types\/money\.sql {2}\(type:SYSUDTLIB\.MONEY\)/);
    rmSync(join(w.root, 'schema/edw/types'), { recursive: true });
    const again = await w.dbee('extract', {});
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toMatch(/write schema\/sysudtlib\/types\/money\.sql/);
    expect(readFileSync(join(w.root, 'schema/sysudtlib/types/money.sql'), 'utf8')).toMatch(
      /^CREATE TYPE money AS DECIMAL\(18,2\) FINAL;\n$/,
    );
  });
});
