import { DbeeError, type ResolvedEnvironment } from '@dbee/core';
import { describe, expect, it } from 'vitest';
import { loadDriver } from '../driver/load-driver';
import { teradatasqlDriver, type TeradatasqlModule } from '../driver/teradatasql-driver';
import { TeradataConnection } from './teradata-connection';
import { connectTeradata, describeTarget, toDriverParameters } from './teradata-connection';
import { createTeradataEngine } from '../engine';
import { createFakeConnection, fakeDriver, FakeTeradataSession } from '../../testing/fake-connection';

function env(connection: ResolvedEnvironment['connection'], name = 'test'): ResolvedEnvironment {
  return {
    name,
    engine: 'teradata',
    connection,
    variables: { env: name },
    gates: {},
    deploy: {},
    declaredAt: { file: 'dbee.yaml', line: 7 },
  };
}

async function rejection(p: Promise<unknown>): Promise<DbeeError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof DbeeError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

describe('connection parameters', () => {
  const accepted = new Set([
    'host',
    'user',
    'password',
    'logmech',
    'tmode',
    'database',
    'dbs_port',
    'column_name',
    'cop',
    'logon_timeout',
  ]);

  it('converts every value to a string, renames port, drops dbee keys and asks for column names', () => {
    const params = toDriverParameters(
      env({
        host: 'td.example.com',
        user: 'etl',
        password: 's3cret',
        logmech: 'LDAP',
        tmode: 'TERA',
        database: 'DEV_SALES',
        port: 1025,
        cop: false,
        logon_timeout: 30,
        driver: 'teradatasql',
        ledgerDatabase: 'OPS_LEDGER',
      }),
      accepted,
      'teradatasql',
    );
    expect(params).toEqual({
      host: 'td.example.com',
      user: 'etl',
      password: 's3cret',
      logmech: 'LDAP',
      tmode: 'TERA',
      database: 'DEV_SALES',
      dbs_port: '1025',
      cop: 'false',
      logon_timeout: '30',
      column_name: 'true',
    });
  });

  it('refuses keys the driver does not know, naming them (the driver would only say "Unable to parse JSON")', () => {
    expect(() =>
      toDriverParameters(env({ host: 'h', hots: 'x', request_timeout: 5 }), accepted, 'teradata-nodejs-driver'),
    ).toThrow(/teradata-nodejs-driver does not accept the keys hots, request_timeout/);
  });

  it('refuses driver trace logging, which would print the password', () => {
    expect(() =>
      toDriverParameters(env({ host: 'h', password: 'pw', log: 1 }), new Set([...accepted, 'log']), 'teradatasql'),
    ).toThrow(/driver logging is refused/);
  });

  it('requires host', () => {
    expect(() => toDriverParameters(env({ user: 'u' }), accepted, 'teradatasql')).toThrow(/"host" is required/);
  });

  it('describes the target without the password', () => {
    expect(describeTarget(env({ host: 'td', user: 'etl', password: 'pw', database: 'DEV' })).description).toBe(
      'teradata://etl@td:1025/DEV (teradatasql)',
    );
  });

  it('refuses an unknown driver name', () => {
    expect(() => describeTarget(env({ host: 'h', driver: 'odbc' }))).toThrow(/unknown Teradata driver "odbc"/);
  });
});

describe('drivers', () => {
  it('says exactly what to install when the deprecated driver is missing', () => {
    try {
      loadDriver('teradata-nodejs-driver');
      throw new Error('teradata-nodejs-driver is unexpectedly installed');
    } catch (e) {
      expect(e).toBeInstanceOf(DbeeError);
      const d = e as DbeeError;
      expect(d.code).toBe('DRIVER_MISSING');
      expect(d.hint).toContain('CXXFLAGS=-fpermissive npm install -D teradata-nodejs-driver');
      expect(d.hint).toContain('deprecated');
      expect(d.exitCode).toBe(1);
    }
  });

  it('connects through the engine with the driver named in connection.driver, and maps a failed logon', async () => {
    const session = new FakeTeradataSession();
    const driver = fakeDriver(session);
    const engine = createTeradataEngine({ loadDriver: () => driver });
    const conn = await engine.connect(env({ host: 'td', user: 'etl', password: 'pw', dbs_port: 1025 }), {
      workspaceRoot: '/w',
    });
    expect(conn.description).toBe('teradata://etl@td:1025 (teradatasql)');
    expect(driver.lastParams).toMatchObject({ host: 'td', dbs_port: '1025', column_name: 'true' });

    const failing = createTeradataEngine({
      loadDriver: () =>
        fakeDriver(session, { connectError: { code: 8017, text: 'The UserId, Password or Account is invalid.' } }),
    });
    const e = await rejection(
      failing.connect(env({ host: 'td', user: 'etl', password: 'pw' }), { workspaceRoot: '/w' }),
    );
    expect(e.code).toBe('CONNECTION_FAILED');
    expect(e.message).toContain('td:1025 as etl');
  });
});

