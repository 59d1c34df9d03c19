import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runBteq } from '../../packages/teradata/testing';
import { exportScripts, teradataWorkspace, type TeradataWorkspace } from './helpers';

// Authorization objects on Teradata (#73 item 9, d-bee's `.auth`): `CREATE AUTHORIZATION db.name AS DEFINER TRUSTED
// USER '...' PASSWORD '...'` (SQL Data Definition Language, "CREATE AUTHORIZATION and REPLACE AUTHORIZATION"). The
// source writes the password as `${VAR}`, the mechanism dbee.yaml uses for connection passwords; the value is put in
// only in the request sent to Teradata, never in the plan, the package, the ledger or any output.

let w: TeradataWorkspace;
afterEach(() => {
  w?.dispose();
  vi.unstubAllEnvs();
});

const SECRET = 'S3cr3t-0f-the-OS-user';
const AUTH = "CREATE AUTHORIZATION s3_reader AS DEFINER TRUSTED USER 'AKIAEXAMPLE' PASSWORD '${TD_AUTH_S3_READER}';\n";

function withAuthorization(text = AUTH): TeradataWorkspace {
  const made = teradataWorkspace();
  mkdirSync(join(made.root, 'schema/edw/authorizations'), { recursive: true });
  made.write('schema/edw/authorizations/s3_reader.sql', text);
  return made;
}

/** Every text dbee keeps or prints: ledger rows, the package folder's files. */
function ledgerText(t: TeradataWorkspace): string {
  return JSON.stringify(['deployments', 'steps', 'objects'].map((table) => t.ledger(table.toUpperCase())));
}

describe('authorizations on Teradata (.auth)', () => {
  it('deploys with the password from the environment, sent to Teradata only: the plan, package, ledger and output keep the placeholder', async () => {
    w = withAuthorization();
    vi.stubEnv('TD_AUTH_S3_READER', SECRET);
    const r = await w.dbee('deploy', { assumeYes: true });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/create authorization:DEV_EDW\.S3_READER/);
    // Teradata received the value, in the CREATE AUTHORIZATION request itself.
    const made = w.session.catalog.get('DEV_EDW.S3_READER');
    expect(made?.tableKind).toBe('X');
    expect(made?.authorization).toMatchObject({ definer: true, user: 'AKIAEXAMPLE', password: SECRET });
    // Nothing else holds it: the ledger has the statement as written, the output never shows the value.
    expect(ledgerText(w)).toContain('${TD_AUTH_S3_READER}');
    expect(ledgerText(w)).not.toContain(SECRET);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
    expect(w.session.log.filter((l) => l.sql.includes(SECRET)).map((l) => l.sql)).toEqual([
      `CREATE AUTHORIZATION s3_reader AS DEFINER TRUSTED USER 'AKIAEXAMPLE' PASSWORD '${SECRET}'`,
    ]);
    // The checksum is of the file with its placeholder: another value is no change.
    vi.stubEnv('TD_AUTH_S3_READER', 'another-value');
    const again = await w.dbee('deploy', { assumeYes: true });
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toMatch(/nothing to deploy/);

    const out = w.packageFolder();
    const pkg = await w.dbee('plan', { out });
    expect(pkg.code, pkg.stdout + pkg.stderr).toBe(0);
    const files = readdirSync(out, { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
    const text = files.map((f) => readFileSync(join(f.parentPath, f.name), 'utf8')).join('\n');
    expect(text).not.toContain(SECRET);
  });

  it('an unset password variable refuses the deployment before anything is sent (exit 1), naming the file and the variable', async () => {
    w = withAuthorization();
    vi.stubEnv('TD_AUTH_S3_READER', undefined);
    const mark = w.session.log.length;
    const r = await w.dbee('deploy', { assumeYes: true });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(
      /authorization:DEV_EDW\.S3_READER: its PASSWORD comes from the environment variable TD_AUTH_S3_READER, which is not set \(schema\/edw\/authorizations\/s3_reader\.sql:1\)/,
    );
    expect(r.stderr).toMatch(/export TD_AUTH_S3_READER=/);
    // No DDL went out: not the authorization, not the project's tables.
    // (the ledger's own lock table is made before the plan: it is dbee's, not the project's)
    const ddl = w.requestsSince(mark).filter((s) => /^\s*(CREATE|REPLACE|DROP|RENAME)\b/i.test(s));
    expect(ddl.filter((s) => !/DBEE_LEDGER\./.test(s))).toEqual([]);
    expect(w.session.catalog.has('DEV_EDW.S3_READER')).toBe(false);
    expect(w.session.catalog.has('DEV_EDW.CUSTOMERS')).toBe(false);

    const dry = await w.dbee('deploy', { dryRun: true });
    expect(dry.code).toBe(1);
    expect(dry.stderr).toMatch(/TD_AUTH_S3_READER, which is not set/);
  });

  it('a password written literally in a source is refused when the file is read (exit 1), with its line', async () => {
    w = withAuthorization(
      "-- the OS user of the S3 reader\nCREATE AUTHORIZATION s3_reader AS DEFINER TRUSTED\n  USER 'AKIAEXAMPLE' PASSWORD 'hunter2';\n",
    );
    const r = await w.dbee('deploy', { assumeYes: true });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(/authorization:DEV_EDW\.S3_READER: its PASSWORD is written literally in the source/);
    expect(r.stderr).toMatch(/schema\/edw\/authorizations\/s3_reader\.sql:3/);
    expect(r.stderr).toMatch(/PASSWORD '\$\{TD_AUTH_DEV_EDW_S3_READER\}'/);
    expect(w.session.catalog.has('DEV_EDW.S3_READER')).toBe(false);
  });

  it("d-bee's .auth file name works once db.yaml's sources take it: the kind comes from the statement", async () => {
    w = teradataWorkspace();
    const yaml = readFileSync(join(w.root, 'db.yaml'), 'utf8');
    w.write('db.yaml', `${yaml}sources: ['schema/**/*.sql', 'schema/**/*.auth']\n`);
    w.write('schema/edw/s3_reader.auth', AUTH);
    vi.stubEnv('TD_AUTH_S3_READER', SECRET);
    const r = await w.dbee('deploy', { assumeYes: true });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/create authorization:DEV_EDW\.S3_READER/);
    expect(w.session.catalog.get('DEV_EDW.S3_READER')?.authorization?.password).toBe(SECRET);
  });

  it("a request that fails never shows the value: Teradata's error is scrubbed, the statement shown with its placeholder", async () => {
    w = withAuthorization(
      "CREATE AUTHORIZATION s3_reader AS DEFINER DEFAULT TRUSTED USER 'AKIAEXAMPLE' PASSWORD '${TD_AUTH_S3_READER}';\n",
    );
    vi.stubEnv('TD_AUTH_S3_READER', SECRET);
    // A database has one default DEFINER authorization (SQL Data Definition Language, CREATE AUTHORIZATION).
    w.session.on(/CREATE AUTHORIZATION/, {
      error: { code: 3803, text: `Authorization failed for PASSWORD '${SECRET}'.` },
    });
    const r = await w.dbee('deploy', { assumeYes: true });
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
    expect(r.stderr).toMatch(/Teradata error 3803: Authorization failed for PASSWORD '\*\*\*'/);
    expect(ledgerText(w)).not.toContain(SECRET);
    expect(ledgerText(w)).toContain('${TD_AUTH_S3_READER}');
  });
});

