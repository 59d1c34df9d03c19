import { DbeeError } from '@dbee/core';
import { describe, expect, it } from 'vitest';
import { mapTeradataError, parseTeradataMessage, teradataErrorCode } from './teradata-errors';
import { createTeradataEngine } from '../engine';

/** An error as the drivers throw it: class OperationalError, message = first line + Go stack + causes. */
function driverError(firstLine: string, ...causes: string[]): Error {
  const e = new Error(
    [
      firstLine,
      ' at gosqldriver/teradatasql.formatError ErrorUtil.go:89',
      ' at gosqldriver/teradatasql.(*teradataConnection).processErrorParcel TeradataConnection.go:838',
      ...causes.map((c) => `Caused by ${c}`),
    ].join('\n'),
  );
  e.name = 'OperationalError';
  return e;
}

describe('parseTeradataMessage', () => {
  it('reads a database error', () => {
    expect(
      parseTeradataMessage(
        driverError(
          "[Version 20.0.55] [Session 1234] [Teradata Database] [Error 3807] Object 'SALES.X' does not exist.",
        ).message,
      ),
    ).toEqual({
      source: 'database',
      code: 3807,
      text: "Object 'SALES.X' does not exist.",
      firstLine: "[Version 20.0.55] [Session 1234] [Teradata Database] [Error 3807] Object 'SALES.X' does not exist.",
      rootCause: undefined,
      version: '20.0.55',
      session: '1234',
    });
  });

  it('reads driver errors with and without a code, the async correlation prefix, and the root cause', () => {
    expect(
      parseTeradataMessage(
        '[Version 20.0.55] [Session 0] [Teradata SQL Driver] [Error 801] [SQLState HY000] Cannot perform operation',
      ),
    ).toMatchObject({
      source: 'driver',
      code: 801,
      text: 'Cannot perform operation',
    });
    const m = parseTeradataMessage(
      driverError(
        '[ERR-2-1795259758622853257] [Version 20.0.55] [Session 0] [Teradata SQL Driver] Failed to connect to 127.0.0.1',
        '[Version 20.0.55] [Session 0] [Teradata SQL Driver] Teradata connection attempt to socket:127.0.0.1:1 with timeout 1000 ms took 0 ms and failed',
        'dial tcp 127.0.0.1:1: connect: connection refused',
      ).message,
    );
    expect(m).toMatchObject({
      source: 'driver',
      code: null,
      text: 'Failed to connect to 127.0.0.1',
      rootCause: 'dial tcp 127.0.0.1:1: connect: connection refused',
    });
  });

  it('reads rc.17 messages, whose version is a git SHA', () => {
    expect(
      parseTeradataMessage(
        '[Version 42659830765e] [Session 77] [Teradata Database] [Error 3932] Only an ET or null statement is legal after a DDL Statement.',
      ),
    ).toMatchObject({
      code: 3932,
      source: 'database',
    });
  });
});

