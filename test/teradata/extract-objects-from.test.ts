import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { teradataWorkspace, type TeradataWorkspace } from './helpers';

/**
 * `dbee extract --objects-from <file>` (#64 deliverable 6): the objects a list names, in the list format of `deploy
 * --objects-from`; a line naming no live object is refused with its file and line, before anything is written.
 */

let w: TeradataWorkspace;
afterEach(() => w?.dispose());

describe('dbee extract --objects-from on Teradata (#64)', () => {
  it('writes only the listed objects; a line naming nothing: exit 1 with its file and line, nothing written', async () => {
    w = teradataWorkspace();
    expect((await w.dbee('deploy')).code).toBe(0);
    const dba = w.session.newSession();
    await dba.run('CREATE MACRO DEV_EDW.m_a AS (SELECT COUNT(*) FROM DEV_EDW.orders;)');
    await dba.run('CREATE MACRO DEV_EDW.m_b AS (SELECT COUNT(*) FROM DEV_EDW.customers;)');
    w.write('objects.txt', '# the macros of CHG-7\nmacro:DEV_EDW.M_A\n');
    const r = await w.dbee('extract', { objectsFrom: 'objects.txt' });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(w.root, 'schema/edw/macros/m_a.sql'))).toBe(true);
    expect(existsSync(join(w.root, 'schema/edw/macros/m_b.sql'))).toBe(false);
    expect([...(r.stdout + r.stderr).matchAll(/write (\S+)/g)]).toHaveLength(1);

    w.write('objects.txt', 'macro:DEV_EDW.M_B\nmacro:DEV_EDW.M_NONE\n');
    const bad = await w.dbee('extract', { objectsFrom: 'objects.txt' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/objects\.txt:2: --objects macro:DEV_EDW\.M_NONE matches no object on td-dev/);
    expect(existsSync(join(w.root, 'schema/edw/macros/m_b.sql'))).toBe(false);

    const missing = await w.dbee('extract', { objectsFrom: 'nope.txt' });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/--objects-from nope\.txt: no such file/);
  });
});
