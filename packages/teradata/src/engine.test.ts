import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { PLAN_FORMAT_VERSION, type Plan, type ResolvedEnvironment } from '@dbee/core';
import { describe, expect, it } from 'vitest';
import { createTeradataEngine } from './engine';
import { ledgerDatabaseFor, teradataLedger } from './ledger/teradata-ledger';
import { parseTeradata } from './parse/teradata-parser';
import { fakeDriver, FakeTeradataSession } from '../testing/fake-connection';

function env(connection: ResolvedEnvironment['connection']): ResolvedEnvironment {
  return {
    name: 'test',
    engine: 'teradata',
    connection,
    variables: { env: 'test' },
    gates: {},
    deploy: {},
    declaredAt: { file: 'dbee.yaml' },
  };
}

describe('createTeradataEngine', () => {
  it('declares its capabilities as data', () => {
    const engine = createTeradataEngine();
    expect(engine.name).toBe('teradata');
    expect(engine.capabilities).toEqual({
      transactionalDdl: false,
      replaceConflicts: true,
      // Teradata compares names case-blind: a key holds them upper-case, quoted or not (package keys per target).
      keyNames: { quoted: 'upper', unquoted: 'upper' },
    });
  });

  it('importing the package loads no driver', () => {
    // In a process of its own, on the compiled package (built by the test run's global setup), as installed: this
    // worker may already hold the driver (a test of the real driver, in another file, loads it).
    const script = `const td = require(${JSON.stringify(join(__dirname, '..', 'dist', 'index.js'))});
      console.log(JSON.stringify({ engine: typeof td.createTeradataEngine, driver: Object.keys(require.cache).filter((k) => k.includes('/node_modules/teradatasql/')) }));`;
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as {
      engine: string;
      driver: string[];
    };
    expect(out).toEqual({ engine: 'function', driver: [] });
  });

  it('takes and releases the lock on a session of its own, in connection.ledgerDatabase', async () => {
    const session = new FakeTeradataSession().on(/^(INSERT|DELETE)/, { rowCount: 1 });
    const engine = createTeradataEngine({ loadDriver: () => fakeDriver(session) });
    const handle = await engine.lock(
      env({ host: 'td', ledgerDatabase: 'ops_ledger' }),
      { workspaceRoot: '/w' },
      'edw@test',
      {
        timeoutMs: 1000,
        owner: { user: 'bob', host: 'ci', pid: 1, since: 'now' },
      },
    );
    await handle.release();
    await handle.release();
    expect(session.log.map((l) => l.sql.split(' (')[0]!.split(' WHERE')[0])).toEqual([
      'INSERT INTO OPS_LEDGER."lock"',
      'DELETE FROM OPS_LEDGER."lock"',
    ]);
    expect(session.log[0]!.params.slice(0, 1)).toEqual(['edw@test']);
    expect(session.closed).toBe(true);
  });
});

describe('ledger', () => {
  it('uses ? parameters, CURRENT_TIMESTAMP(6), and DBEE_LEDGER unless configured', () => {
    const l = teradataLedger();
    expect(l.schema).toBe('DBEE_LEDGER');
    expect(l.param(3)).toBe('?');
    expect(l.now).toBe('CURRENT_TIMESTAMP(6)');
    expect(ledgerDatabaseFor(env({ host: 'x' }))).toBe('DBEE_LEDGER');
    expect(ledgerDatabaseFor(env({ host: 'x', ledgerDatabase: 'ops_ledger' }))).toBe('OPS_LEDGER');
    expect(() => ledgerDatabaseFor(env({ host: 'x', ledgerDatabase: 'bad name;' }))).toThrow(
      /not a plain Teradata name/,
    );
  });

  it('version 1 creates every ledger table as MULTISET with an explicit PRIMARY INDEX, one DDL per request', () => {
    const [v1] = teradataLedger('DBEE_LEDGER').migrations;
    const parsed = v1!.map((sql) => {
      const statements = parseTeradata(sql, 'ledger', { searchPath: [] });
      expect(statements).toHaveLength(1);
      return statements[0]!;
    });
    expect(parsed.map((s) => s.key?.name)).toEqual(
      ['schema_version', 'deployments', 'steps', 'objects', 'backups', 'migrations', 'smoke_results'].map((n) =>
        n.toUpperCase(),
      ),
    );
    for (const s of parsed) {
      expect(s.key).toMatchObject({ kind: 'table', schema: 'DBEE_LEDGER' });
      expect(s.sql).toMatch(/^CREATE MULTISET TABLE DBEE_LEDGER\."\w+", NO FALLBACK \(/);
      expect(s.sql).toMatch(/\) (UNIQUE )?PRIMARY INDEX \("[\w", ]+"\)$/);
    }
  });
});

describe('the BTEQ export (#64 S4)', () => {
  it('writes both scripts when the target cannot be reached; rollback.btq says its changed objects were not read', async () => {
    const driver = fakeDriver(new FakeTeradataSession(), {
      connectError: { source: 'driver', text: 'Failed to connect to td:1025' },
    });
    const engine = createTeradataEngine({ loadDriver: () => driver });
    const plan: Plan = {
      formatVersion: PLAN_FORMAT_VERSION,
      engine: 'teradata',
      projects: ['edw'],
      sourceCommit: null,
      baseFingerprint: null,
      steps: [],
    };
    const files = await engine.export!.exportPlan(plan, 'bteq', {
      variables: {},
      environment: env({ host: 'td', user: 'u', password: 'p' }),
    });
    expect(Object.keys(files).sort()).toEqual(['deploy.btq', 'rollback.btq']);
    expect(files['rollback.btq']).toContain('the target was not read when this script was written');
  });
});