describe('mapTeradataError', () => {
  const map = (line: string, statement?: string) => mapTeradataError(driverError(line), { statement });

  it.each([
    [3807, "Object 'SALES.X' does not exist.", 'OBJECT_MISSING'],
    [3802, "Database 'SALES' does not exist.", 'OBJECT_MISSING'],
    [3824, "Macro 'SALES.M' does not exist.", 'OBJECT_MISSING'],
    [5495, "Stored Procedure 'SALES.P' does not exist.", 'OBJECT_MISSING'],
    [5589, "Function 'F' does not exist.", 'OBJECT_MISSING'],
    [3803, "Table 'SALES.ORDERS' already exists.", 'OBJECT_EXISTS'],
    [3804, "View 'SALES.V' already exists.", 'OBJECT_EXISTS'],
    [3805, "Macro 'SALES.M' already exists.", 'OBJECT_EXISTS'],
    [3932, 'Only an ET or null statement is legal after a DDL Statement.', 'DDL_IN_TRANSACTION'],
    [3722, 'Only a COMMIT WORK or null statement is legal after a DDL Statement.', 'DDL_IN_TRANSACTION'],
    [2631, 'Transaction ABORTed due to deadlock.', 'TRANSACTION_ABORTED'],
    [5526, 'Stored Procedure is not created/replaced due to error(s).', 'SPL_COMPILE'],
    [3523, 'The user does not have SELECT access to SALES.ORDERS.', 'PERMISSION_DENIED'],
    [3524, 'The user does not have CREATE TABLE access to database SALES.', 'PERMISSION_DENIED'],
    [3706, "Syntax error: expected something between 'SELECT' and the 'FROM' keyword.", 'SQL_SYNTAX'],
    [9999, 'Something else.', 'DATABASE_ERROR'],
  ])('maps error %i to %s', (code, text, expected) => {
    const line = `[Version 20.0.55] [Session 1234] [Teradata Database] [Error ${code}] ${text}`;
    const e = map(line, 'SELECT 1');
    expect(e).toBeInstanceOf(DbeeError);
    expect(e.code).toBe(expected);
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe(`Teradata error ${code}: ${text}`);
    expect(e.details).toMatchObject({ teradataCode: code, firstLine: line, statement: 'SELECT 1' });
    expect(e.cause).toBeInstanceOf(Error);
    expect(teradataErrorCode(e)).toBe(code);
  });

  it('marks 2631 retryable and gives hints', () => {
    const e = map(
      '[Version 20.0.55] [Session 1] [Teradata Database] [Error 2631] Transaction ABORTed due to deadlock.',
    );
    expect(e.details.retryable).toBe(true);
    expect(map('[Version 20.0.55] [Session 1] [Teradata Database] [Error 3932] x').hint).toMatch(
      /last statement of a transaction/,
    );
  });

  it('maps a refused connection to CONNECTION_FAILED with host and port and never the password', () => {
    const err = driverError(
      '[Version 20.0.55] [Session 0] [Teradata SQL Driver] Failed to connect to db.example.com',
      'dial tcp 10.0.0.1:1025: connect: connection refused (password hunter2 must not leak)',
    );
    const e = mapTeradataError(err, {
      phase: 'connect',
      secrets: ['hunter2'],
      target: { host: 'db.example.com', port: '1025', user: 'etl' },
    });
    expect(e.code).toBe('CONNECTION_FAILED');
    expect(e.message).toContain('db.example.com:1025');
    expect(e.message).toContain('as etl');
    expect(e.details).toMatchObject({ host: 'db.example.com', port: '1025' });
    expect(JSON.stringify({ m: e.message, d: e.details, h: e.hint, c: (e.cause as Error).message })).not.toContain(
      'hunter2',
    );
  });

  it('maps a failed logon (8017) to CONNECTION_FAILED with a hint about the password', () => {
    const e = mapTeradataError(
      driverError(
        '[Version 20.0.55] [Session 0] [Teradata Database] [Error 8017] The UserId, Password or Account is invalid.',
      ),
      {
        phase: 'connect',
        target: { host: 'h', port: '1025' },
      },
    );
    expect(e.code).toBe('CONNECTION_FAILED');
    expect(e.hint).toMatch(/password/);
  });

  it('maps a rejected connection parameter to CONFIG_INVALID (exit 1)', () => {
    const e = mapTeradataError(driverError('Invalid argument X was specified for the tmode connection parameter'), {
      phase: 'connect',
    });
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.exitCode).toBe(1);
  });

  it('returns a DbeeError unchanged, and the engine maps through the same function', () => {
    const d = new DbeeError('x', { code: 'INTERNAL_ERROR' });
    expect(mapTeradataError(d)).toBe(d);
    const e = createTeradataEngine().mapError(
      driverError("[Version 20.0.55] [Session 1234] [Teradata Database] [Error 3807] Object 'SALES.X' does not exist."),
      {
        statement: 'SELECT * FROM SALES.X',
      },
    ) as DbeeError;
    expect(e.code).toBe('OBJECT_MISSING');
    expect(e.details.statement).toBe('SELECT * FROM SALES.X');
  });
});