describe('TeradataConnection', () => {
  it('returns rows of every result set keyed by lower-case column names, BIGINT as numbers', async () => {
    const session = new FakeTeradataSession().on('SELECT', {
      resultSets: [
        { columns: ['DatabaseName', 'N'], rows: [['SALES', 5n]] },
        { columns: ['DatabaseName', 'N'], rows: [['EDW', 12345678901234567890n]] },
      ],
    });
    const r = await createFakeConnection(session).query('SELECT DatabaseName, N FROM x');
    expect(r.rows).toEqual([
      { databasename: 'SALES', n: 5 },
      { databasename: 'EDW', n: '12345678901234567890' },
    ]);
  });

  it('runs one request at a time on a session, even when callers overlap', async () => {
    let busy = false;
    const session = new FakeTeradataSession();
    const run = session.run.bind(session);
    session.run = async (sql, params) => {
      if (busy) throw new Error('[Error 802] overlapping request');
      busy = true;
      await new Promise((r) => setTimeout(r, 5));
      busy = false;
      return run(sql, params);
    };
    const conn = createFakeConnection(session);
    await Promise.all([conn.query('SELECT 1'), conn.query('SELECT 2'), conn.execute('SELECT 3')]);
    expect(session.log.map((l) => l.sql)).toEqual(['SELECT 1', 'SELECT 2', 'SELECT 3']);
  });

  it('maps errors with the statement attached', async () => {
    const conn = createFakeConnection(new FakeTeradataSession());
    const e = await rejection(conn.query('SHOW VIEW SALES.NOPE'));
    expect(e).toMatchObject({
      code: 'OBJECT_MISSING',
      details: { teradataCode: 3807, statement: 'SHOW VIEW SALES.NOPE' },
    });
  });

  it('commits a transaction with auto-commit off, and turns it back on', async () => {
    const session = new FakeTeradataSession({
      objects: { 'S.T': { tableKind: 'T', show: 'CREATE TABLE s.t (a INTEGER)' } },
    });
    const conn = createFakeConnection(session);
    await conn.transaction(async (tx) => {
      await tx.execute('INSERT INTO s.t VALUES (1)');
      await tx.execute('CREATE TABLE s.u (a INTEGER)');
    });
    expect(session.log.map((l) => l.sql)).toEqual([
      '{fn teradata_autocommit_off}',
      'INSERT INTO s.t VALUES (1)',
      'CREATE TABLE s.u (a INTEGER)',
      '{fn teradata_commit}',
      '{fn teradata_autocommit_on}',
    ]);
    expect(session.catalog.has('S.U')).toBe(true);
    expect(session.rows('S.T')).toEqual([{ A: 1 }]);
  });

  it('a statement after a DDL in one transaction fails with 3932 and the whole transaction is undone', async () => {
    const session = new FakeTeradataSession();
    const conn = createFakeConnection(session);
    const e = await rejection(
      conn.transaction(async (tx) => {
        await tx.execute('CREATE TABLE s.a (x INTEGER)');
        await tx.execute('CREATE TABLE s.b (x INTEGER)');
      }),
    );
    expect(e.code).toBe('DDL_IN_TRANSACTION');
    expect(e.details.teradataCode).toBe(3932);
    expect(session.catalog.has('S.A')).toBe(false);
    expect(session.log.map((l) => l.sql).slice(-2)).toEqual(['{fn teradata_rollback}', '{fn teradata_autocommit_on}']);
  });

  it('reports 3722 in ANSI mode', async () => {
    const conn = createFakeConnection(new FakeTeradataSession({ tmode: 'ANSI' }));
    const e = await rejection(
      conn.transaction(async (tx) => {
        await tx.execute('DROP TABLE s.a');
      }),
    );
    expect(e.code).toBe('OBJECT_MISSING');
    const e2 = await rejection(
      conn.transaction(async (tx) => {
        await tx.execute('CREATE TABLE s.a (x INTEGER)');
        await tx.query('SELECT 1');
      }),
    );
    expect(e2.details.teradataCode).toBe(3722);
  });
});

