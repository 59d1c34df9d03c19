import { DbeeError, formatKey, PLAN_FORMAT_VERSION, type ObjectKey, type Plan, type PlanStep } from '@dbee/core';
import { describe, expect, it } from 'vitest';
import { bteqRequest, bteqReturnCode, toBteq, toBteqRollback } from './bteq';

function step(order: number, objectKey: ObjectKey, action: PlanStep['action'], statements: string[], reverse: string[] | null): PlanStep {
  return { order, project: 'edw', key: formatKey(objectKey), objectKey, action, statements, reverse, transactional: true, hazards: [], source: null, checksum: `sum${order}` };
}

const plan: Plan = {
  formatVersion: PLAN_FORMAT_VERSION,
  engine: 'teradata',
  projects: ['edw'],
  sourceCommit: 'abc123',
  baseFingerprint: null,
  steps: [
    step(
      1,
      { kind: 'table', schema: '{{env}}_EDW', name: 'ORDERS' },
      'create',
      ['CREATE MULTISET TABLE {{env}}_EDW.orders (id INTEGER NOT NULL) -- the orders\nPRIMARY INDEX (id)'],
      ['DROP TABLE {{env}}_EDW.ORDERS'],
    ),
    step(
      2,
      { kind: 'macro', schema: '{{env}}_EDW', name: 'PURGE' },
      'replace',
      ['REPLACE MACRO {{env}}_EDW.purge (d DATE) AS (\n  DELETE FROM {{env}}_EDW.orders WHERE d < :d;\n  SELECT COUNT(*) FROM {{env}}_EDW.orders; -- left\n)'],
      ['DROP MACRO {{env}}_EDW.PURGE'],
    ),
  ],
};

