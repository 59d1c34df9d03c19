/**
 * Schema review policies on a Teradata project (docs/policies.md, "Engines"): only the rules that name Teradata in
 * `PolicyRule.engines` judge it, over Teradata's own SQL (`DEL`, `INS`, `BT`); a PostgreSQL rule written in dbee.yaml
 * is left out for it, and one written in the project's db.yaml is refused at its line. A deployment that an `error`
 * rule refuses sends nothing to the fake system.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { POLICY_RULES } from '../../packages/core/src/policies';
import { run } from '../support/run';
import { DBEE_YAML, teradataWorkspace } from './helpers';

const w = teradataWorkspace();
afterAll(() => w.dispose());

const check = () =>
  run(w.root, 'check', { project: 'edw', env: 'td-dev', policies: true, all: true }, { TD_PASSWORD: 'x' });

describe('policies on a Teradata project [teradata double]', () => {
  it('the Teradata rules are the migration rules, each reading the migrations alone (Teradata builds no model)', () => {
    const teradata = POLICY_RULES.filter((r) => r.engines.includes('teradata')).map((r) => r.name);
    expect(teradata).toEqual([
      'migration-banned-statements',
      'migration-insert-columns',
      'migration-no-transaction-control',
      'migration-rollback',
      'migration-where-required',
    ]);
    for (const r of POLICY_RULES) {
      expect(r.engines.length, r.name).toBeGreaterThan(0);
      if (r.engines.includes('teradata')) expect(r.category, r.name).toBe('migrations');
    }
  });

  it('judges Teradata SQL by the Teradata rules only; a PostgreSQL rule in db.yaml is refused at its line', async () => {
    // A PostgreSQL-only rule at level error for every project: a Teradata project is not judged by it.
    w.write(
      'dbee.yaml',
      `${DBEE_YAML}policies:\n  "*": error\n  type-timestamptz: error\n  migration-banned-statements: { level: error, patterns: ['^collect\\s+stat'] }\n`,
    );
    mkdirSync(join(w.root, 'migrations'));
    w.write(
      'migrations/V1__purge.sql',
      [
        'DEL FROM edw.stage_orders;',
        "INS edw.customers VALUES (1, 'a');",
        'BT;',
        'UPD edw.orders SET status = 1;',
        'DELETE FROM edw.stage_orders ALL;',
        'INSERT INTO edw.customers (customer_id) VALUES (2);',
        'COLLECT STATISTICS ON edw.orders COLUMN (order_id);',
        'ET;',
        '',
      ].join('\n'),
    );
    // Its rollback script says nothing: migration-rollback finds it empty.
    w.write('migrations/V1__purge.rollback.sql', '-- nothing undoes a purge\n');
    const out = await check();
    expect(out.stderr).not.toMatch(/at .*\.ts:\d+/);
    expect(out.code).toBe(1);
    const findings = out.stdout
      .split('\n')
      .filter((l) => l.startsWith('migrations/'))
      .map((l) => l.replace(/^(\S+): (error|warning): .*(\[[a-z-]+\])$/, '$1: $2 $3'));
    expect(findings).toEqual([
      'migrations/V1__purge.sql:1: error [migration-rollback]',
      'migrations/V1__purge.sql:1: error [migration-where-required]',
      'migrations/V1__purge.sql:2: error [migration-insert-columns]',
      'migrations/V1__purge.sql:3: error [migration-no-transaction-control]',
      'migrations/V1__purge.sql:4: error [migration-where-required]',
      'migrations/V1__purge.sql:7: error [migration-banned-statements]',
      'migrations/V1__purge.sql:8: error [migration-no-transaction-control]',
    ]);
    expect(out.stdout.trim().split('\n').at(-1)).toMatch(/^edw: 7 errors, 0 warnings from 5 rules \(every object\)$/);

    // Named in the Teradata project's own db.yaml, a PostgreSQL rule is a mistake: refused with the line.
    const dbYaml = "version: 1\nname: edw\nengine: teradata\nschemas: ['{{env}}_EDW']\nsearchPath: ['{{env}}_EDW']\n";
    w.write('db.yaml', `${dbYaml}policies:\n  type-timestamptz: error\n`);
    const refused = await check();
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('db.yaml:7');
    expect(refused.stderr).toContain('rule "type-timestamptz" does not judge teradata projects (it judges postgres)');
    expect(refused.stderr).not.toMatch(/at .*\.ts:\d+/);

    // A deployment judges the same rules and refuses before it sends anything.
    w.write('db.yaml', dbYaml);
    const mark = w.session.log.length;
    const deploy = await w.dbee('deploy');
    expect(deploy.code).toBe(1);
    expect(deploy.stderr).toMatch(/schema polic(y|ies) at level error: .*\[migration-rollback\]/);
    // Nothing but the lock row: no DDL, no ledger row of a deployment.
    const sent = w.requestsSince(mark).filter((s) => /^\s*(CREATE|DEL|INS|UPD|REPLACE|RENAME|DROP)/i.test(s));
    expect(sent.filter((s) => !/DBEE_LEDGER\."lock"/.test(s))).toEqual([]);
  });
});