describe('authorizations: diff, extract, BTEQ', () => {
  it('dbee diff compares what can be read back (DEFINER/INVOKER, USER), never the password; extract writes the placeholder and says which variable to set', async () => {
    w = withAuthorization();
    vi.stubEnv('TD_AUTH_S3_READER', SECRET);
    expect((await w.dbee('deploy', { assumeYes: true })).code).toBe(0);
    const same = await w.dbee('diff', {});
    expect(same.code, same.stdout + same.stderr).toBe(0);
    expect(same.stdout).not.toMatch(/S3_READER/);
    // Another OS user in the source: a REPLACE AUTHORIZATION step, with the placeholder.
    w.write('schema/edw/authorizations/s3_reader.sql', AUTH.replace('AKIAEXAMPLE', 'AKIAOTHER'));
    const changed = await w.dbee('diff', { format: 'json' });
    expect(changed.stdout).toMatch(/REPLACE AUTHORIZATION s3_reader AS DEFINER TRUSTED USER 'AKIAOTHER'/);
    expect(changed.stdout).not.toContain(SECRET);
    const replaced = await w.dbee('deploy', { assumeYes: true });
    expect(replaced.code, replaced.stdout + replaced.stderr).toBe(0);
    expect(w.session.catalog.get('DEV_EDW.S3_READER')?.authorization?.user).toBe('AKIAOTHER');

    const x = await w.dbee('extract', {});
    expect(x.code, x.stdout + x.stderr).toBe(0);
    expect(x.stdout + x.stderr).toMatch(
      /authorization:DEV_EDW\.S3_READER: its password cannot be read back; the file takes it from \$\{TD_AUTH_EDW_S3_READER\}: set TD_AUTH_EDW_S3_READER/,
    );
    expect(x.stdout + x.stderr).not.toContain(SECRET);
    const file = readFileSync(join(w.root, 'schema/edw/authorizations/s3_reader.sql'), 'utf8');
    expect(file).toMatch(
      /CREATE AUTHORIZATION \{\{env\}\}_EDW\.S3_READER AS DEFINER TRUSTED\n {2}USER 'AKIAOTHER' PASSWORD '\$\{TD_AUTH_EDW_S3_READER\}';/,
    );
    expect(file).not.toContain(SECRET);
  });

  it("the BTEQ export refuses an authorization whose password comes from a variable (exit 1, no script); one with PASSWORD '' is exported and created by the script", async () => {
    w = withAuthorization();
    vi.stubEnv('TD_AUTH_S3_READER', SECRET);
    const refused = await w.dbee('plan', { format: 'bteq', out: 'bteq-out' });
    expect(refused.code, refused.stdout + refused.stderr).toBe(1);
    expect(refused.stderr).toMatch(
      /a BTEQ script cannot create this authorization: authorization:DEV_EDW\.S3_READER \(schema\/edw\/authorizations\/s3_reader\.sql:1, PASSWORD from TD_AUTH_S3_READER\)/,
    );
    expect(refused.stderr).toMatch(/Deploy this release with dbee deploy --env td-dev/);
    expect(existsSync(join(w.root, 'bteq-out/deploy.btq'))).toBe(false);

    // A public object store's authorization: USER '' PASSWORD '' (SQL Data Definition Language, CREATE
    // AUTHORIZATION, "Public access object stores"): no secret, so the script carries it.
    w.write(
      'schema/edw/authorizations/s3_reader.sql',
      "CREATE AUTHORIZATION s3_reader AS DEFINER TRUSTED USER '' PASSWORD '';\n",
    );
    const { deploy } = await exportScripts(w, 'bteq-public');
    const run = await runBteq(deploy, w.session.newSession());
    expect(run.exitCode, run.output.slice(-6).join('\n')).toBe(0);
    expect(w.session.catalog.get('DEV_EDW.S3_READER')?.authorization).toMatchObject({ user: '', password: '' });
    expect(w.ledger('OBJECTS').map((o) => o.OBJECT_KEY)).toContain('authorization:DEV_EDW.S3_READER');
  });
});