describe('toBteq', () => {
  it('writes the whole deploy script: session settings, logon file, ledger rows, one return code per step', () => {
    const script = toBteq(plan, {
      logonFile: '/secure/td-logon.btq',
      variables: { env: 'PROD' },
      ledger: { environment: 'prod', deploymentId: 42, planChecksum: 'p-sum' },
    });
    expect(script).toMatchInlineSnapshot(`
      ".SET SESSION TRANSACTION BTET
      .SET SESSION CHARSET 'UTF8'
      .RUN FILE=/secure/td-logon.btq
      .SET ERROROUT STDOUT
      .SET ECHOREQ ON

      .REMARK 'dbee deploy: 2 steps of edw, deployment 42'
      INSERT INTO DBEE_LEDGER."deployments" ("id", "project", "environment", "kind", "plan_checksum", "tool_version", "status", "steps_total") VALUES (42, 'edw', 'prod', 'deploy', 'p-sum', 'dbee-bteq', 'running', 2);
      .IF ERRORCODE <> 0 THEN .QUIT 16

      .REMARK 'step 1/2: create table:PROD_EDW.ORDERS'
      CREATE MULTISET TABLE PROD_EDW.orders (id INTEGER NOT NULL) -- the orders
      PRIMARY INDEX (id);
      .IF ERRORCODE <> 0 THEN .GOTO FAIL_1
      INSERT INTO DBEE_LEDGER."steps" ("deployment_id", "step_order", "object_key", "action", "checksum", "statements", "transactional", "started_at", "status") VALUES (42, 1, 'table:PROD_EDW.ORDERS', 'create', 'sum1', '["sha256:4eda43476e9052674cd6bfd0ef4fe12e0a08331aaf62e86f1b0828cb2b1a0242"]', 1, CURRENT_TIMESTAMP(6), 'applied');
      .IF ERRORCODE <> 0 THEN .QUIT 16

      .REMARK 'step 2/2: replace macro:PROD_EDW.PURGE'
      REPLACE MACRO PROD_EDW.purge (d DATE) AS (
        DELETE FROM PROD_EDW.orders WHERE d < :d; --
        SELECT COUNT(*) FROM PROD_EDW.orders; -- left
      );
      .IF ERRORCODE <> 0 THEN .GOTO FAIL_2
      INSERT INTO DBEE_LEDGER."steps" ("deployment_id", "step_order", "object_key", "action", "checksum", "statements", "transactional", "started_at", "status") VALUES (42, 2, 'macro:PROD_EDW.PURGE', 'replace', 'sum2', '["sha256:6a56059059cc40a727070860f7412c15f228f8a732a1e50019aed68bf432ef52"]', 1, CURRENT_TIMESTAMP(6), 'applied');
      .IF ERRORCODE <> 0 THEN .QUIT 16

      UPDATE DBEE_LEDGER."deployments" SET "status" = 'succeeded', "finished_at" = CURRENT_TIMESTAMP(6), "steps_applied" = 2 WHERE "id" = 42;
      .IF ERRORCODE <> 0 THEN .QUIT 16
      .LOGOFF
      .QUIT 0

      .LABEL FAIL_1
      INSERT INTO DBEE_LEDGER."steps" ("deployment_id", "step_order", "object_key", "action", "checksum", "statements", "transactional", "started_at", "status") VALUES (42, 1, 'table:PROD_EDW.ORDERS', 'create', 'sum1', '["sha256:4eda43476e9052674cd6bfd0ef4fe12e0a08331aaf62e86f1b0828cb2b1a0242"]', 1, CURRENT_TIMESTAMP(6), 'failed');
      UPDATE DBEE_LEDGER."deployments" SET "status" = 'failed', "finished_at" = CURRENT_TIMESTAMP(6), "steps_applied" = 0, "error" = 'step 1 (table:PROD_EDW.ORDERS) failed; see the BTEQ output' WHERE "id" = 42;
      .LOGOFF
      .QUIT 17

      .LABEL FAIL_2
      INSERT INTO DBEE_LEDGER."steps" ("deployment_id", "step_order", "object_key", "action", "checksum", "statements", "transactional", "started_at", "status") VALUES (42, 2, 'macro:PROD_EDW.PURGE', 'replace', 'sum2', '["sha256:6a56059059cc40a727070860f7412c15f228f8a732a1e50019aed68bf432ef52"]', 1, CURRENT_TIMESTAMP(6), 'failed');
      UPDATE DBEE_LEDGER."deployments" SET "status" = 'failed', "finished_at" = CURRENT_TIMESTAMP(6), "steps_applied" = 1, "error" = 'step 2 (macro:PROD_EDW.PURGE) failed; see the BTEQ output' WHERE "id" = 42;
      .LOGOFF
      .QUIT 18
      "
    `);
  });

  it('without the ledger, quits with the step\'s code right after the failing request', () => {
    const script = toBteq(plan, { variables: { env: 'DEV' }, ledger: false, logonFile: 'logon.btq', transactionMode: 'ANSI' });
    expect(script).toMatchInlineSnapshot(`
      ".SET SESSION TRANSACTION ANSI
      .SET SESSION CHARSET 'UTF8'
      .RUN FILE=logon.btq
      .SET ERROROUT STDOUT
      .SET ECHOREQ ON

      .REMARK 'dbee deploy: 2 steps of edw'

      .REMARK 'step 1/2: create table:DEV_EDW.ORDERS'
      CREATE MULTISET TABLE DEV_EDW.orders (id INTEGER NOT NULL) -- the orders
      PRIMARY INDEX (id);
      .IF ERRORCODE <> 0 THEN .QUIT 17

      .REMARK 'step 2/2: replace macro:DEV_EDW.PURGE'
      REPLACE MACRO DEV_EDW.purge (d DATE) AS (
        DELETE FROM DEV_EDW.orders WHERE d < :d; --
        SELECT COUNT(*) FROM DEV_EDW.orders; -- left
      );
      .IF ERRORCODE <> 0 THEN .QUIT 18

      .LOGOFF
      .QUIT 0
      "
    `);
  });

  it('reads the logon file from DBEE_BTEQ_LOGON, else logon.btq, and never writes a .LOGON', () => {
    const before = process.env.DBEE_BTEQ_LOGON;
    try {
      process.env.DBEE_BTEQ_LOGON = '/etc/dbee/prod.logon';
      expect(toBteq(plan, { variables: { env: 'P' }, ledger: false })).toContain('.RUN FILE=/etc/dbee/prod.logon\n');
      delete process.env.DBEE_BTEQ_LOGON;
      const s = toBteq(plan, { variables: { env: 'P' }, ledger: false });
      expect(s).toContain('.RUN FILE=logon.btq\n');
      expect(s).not.toMatch(/\.LOGON/);
      // Session settings come before the logon.
      expect(s.indexOf('.SET SESSION TRANSACTION')).toBeLessThan(s.indexOf('.RUN FILE'));
      expect(s.indexOf('.SET SESSION CHARSET')).toBeLessThan(s.indexOf('.RUN FILE'));
    } finally {
      if (before === undefined) delete process.env.DBEE_BTEQ_LOGON;
      else process.env.DBEE_BTEQ_LOGON = before;
    }
  });

  it('refuses unknown placeholders', () => {
    expect(() => toBteq(plan, { ledger: false })).toThrow(/unknown variable \{\{env\}\}/);
  });
});

