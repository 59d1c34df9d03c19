import { afterEach, describe, expect, it } from 'vitest';
import { teradataWorkspace, type TeradataWorkspace } from './helpers';

// Databases as deployable objects on Teradata, the safe subset (docs/teradata.md): created when missing, space limits
// changed in place with MODIFY DATABASE, anything else named as a migration, never dropped by a plan from the sources.
// On the test double only.

const opened: TeradataWorkspace[] = [];
afterEach(() => {
  for (const w of opened.splice(0)) w.dispose();
});

const FILE = 'schema/edw/stg.sql';

async function withStaging(): Promise<TeradataWorkspace> {
  const w = teradataWorkspace();
  opened.push(w);
  w.write(FILE, 'CREATE DATABASE {{env}}_STG FROM {{env}}_EDW AS PERM = 1000000, SPOOL = 2000000;\n');
  const r = await w.dbee('deploy', { assumeYes: true });
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return w;
}

describe('Teradata databases: the safe subset', () => {
  it('a changed space limit is a MODIFY DATABASE, recorded; dbee rollback puts the old limit back', async () => {
    const w = await withStaging();
    expect(w.session.databases.has('DEV_STG')).toBe(true);
    w.write(FILE, 'CREATE DATABASE {{env}}_STG FROM {{env}}_EDW AS PERM = 5000000, SPOOL = 2000000;\n');
    const mark = w.session.log.length;
    const r = await w.dbee('deploy', { assumeYes: true });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(w.requestsSince(mark)).toContain('MODIFY DATABASE DEV_STG AS PERM = 5000000');
    const again = await w.dbee('deploy', { assumeYes: true });
    expect(again.stdout).toContain('nothing to deploy');
    const mark2 = w.session.log.length;
    const back = await w.dbee('rollback', { assumeYes: true });
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(w.requestsSince(mark2)).toContain('MODIFY DATABASE DEV_STG AS PERM = 1000000');
  });

  it('another owner or another attribute is refused (exit 1) naming it; nothing is applied', async () => {
    const w = await withStaging();
    w.write(FILE, 'CREATE DATABASE {{env}}_STG FROM DBEE_LEDGER AS PERM = 1000000, SPOOL = 2000000;\n');
    const owner = await w.dbee('deploy', { assumeYes: true });
    expect(owner.code).toBe(1);
    expect(owner.stderr).toContain('GIVE DEV_STG TO DBEE_LEDGER');
    w.write(FILE, 'CREATE DATABASE {{env}}_STG FROM {{env}}_EDW AS PERM = 1000000, SPOOL = 2000000, FALLBACK;\n');
    const fallback = await w.dbee('deploy', { assumeYes: true });
    expect(fallback.code).toBe(1);
    expect(fallback.stderr).toContain('FALLBACK: dbee changes only PERM, SPOOL and TEMPORARY in place');
  });

  it('a database whose file is removed is not dropped: reported, and left', async () => {
    const w = await withStaging();
    w.write(FILE, '');
    const r = await w.dbee('deploy', { assumeYes: true });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toContain('database:DEV_STG is deployed but no longer in the sources');
    expect(w.session.databases.has('DEV_STG')).toBe(true);
  });
});
