import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runBteq } from '../../packages/teradata/testing';
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

describe('Teradata users and profiles: the same safe subset', () => {
  const USER = 'schema/edw/etl_user.sql';
  const PROFILE = 'schema/edw/etl_profile.sql';

  it('a user is created once; a changed space limit is a MODIFY USER (the password is never compared); another attribute is refused', async () => {
    const w = teradataWorkspace();
    opened.push(w);
    w.write(USER, 'CREATE USER {{env}}_ETL FROM {{env}}_EDW AS PERM = 1000000, PASSWORD = first_secret;\n');
    expect((await w.dbee('deploy', { assumeYes: true })).code).toBe(0);
    expect(w.session.databases.has('DEV_ETL')).toBe(true);
    w.write(USER, 'CREATE USER {{env}}_ETL FROM {{env}}_EDW AS PERM = 3000000, PASSWORD = other_secret;\n');
    const mark = w.session.log.length;
    const r = await w.dbee('deploy', { assumeYes: true });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(w.requestsSince(mark)).toContain('MODIFY USER DEV_ETL AS PERM = 3000000');
    expect(w.requestsSince(mark).join('\n')).not.toMatch(/other_secret/);
    const back = await w.dbee('rollback', { assumeYes: true });
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(w.session.spaces.get('DEV_ETL')?.perm).toBe(1000000);
    w.write(
      USER,
      'CREATE USER {{env}}_ETL FROM {{env}}_EDW AS PERM = 3000000, PASSWORD = x, DEFAULT DATABASE = DEV_EDW;\n',
    );
    const other = await w.dbee('deploy', { assumeYes: true });
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('DEFAULT DATABASE = DEV_EDW: dbee changes only PERM, SPOOL and TEMPORARY in place');
    expect(other.stderr).not.toContain('PASSWORD = x');
  });

  it('a profile is created once; SPOOL/TEMPORARY changes are a MODIFY PROFILE, rolled back; another attribute is refused; a removed file drops nothing', async () => {
    const w = teradataWorkspace();
    opened.push(w);
    w.write(PROFILE, 'CREATE PROFILE etl_profile AS SPOOL = 2000000, TEMPORARY = 1000000;\n');
    expect((await w.dbee('deploy', { assumeYes: true })).code).toBe(0);
    expect(w.session.profiles.get('ETL_PROFILE')).toEqual({ spool: 2000000, temp: 1000000 });
    w.write(PROFILE, 'CREATE PROFILE etl_profile AS SPOOL = 5000000, TEMPORARY = 1000000;\n');
    const mark = w.session.log.length;
    const r = await w.dbee('deploy', { assumeYes: true });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(w.requestsSince(mark)).toContain('MODIFY PROFILE ETL_PROFILE AS SPOOL = 5000000');
    const again = await w.dbee('deploy', { assumeYes: true });
    expect(again.stdout).toContain('nothing to deploy');
    expect((await w.dbee('rollback', { assumeYes: true })).code).toBe(0);
    expect(w.session.profiles.get('ETL_PROFILE')?.spool).toBe(2000000);
    w.write(PROFILE, "CREATE PROFILE etl_profile AS SPOOL = 2000000, TEMPORARY = 1000000, ACCOUNT = 'etl';\n");
    const other = await w.dbee('deploy', { assumeYes: true });
    expect(other.code).toBe(1);
    expect(other.stderr).toContain("ACCOUNT = 'etl': dbee changes only SPOOL and TEMPORARY of a profile in place");
    w.write(PROFILE, '');
    const removed = await w.dbee('deploy', { assumeYes: true });
    expect(removed.code, removed.stdout + removed.stderr).toBe(0);
    expect(w.session.profiles.has('ETL_PROFILE')).toBe(true);
  });

  it('a profile made by hand is a conflict at plan time (exit 1, ifExists raise), not a failed CREATE', async () => {
    const w = teradataWorkspace();
    opened.push(w);
    await w.session.newSession().run('CREATE PROFILE etl_profile AS SPOOL = 1');
    w.write(PROFILE, 'CREATE PROFILE etl_profile AS SPOOL = 2000000;\n');
    const r = await w.dbee('deploy', { assumeYes: true, ifExists: 'raise' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('profile:ETL_PROFILE already exists in the database, but the ledger does not know it');
    const skip = await w.dbee('deploy', { assumeYes: true, ifExists: 'skip' });
    expect(skip.code, skip.stdout + skip.stderr).toBe(0);
    expect(w.session.profiles.get('ETL_PROFILE')?.spool).toBe(1);
  });
});

describe('BTEQ scripts: databases, users, roles and profiles the ledger does not know', () => {
  async function script(w: TeradataWorkspace, ifExists: string): Promise<string> {
    const dbYaml = readFileSync(join(w.root, 'db.yaml'), 'utf8').replace(
      / {2}- match: schema\/edw\/etl_profile[^\n]*\n[^\n]*\n/,
      '',
    );
    w.write(
      'db.yaml',
      dbYaml.replace('conflicts:\n', `conflicts:\n  - match: schema/edw/etl_profile.sql\n    ifExists: ${ifExists}\n`),
    );
    const r = await w.dbee('plan', { format: 'bteq', out: `out-${ifExists}` });
    expect(r.code, r.stderr).toBe(0);
    return readFileSync(join(w.root, `out-${ifExists}`, 'deploy.btq'), 'utf8');
  }

  async function withHandMadeProfile(): Promise<TeradataWorkspace> {
    const w = teradataWorkspace();
    opened.push(w);
    await w.session.newSession().run('CREATE PROFILE etl_profile AS SPOOL = 1');
    w.write('schema/edw/etl_profile.sql', 'CREATE PROFILE etl_profile AS SPOOL = 2000000;\n');
    return w;
  }

  it('skip jumps over the CREATE (exit 0, nothing recorded for it), as dbee deploy decides it', async () => {
    const w = await withHandMadeProfile();
    const skipped = await runBteq(await script(w, 'skip'), w.session.newSession());
    expect(skipped.exitCode, skipped.output.join('\n')).toBe(0);
    expect(w.session.profiles.get('ETL_PROFILE')?.spool).toBe(1);
    expect(w.ledger('objects').some((o) => /ETL_PROFILE/.test(String(o.OBJECT_KEY)))).toBe(false);
  });

  it('raise fails the step naming the object, before its CREATE', async () => {
    const w = await withHandMadeProfile();
    const raised = await runBteq(await script(w, 'raise'), w.session.newSession());
    expect(raised.exitCode).toBeGreaterThan(16);
    expect(raised.output.join('\n')).toContain(
      'profile ETL_PROFILE exists and the ledger does not know it: ifExists raise',
    );
    expect(raised.requests.some((q) => /^CREATE PROFILE/i.test(q))).toBe(false);
  });
});