describe('toBteqRollback', () => {
  it('runs the reverses, last step first, recorded as a rollback deployment', () => {
    const script = toBteqRollback(plan, { variables: { env: 'PROD' }, ledger: { environment: 'prod', deploymentId: 43, reverts: 42, planChecksum: 'p-sum' }, logonFile: 'logon.btq' });
    expect(script).toMatchInlineSnapshot(`
      ".SET SESSION TRANSACTION BTET
      .SET SESSION CHARSET 'UTF8'
      .RUN FILE=logon.btq
      .SET ERROROUT STDOUT
      .SET ECHOREQ ON

      .REMARK 'dbee rollback: 2 steps of edw, deployment 43'
      INSERT INTO DBEE_LEDGER."deployments" ("id", "project", "environment", "kind", "plan_checksum", "tool_version", "status", "steps_total", "reverts") VALUES (43, 'edw', 'prod', 'rollback', 'p-sum', 'dbee-bteq', 'running', 2, 42);
      .IF ERRORCODE <> 0 THEN .QUIT 16

      .REMARK 'step 1/2: undo plan step 2 (replace macro:PROD_EDW.PURGE)'
      DROP MACRO PROD_EDW.PURGE;
      .IF ERRORCODE <> 0 THEN .GOTO FAIL_1
      INSERT INTO DBEE_LEDGER."steps" ("deployment_id", "step_order", "object_key", "action", "checksum", "statements", "transactional", "started_at", "status") VALUES (43, 1, 'macro:PROD_EDW.PURGE', 'replace', 'sum2', '["sha256:732ed41c228af0eac699ab91188777c335689a9922f0918e6b8351871bf90e3b"]', 1, CURRENT_TIMESTAMP(6), 'applied');
      .IF ERRORCODE <> 0 THEN .QUIT 16

      .REMARK 'step 2/2: undo plan step 1 (create table:PROD_EDW.ORDERS)'
      DROP TABLE PROD_EDW.ORDERS;
      .IF ERRORCODE <> 0 THEN .GOTO FAIL_2
      INSERT INTO DBEE_LEDGER."steps" ("deployment_id", "step_order", "object_key", "action", "checksum", "statements", "transactional", "started_at", "status") VALUES (43, 2, 'table:PROD_EDW.ORDERS', 'create', 'sum1', '["sha256:604ce2a1f9e55b485383f64de6aa09766cc56019ed8c829c0b26834f42735ef9"]', 1, CURRENT_TIMESTAMP(6), 'applied');
      .IF ERRORCODE <> 0 THEN .QUIT 16

      UPDATE DBEE_LEDGER."deployments" SET "status" = 'succeeded', "finished_at" = CURRENT_TIMESTAMP(6), "steps_applied" = 2 WHERE "id" = 43;
      .IF ERRORCODE <> 0 THEN .QUIT 16
      .LOGOFF
      .QUIT 0

      .LABEL FAIL_1
      INSERT INTO DBEE_LEDGER."steps" ("deployment_id", "step_order", "object_key", "action", "checksum", "statements", "transactional", "started_at", "status") VALUES (43, 1, 'macro:PROD_EDW.PURGE', 'replace', 'sum2', '["sha256:732ed41c228af0eac699ab91188777c335689a9922f0918e6b8351871bf90e3b"]', 1, CURRENT_TIMESTAMP(6), 'failed');
      UPDATE DBEE_LEDGER."deployments" SET "status" = 'failed', "finished_at" = CURRENT_TIMESTAMP(6), "steps_applied" = 0, "error" = 'step 1 (macro:PROD_EDW.PURGE) failed; see the BTEQ output' WHERE "id" = 43;
      .LOGOFF
      .QUIT 17

      .LABEL FAIL_2
      INSERT INTO DBEE_LEDGER."steps" ("deployment_id", "step_order", "object_key", "action", "checksum", "statements", "transactional", "started_at", "status") VALUES (43, 2, 'table:PROD_EDW.ORDERS', 'create', 'sum1', '["sha256:604ce2a1f9e55b485383f64de6aa09766cc56019ed8c829c0b26834f42735ef9"]', 1, CURRENT_TIMESTAMP(6), 'failed');
      UPDATE DBEE_LEDGER."deployments" SET "status" = 'failed', "finished_at" = CURRENT_TIMESTAMP(6), "steps_applied" = 1, "error" = 'step 2 (table:PROD_EDW.ORDERS) failed; see the BTEQ output' WHERE "id" = 43;
      .LOGOFF
      .QUIT 18
      "
    `);
  });

  it('refuses a plan with an unknown reverse unless told to skip it', () => {
    const p: Plan = { ...plan, steps: [plan.steps[0]!, { ...plan.steps[1]!, reverse: null }] };
    expect(() => toBteqRollback(p, { variables: { env: 'X' } })).toThrow(DbeeError);
    expect(toBteqRollback(p, { variables: { env: 'X' }, ledger: false, skipUnknownReverse: true })).toContain('DROP TABLE X_EDW.ORDERS;');
  });
});