describe('the real teradatasql driver', () => {
  it("is loaded, and a closed port fails fast with dbee's own CONNECTION_FAILED", async () => {
    const started = Date.now();
    const e = await rejection(
      connectTeradata(
        env({
          host: '127.0.0.1',
          user: 'dbee',
          password: 'not-the-real-password',
          dbs_port: 1,
          cop: false,
          sslmode: 'DISABLE',
          logon_timeout: 2,
          connect_timeout: 500,
        }),
        { workspaceRoot: process.cwd() },
      ),
    );
    const elapsed = Date.now() - started;
    // DRIVER_MISSING or DRIVER_LOAD_FAILED here means the driver is not loadable: this test must fail then.
    expect(e.code).toBe('CONNECTION_FAILED');
    expect(e.details.driver).toBe('teradatasql');
    expect(e.details.driverVersion).toBe('20.0.55');
    expect(e.details.firstLine).toMatch(
      /^\[Version 20\.0\.55\] \[Session 0\] \[Teradata SQL Driver\] Failed to connect to 127\.0\.0\.1$/,
    );
    expect(e.message).toMatch(
      /^cannot connect to Teradata at 127\.0\.0\.1:1 as dbee: Failed to connect to 127\.0\.0\.1/,
    );
    expect(e.message).toMatch(/connection refused/);
    expect(JSON.stringify({ m: e.message, d: e.details, h: e.hint })).not.toContain('not-the-real-password');
    expect(elapsed).toBeLessThan(10_000);
  });
});

describe('the teradatasql adapter and procedures that do not compile', () => {
  // teradatasql's own interface, answering as the driver documents: a request that completes with warnings is a
  // success, and `{fn teradata_nativesql}{fn teradata_get_warnings}` returns its warnings (teradatasql README,
  // "Connection Functions"). The text of each warning line is not verified on a system (the live suite checks it).
  function driverAnswering(warnings: string): { mod: TeradatasqlModule; sent: string[] } {
    const sent: string[] = [];
    class Cursor {
      private last = '';
      description: unknown[][] | null = null;
      rowcount = 0;
      async executeAsync(sql: string) {
        sent.push(sql);
        this.last = sql;
        this.description = /teradata_get_warnings/.test(sql) ? [['Warnings']] : null;
      }
      fetchall(): unknown[][] {
        return /teradata_get_warnings/.test(this.last) ? [[warnings]] : [];
      }
      nextset() {
        return false;
      }
      close() {}
    }
    class Connection {
      autocommit = true;
      async connectAsync() {}
      async closeAsync() {}
      cursor() {
        return new Cursor();
      }
    }
    return { mod: { TeradataConnection: Connection } as unknown as TeradatasqlModule, sent };
  }
  const procedure = 'REPLACE PROCEDURE db.p () BEGIN SELECT 1 FROM db.no_such_table; END';

  it('fails a procedure the response says was not created (5526), as an SPL_COMPILE error', async () => {
    const { mod, sent } = driverAnswering(
      '[Teradata Database] [Warning 5526] Stored Procedure is not created/replaced due to error(s).',
    );
    const conn = new TeradataConnection(await teradatasqlDriver(mod, '20.0.55').connect({}), 'td');
    const e = await rejection(conn.execute(procedure));
    expect(e.code).toBe('SPL_COMPILE');
    expect(sent).toEqual([procedure, '{fn teradata_nativesql}{fn teradata_get_warnings}']);
  });

  it('keeps a procedure created with warnings only (5527): created, so the request succeeds', async () => {
    const { mod } = driverAnswering(
      '[Teradata Database] [Warning 5527] Stored Procedure Created/Replaced with warnings.',
    );
    const conn = new TeradataConnection(await teradatasqlDriver(mod, '20.0.55').connect({}), 'td');
    await expect(conn.run(procedure)).resolves.toMatchObject({ warnings: [{ code: 5527 }] });
  });

  it('asks for warnings after a procedure only', async () => {
    const { mod, sent } = driverAnswering('');
    const conn = new TeradataConnection(await teradatasqlDriver(mod, '20.0.55').connect({}), 'td');
    await conn.execute('CREATE TABLE db.t (x INTEGER)');
    await expect(conn.run(procedure)).resolves.not.toHaveProperty('warnings');
    expect(sent).toEqual([
      'CREATE TABLE db.t (x INTEGER)',
      procedure,
      '{fn teradata_nativesql}{fn teradata_get_warnings}',
    ]);
  });
});