describe('bteqRequest', () => {
  it('ends the request with ; as the last character of its last line', () => {
    expect(bteqRequest('SELECT 1')).toBe('SELECT 1;');
    expect(bteqRequest('SELECT 1;  \n')).toBe('SELECT 1;');
  });

  it('puts the terminator on its own line after a trailing -- comment', () => {
    expect(bteqRequest('SELECT 1 -- one')).toBe('SELECT 1 -- one\n;');
  });

  it('keeps BTEQ reading past inner lines that end with ; (macro and procedure bodies, comments)', () => {
    expect(bteqRequest('REPLACE PROCEDURE s.p ()\nBEGIN\n  SET x = 1;\n  /* note; */\nEND')).toBe(
      'REPLACE PROCEDURE s.p ()\nBEGIN\n  SET x = 1; --\n  /* note; */\nEND;',
    );
    expect(bteqRequest('COMMENT ON s.t AS \'x\'\n-- tail;\n')).toBe("COMMENT ON s.t AS 'x'\n-- tail; --\n;");
  });

  it('refuses a string literal with a line ending in ;', () => {
    expect(() => bteqRequest("INSERT INTO s.t VALUES ('a;\nb')")).toThrow(/BTEQ would take as the end of the request/);
  });

  it('numbers return codes 17.. per step, 255 from step 239, 16 for the ledger', () => {
    expect([1, 2, 238, 239, 5000].map(bteqReturnCode)).toEqual([17, 18, 254, 255, 255]);
  });
});
